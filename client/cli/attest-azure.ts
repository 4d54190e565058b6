/**
 * `teechat attest verify azure-hcl` and the Azure parts of `teechat attest show`.
 */
import { nodeProvider } from '../../protocol-node/crypto-node';
import {
  AZURE_MEASUREMENT_NOTE,
  verifyAzureHclEvidence,
} from '../../protocol/attestation/azure/verify';
import { azureEvidenceFromJson } from '../../protocol/attestation/azure/evidence-json';
import { HCL, parseHclReport } from '../../protocol/attestation/azure/hcl';
import { parseSnpReport, productFromCpuid } from '../../protocol/attestation/snp/report';
import { snpReportFields } from '../../protocol/attestation/snp/verify';
import type { Fields, FieldValue } from '../../protocol/attestation/types';
import { ProtocolError } from '../../protocol/errors';
import {
  COMMON_HELP,
  UsageError,
  buildPolicy,
  checkRelaxFlags,
  decodeInput,
  emitReport,
  looksLikeJson,
  parseJsonOrUsage,
  readFileOrUsage,
  verifyCommand,
} from './attest-common';
import { readCollateralDir } from './attest-tdx';
import { TDX_PART } from '../../protocol/attestation/tdx/parts';
import type { CliIo } from './attest-common';

export const AZURE_VERIFY_HELP = `Usage: teechat attest verify azure-hcl --hcl FILE [--cert VCEK] [--tpm-quote FILE --tpm-signature FILE --pcrs FILE] [options]
       teechat attest verify azure-hcl --evidence FILE.json [options]

Verifies Azure confidential VM evidence offline: the SNP report inside the vTPM HCL report (SNP
signature, VCEK chain to the pinned AMD root, policy), the runtime claims hashed into REPORT_DATA
(check runtime_claims), the attestation key HCLAkPub from those claims, and the TPM2 quote it signs
(RSASSA-PKCS1-v1_5 SHA-256) over the nonce and the PCR digest (check tpm_quote). The TDX variant
(TDREPORT inside the HCL report) needs --td-quote.

${AZURE_MEASUREMENT_NOTE} Use --measurement for the paravisor and --pcr for the guest.

Options:
  --hcl FILE                HCL report (vTPM NV index 0x01400001; binary, hex or base64)
  --evidence FILE           an Azure evidence JSON (trustee az-snp-vtpm / az-tdx-vtpm v0-v2, lunal)
  --cert FILE               the VCEK (DER or PEM; a PEM bundle may also hold ASK and ARK)
  --chain FILE              ASK and ARK (PEM); default: pinned
  --tpm-quote FILE          TPMS_ATTEST (binary or hex), or a JSON {message, signature, pcrs}
  --tpm-signature FILE      the quote signature (raw RSA or TPMT_SIGNATURE; binary or hex)
  --pcrs FILE               SHA-256 PCR values: JSON list of 24 hex strings, hex text or 768 bytes
  --td-quote FILE           TDX variant: the TD quote made from the HCL TDREPORT
  --crl FILE                SNP variant: the ARK-signed CRL (DER or PEM); REQUIRED (else
                            --allow-missing-crl)
  --collateral DIR          TDX variant: Intel PCS collateral (as attest verify tdx); REQUIRED
                            (else the --allow-missing-* TDX relaxations)
  --pcr N=HEX               expected PCR N value (repeatable; several values for one N = any of them)
  --nonce HEX               expected TPM quote nonce (same as --expect-report-data)
${COMMON_HELP}
`;

const SPECIFIC = {
  '--hcl': 'value',
  '--evidence': 'value',
  '--cert': 'value',
  '--chain': 'value',
  '--tpm-quote': 'value',
  '--tpm-signature': 'value',
  '--pcrs': 'value',
  '--td-quote': 'value',
  '--crl': 'value',
  '--collateral': 'value',
  '--pcr': 'multi',
  '--nonce': 'value',
} as const;

/** PCR values from JSON (list of hex), hex text or raw 768 bytes → 768 bytes. */
function pcrBytes(raw: Uint8Array): Uint8Array {
  if (looksLikeJson(raw)) {
    const j = parseJsonOrUsage(raw, '--pcrs');
    const list = Array.isArray(j) ? j : (j as { pcrs?: unknown }).pcrs;
    if (
      !Array.isArray(list) ||
      !list.every((x) => typeof x === 'string' && /^[0-9a-fA-F]{64}$/.test(x))
    ) {
      throw new UsageError('--pcrs: expected a JSON list of 32-byte hex strings');
    }
    return new Uint8Array(Buffer.from(list.join(''), 'hex'));
  }
  return decodeInput(raw);
}

/** `teechat attest verify azure-hcl ...` — returns the exit status. */
export function attestVerifyAzure(argv: readonly string[], io: CliIo): Promise<number> {
  return verifyCommand(io, 'azure-hcl', AZURE_VERIFY_HELP, SPECIFIC, argv, (common, extra) => {
    const one = (f: string): string | undefined => extra.get(f)?.[0];
    const pcrs: { [k: string]: string[] } = {};
    for (const spec of extra.get('--pcr') ?? []) {
      const m = /^(\d{1,2})=(?:0x)?([0-9a-fA-F]{64})$/.exec(spec);
      if (m === null || Number(m[1]) > 23)
        throw new UsageError(
          `--pcr: expected N=HEX (N 0..23, 32-byte hex), got ${JSON.stringify(spec)}`,
        );
      (pcrs[m[1]!] ??= []).push(m[2]!.toLowerCase());
    }
    const nonce = one('--nonce') ?? common.expectReportData;
    if (nonce !== undefined && !/^(0x)?([0-9a-fA-F]{2}){1,64}$/.test(nonce))
      throw new UsageError(`--nonce: expected 1..64 bytes of hex, got ${JSON.stringify(nonce)}`);
    checkRelaxFlags(common, ['snp', 'tdx']);
    const policy = buildPolicy(common, (p) => ({
      ...p,
      snp: { ...p.snp, ...(common.allowDebug ? { allowDebug: true } : {}) },
      azure: {
        ...p.azure,
        ...(common.measurements.length > 0 ? { paravisorMeasurements: common.measurements } : {}),
        ...(Object.keys(pcrs).length > 0 ? { pcrs: { ...p.azure.pcrs, ...pcrs } } : {}),
        ...(nonce !== undefined ? { expectedNonce: nonce.replace(/^0x/, '').toLowerCase() } : {}),
      },
    }));
    let parts: Map<string, Uint8Array>;
    const ev = one('--evidence');
    const hclPath = one('--hcl');
    if (ev !== undefined) {
      try {
        parts = azureEvidenceFromJson(
          parseJsonOrUsage(readFileOrUsage(ev, '--evidence'), '--evidence'),
        );
      } catch (e) {
        if (e instanceof ProtocolError) throw new UsageError(`--evidence: ${e.message}`);
        throw e;
      }
    } else if (hclPath !== undefined) {
      parts = new Map([['hcl', decodeInput(readFileOrUsage(hclPath, '--hcl'))]]);
    } else throw new UsageError('--hcl or --evidence: expected a file, got nothing');
    const cert = one('--cert');
    if (cert !== undefined) parts.set('vcek', decodeInput(readFileOrUsage(cert, '--cert')));
    const chain = one('--chain');
    if (chain !== undefined)
      parts.set('cert_chain', decodeInput(readFileOrUsage(chain, '--chain')));
    const q = one('--tpm-quote');
    if (q !== undefined) {
      const raw = readFileOrUsage(q, '--tpm-quote');
      if (looksLikeJson(raw)) {
        const j = parseJsonOrUsage(raw, '--tpm-quote');
        try {
          for (const [k, v] of azureEvidenceFromJson({ hcl_report: [], tpm_quote: j }))
            if (k !== 'hcl') parts.set(k, v);
        } catch (e) {
          if (e instanceof ProtocolError) throw new UsageError(`--tpm-quote: ${e.message}`);
          throw e;
        }
      } else parts.set('tpm_quote', decodeInput(raw));
    }
    const s = one('--tpm-signature');
    if (s !== undefined)
      parts.set('tpm_signature', decodeInput(readFileOrUsage(s, '--tpm-signature')));
    const p = one('--pcrs');
    if (p !== undefined) parts.set('pcrs', pcrBytes(readFileOrUsage(p, '--pcrs')));
    const td = one('--td-quote');
    if (td !== undefined) parts.set('td_quote', decodeInput(readFileOrUsage(td, '--td-quote')));
    const crl = one('--crl');
    if (crl !== undefined) parts.set('crl', readFileOrUsage(crl, '--crl'));
    const colDir = one('--collateral');
    if (colDir !== undefined) {
      const c = readCollateralDir(colDir);
      if (c.tcbInfo !== undefined) parts.set(TDX_PART.TCB_INFO, c.tcbInfo);
      if (c.qeIdentity !== undefined) parts.set(TDX_PART.QE_IDENTITY, c.qeIdentity);
      if (c.tcbSigningChain !== undefined) parts.set(TDX_PART.TCB_SIGNING_CHAIN, c.tcbSigningChain);
      for (const [k, v] of c.crls ?? []) parts.set(`${TDX_PART.CRL_PREFIX}${k}`, v);
    }
    const at = common.at ?? new Date();
    const r = verifyAzureHclEvidence(
      { kind: 'azure-hcl', label: '', parts },
      { crypto: nodeProvider, now: () => at },
      policy,
    );
    return emitReport(io, r, common.json, at);
  });
}

export function looksLikeHclReport(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x48 && b[1] === 0x43 && b[2] === 0x4c && b[3] === 0x41;
}

/** Decoded fields of an HCL report (and the hardware report inside) for `teechat attest show`. */
export function showHclReport(b: Uint8Array): Fields {
  const h = parseHclReport(b);
  const f: Record<string, FieldValue> = {
    kind: 'azure-hcl',
    note: AZURE_MEASUREMENT_NOTE,
    hcl_version: h.version,
    report_type: h.reportType === HCL.REPORT_TYPE_SNP ? 'snp' : 'tdx',
    var_data_size: h.varData.length,
    runtime_claims: JSON.parse(JSON.stringify(h.claims.json)) as FieldValue,
  };
  if (h.reportType === HCL.REPORT_TYPE_SNP) {
    const r = parseSnpReport(h.hwReport);
    f['snp'] = snpReportFields(r, productFromCpuid(r));
  }
  return f;
}
