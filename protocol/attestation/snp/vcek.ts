/**
 * AMD VCEK / VLEK certificate extensions (AMD "Versioned Chip Endorsement Key (VCEK)
 * Certificate and KDS Interface Specification", OIDs under 1.3.6.1.4.1.3704.1):
 * .1 structure version, .2 product name, .3.1 BL, .3.2 TEE, .3.3 SNP, .3.8 microcode,
 * .3.9 FMC (Turin), .4 hwID (64 bytes; Turin: 8 bytes).
 */
import { ProtocolError } from '../../errors';
import { parseDer, readSmallInteger, readString } from '../../asn1/der';
import { latin1Decode } from '../../asn1/encoding';
import { nameAttr } from '../../x509/index';
import type { Certificate } from '../../x509/index';
import type { SnpProduct } from './report';

export const AMD_OID = {
  structVersion: '1.3.6.1.4.1.3704.1.1',
  productName: '1.3.6.1.4.1.3704.1.2',
  blSpl: '1.3.6.1.4.1.3704.1.3.1',
  teeSpl: '1.3.6.1.4.1.3704.1.3.2',
  snpSpl: '1.3.6.1.4.1.3704.1.3.3',
  ucodeSpl: '1.3.6.1.4.1.3704.1.3.8',
  fmcSpl: '1.3.6.1.4.1.3704.1.3.9',
  hwid: '1.3.6.1.4.1.3704.1.4',
  csp: '1.3.6.1.4.1.3704.1.5', // VLEK: CSP id
} as const;

export interface AmdCertInfo {
  /** From the subject CN: SEV-VCEK / SEV-VLEK. */
  readonly keyType: 'VCEK' | 'VLEK' | 'unknown';
  readonly productName: string | undefined;
  readonly product: SnpProduct | null;
  readonly tcb: {
    readonly bl?: number;
    readonly tee?: number;
    readonly snp?: number;
    readonly microcode?: number;
    readonly fmc?: number;
  };
  readonly hwid: Uint8Array | undefined;
}

export function productFromName(name: string | undefined): SnpProduct | null {
  if (name === undefined) return null;
  const n = name.toLowerCase();
  if (n.includes('milan')) return 'milan';
  if (n.includes('genoa')) return 'genoa';
  if (n.includes('turin')) return 'turin';
  return null;
}

/** Reads the AMD extensions of a VCEK/VLEK. Throws ProtocolError('x509_parse') on malformed values. */
export function amdCertInfo(cert: Certificate): AmdCertInfo {
  const ext = (oid: string): Uint8Array | undefined => cert.extensions.get(oid)?.value;
  const int = (oid: string): number | undefined => {
    const v = ext(oid);
    return v === undefined
      ? undefined
      : readSmallInteger(parseDer(v, `VCEK ${oid}`), `VCEK ${oid}`);
  };
  let productName: string | undefined;
  const pn = ext(AMD_OID.productName);
  if (pn !== undefined) {
    // IA5String per spec; tolerate a bare string.
    try {
      productName = readString(parseDer(pn, 'VCEK productName'), 'VCEK productName');
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      productName = latin1Decode(pn);
    }
  }
  const cn = nameAttr(cert.subject) ?? '';
  // Case-insensitive substring tests without a regex (a first regex run costs ~30 µs cold).
  const up = cn.toUpperCase();
  const keyType = up.includes('VLEK') ? 'VLEK' : up.includes('VCEK') ? 'VCEK' : 'unknown';
  const product = productFromName(productName) ?? productFromName(nameAttr(cert.issuer));
  const tcb: { bl?: number; tee?: number; snp?: number; microcode?: number; fmc?: number } = {};
  const bl = int(AMD_OID.blSpl);
  const tee = int(AMD_OID.teeSpl);
  const snp = int(AMD_OID.snpSpl);
  const ucode = int(AMD_OID.ucodeSpl);
  const fmc = int(AMD_OID.fmcSpl);
  if (bl !== undefined) tcb.bl = bl;
  if (tee !== undefined) tcb.tee = tee;
  if (snp !== undefined) tcb.snp = snp;
  if (ucode !== undefined) tcb.microcode = ucode;
  if (fmc !== undefined) tcb.fmc = fmc;
  return { keyType, productName, product, tcb, hwid: unwrapHwid(ext(AMD_OID.hwid)) };
}

/**
 * hwID is the raw chip id (64 bytes; Turin 8) in KDS certificates; some encoders wrap it in a DER
 * OCTET STRING (66 / 10 bytes). Only those exact wrapped lengths are unwrapped, so a raw id that
 * happens to start with 0x04 is never misread.
 */
function unwrapHwid(v: Uint8Array | undefined): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if ((v.length === 66 || v.length === 10) && v[0] === 0x04 && v[1] === v.length - 2)
    return v.subarray(2);
  return v;
}
