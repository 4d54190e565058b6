/**
 * Offline Sigstore bundle verification for signed releases, built on sigstore-js
 * (`@sigstore/bundle` parses and validates the bundle, `@sigstore/verify` checks the certificate
 * chain against the trusted root, the SCT, the transparency-log entry — inclusion proof or promise,
 * checkpoint, body — the timestamps and the signature). What sigstore-js leaves to its caller is
 * done here, fail closed:
 * - the signer identity is compared EXACTLY (sigstore-js tests the policy identity as an
 *   unanchored regular expression, so "…@refs/tags/v1" would match "…@refs/tags/v1.2"): we pass no
 *   policy to it and compare the certificate's SAN and issuer strings ourselves;
 * - for a DSSE bundle, the artifact's SHA-256 must be a subject of the in-toto statement
 *   (sigstore-js verifies the envelope signature only);
 * - at least one tlog entry, one SCT (certificate bundles) and one verified timestamp;
 *   every tlog entry must carry an inclusion proof (a v0.1 bundle with only a signed entry
 *   timestamp, an "inclusion promise", is refused).
 * Every refusal is a ProtocolError with code 'release_rejected' whose message names the check.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type KeyFinderFunc } from '@sigstore/verify';
import { ProtocolError } from '../../protocol/errors';

/** Who must have signed: a Fulcio certificate identity + OIDC issuer, or a managed public key. */
export type SignerPin =
  | { readonly kind: 'identity'; readonly identity: string; readonly issuer: string }
  | { readonly kind: 'key'; readonly publicKeyPem: string };

export interface BundleVerifyInput {
  /** The bundle file's bytes (Sigstore bundle JSON, any media type v0.1–v0.3). */
  readonly bundle: Uint8Array;
  /** The artifact's bytes (the release manifest). */
  readonly artifact: Uint8Array;
  /** The trusted_root.json value (JSON-parsed). */
  readonly trustedRoot: unknown;
  readonly signer: SignerPin;
}

export interface BundleVerified {
  readonly content: 'message_signature' | 'dsse';
  readonly mediaType: string;
  readonly artifactSha256: string;
  /** Certificate SAN and issuer (identity bundles), or null for a key bundle. */
  readonly identity: string | null;
  readonly issuer: string | null;
  /** Fulcio GitHub workflow extensions when present (repository, ref, sha). */
  readonly workflow: { readonly repository?: string; readonly ref?: string; readonly sha?: string };
  readonly tlog: readonly {
    readonly logIndex: string;
    readonly integratedTime: number | null;
    readonly logId: string;
  }[];
  /** Earliest verified signing time (tlog integrated time or RFC 3161 timestamp), ms since epoch. */
  readonly signedAtMs: number | null;
  /** SHA-256 over the signature bytes (identifies this signature, e.g. a witness). */
  readonly signatureSha256: string;
}

const refuse = (check: string, message: string): never => {
  throw new ProtocolError('release_rejected', `${check}: ${message}`, check);
};

const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (e) {
    return refuse(
      what,
      `expected JSON, got a syntax error (${e instanceof Error ? e.message.slice(0, 80) : 'invalid'})`,
    );
  }
}

/** Parses and validates trusted_root.json into sigstore-js trust material. */
export function loadTrustedRoot(
  json: unknown,
  keyFinder?: KeyFinderFunc,
): ReturnType<typeof toTrustMaterial> {
  try {
    return toTrustMaterial(TrustedRoot.fromJSON(json), keyFinder);
  } catch (e) {
    return refuse(
      'trusted_root',
      `expected a Sigstore trusted_root.json, got ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

// Fulcio extension OIDs (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md), v2 (DER UTF8String).
const OID_SOURCE_REPO_URI = '1.3.6.1.4.1.57264.1.12';
const OID_SOURCE_REPO_REF = '1.3.6.1.4.1.57264.1.14';
const OID_SOURCE_REPO_DIGEST = '1.3.6.1.4.1.57264.1.13';

/** Verifies a Sigstore bundle over `artifact` offline. Returns what was verified; throws ProtocolError('release_rejected'). */
export function verifyBundle(input: BundleVerifyInput): BundleVerified {
  const json = parseJson(input.bundle, 'bundle');
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    return refuse(
      'bundle',
      `not a valid Sigstore bundle (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const vm = bundle.verificationMaterial;
  const isKey = vm.content.$case === 'publicKey';
  if (input.signer.kind === 'key' && !isKey)
    refuse(
      'bundle.verificationMaterial',
      'expected a public-key bundle (--key given), got a certificate bundle',
    );
  if (input.signer.kind === 'identity' && isKey)
    refuse(
      'bundle.verificationMaterial',
      'expected a certificate bundle (--certificate-identity given), got a public-key bundle (pass --key)',
    );

  let keyFinder: KeyFinderFunc | undefined;
  if (input.signer.kind === 'key') {
    let key: ReturnType<typeof createPublicKey>;
    try {
      key = createPublicKey(input.signer.publicKeyPem);
    } catch (e) {
      return refuse(
        'key',
        `expected a PEM public key, got ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    // The key the user names is the only key: the bundle's hint does not select among others.
    keyFinder = () => ({ publicKey: key, validFor: () => true });
  }
  const trust = loadTrustedRoot(input.trustedRoot, keyFinder);

  if (vm.tlogEntries.length === 0)
    refuse('tlog', 'expected at least 1 transparency-log entry, got 0');
  vm.tlogEntries.forEach((e, i) => {
    if (e.inclusionProof === undefined)
      refuse(
        `tlog[${i}].inclusionProof`,
        'expected an inclusion proof, got none (inclusion promise only)',
      );
  });

  let signer: ReturnType<Verifier['verify']>;
  try {
    const entity = toSignedEntity(bundle, Buffer.from(input.artifact));
    signer = new Verifier(trust, {
      tlogThreshold: 1,
      ctlogThreshold: isKey ? 0 : 1,
      timestampThreshold: 1,
    }).verify(entity);
  } catch (e) {
    const code =
      typeof e === 'object' && e !== null && 'code' in e
        ? String((e as { code: unknown }).code)
        : 'ERROR';
    return refuse(`sigstore.${code}`, e instanceof Error ? e.message : String(e));
  }

  const artifactSha256 = sha256hex(input.artifact);
  const content = bundle.content.$case === 'dsseEnvelope' ? 'dsse' : 'message_signature';
  if (bundle.content.$case === 'dsseEnvelope')
    checkDsseSubject(bundle.content.dsseEnvelope, artifactSha256);

  let identity: string | null = null;
  let issuer: string | null = null;
  if (input.signer.kind === 'identity') {
    identity = signer.identity?.subjectAlternativeName ?? null;
    issuer = signer.identity?.extensions?.issuer ?? null;
    if (issuer !== input.signer.issuer)
      refuse(
        'certificate.issuer',
        `expected ${JSON.stringify(input.signer.issuer)}, got ${JSON.stringify(issuer)}`,
      );
    if (identity !== input.signer.identity)
      refuse(
        'certificate.identity',
        `expected ${JSON.stringify(input.signer.identity)}, got ${JSON.stringify(identity)}`,
      );
  }

  const workflow: { repository?: string; ref?: string; sha?: string } = {};
  const cert = entityCert(bundle);
  if (cert !== null) {
    const ext = (oid: string): string | undefined => {
      const x = cert.extension(oid);
      if (x === undefined) return undefined;
      // v2 extensions are DER UTF8String: tag 0x0c, short length.
      const v = x.value;
      return v[0] === 0x0c && v[1] !== undefined && v[1] < 0x80
        ? v.subarray(2, 2 + v[1]).toString('utf8')
        : undefined;
    };
    const repo = ext(OID_SOURCE_REPO_URI);
    const ref = ext(OID_SOURCE_REPO_REF);
    const sha = ext(OID_SOURCE_REPO_DIGEST);
    if (repo !== undefined) workflow.repository = repo;
    if (ref !== undefined) workflow.ref = ref;
    if (sha !== undefined) workflow.sha = sha;
  }

  const tlog = vm.tlogEntries.map((e) => ({
    logIndex: e.logIndex,
    integratedTime:
      e.integratedTime !== '' && e.integratedTime !== '0' ? Number(e.integratedTime) * 1000 : null,
    logId: e.logId !== undefined ? Buffer.from(e.logId.keyId).toString('hex') : '',
  }));
  const times = tlog.map((t) => t.integratedTime).filter((t): t is number => t !== null);
  const sigBytes =
    bundle.content.$case === 'dsseEnvelope'
      ? (bundle.content.dsseEnvelope.signatures[0]?.sig ?? Buffer.alloc(0))
      : bundle.content.messageSignature.signature;
  return {
    content,
    mediaType: bundle.mediaType,
    artifactSha256,
    identity,
    issuer,
    workflow,
    tlog,
    signedAtMs: times.length > 0 ? Math.min(...times) : null,
    signatureSha256: sha256hex(sigBytes),
  };
}

function entityCert(bundle: Bundle): X509Certificate | null {
  const k = toSignedEntity(bundle).key;
  return k.$case === 'certificate' ? k.certificate : null;
}

/** DSSE: the payload must be an in-toto statement with the artifact's SHA-256 among its subjects. */
function checkDsseSubject(
  env: { payloadType: string; payload: Buffer },
  artifactSha256: string,
): void {
  if (env.payloadType !== 'application/vnd.in-toto+json')
    refuse(
      'dsse.payloadType',
      `expected "application/vnd.in-toto+json", got ${JSON.stringify(env.payloadType)}`,
    );
  const st = parseJson(env.payload, 'dsse.payload');
  const subjects =
    typeof st === 'object' && st !== null ? (st as { subject?: unknown }).subject : undefined;
  if (!Array.isArray(subjects))
    return refuse('dsse.payload.subject', 'expected an array of subjects, got none');
  const digests = subjects.map((s: unknown) =>
    typeof s === 'object' && s !== null
      ? (s as { digest?: { sha256?: unknown } }).digest?.sha256
      : undefined,
  );
  if (!digests.some((d) => typeof d === 'string' && d.toLowerCase() === artifactSha256))
    refuse(
      'dsse.payload.subject',
      `expected a subject with sha256 ${artifactSha256} (the artifact), got [${digests.map((d) => String(d)).join(', ')}]`,
    );
}
