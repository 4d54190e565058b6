/**
 * The client's EvidenceVerifier: dispatches each evidence item to its verifier (parse → verify →
 * validate), then applies the session requirements:
 *   - every item in the bundle must verify (an item that fails is never ignored);
 *   - at least one CPU TEE item (sev-snp, tdx, azure-hcl) — the kinds `require.cpu` allows;
 *   - a GPU item (nvidia-gpu) when `require.gpu` is set (default);
 *   - simulated roots only when the user turned on `allowSimulated`.
 * The verdict's summary is one readable line; a failed binding check (evidence not made for
 * this transcript: replayed evidence or a swapped key) is named `binding_mismatch` in it.
 */
import type {
  BindingValues,
  EvidenceItem,
  EvidenceKind,
  EvidenceVerdict,
  EvidenceVerifier,
  TrustAnchors,
  VerificationReport,
  VerifyContext,
} from '../protocol/attestation/types';
import type { AttestationPolicy } from '../protocol/attestation/policy';
import { DEFAULT_POLICY } from '../protocol/attestation/policy';
import type { NvidiaPolicy } from '../protocol/attestation/nvidia/policy';
import { DEFAULT_NVIDIA_POLICY } from '../protocol/attestation/nvidia/policy';
import { verifySnpEvidence } from '../protocol/attestation/snp/verify';
import { verifyAzureHclEvidence } from '../protocol/attestation/azure/verify';
import { verifyTdxEvidence } from '../protocol/attestation/tdx/verify';
import { verifyNvidiaEvidence } from '../protocol/attestation/nvidia/verify';
import type { CryptoProvider } from '../protocol/crypto/provider';
import { ProtocolError } from '../protocol/errors';
import { manifestPolicy } from '../protocol/release/manifest';
import type { ReleaseSessionOptions, verifySessionRelease } from './release/session';
import { relaxedIn } from '../protocol/attestation/relax';
import { normalizeReport, okFromChecks } from '../protocol/attestation/verdict';

export const CPU_KINDS: readonly EvidenceKind[] = ['sev-snp', 'tdx', 'azure-hcl'];

export interface RequirePolicy {
  /** CPU TEE kinds accepted (at least one item of one of them is required). */
  readonly cpu: readonly EvidenceKind[];
  /** Require verified NVIDIA GPU evidence (confidential-computing GPU). */
  readonly gpu: boolean;
}

/** The client policy: the shared attestation policy plus the sections of the other verifiers. */
export interface Policy extends AttestationPolicy {
  readonly nvidia?: NvidiaPolicy;
  readonly require?: RequirePolicy;
  /** Allowed model SHA-256 values (hex); empty or absent: any model (the summary still shows it). */
  readonly models?: readonly string[];
}

export const DEFAULT_REQUIRE: RequirePolicy = { cpu: CPU_KINDS, gpu: true };

export const DEFAULT_CLIENT_POLICY: Policy = {
  ...DEFAULT_POLICY,
  nvidia: DEFAULT_NVIDIA_POLICY,
  require: DEFAULT_REQUIRE,
  models: [],
};

/** Check ids that compare evidence with this session's binding values. */
const BINDING_CHECKS = new Set(['report_data', 'nonce', 'binding', 'tpm_nonce', 'runtime_claims']);

export interface VerifierOptions {
  readonly policy: Policy;
  readonly crypto: CryptoProvider;
  readonly allowSimulated: boolean;
  readonly now?: () => Date;
  /**
   * Replaces the verifier of a kind (same contract as VERIFIERS). Tests only: a verifier that lies
   * about `ok` is refused because ok is recomputed from its checks.
   */
  readonly extra?: Partial<Record<EvidenceKind, ItemVerifier>>;
  /**
   * Signed release checking (client/release/session.ts): the manifest is verified first and its
   * expected values replace the policy's allowlists (floors only rise). Absent: no release checks.
   */
  readonly release?: ReleaseSessionOptions;
  /**
   * Extra pinned roots (AMD ARK per product, NVIDIA device and RIM roots), treated exactly like
   * the compiled-in ones: NOT simulated. Tests and embedders only; never read from VS Code
   * settings, config files or CLI flags (docs/ATTESTATION.md "Injected test roots").
   */
  readonly trustAnchors?: TrustAnchors;
}

/** What every evidence verifier receives (the pinned-root context of protocol/attestation). */
export interface ItemContext extends VerifyContext {
  readonly crypto: CryptoProvider;
}

/**
 * The one verifier contract: parse → verify → validate one item against the client policy (each
 * verifier reads its own section of it) and this session's binding values.
 */
export type ItemVerifier = (
  item: EvidenceItem,
  ctx: ItemContext,
  policy: Policy,
  binding?: BindingValues,
) => VerificationReport;

/** The NVIDIA verifier reads the policy's `nvidia` section (the strict default when absent). */
const verifyNvidia: ItemVerifier = (item, ctx, policy, binding) =>
  verifyNvidiaEvidence(item, ctx, policy.nvidia ?? DEFAULT_NVIDIA_POLICY, binding);

/** One verifier per evidence kind; the type makes a new kind without a verifier a build error. */
export const VERIFIERS: Readonly<Record<EvidenceKind, ItemVerifier>> = {
  'sev-snp': verifySnpEvidence,
  'azure-hcl': verifyAzureHclEvidence,
  tdx: verifyTdxEvidence,
  'nvidia-gpu': verifyNvidia,
  'nvidia-switch': verifyNvidia,
};

/** The policy with the development switch applied (only ever widened by the user's own setting). */
export function effectivePolicy(p: Policy, allowSimulated: boolean): Policy {
  return {
    ...p,
    allowSimulated: p.allowSimulated || allowSimulated,
    nvidia: {
      ...(p.nvidia ?? DEFAULT_NVIDIA_POLICY),
      allowSimulated: (p.nvidia?.allowSimulated ?? false) || allowSimulated,
    },
  };
}

export function createVerifier(o: VerifierOptions): EvidenceVerifier {
  const policy = effectivePolicy(o.policy, o.allowSimulated);
  const now = o.now ?? (() => new Date());
  const require = policy.require ?? DEFAULT_REQUIRE;
  return async (items, binding) => {
    let sessionPolicy = policy;
    let release: ReturnType<typeof verifySessionRelease> = null;
    // Loaded only for sessions that check releases (the Sigstore libraries are not small).
    const rs = o.release !== undefined ? await import('./release/session') : undefined;
    if (o.release !== undefined && rs !== undefined) {
      try {
        release = rs.verifySessionRelease(o.release, items, now().getTime());
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        return { ok: false, reports: [], summary: `release_rejected: ${e.message}` };
      }
      if (release !== null)
        sessionPolicy = {
          ...manifestPolicy(policy, release.verified.manifest),
          models: [release.verified.manifest.model.sha256],
        };
    }
    const reports: VerificationReport[] = [];
    // `ok` is recomputed from the checks (verdict.ts), never taken from the verifier as stored.
    for (const item of items)
      reports.push(
        normalizeReport(
          verifyItem(
            item,
            {
              crypto: o.crypto,
              now,
              ...(o.trustAnchors !== undefined ? { trustAnchors: o.trustAnchors } : {}),
            },
            sessionPolicy,
            binding,
            o.extra,
          ),
        ),
      );
    const verdict = verdictOf(reports, require, policy.allowSimulated);
    if (release === null || o.release === undefined || rs === undefined) return verdict;
    // Record the release (rollback state, accepted log) only once the evidence matched it.
    if (verdict.ok)
      await rs.commitAcceptedRelease(o.release.state, release.verified, now().getTime());
    const summary = rs.releaseSummary(release.verified, release.source);
    return {
      ...verdict,
      release: summary,
      summary: verdict.ok
        ? `${verdict.summary} — release ${summary.version} (${release.source === 'pinned' ? 'pinned manifest' : release.source === 'bundled' ? 'signed manifest shipped with the client' : 'signed manifest'})`
        : `${verdict.summary} | against release ${summary.version} manifest`,
    };
  };
}

function verifyItem(
  item: EvidenceItem,
  ctx: ItemContext,
  policy: Policy,
  binding: BindingValues,
  extra: VerifierOptions['extra'],
): VerificationReport {
  // A kind this build does not know (an older client) has no row: refused, never skipped.
  const verify =
    extra?.[item.kind] ?? (Object.hasOwn(VERIFIERS, item.kind) ? VERIFIERS[item.kind] : undefined);
  if (verify === undefined)
    return failed(
      item,
      'verifier',
      `${String(item.kind)}: expected a verifier for this evidence kind, got none in this client`,
    );
  try {
    return verify(item, ctx, policy, binding);
  } catch (e) {
    // Verifiers report problems as checks; an exception is itself a failed check.
    return failed(
      item,
      'verifier',
      `${item.kind}: verifier raised ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

function failed(item: EvidenceItem, id: string, message: string): VerificationReport {
  return {
    ok: false,
    kind: item.kind,
    label: item.label,
    checks: [{ id, ok: false, message }],
    fields: {},
    simulated: false,
  };
}

export function verdictOf(
  given: readonly VerificationReport[],
  require: RequirePolicy,
  allowSimulated: boolean,
): EvidenceVerdict {
  const problems: string[] = [];
  let reports: readonly VerificationReport[] = given;
  // Never the stored `ok`: the same rule as every verifier, from the checks (verdict.ts).
  reports = reports.map(normalizeReport);
  for (const r of reports) {
    if (okFromChecks(r.checks)) continue;
    const bad = r.checks.filter((c) => !c.ok);
    const binding = bad.some((c) => BINDING_CHECKS.has(c.id));
    const what = bad.map((c) => `${c.id}: ${c.message}`).join('; ') || 'no checks passed';
    problems.push(
      `${binding ? 'binding_mismatch in ' : ''}${r.kind}${r.label ? `/${r.label}` : ''} rejected (${what})`,
    );
  }
  const okKinds = reports.filter((r) => okFromChecks(r.checks)).map((r) => r.kind);
  if (!okKinds.some((k) => require.cpu.includes(k)))
    problems.push(
      `evidence_missing: expected verified CPU TEE evidence (${require.cpu.join(' or ')}), got [${okKinds.join(', ') || 'none'}]`,
    );
  if (require.gpu && !okKinds.includes('nvidia-gpu'))
    problems.push(
      `evidence_missing: expected verified NVIDIA GPU evidence, got [${okKinds.join(', ') || 'none'}]`,
    );
  const simulated = reports.some((r) => r.simulated);
  if (simulated && !allowSimulated)
    problems.push('simulated evidence: expected vendor roots, got a simulated (development) root');
  const ok = problems.length === 0;
  const relaxed = relaxedIn(reports.flatMap((r) => r.checks));
  const relaxNote = relaxed.length > 0 ? ` — RELAXED: ${relaxed.join(', ')}` : '';
  const summary = ok
    ? `verified ${reports.map((r) => r.kind + (r.label ? `/${r.label}` : '')).join(', ')}${simulated ? ' — SIMULATED (development roots)' : ''}${relaxNote}`
    : problems.join(' | ') + relaxNote;
  return { ok, reports, summary };
}
