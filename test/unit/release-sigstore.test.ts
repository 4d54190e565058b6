/**
 * Signed releases: `teechat release verify` on real public Sigstore bundles (every bundle-verify
 * case of sigstore-conformance, read from ../shared/sigstore-conformance/), and on release
 * manifests signed by a local test Sigstore (test/helpers/test-sigstore.ts): identity pinning,
 * certificate claims, freshness + witness, rollback state, TUF fallback.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseCommand } from '../../client/cli/release';
import { commitAcceptedRelease, verifyReleaseManifest } from '../../client/release/release';
import { releaseSigner, expectedIdentity } from '../../client/release/identity';
import { memoryStore, ReleaseState, fileStore, releaseStatePath } from '../../client/release/state';
import { embeddedTrustedRoot, resolveTrustedRoot } from '../../client/release/trusted-root';
import { ProtocolError } from '../../protocol/errors';
import { repoRoot, sharedPath } from '../helpers/shared';
import { sampleManifest } from '../helpers/release-manifest';
import { testSigstore, type TestSigstore } from '../helpers/test-sigstore';

const CONF = sharedPath('sigstore-conformance', 'cases.json');
const confSkip =
  CONF === null ? 'SKIPPED: ../shared/sigstore-conformance/cases.json is absent' : false;
if (confSkip !== false) console.error(confSkip);
const D = CONF === null ? '' : join(CONF, '..');

interface Case {
  name: string;
  bundle: string;
  artifact: string;
  identity?: string;
  issuer?: string;
  key?: string;
  trustedRoot: string;
  expect: 'pass' | 'fail';
}
/** Known divergence of @sigstore/verify 3.1.1 (docs/RELEASES.md): refused, with this reason. */
const KNOWN: Record<string, RegExp> = {
  'rekor2-dsse-happy-path': /sigstore\.TLOG_BODY_ERROR: digest mismatch/,
};

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await releaseCommand(args, {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
  });
  return { code, out, err };
}

describe(
  'teechat release verify: sigstore-conformance bundle-verify cases',
  { skip: confSkip },
  () => {
    const cases =
      CONF === null ? [] : (JSON.parse(readFileSync(CONF, 'utf8')) as { cases: Case[] }).cases;
    test('the case list is complete (76 cases)', () => assert.equal(cases.length, 76));
    for (const c of cases) {
      test(`${c.name}: ${c.expect}`, async () => {
        const root =
          c.trustedRoot === 'public-good' ? 'public-good/trusted_root.json' : c.trustedRoot;
        const args = [
          'verify',
          '--bundle',
          join(D, c.bundle),
          '--trusted-root',
          join(D, root),
          '--json',
        ];
        if (c.key !== undefined) args.push('--key', join(D, c.key));
        else
          args.push(
            '--certificate-identity',
            c.identity ?? '',
            '--certificate-oidc-issuer',
            c.issuer ?? '',
          );
        args.push(join(D, c.artifact));
        const r = await cli(args);
        const known = KNOWN[c.name];
        if (known !== undefined) {
          assert.equal(r.code, 1, r.err);
          assert.match(r.err, known);
          return;
        }
        assert.equal(r.code, c.expect === 'pass' ? 0 : 1, `${c.name}: ${r.err}`);
        const j = JSON.parse(r.out) as { ok: boolean; message?: string };
        assert.equal(j.ok, c.expect === 'pass');
        if (c.expect === 'fail') assert.match(r.err, /^teechat release verify: refused: \S+: /);
      });
    }
    test('the embedded public-good root is the one the suite uses', () => {
      assert.deepEqual(
        embeddedTrustedRoot(),
        JSON.parse(readFileSync(join(D, 'public-good/trusted_root.json'), 'utf8')),
      );
    });
    test('without --trusted-root, the embedded root verifies a public-good bundle', async () => {
      const r = await cli([
        'verify',
        '--bundle',
        join(D, 'conformance/happy-path-v0.3/bundle.sigstore.json'),
        '--certificate-identity',
        'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
        '--certificate-oidc-issuer',
        'https://token.actions.githubusercontent.com',
        join(D, 'conformance/a.txt'),
      ]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /root {5}embedded/);
    });
    test('the real `teechat` entry: exit 0 / 1 / 2 and --help', () => {
      const run = (...a: string[]): { status: number | null; stdout: string; stderr: string } =>
        spawnSync(
          process.execPath,
          ['--import', 'tsx', join(repoRoot, 'client/cli/main.ts'), 'release', ...a],
          {
            cwd: repoRoot,
            encoding: 'utf8',
            timeout: 60_000,
          },
        );
      const id = [
        '--certificate-identity',
        'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
        '--certificate-oidc-issuer',
        'https://token.actions.githubusercontent.com',
      ];
      const ok = run(
        'verify',
        '--bundle',
        join(D, 'conformance/happy-path-v0.3/bundle.sigstore.json'),
        ...id,
        join(D, 'conformance/a.txt'),
      );
      assert.equal(ok.status, 0, ok.stderr);
      const bad = run(
        'verify',
        '--bundle',
        join(D, 'conformance/happy-path-v0.3/bundle.sigstore.json'),
        ...id,
        join(D, 'own/a-flipped-byte.txt'),
      );
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /refused: sigstore\.SIGNATURE_ERROR/);
      assert.equal(run('verify', '--bundle', 'x', 'a').status, 2);
      const help = run('verify', '--help');
      assert.equal(help.status, 0);
      assert.match(help.stdout, /--certificate-identity/);
    });
  },
);

describe('teechat release verify: usage', () => {
  test('exactly one signer mode; flag combinations', async () => {
    assert.equal((await cli(['verify', 'A'])).code, 2);
    assert.equal((await cli(['verify', '--bundle', 'B', 'A'])).code, 2);
    assert.equal(
      (await cli(['verify', '--bundle', 'B', '--certificate-identity', 'x', 'A'])).code,
      2,
    );
    assert.equal(
      (await cli(['verify', '--bundle', 'B', '--key', 'k', '--repository', 'o/r', 'A'])).code,
      2,
    );
    assert.equal(
      (await cli(['verify', '--bundle', 'B', '--key', 'k', '--allow-downgrade', 'A'])).code,
      2,
    );
    assert.equal(
      (await cli(['verify', '--bundle', 'B', '--repository', 'not a repo', 'A'])).code,
      2,
    );
    assert.equal((await cli(['frobnicate'])).code, 2);
    assert.equal((await cli(['--help'])).code, 0);
  });
});

// ---- release manifests signed by the local test Sigstore ----
const REPO = 'teechat/teechat';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const DAY = 24 * 3600 * 1000;
const T0 = Date.now() + 2 * DAY; // within the mock root's validity window
const signer = releaseSigner({ repository: REPO });
const WITNESS = `https://github.com/${REPO}/.github/workflows/release.yml@refs/heads/main`;

function manifestBytes(version: string, over: Record<string, unknown> = {}): Uint8Array {
  const m = sampleManifest({ version, ...over });
  (m['source'] as Record<string, unknown>)['tag'] = `v${version}`;
  return new TextEncoder().encode(JSON.stringify(m, null, 2));
}

describe('release manifests (local test Sigstore)', () => {
  let ts: TestSigstore;
  let dir: string;
  before(async () => {
    ts = await testSigstore();
    dir = mkdtempSync(join(tmpdir(), 'teechat-release-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const sign = (
    bytes: Uint8Array,
    version: string,
    at: number,
    o: { identity?: string; issuer?: string; sha?: string; ref?: string; repository?: string } = {},
  ): Promise<Uint8Array> =>
    ts.sign(bytes, {
      identity: o.identity ?? expectedIdentity(signer, `v${version}`),
      ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
      repository: o.repository ?? `https://github.com/${REPO}`,
      ref: o.ref ?? `refs/tags/v${version}`,
      sha: o.sha ?? COMMIT,
      at: new Date(at),
    });
  const verify = (
    manifest: Uint8Array,
    bundle: Uint8Array,
    state: ReleaseState,
    now: number,
    extra: Partial<Parameters<typeof verifyReleaseManifest>[0]> = {},
  ): ReturnType<typeof verifyReleaseManifest> =>
    verifyReleaseManifest({
      manifest,
      bundle,
      signer,
      trustedRoot: ts.trustedRoot,
      now,
      state,
      maxAgeMs: 7 * DAY,
      ...extra,
    });
  const refused = (f: () => unknown, check: string, re: RegExp): void =>
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof ProtocolError, String(e));
      assert.equal(e.code, 'release_rejected');
      assert.equal(e.field, check, e.message);
      assert.match(e.message, re);
      return true;
    });

  test('a manifest signed by the pinned workflow for its tag is accepted and recorded', async () => {
    const m = manifestBytes('1.4.2');
    const b = await sign(m, '1.4.2', T0);
    const state = new ReleaseState(memoryStore());
    const v = verify(m, b, state, T0 + DAY);
    assert.equal(v.manifest.version, '1.4.2');
    assert.equal(v.kind, 'new');
    assert.equal(
      v.bundle.identity,
      `https://github.com/${REPO}/.github/workflows/release.yml@refs/tags/v1.4.2`,
    );
    assert.deepEqual(v.relaxations, []);
    await commitAcceptedRelease(state, v, T0 + DAY);
    assert.equal(state.highest(v.signer)?.version, '1.4.2');
    assert.equal(state.log().length, 1);
  });

  test('wrong workflow, wrong ref, wrong issuer, other repository: refused naming the value', async () => {
    const m = manifestBytes('1.4.2');
    const st = (): ReleaseState => new ReleaseState(memoryStore());
    const other = await sign(m, '1.4.2', T0, {
      identity: `https://github.com/${REPO}/.github/workflows/other.yml@refs/tags/v1.4.2`,
    });
    refused(() => verify(m, other, st(), T0), 'certificate.identity', /other\.yml/);
    const branch = await sign(m, '1.4.2', T0, {
      identity: `https://github.com/${REPO}/.github/workflows/release.yml@refs/heads/main`,
    });
    refused(() => verify(m, branch, st(), T0), 'certificate.identity', /refs\/heads\/main/);
    const longer = await sign(m, '1.4.2', T0, {
      identity: `https://github.com/${REPO}/.github/workflows/release.yml@refs/tags/v1.4.20`,
    });
    refused(() => verify(m, longer, st(), T0), 'certificate.identity', /v1\.4\.20/);
    const iss = await sign(m, '1.4.2', T0, {
      issuer: 'https://token.actions.githubusercontent.com.evil',
    });
    refused(() => verify(m, iss, st(), T0), 'certificate.issuer', /\.evil/);
    const sha = await sign(m, '1.4.2', T0, { sha: 'ff'.repeat(20) });
    refused(() => verify(m, sha, st(), T0), 'manifest.source.commit', /expected f{40} .*got 0123/);
    const repo = await sign(m, '1.4.2', T0, { repository: 'https://github.com/evil/teechat' });
    refused(() => verify(m, repo, st(), T0), 'certificate.source_repository', /evil/);
    const mOther = manifestBytes('1.4.2', {
      source: { repository: 'github.com/evil/teechat', commit: COMMIT, tag: 'v1.4.2' },
    });
    const bOther = await sign(mOther, '1.4.2', T0);
    refused(() => verify(mOther, bOther, st(), T0), 'manifest.source.repository', /evil/);
  });

  test('an altered manifest, a missing inclusion proof, an untrusted root: refused', async () => {
    const m = manifestBytes('1.4.2');
    const b = await sign(m, '1.4.2', T0);
    const altered = manifestBytes('1.4.2', { issued_at: '2026-11-30T12:00:01Z' });
    refused(
      () => verify(altered, b, new ReleaseState(memoryStore()), T0),
      'sigstore.SIGNATURE_ERROR',
      /signature verification failed/,
    );
    const j = JSON.parse(new TextDecoder().decode(b)) as {
      verificationMaterial: { tlogEntries: Record<string, unknown>[] };
    };
    delete j.verificationMaterial.tlogEntries[0]?.['inclusionProof'];
    const noProof = new TextEncoder().encode(JSON.stringify(j));
    assert.throws(
      () => verify(m, noProof, new ReleaseState(memoryStore()), T0),
      (e: unknown) => e instanceof ProtocolError && e.code === 'release_rejected',
    );
    refused(
      () =>
        verifyReleaseManifest({
          manifest: m,
          bundle: b,
          signer,
          trustedRoot: embeddedTrustedRoot(),
          now: T0,
          state: new ReleaseState(memoryStore()),
          maxAgeMs: null,
        }),
      'sigstore.CERTIFICATE_ERROR',
      /certificate chain/,
    );
    refused(
      () => verify(new TextEncoder().encode('{'), b, new ReleaseState(memoryStore()), T0),
      'manifest.manifest',
      /expected JSON/,
    );
  });

  test('freshness: stale refused; a newer witness over the same bytes accepts; a maximum age of 0 is a named relaxation', async () => {
    const m = manifestBytes('1.4.2');
    const b = await sign(m, '1.4.2', T0);
    const now = T0 + 10 * DAY;
    refused(
      () => verify(m, b, new ReleaseState(memoryStore()), now),
      'freshness',
      /at most 7\.0 days old, got 10\.0 days .*no witness given/,
    );
    const witness = await sign(m, '1.4.2', T0 + 8 * DAY, { identity: WITNESS });
    const v = verify(m, b, new ReleaseState(memoryStore()), now, { witnesses: [witness] });
    assert.equal(v.witnessed, true);
    assert.equal(v.freshAtMs, Math.floor((T0 + 8 * DAY) / 1000) * 1000);
    const oldWitness = await sign(m, '1.4.2', T0 + 1 * DAY, { identity: WITNESS });
    refused(
      () => verify(m, b, new ReleaseState(memoryStore()), now, { witnesses: [oldWitness] }),
      'freshness',
      /no witness newer than the limit/,
    );
    const otherBytes = manifestBytes('1.4.2', { issued_at: '2026-12-01T00:00:00Z' });
    const wrongWitness = await sign(otherBytes, '1.4.2', T0 + 8 * DAY, { identity: WITNESS });
    refused(
      () => verify(m, b, new ReleaseState(memoryStore()), now, { witnesses: [wrongWitness] }),
      'freshness',
      /witness\[0\]: sigstore\./,
    );
    const tagWitness = await sign(m, '1.4.2', T0 + 8 * DAY);
    refused(
      () => verify(m, b, new ReleaseState(memoryStore()), now, { witnesses: [tagWitness] }),
      'freshness',
      /witness\[0\]: certificate\.identity: expected ".*@refs\/heads\/main"/,
    );
    const r = verify(m, b, new ReleaseState(memoryStore()), now, { maxAgeMs: null });
    assert.deepEqual(r.relaxations, ['release freshness not bounded (maximum age 0)']);
  });

  test('rollback: older refused, explicit downgrade reported and not recorded as highest; equivocation refused', async () => {
    const state = new ReleaseState(memoryStore());
    const m2 = manifestBytes('1.5.0');
    const v2 = verify(m2, await sign(m2, '1.5.0', T0), state, T0);
    await commitAcceptedRelease(state, v2, T0);
    const m1 = manifestBytes('1.4.2');
    const b1 = await sign(m1, '1.4.2', T0);
    refused(
      () => verify(m1, b1, state, T0),
      'rollback.version',
      /expected version >= 1\.5\.0 .*got 1\.4\.2/,
    );
    const d = verify(m1, b1, state, T0, { allowDowngrade: true });
    assert.equal(d.kind, 'downgrade-allowed');
    assert.match(d.relaxations.join(), /downgrade from 1\.5\.0 to 1\.4\.2 explicitly allowed/);
    await commitAcceptedRelease(state, d, T0);
    assert.equal(state.highest(d.signer)?.version, '1.5.0');
    const same = verify(m2, await sign(m2, '1.5.0', T0 + DAY), state, T0 + DAY);
    assert.equal(same.kind, 'same');
    const m2b = manifestBytes('1.5.0', { issued_at: '2026-12-01T00:00:00Z' });
    const b2b = await sign(m2b, '1.5.0', T0);
    refused(() => verify(m2b, b2b, state, T0), 'rollback.digest', /two different manifests/);
  });

  test('the CLI: state file persists across runs; downgrade refused then explicitly allowed; --online falls back', async () => {
    const state = join(dir, 'state', 'releases.json');
    const root = join(dir, 'root.json');
    writeFileSync(root, JSON.stringify(ts.trustedRoot));
    const write = async (version: string, at: number): Promise<[string, string]> => {
      const m = manifestBytes(version);
      const mf = join(dir, `m-${version}.json`);
      const bf = join(dir, `m-${version}.sigstore.json`);
      writeFileSync(mf, m);
      writeFileSync(bf, await sign(m, version, at));
      return [mf, bf];
    };
    const [m2, b2] = await write('2.0.0', T0);
    const [m1, b1] = await write('1.9.9', T0);
    const at = new Date(T0 + DAY).toISOString();
    const base = [
      'verify',
      '--repository',
      REPO,
      '--trusted-root',
      root,
      '--state',
      state,
      '--at',
      at,
    ];
    const r2 = await cli([...base, '--bundle', b2, m2, '--json']);
    assert.equal(r2.code, 0, r2.err);
    assert.equal((JSON.parse(r2.out) as { kind: string }).kind, 'new');
    const r1 = await cli([...base, '--bundle', b1, m1]);
    assert.equal(r1.code, 1);
    assert.match(r1.err, /refused: rollback\.version: expected version >= 2\.0\.0/);
    const r1b = await cli([...base, '--bundle', b1, m1, '--allow-downgrade']);
    assert.equal(r1b.code, 0, r1b.err);
    assert.match(r1b.out, /RELAXED {2}downgrade from 2\.0\.0 to 1\.9\.9/);
    const saved = JSON.parse(readFileSync(state, 'utf8')) as { 'teechat.release.log': unknown[] };
    assert.equal(saved['teechat.release.log'].length, 2);
    // A damaged state file is an error, never a silent reset of rollback protection.
    writeFileSync(state, '{not json');
    const broken = await cli([...base, '--bundle', b2, m2]);
    assert.equal(broken.code, 1);
    assert.match(broken.err, /expected the release state JSON/);
    assert.throws(() => fileStore(state), ProtocolError);
    // --online with a failing injected TUF fetcher: falls back to the embedded root and says so.
    let out = '';
    let err = '';
    const code = await releaseCommand(
      [
        'verify',
        '--online',
        '--bundle',
        b2,
        '--certificate-identity',
        expectedIdentity(signer, 'v2.0.0'),
        '--certificate-oidc-issuer',
        signer.issuer,
        m2,
      ],
      { out: (s) => void (out += s), err: (s) => void (err += s) },
      { fetcher: () => () => Promise.reject(new Error('offline')) },
    );
    assert.equal(code, 1); // the embedded public-good root does not trust the test CA
    assert.match(err, /TUF refresh failed \(offline\); using the embedded public-good root/);
    void out;
  });

  test('trusted root resolution and state path', async () => {
    assert.equal((await resolveTrustedRoot({})).source, 'embedded');
    assert.equal(
      (await resolveTrustedRoot({ fetcher: () => Promise.resolve({ mediaType: 'x' }) })).source,
      'tuf',
    );
    assert.equal((await resolveTrustedRoot({ given: {} })).source, 'file');
    assert.equal(releaseStatePath({ TEECHAT_RELEASE_STATE: '/x/y.json' }, 'linux'), '/x/y.json');
    assert.equal(
      releaseStatePath({ XDG_CONFIG_HOME: '/cfg' }, 'linux'),
      '/cfg/teechat/releases.json',
    );
  });
});
