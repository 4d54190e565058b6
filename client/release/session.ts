/**
 * The release manifest in a session (docs/RELEASES.md "Sessions"): the server sends the manifest
 * and its Sigstore bundle as parts of its CPU evidence item (bound into the transcript), or the
 * user pins a manifest file. When release checking is configured, the manifest is verified
 * (signature, pinned identity, freshness, rollback) BEFORE the evidence, and the evidence is then
 * checked against a policy whose expected values are the manifest's (`manifestPolicy`), so a
 * session is accepted only on an exact match.
 */
import type { EvidenceItem, ReleaseSummary } from '../../protocol/attestation/types';
import { ProtocolError } from '../../protocol/errors';
import { expectedValueNames } from '../../protocol/release/manifest';
import type { ReleaseSignerConfig } from './identity';
import { commitAcceptedRelease, verifyReleaseManifest, type ReleaseVerified } from './release';
import type { ReleaseState } from './state';

export const RELEASE_MANIFEST_PART = 'release.manifest';
export const RELEASE_BUNDLE_PART = 'release.sigstore';

export interface ReleaseParts {
  readonly manifest: Uint8Array;
  readonly bundle: Uint8Array;
}

export interface ReleaseSessionOptions {
  readonly signer: ReleaseSignerConfig;
  readonly trustedRoot: unknown;
  readonly state: ReleaseState;
  /** Maximum signature age in ms, or null (explicit relaxation). */
  readonly maxAgeMs: number | null;
  readonly allowDowngrade?: boolean;
  /** Accept a downgrade to exactly this version (explicit; reported). */
  readonly allowDowngradeTo?: string;
  readonly downgradeHint?: (version: string) => string;
  readonly witnesses?: readonly Uint8Array[];
  /** A manifest + bundle the user pinned: used instead of whatever the server offers. */
  readonly pinned?: ReleaseParts;
  /**
   * A manifest + bundle shipped with the client (the extension's .vsix, for offline use): used
   * only when the server offers none and none is pinned, and verified exactly as the others.
   */
  readonly bundled?: ReleaseParts;
  /**
   * Refuse a server that offers no manifest (and none is pinned). When false, such a server is
   * verified with the user's own policy (and the extension's trust-on-first-use prompt says that
   * the server offers no manifest).
   */
  readonly require: boolean;
}

const eq = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** The release parts the server sent (all CPU items must carry the same ones), or null. */
export function offeredRelease(items: readonly EvidenceItem[]): ReleaseParts | null {
  let found: ReleaseParts | null = null;
  for (const item of items) {
    const m = item.parts.get(RELEASE_MANIFEST_PART);
    const b = item.parts.get(RELEASE_BUNDLE_PART);
    if (m === undefined && b === undefined) continue;
    if (m === undefined || b === undefined)
      throw new ProtocolError(
        'release_rejected',
        `${item.kind}.${m === undefined ? RELEASE_MANIFEST_PART : RELEASE_BUNDLE_PART}: expected both release parts, got one`,
        'release',
      );
    if (found !== null && (!eq(found.manifest, m) || !eq(found.bundle, b)))
      throw new ProtocolError(
        'release_rejected',
        `${item.kind}.${RELEASE_MANIFEST_PART}: expected the same manifest in every evidence item, got different ones`,
        'release',
      );
    found = { manifest: m, bundle: b };
  }
  return found;
}

/** Verifies the session's release manifest (pinned, else offered). Null when there is none (and none is required). */
export function verifySessionRelease(
  o: ReleaseSessionOptions,
  items: readonly EvidenceItem[],
  now: number,
): { verified: ReleaseVerified; source: ReleaseSummary['source'] } | null {
  const offered = offeredRelease(items);
  const parts = o.pinned ?? offered ?? o.bundled ?? null;
  if (parts === null) {
    if (o.require)
      throw new ProtocolError(
        'release_rejected',
        'release: expected a signed release manifest from the server (or a pinned one), got none',
        'release',
      );
    return null;
  }
  const verified = verifyReleaseManifest({
    manifest: parts.manifest,
    bundle: parts.bundle,
    signer: o.signer,
    trustedRoot: o.trustedRoot,
    now,
    state: o.state,
    maxAgeMs: o.maxAgeMs,
    ...(o.witnesses !== undefined ? { witnesses: o.witnesses } : {}),
    ...(o.allowDowngrade !== undefined ? { allowDowngrade: o.allowDowngrade } : {}),
    ...(o.allowDowngradeTo !== undefined ? { allowDowngradeTo: o.allowDowngradeTo } : {}),
    ...(o.downgradeHint !== undefined ? { downgradeHint: o.downgradeHint } : {}),
  });
  const source = o.pinned !== undefined ? 'pinned' : offered !== null ? 'server' : 'bundled';
  return { verified, source };
}

export function releaseSummary(
  v: ReleaseVerified,
  source: ReleaseSummary['source'],
): ReleaseSummary {
  const m = v.manifest;
  return {
    version: m.version,
    manifestSha256: v.manifestSha256,
    source,
    repository: m.source.repository,
    commit: m.source.commit,
    identity: v.bundle.identity ?? '',
    issuer: v.bundle.issuer ?? '',
    logIndex: v.bundle.tlog[0]?.logIndex ?? '',
    signedAt: v.bundle.signedAtMs === null ? '' : new Date(v.bundle.signedAtMs).toISOString(),
    freshAt: new Date(v.freshAtMs).toISOString(),
    rollback: v.kind,
    previousVersion: v.previous?.version ?? null,
    relaxations: v.relaxations,
    modelSha256: m.model.sha256,
    modelRef: `${m.model.repository}@${m.model.revision}/${m.model.file}`,
    expected: expectedValueNames(m),
    image: m.image,
  };
}

export { commitAcceptedRelease };
