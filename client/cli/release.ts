/**
 * `teechat release verify`: offline verification of a Sigstore-signed artifact (flag names of
 * cosign and the sigstore-conformance CLI protocol), and of a signed release manifest with identity
 * pinning, freshness and rollback protection (docs/RELEASES.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { ProtocolError } from '../../protocol/errors';
import { releaseSigner } from '../release/identity';
import {
  commitAcceptedRelease,
  DEFAULT_MAX_AGE_MS,
  verifyReleaseManifest,
} from '../release/release';
import { verifyBundle, type SignerPin } from '../release/sigstore';
import { fileStore, memoryStore, ReleaseState, releaseStatePath } from '../release/state';
import { resolveTrustedRoot, tufFetcher, type TrustedRootFetcher } from '../release/trusted-root';
import type { CliIo } from './attest-common';
import { EXIT_USAGE, UsageError, parseCli, usageLine } from '../../protocol-node/args';

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export { EXIT_USAGE };

export const RELEASE_HELP = `Usage: teechat release verify [options] ARTIFACT

Verifies a Sigstore bundle over ARTIFACT offline (certificate chain to the trusted root, SCT,
transparency-log inclusion proof and checkpoint, timestamp, signature), then the signer:

  Any artifact, exact identity (as cosign / sigstore-conformance):
    --bundle FILE --certificate-identity ID --certificate-oidc-issuer URL ARTIFACT
  Any artifact, managed key:
    --bundle FILE --key PEM_FILE ARTIFACT
  A TEEChat release manifest (docs/RELEASES.md), identity built from the pinned workflow:
    --bundle FILE --repository ORG/REPO [--workflow .github/workflows/release.yml]
    [--tag-prefix v] [--issuer URL] MANIFEST.json

Options:
  --bundle FILE                  Sigstore bundle (.sigstore.json), required
  --certificate-identity ID      certificate SAN, compared exactly (not a pattern)
  --certificate-oidc-issuer URL  OIDC issuer, compared exactly
  --key FILE                     PEM public key (key-signed bundles)
  --trusted-root FILE            trusted_root.json (default: the embedded public-good root)
  --online                       refresh the trusted root through TUF first (falls back to the
                                 embedded root, and says so, when the refresh fails)
  --tuf-cache DIR                TUF cache directory (default: <config dir>/teechat/tuf)
 Release manifests only:
  --state FILE                   rollback state file (default: $TEECHAT_RELEASE_STATE or
                                 <config dir>/teechat/releases.json)
  --no-state                     do not read or record rollback state (reported)
  --allow-downgrade              accept a version below the highest accepted (reported)
  --max-age-days N               refuse a manifest signed more than N days ago unless a --witness
                                 re-signed it within N days (default 7; 0 = no bound, reported)
  --witness FILE                 a newer Sigstore bundle over the same manifest (repeatable)
  --at ISO_TIME                  verification time (default: now)
  --json                         one JSON object on stdout
  -h, --help                     this help

The manifest's expected values can be reproduced with "teechat measure ..." (docs/RELEASES.md).
Exit status: 0 verified, 1 refused (reason on stderr), 2 usage error.
`;

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(
      `${what}: cannot read ${JSON.stringify(path)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

export interface ReleaseDeps {
  /** Injected TUF fetcher for --online (tests); default: @sigstore/tuf against the public-good mirror. */
  readonly fetcher?: (cacheDir: string) => TrustedRootFetcher;
  readonly now?: () => number;
}

export async function releaseCommand(
  argv: readonly string[],
  io: CliIo,
  deps: ReleaseDeps = {},
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.out(RELEASE_HELP);
    return EXIT_OK;
  }
  if (sub !== 'verify') {
    io.err(
      `teechat release: expected "verify", got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}\n${RELEASE_HELP}`,
    );
    return EXIT_USAGE;
  }
  let json = rest.includes('--json');
  try {
    const { values, positionals } = parseCli(rest, {
      bundle: { type: 'string' },
      'certificate-identity': { type: 'string' },
      'certificate-oidc-issuer': { type: 'string' },
      key: { type: 'string' },
      'trusted-root': { type: 'string' },
      online: { type: 'boolean' },
      'tuf-cache': { type: 'string' },
      repository: { type: 'string' },
      workflow: { type: 'string' },
      'tag-prefix': { type: 'string' },
      issuer: { type: 'string' },
      state: { type: 'string' },
      'no-state': { type: 'boolean' },
      'allow-downgrade': { type: 'boolean' },
      'max-age-days': { type: 'string' },
      witness: { type: 'string', multiple: true },
      at: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    json = values.json === true;
    if (values.help === true) {
      io.out(RELEASE_HELP);
      return EXIT_OK;
    }
    if (positionals.length !== 1)
      throw new UsageError(`expected one ARTIFACT, got ${positionals.length}`);
    if (values.bundle === undefined) throw new UsageError('--bundle FILE is required');
    const hasId =
      values['certificate-identity'] !== undefined ||
      values['certificate-oidc-issuer'] !== undefined;
    const modes = [hasId, values.key !== undefined, values.repository !== undefined].filter(
      Boolean,
    ).length;
    if (modes !== 1)
      throw new UsageError(
        'give exactly one of --certificate-identity + --certificate-oidc-issuer, --key, or --repository',
      );
    if (
      hasId &&
      (values['certificate-identity'] === undefined ||
        values['certificate-oidc-issuer'] === undefined)
    )
      throw new UsageError('--certificate-identity and --certificate-oidc-issuer go together');
    const manifestOnly = [
      'workflow',
      'tag-prefix',
      'issuer',
      'state',
      'no-state',
      'allow-downgrade',
      'max-age-days',
      'witness',
      'at',
    ] as const;
    if (values.repository === undefined)
      for (const k of manifestOnly)
        if (values[k] !== undefined)
          throw new UsageError(`--${k} applies to release manifests (--repository) only`);
    if (values.state !== undefined && values['no-state'] === true)
      throw new UsageError('--state and --no-state exclude each other');

    const artifact = read(positionals[0] as string, 'ARTIFACT');
    const bundle = read(values.bundle, '--bundle');
    let given: unknown;
    if (values['trusted-root'] !== undefined) {
      const t = read(values['trusted-root'], '--trusted-root');
      try {
        given = JSON.parse(t.toString('utf8'));
      } catch {
        throw new UsageError(
          `--trusted-root: expected JSON, got unparsable text in ${values['trusted-root']}`,
        );
      }
    }
    const cacheDir =
      values['tuf-cache'] ??
      join(releaseStatePath(process.env).replace(/releases\.json$/, ''), 'tuf');
    const root = await resolveTrustedRoot({
      ...(given !== undefined ? { given } : {}),
      ...(values.online === true && given === undefined
        ? { fetcher: (deps.fetcher ?? tufFetcher)(cacheDir || join(homedir(), '.teechat-tuf')) }
        : {}),
    });
    if (root.note !== null) io.err(`teechat release verify: ${root.note}\n`);

    if (values.repository === undefined) {
      const signer: SignerPin =
        values.key !== undefined
          ? { kind: 'key', publicKeyPem: read(values.key, '--key').toString('utf8') }
          : {
              kind: 'identity',
              identity: values['certificate-identity'] as string,
              issuer: values['certificate-oidc-issuer'] as string,
            };
      const v = verifyBundle({ bundle, artifact, trustedRoot: root.json, signer });
      if (json) io.out(JSON.stringify({ ok: true, trusted_root: root.source, ...v }) + '\n');
      else
        io.out(
          `verified: ${positionals[0]} (sha256 ${v.artifactSha256})\n` +
            (v.identity !== null
              ? `  signer   ${v.identity}\n  issuer   ${v.issuer}\n`
              : '  signer   the given public key\n') +
            `  content  ${v.content} (${v.mediaType})\n` +
            v.tlog
              .map(
                (t) =>
                  `  tlog     index ${t.logIndex}${t.integratedTime !== null ? ` at ${new Date(t.integratedTime).toISOString()}` : ''}\n`,
              )
              .join('') +
            `  root     ${root.source}\n`,
        );
      return EXIT_OK;
    }

    let signer;
    try {
      signer = releaseSigner({
        repository: values.repository,
        workflow: values.workflow,
        tagPrefix: values['tag-prefix'],
        issuer: values.issuer,
      });
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    let maxAgeMs: number | null = DEFAULT_MAX_AGE_MS;
    if (values['max-age-days'] !== undefined) {
      const n = Number(values['max-age-days']);
      if (!/^\d{1,5}(\.\d+)?$/.test(values['max-age-days']) || !Number.isFinite(n))
        throw new UsageError(
          `--max-age-days: expected a number of days >= 0, got ${JSON.stringify(values['max-age-days'])}`,
        );
      maxAgeMs = n === 0 ? null : n * 24 * 3600 * 1000;
    }
    let now = (deps.now ?? Date.now)();
    if (values.at !== undefined) {
      now = Date.parse(values.at);
      if (!Number.isFinite(now))
        throw new UsageError(`--at: expected an ISO time, got ${JSON.stringify(values.at)}`);
    }
    const statePath = values.state ?? releaseStatePath(process.env);
    const state = new ReleaseState(
      values['no-state'] === true ? memoryStore() : fileStore(statePath),
    );
    const witnesses = (values.witness ?? []).map((w) => read(w, '--witness'));
    const v = verifyReleaseManifest({
      manifest: artifact,
      bundle,
      signer,
      trustedRoot: root.json,
      now,
      state,
      maxAgeMs,
      witnesses,
      allowDowngrade: values['allow-downgrade'] === true,
    });
    const relaxations = [
      ...v.relaxations,
      ...(values['no-state'] === true ? ['rollback state not used (--no-state)'] : []),
    ];
    await commitAcceptedRelease(state, v, now);
    const m = v.manifest;
    if (json)
      io.out(
        JSON.stringify({
          ok: true,
          trusted_root: root.source,
          manifest_sha256: v.manifestSha256,
          version: m.version,
          source: m.source,
          identity: v.bundle.identity,
          issuer: v.bundle.issuer,
          tlog: v.bundle.tlog,
          signed_at:
            v.bundle.signedAtMs === null ? null : new Date(v.bundle.signedAtMs).toISOString(),
          fresh_at: new Date(v.freshAtMs).toISOString(),
          witnessed: v.witnessed,
          previous: v.previous,
          kind: v.kind,
          relaxations,
          state: values['no-state'] === true ? null : statePath,
          expected: m.expected,
          model: m.model,
        }) + '\n',
      );
    else
      io.out(
        `verified: release ${m.version} (${m.source.repository}@${m.source.commit.slice(0, 12)})\n` +
          `  manifest sha256 ${v.manifestSha256}\n  signer   ${v.bundle.identity}\n` +
          `  tlog     index ${v.bundle.tlog[0]?.logIndex ?? '?'}; signed ${v.bundle.signedAtMs === null ? '?' : new Date(v.bundle.signedAtMs).toISOString()}${v.witnessed ? `; witnessed ${new Date(v.freshAtMs).toISOString()}` : ''}\n` +
          `  rollback ${v.kind}${v.previous !== null ? ` (previous ${v.previous.version})` : ''}\n` +
          relaxations.map((r) => `  RELAXED  ${r}\n`).join(''),
      );
    return EXIT_OK;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(usageLine('teechat release verify', e));
      return EXIT_USAGE;
    }
    if (e instanceof ProtocolError) {
      io.err(`teechat release verify: refused: ${e.message}\n`);
      if (json)
        io.out(
          JSON.stringify({ ok: false, code: e.code, check: e.field ?? null, message: e.message }) +
            '\n',
        );
      return EXIT_REFUSED;
    }
    throw e;
  }
}
