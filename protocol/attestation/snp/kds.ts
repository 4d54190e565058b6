/**
 * AMD Key Distribution Service URLs (AMD "Versioned Chip Endorsement Key (VCEK) Certificate and
 * KDS Interface Specification"). Pure: the fetching and caching live in client/kds.ts (client)
 * and enclave-server/evidence/snp-configfs.ts (server).
 *
 *   {base}/vcek/v1/{Milan|Genoa|Turin}/{hwid hex}?blSPL=NN&teeSPL=NN&snpSPL=NN&ucodeSPL=NN
 *     (Turin: hwid is CHIP_ID[0..8] and fmcSPL=NN comes first)
 *   {base}/{vcek|vlek}/v1/{Product}/cert_chain      (PEM: ASK/ASVK then ARK)
 *   {base}/{vcek|vlek}/v1/{Product}/crl             (DER, signed by the ARK)
 */
import { toHex } from '../../asn1/encoding';
import { decodeTcb } from './report';
import type { SnpProduct, SnpReport } from './report';

export const KDS_BASE = 'https://kdsintf.amd.com';
const TITLE: Readonly<Record<SnpProduct, string>> = {
  milan: 'Milan',
  genoa: 'Genoa',
  turin: 'Turin',
};
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The KDS URL of the VCEK that signed `report`. */
export function vcekUrl(report: SnpReport, product: SnpProduct, base = KDS_BASE): string {
  const t = decodeTcb(report.reportedTcb, product);
  const hwid = product === 'turin' ? report.chipId.subarray(0, 8) : report.chipId;
  const q = [
    ...(product === 'turin' ? [`fmcSPL=${pad2(t.fmc ?? 0)}`] : []),
    `blSPL=${pad2(t.bl)}`,
    `teeSPL=${pad2(t.tee)}`,
    `snpSPL=${pad2(t.snp)}`,
    `ucodeSPL=${pad2(t.microcode)}`,
  ].join('&');
  return `${base}/vcek/v1/${TITLE[product]}/${toHex(hwid)}?${q}`;
}

export function certChainUrl(
  product: SnpProduct,
  key: 'vcek' | 'vlek' = 'vcek',
  base = KDS_BASE,
): string {
  return `${base}/${key}/v1/${TITLE[product]}/cert_chain`;
}

export function crlUrl(
  product: SnpProduct,
  key: 'vcek' | 'vlek' = 'vcek',
  base = KDS_BASE,
): string {
  return `${base}/${key}/v1/${TITLE[product]}/crl`;
}
