/**
 * Verifying a signed release manifest: parse → verify → validate, fail closed.
 *   1. the manifest bytes parse (protocol/release/manifest.ts);
 *   2. its Sigstore bundle verifies offline (sigstore.ts) for the EXACT identity built from the
 *      configured repository + workflow and the manifest's own tag (identity.ts);
 *   3. the certificate's GitHub extensions agree with the manifest (repository, tag ref, commit);
 *   4. freshness: signed within `maxAgeMs`, or re-signed within it by a witness over the SAME bytes;
 *   5. no rollback: not older than the highest version accepted for this signer (unless the user
 *      explicitly allows it), and never a different manifest under an already accepted version.
 * The caller records an accepted manifest with `commitAcceptedRelease` (state.ts).
 */
import { createHash } from 'node:crypto';
import { ProtocolError } from '../../protocol/errors';
import {
  compareSemver,
  parseReleaseManifest,
  parseSemver,
  type ReleaseManifest,
} from '../../protocol/release/manifest';
import { expectedIdentity, signerKey, witnessIdentity, type ReleaseSignerConfig } from './identity';
import { verifyBundle, type BundleVerified, type SignerPin } from './sigstore';
import type { AcceptedLogEntry, ReleaseState } from './state';

/** Default freshness bound: 7 days, as Tinfoil's verifiers (the release workflow re-witnesses every 5). */
export const DEFAULT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export interface ReleaseVerifyOptions {
  readonly manifest: Uint8Array;
  readonly bundle: Uint8Array;
  readonly signer: ReleaseSignerConfig;
  readonly trustedRoot: unknown;
  /** Injected clock (ms since epoch). */
  readonly now: number;
  readonly state: ReleaseState;
  /** Maximum signature age (ms), or null to not bound it (explicit relaxation, reported). */
  readonly maxAgeMs: number | null;
  /** Witness bundles: newer Sigstore signatures over the same manifest bytes. */
  readonly witnesses?: readonly Uint8Array[];
  /**
   * Who may sign witnesses. Default: the same workflow on the default branch
   * (`…/release.yml@refs/heads/main`), where the workflow's scheduled witness job runs.
   */
  readonly witnessSigner?: SignerPin;
  /** Accept a version lower than the highest accepted for this signer (explicit; reported). */
  readonly allowDowngrade?: boolean;
  /**
   * Accept a downgrade to exactly this one version (explicit; reported): the editor's
   * `teechat.release.allowDowngradeTo`. Any other older version is still refused.
   */
  readonly allowDowngradeTo?: string;
  /** How the refusal of a downgrade tells the user to allow it (default: the CLI's flag). */
  readonly downgradeHint?: (version: string) => string;
}

export interface ReleaseVerified {
  readonly manifest: ReleaseManifest;
  readonly manifestSha256: string;
  readonly signer: string;
  readonly bundle: BundleVerified;
  /** The newest verified signing time (release or witness), ms. */
  readonly freshAtMs: number;
  readonly witnessed: boolean;
  readonly previous: { readonly version: string; readonly manifestSha256: string } | null;
  readonly kind: AcceptedLogEntry['kind'];
  /** Relaxations in effect (empty when none): named in every report. */
  readonly relaxations: readonly string[];
}

const refuse = (check: string, message: string): never => {
  throw new ProtocolError('release_rejected', `${check}: ${message}`, check);
};

const DAY = 24 * 3600 * 1000;
const days = (ms: number): string => `${(ms / DAY).toFixed(1)} days`;

export function verifyReleaseManifest(o: ReleaseVerifyOptions): ReleaseVerified {
  let manifest: ReleaseManifest;
  try {
    manifest = parseReleaseManifest(o.manifest);
  } catch (e) {
    if (e instanceof ProtocolError) return refuse(`manifest.${e.field ?? 'parse'}`, e.message);
    throw e;
  }
  const manifestSha256 = createHash('sha256').update(o.manifest).digest('hex');
  if (manifest.source.repository !== `github.com/${o.signer.repository}`)
    refuse(
      'manifest.source.repository',
      `expected "github.com/${o.signer.repository}" (the pinned signer), got ${JSON.stringify(manifest.source.repository)}`,
    );
  let identity: string;
  try {
    identity = expectedIdentity(o.signer, manifest.source.tag);
  } catch (e) {
    return refuse('manifest.source.tag', e instanceof Error ? e.message : String(e));
  }
  const bundle = verifyBundle({
    bundle: o.bundle,
    artifact: o.manifest,
    trustedRoot: o.trustedRoot,
    signer: { kind: 'identity', identity, issuer: o.signer.issuer },
  });
  // The certificate's own claims must agree with the manifest (GitHub's Fulcio extensions).
  const wf = bundle.workflow;
  if (wf.repository !== undefined && wf.repository !== `https://github.com/${o.signer.repository}`)
    refuse(
      'certificate.source_repository',
      `expected "https://github.com/${o.signer.repository}", got ${JSON.stringify(wf.repository)}`,
    );
  if (wf.ref !== undefined && wf.ref !== `refs/tags/${manifest.source.tag}`)
    refuse(
      'certificate.source_ref',
      `expected "refs/tags/${manifest.source.tag}", got ${JSON.stringify(wf.ref)}`,
    );
  if (wf.sha !== undefined && wf.sha.toLowerCase() !== manifest.source.commit)
    refuse(
      'manifest.source.commit',
      `expected ${wf.sha} (the signing workflow's commit), got ${manifest.source.commit}`,
    );

  const relaxations: string[] = [];
  const signedAt = bundle.signedAtMs;
  if (signedAt === null)
    return refuse('bundle.signing_time', 'expected a verified signing time, got none');
  if (signedAt > o.now + 5 * 60_000)
    refuse(
      'bundle.signing_time',
      `expected a time before now (${new Date(o.now).toISOString()}), got ${new Date(signedAt).toISOString()}`,
    );
  let freshAtMs = signedAt;
  let witnessed = false;
  if (o.maxAgeMs === null) relaxations.push('release freshness not bounded (maximum age 0)');
  else if (o.maxAgeMs > DEFAULT_MAX_AGE_MS)
    relaxations.push(
      `release maximum age raised to ${days(o.maxAgeMs)} (default ${days(DEFAULT_MAX_AGE_MS)})`,
    );
  else if (o.now - signedAt > o.maxAgeMs) {
    const errors: string[] = [];
    for (const [i, w] of (o.witnesses ?? []).entries()) {
      try {
        const v = verifyBundle({
          bundle: w,
          artifact: o.manifest,
          trustedRoot: o.trustedRoot,
          signer: o.witnessSigner ?? {
            kind: 'identity',
            identity: witnessIdentity(o.signer),
            issuer: o.signer.issuer,
          },
        });
        if (v.signedAtMs !== null && v.signedAtMs > freshAtMs && v.signedAtMs <= o.now + 5 * 60_000)
          freshAtMs = v.signedAtMs;
      } catch (e) {
        errors.push(`witness[${i}]: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (o.now - freshAtMs > o.maxAgeMs)
      refuse(
        'freshness',
        `expected a signature over this manifest at most ${days(o.maxAgeMs)} old, got ${days(o.now - freshAtMs)} (signed ${new Date(signedAt).toISOString()}${
          (o.witnesses ?? []).length > 0
            ? `; ${errors.length > 0 ? errors.join('; ') : 'no witness newer than the limit'}`
            : '; no witness given'
        })`,
      );
    witnessed = true;
  }

  const key = signerKey(o.signer);
  const prev = o.state.highest(key);
  let kind: AcceptedLogEntry['kind'] = 'new';
  if (prev !== null) {
    const cmp = compareSemver(manifest.semver, parseSemver(prev.version, 'state.version'));
    if (cmp === 0) {
      if (prev.manifestSha256 !== manifestSha256)
        refuse(
          'rollback.digest',
          `expected manifest sha256 ${prev.manifestSha256} (already accepted for ${prev.version}), got ${manifestSha256}: two different manifests signed for one version`,
        );
      kind = 'same';
    } else if (cmp > 0) kind = 'upgrade';
    else if (o.allowDowngrade === true || o.allowDowngradeTo === manifest.version) {
      kind = 'downgrade-allowed';
      relaxations.push(`downgrade from ${prev.version} to ${manifest.version} explicitly allowed`);
    } else
      refuse(
        'rollback.version',
        `expected version >= ${prev.version} (highest accepted from this signer), got ${manifest.version} (${
          o.allowDowngradeTo !== undefined && o.allowDowngradeTo !== ''
            ? `only a downgrade to ${o.allowDowngradeTo} is allowed`
            : (o.downgradeHint?.(manifest.version) ?? 'pass --allow-downgrade to accept it')
        })`,
      );
  }
  return {
    manifest,
    manifestSha256,
    signer: key,
    bundle,
    freshAtMs,
    witnessed,
    previous: prev === null ? null : { version: prev.version, manifestSha256: prev.manifestSha256 },
    kind,
    relaxations,
  };
}

/** Records an accepted release: raises the highest version (never on an allowed downgrade) and logs it. */
export async function commitAcceptedRelease(
  state: ReleaseState,
  v: ReleaseVerified,
  now: number,
): Promise<void> {
  await state.accept(
    {
      signer: v.signer,
      identity: v.bundle.identity ?? '',
      version: v.manifest.version,
      manifestSha256: v.manifestSha256,
      acceptedAtMs: now,
      logIndex: v.bundle.tlog[0]?.logIndex ?? '',
      signedAtMs: v.bundle.signedAtMs ?? 0,
      kind: v.kind,
    },
    v.kind === 'new' || v.kind === 'upgrade',
  );
}
