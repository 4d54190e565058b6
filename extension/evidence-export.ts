/**
 * The raw evidence bundle for offline audit (`teechat attest verify FILE`): the evidence items
 * exactly as received, every part base64-encoded, plus what the extension concluded. Pure.
 * Format `teechat-evidence/1` (docs/EXTENSION.md):
 *   { format, exportedAt, serverUrl, transcriptHash, binding: { cpuReportData, gpuNonce },
 *     items: [{ kind, label, parts: { name: base64 } }],
 *     summary: { measurement, cpuKind, product, tcb, gpu, model, simulated, verifiedAt },
 *     reports: VerificationReport[] }
 * `binding` holds the values the evidence must carry for this session (hex): SNP/TDX REPORT_DATA
 * and the NVIDIA nonce, derived from the transcript hash (protocol/handshake/keys.ts), so an
 * auditor can check the binding offline (`--expect-report-data`).
 */
import type { EvidenceItem, VerificationReport } from '../protocol/attestation/types';
import type { AttestationView } from './types';

export const EVIDENCE_FORMAT = 'teechat-evidence/1';

export interface EvidenceBundleJson {
  readonly format: typeof EVIDENCE_FORMAT;
  readonly exportedAt: string;
  readonly serverUrl: string;
  readonly transcriptHash: string;
  readonly binding: { readonly cpuReportData: string; readonly gpuNonce: string } | null;
  readonly items: { kind: string; label: string; parts: Record<string, string> }[];
  readonly summary: Record<string, unknown>;
  readonly reports: readonly VerificationReport[];
}

export function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function buildEvidenceBundle(
  serverUrl: string,
  a: AttestationView,
  now: Date,
): EvidenceBundleJson {
  return {
    format: EVIDENCE_FORMAT,
    exportedAt: now.toISOString(),
    serverUrl,
    transcriptHash: a.transcriptHash,
    binding: a.binding,
    items: a.evidence.map((it) => ({
      kind: it.kind,
      label: it.label,
      parts: Object.fromEntries([...it.parts].map(([k, v]) => [k, toBase64(v)])),
    })),
    summary: {
      cpuKind: a.cpuKind,
      measurement: a.measurement,
      product: a.product,
      tcb: a.tcb,
      gpu: a.gpu,
      model: a.model,
      simulated: a.simulated,
      verifiedAt: a.verifiedAt.toISOString(),
    },
    reports: a.reports,
  };
}

/** Reads the items back (round trip; used by tests and by tools that import the bundle). */
export function parseEvidenceItems(json: EvidenceBundleJson): EvidenceItem[] {
  if (json.format !== EVIDENCE_FORMAT)
    throw new Error(`format: expected ${EVIDENCE_FORMAT}, got ${String(json.format)}`);
  return json.items.map((it) => ({
    kind: it.kind as EvidenceItem['kind'],
    label: it.label,
    parts: new Map(Object.entries(it.parts).map(([k, v]) => [k, fromBase64(v)])),
  }));
}
