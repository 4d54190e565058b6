/**
 * `teechat attest verify sev-snp` and the SNP parts of `teechat attest show`.
 */
import { nodeProvider } from '../../protocol-node/crypto-node';
import {
  parseSnpReport,
  productFromCpuid,
  SNP_REPORT_SIZE,
  SNP_VERSIONS,
} from '../../protocol/attestation/snp/report';
import type { SnpProduct } from '../../protocol/attestation/snp/report';
import { snpReportFields, verifySnpEvidence } from '../../protocol/attestation/snp/verify';
import type { EvidenceItem, Fields } from '../../protocol/attestation/types';
import { KdsClient, resolveSnpEvidence } from '../kds';
import {
  COMMON_HELP,
  UsageError,
  buildPolicy,
  checkRelaxFlags,
  decodeInput,
  emitReport,
  readFileOrUsage,
  verifyCommand,
} from './attest-common';
import type { CliIo } from './attest-common';

export const SNP_VERIFY_HELP = `Usage: teechat attest verify sev-snp --report FILE [--cert VCEK_OR_VLEK] [--chain ASK_ARK_PEM] [options]

Verifies an AMD SEV-SNP attestation report (versions 2, 3, 5; Milan, Genoa, Turin; VCEK or VLEK)
offline: the report signature (ECDSA P-384), the certificate chain to the pinned AMD root of the
product (RSA-PSS), chip id vs the VCEK hwID, reported TCB vs the VCEK TCB, the CRL, and the
policy (debug forbidden by default, SMT, migration agent, VMPL, TCB floors, measurement, ...).

Options:
  --report FILE             the 1184-byte report (binary, hex text or base64 text)
  --cert FILE               the VCEK or VLEK (DER or PEM; a PEM bundle may also hold the ASK/ARK)
  --chain FILE              ASK/ASVK and ARK (PEM, as KDS cert_chain serves it); default: pinned
  --crl FILE                the ARK-signed CRL (DER or PEM); REQUIRED (else --allow-missing-crl)
  --product NAME            milan | genoa | turin (only needed with --kds for v2 reports)
  --kds                     fetch a missing VCEK from AMD KDS (network; cached on disk)
${COMMON_HELP}
`;

const SPECIFIC = {
  '--report': 'value',
  '--cert': 'value',
  '--chain': 'value',
  '--crl': 'value',
  '--product': 'value',
  '--kds': 'bool',
} as const;

/** `teechat attest verify sev-snp ...` — returns the exit status. */
export function attestVerifySnp(argv: readonly string[], io: CliIo): Promise<number> {
  return verifyCommand(io, 'sev-snp', SNP_VERIFY_HELP, SPECIFIC, argv, async (common, extra) => {
    checkRelaxFlags(common, ['snp']);
    const reportPath = extra.get('--report')?.[0];
    if (reportPath === undefined) throw new UsageError('--report: expected a file, got nothing');
    const productArg = extra.get('--product')?.[0];
    if (productArg !== undefined && !['milan', 'genoa', 'turin'].includes(productArg)) {
      throw new UsageError(
        `--product: expected milan, genoa or turin, got ${JSON.stringify(productArg)}`,
      );
    }
    const policy = buildPolicy(common, (p) => ({
      ...p,
      snp: {
        ...p.snp,
        ...(common.allowDebug ? { allowDebug: true } : {}),
        ...(common.measurements.length > 0 ? { measurements: common.measurements } : {}),
        ...(common.expectReportData !== undefined
          ? { expectedReportData: common.expectReportData }
          : {}),
      },
    }));
    const parts = new Map<string, Uint8Array>([
      ['report', decodeInput(readFileOrUsage(reportPath, '--report'))],
    ]);
    const cert = extra.get('--cert')?.[0];
    if (cert !== undefined) parts.set('vcek', decodeInput(readFileOrUsage(cert, '--cert')));
    const chain = extra.get('--chain')?.[0];
    if (chain !== undefined)
      parts.set('cert_chain', decodeInput(readFileOrUsage(chain, '--chain')));
    const crl = extra.get('--crl')?.[0];
    if (crl !== undefined) parts.set('crl', decodeInput(readFileOrUsage(crl, '--crl')));
    let item: EvidenceItem = { kind: 'sev-snp', label: '', parts };
    if (extra.has('--kds') && cert === undefined) {
      try {
        item = await resolveSnpEvidence(
          item,
          new KdsClient(),
          productArg as SnpProduct | undefined,
        );
      } catch (e) {
        io.err(
          `teechat attest verify sev-snp: KDS fetch failed: ${e instanceof Error ? e.message : String(e)}\n`,
        );
      }
    }
    const at = common.at ?? new Date();
    const r = verifySnpEvidence(item, { crypto: nodeProvider, now: () => at }, policy);
    return emitReport(io, r, common.json, at);
  });
}

/** True when `b` has the size and version of an SNP ATTESTATION_REPORT. */
export function looksLikeSnpReport(b: Uint8Array): boolean {
  return (
    b.length === SNP_REPORT_SIZE &&
    SNP_VERSIONS.includes((b[0] ?? 0) | ((b[1] ?? 0) << 8)) &&
    b[2] === 0 &&
    b[3] === 0
  );
}

/** Decoded fields of an SNP report for `teechat attest show` (no verification). Throws ProtocolError. */
export function showSnpReport(b: Uint8Array): Fields {
  const r = parseSnpReport(b);
  return { kind: 'sev-snp', ...snpReportFields(r, productFromCpuid(r)) };
}
