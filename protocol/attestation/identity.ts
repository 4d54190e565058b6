/**
 * The launch identity that names the code, and whether a policy pins it (issue #13 item 5). One
 * place decides this for the CLI's pin gate, the known-enclaves file and the extension:
 *
 *   sev-snp    MEASUREMENT (the launch digest covers OVMF, kernel, initrd and command line when
 *              the image uses SNP kernel hashes).
 *   tdx        MRTD ‖ RTMR1 ‖ RTMR2, and MRCONFIGID ‖ MROWNER when either is non-zero. MRTD covers
 *              only the TD firmware (TDVF); the kernel and its command line are measured into
 *              RTMR1 / RTMR2, so MRTD alone would accept any kernel booted by that firmware.
 *   azure-hcl  the guest's vTPM PCRs: those the policy names (`azure.pcrs`), else every PCR the
 *              signed TPM quote covers, in index order. The SNP / TDX measurement of an Azure CVM is
 *              Microsoft's paravisor, shared by every Azure confidential VM: it never identifies
 *              the guest and is not part of the identity.
 *
 * The identity is lower-case hex (the concatenation above), so it fits the existing known-hosts
 * stores and allowlists; `names` says what it is made of.
 */
import type { AttestationPolicy } from './policy';
import type { FieldValue, VerificationReport } from './types';

export interface CodeIdentity {
  readonly kind: string;
  /** Lower-case hex, or null when the report carries nothing that names the code. */
  readonly id: string | null;
  /** What `id` is the concatenation of, e.g. ["MRTD", "RTMR1", "RTMR2"]. */
  readonly names: readonly string[];
}

const HEX = /^(?:[0-9a-f]{2})+$/;
const isZero = (h: string): boolean => /^0*$/.test(h);

function str(v: FieldValue | undefined): string | undefined {
  return typeof v === 'string' && HEX.test(v.toLowerCase()) ? v.toLowerCase() : undefined;
}

function obj(v: FieldValue | undefined): Record<string, FieldValue> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, FieldValue>)
    : undefined;
}

/** The TDX identity parts present in a TD quote's fields. */
function tdxParts(f: Readonly<Record<string, FieldValue>>): [string, string][] | null {
  const mrtd = str(f['mrtd']);
  const r1 = str(f['rtmr1']);
  const r2 = str(f['rtmr2']);
  if (mrtd === undefined || r1 === undefined || r2 === undefined) return null;
  const parts: [string, string][] = [
    ['MRTD', mrtd],
    ['RTMR1', r1],
    ['RTMR2', r2],
  ];
  const cfg = str(f['mrconfigid']);
  const owner = str(f['mrowner']);
  if ((cfg !== undefined && !isZero(cfg)) || (owner !== undefined && !isZero(owner))) {
    parts.push(['MRCONFIGID', cfg ?? ''], ['MROWNER', owner ?? '']);
  }
  return parts;
}

/** The identity of a verified CPU report (sev-snp, tdx, azure-hcl). */
export function codeIdentity(
  r: VerificationReport,
  pcrIndices: readonly string[] = [],
): CodeIdentity {
  switch (r.kind) {
    case 'sev-snp': {
      const m = str(r.fields['measurement']);
      return { kind: r.kind, id: m ?? null, names: ['MEASUREMENT'] };
    }
    case 'tdx': {
      const p = tdxParts(r.fields);
      return p === null
        ? { kind: r.kind, id: null, names: [] }
        : { kind: r.kind, id: p.map(([, v]) => v).join(''), names: p.map(([n]) => n) };
    }
    case 'azure-hcl': {
      const pcrs = obj(r.fields['pcrs']) ?? {};
      const want =
        pcrIndices.length > 0
          ? [...pcrIndices]
          : Object.keys(pcrs).filter((k) => str(pcrs[k]) !== undefined);
      const idx = want.map(Number).sort((a, b) => a - b);
      const vals = idx.map((i) => str(pcrs[String(i)]));
      if (idx.length === 0 || vals.some((v) => v === undefined))
        return { kind: r.kind, id: null, names: [] };
      return { kind: r.kind, id: vals.join(''), names: idx.map((i) => `PCR${i}`) };
    }
    default:
      return { kind: r.kind, id: null, names: [] };
  }
}

/**
 * What the policy leaves unpinned about the identity of a verified CPU report, or null when the
 * policy pins all of it (every value the identity is made of has an allowlist).
 */
export function unpinnedBy(r: VerificationReport, p: AttestationPolicy): string | null {
  switch (r.kind) {
    case 'sev-snp':
      return p.snp.measurements.length > 0
        ? null
        : `launch measurement ${String(r.fields['measurement'] ?? '')} is not pinned (no "snp.measurements" in the policy)`;
    case 'tdx': {
      const parts = tdxParts(r.fields);
      const missing: string[] = [];
      if (p.tdx.mrtd.length === 0) missing.push('"tdx.mrtd"');
      if ((p.tdx.rtmr[1] ?? []).length === 0) missing.push('"tdx.rtmr"[1]');
      if ((p.tdx.rtmr[2] ?? []).length === 0) missing.push('"tdx.rtmr"[2]');
      if (parts?.some(([n]) => n === 'MRCONFIGID') === true) {
        const cfg = str(r.fields['mrconfigid']) ?? '';
        const owner = str(r.fields['mrowner']) ?? '';
        if (!isZero(cfg) && p.tdx.mrConfigId.length === 0) missing.push('"tdx.mrConfigId"');
        if (!isZero(owner) && p.tdx.mrOwner.length === 0) missing.push('"tdx.mrOwner"');
      }
      return missing.length === 0
        ? null
        : `the TD is not pinned: no ${missing.join(', ')} in the policy (MRTD covers only the TD firmware; the kernel and command line are in RTMR1 / RTMR2)`;
    }
    case 'azure-hcl':
      return Object.keys(p.azure.pcrs).length > 0
        ? null
        : `the guest is not pinned: no "azure.pcrs" in the policy (the SNP / TDX measurement of an Azure CVM covers Microsoft's paravisor, shared by every Azure confidential VM, not this guest)`;
    default:
      return `${r.kind}: the launch identity is not pinned by the policy`;
  }
}
