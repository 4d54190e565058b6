/**
 * The extension's release settings and its offline manifest (docs/RELEASES.md "In VS Code"):
 *   - packaging: .vscodeignore admits release/manifest.json + its Sigstore bundle (and nothing else
 *     of release/), checked with `vsce ls` on a scratch copy of package.json + .vscodeignore;
 *   - the packaged manifest is used only when the server offers none, verified exactly as a
 *     served one (same trusted root, same pinned identity, same rollback state);
 *   - a private Sigstore trusted root (`teechat.release.trustedRoot`) goes through the production
 *     trust path (releaseOptions → verifySessionRelease), a bad file is a refusal naming the setting;
 *   - `teechat.release.allowDowngradeTo` allows exactly one older version, named as a relaxation;
 *   - `teechat.release.maxAgeDays` bounds the signature age; 0 and > 7 are named relaxations.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedIdentity, releaseSigner } from '../../client/release/identity';
import { verifySessionRelease, type ReleaseParts } from '../../client/release/session';
import { ProtocolError } from '../../protocol/errors';
import type { EvidenceItem } from '../../protocol/attestation/types';
import {
  readBundledRelease,
  releaseOptions,
  setBundledRelease,
  setReleaseStore,
} from '../../extension/client-adapter';
import type * as ConfigModule from '../../extension/config';
import type { ConfigReader } from '../../extension/config';
import { relaxedChecks } from '../../extension/trust';
import type { TrustSettings } from '../../extension/types';
import { memoryStore } from '../../client/release/state';
import { sampleManifest } from '../helpers/release-manifest';
import { repoRoot } from '../helpers/shared';
import { testSigstore, type TestSigstore } from '../helpers/test-sigstore';
import { register } from 'node:module';

register('../helpers/vscode-hooks.mjs', import.meta.url);

const REPO = 'teechat/teechat';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const DAY = 24 * 3600 * 1000;
// Signing times inside the mock root's validity (it starts at the real now).
const T0 = Date.now() + 10 * 60 * 1000;

const base: TrustSettings = {
  allowedMeasurements: [],
  minimumTcb: {},
  requireGpuEvidence: true,
  allowDebug: false,
  allowSimulated: false,
  releaseRepository: REPO,
};

function rejects(f: () => unknown, re: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.equal(e.code, 'release_rejected');
    assert.match(e.message, re);
    return true;
  });
}

describe('packaging: the .vsix carries release/manifest.json and its bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'teechat-vsce-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const vsceLs = (): string[] =>
    execFileSync(join(repoRoot, 'node_modules', '.bin', 'vsce'), ['ls', '--no-dependencies'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  before(() => {
    copyFileSync(join(repoRoot, 'package.json'), join(dir, 'package.json'));
    copyFileSync(join(repoRoot, '.vscodeignore'), join(dir, '.vscodeignore'));
    for (const d of ['dist', 'release', 'client']) mkdirSync(join(dir, d));
    for (const f of [
      'dist/extension.cjs',
      'dist/extension-runtime.cjs',
      'dist/webview.js',
      'dist/report.js',
      'dist/teechat.mjs',
      'release/policy-floors.json',
      'release/inputs.env',
      'client/index.ts',
    ])
      writeFileSync(join(dir, f), 'x');
  });
  test('without a manifest: only the bundled extension', () => {
    const files = vsceLs();
    for (const f of [
      'dist/extension.cjs',
      'dist/extension-runtime.cjs',
      'dist/webview.js',
      'dist/report.js',
    ])
      assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    assert.ok(!files.some((f) => f.startsWith('release/')), files.join(', '));
    assert.ok(!files.includes('client/index.ts') && !files.includes('dist/teechat.mjs'));
  });
  test('with the manifest and bundle the workflow wrote: both are packaged, nothing else of release/', () => {
    writeFileSync(join(dir, 'release/manifest.json'), '{}');
    writeFileSync(join(dir, 'release/manifest.sigstore.json'), '{}');
    const files = vsceLs();
    assert.ok(files.includes('release/manifest.json'), files.join(', '));
    assert.ok(files.includes('release/manifest.sigstore.json'), files.join(', '));
    assert.ok(
      !files.includes('release/policy-floors.json') && !files.includes('release/inputs.env'),
    );
  });
});

describe('readBundledRelease', () => {
  const files = (m: Record<string, string>) => (p: string) =>
    m[p] === undefined ? undefined : new TextEncoder().encode(m[p]);
  test('neither file: none; both: both', () => {
    assert.equal(readBundledRelease('/ext', files({})), undefined);
    const r = readBundledRelease(
      '/ext',
      files({ '/ext/release/manifest.json': 'M', '/ext/release/manifest.sigstore.json': 'B' }),
    );
    assert.equal(new TextDecoder().decode(r?.manifest), 'M');
    assert.equal(new TextDecoder().decode(r?.bundle), 'B');
  });
  test('one without the other is refused naming the missing file', () => {
    rejects(
      () => readBundledRelease('/ext', files({ '/ext/release/manifest.json': 'M' })),
      /release\/manifest\.sigstore\.json: expected it next to release\/manifest\.json/,
    );
    rejects(
      () => readBundledRelease('/ext', files({ '/ext/release/manifest.sigstore.json': 'B' })),
      /release\/manifest\.json: expected it next to release\/manifest\.sigstore\.json/,
    );
  });
});

describe('extension release options (production trust path, test Sigstore as a private root)', () => {
  let ts: TestSigstore;
  let dir: string;
  let rootFile: string;
  before(async () => {
    ts = await testSigstore();
    dir = mkdtempSync(join(tmpdir(), 'teechat-ext-release-'));
    rootFile = join(dir, 'trusted_root.json');
    writeFileSync(rootFile, JSON.stringify(ts.trustedRoot));
  });
  after(() => {
    setBundledRelease(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  async function signed(
    version: string,
    at = T0,
    repo = REPO,
    issuer?: string,
  ): Promise<ReleaseParts> {
    const m = sampleManifest({ version });
    (m['source'] as Record<string, unknown>)['tag'] = `v${version}`;
    const manifest = new TextEncoder().encode(JSON.stringify(m));
    const bundle = await ts.sign(manifest, {
      identity: expectedIdentity(releaseSigner({ repository: repo }), `v${version}`),
      repository: `https://github.com/${repo}`,
      ref: `refs/tags/v${version}`,
      sha: COMMIT,
      at: new Date(at),
      ...(issuer !== undefined ? { issuer } : {}),
    });
    return { manifest, bundle };
  }
  /** Evidence items that carry `parts` as the server's release parts (or none). */
  const served = (p: ReleaseParts | null): EvidenceItem[] =>
    p === null
      ? []
      : [
          {
            kind: 'sev-snp',
            label: '',
            parts: new Map([
              ['release.manifest', p.manifest],
              ['release.sigstore', p.bundle],
            ]),
          } as unknown as EvidenceItem,
        ];
  const opts = (t: Partial<TrustSettings> = {}) => {
    const o = releaseOptions({ ...base, releaseTrustedRoot: rootFile, ...t });
    assert.ok(o);
    return o;
  };

  test('the public-good root refuses a test-Sigstore manifest; the configured private root accepts it', async () => {
    setReleaseStore(memoryStore());
    const p = await signed('1.0.0');
    assert.throws(() =>
      verifySessionRelease(opts({ releaseTrustedRoot: '' }), served(p), T0 + 60_000),
    );
    const v = verifySessionRelease(opts(), served(p), T0 + 60_000);
    assert.equal(v?.source, 'server');
    assert.equal(v?.verified.manifest.version, '1.0.0');
  });

  test('certificateOidcIssuer: a private issuer is accepted only when configured, and only that one', async () => {
    setReleaseStore(memoryStore());
    const ISSUER = 'https://oidc.sigstore.internal.example';
    const p = await signed('1.0.0', T0, REPO, ISSUER);
    // the default pins GitHub Actions' issuer: a certificate from another issuer is refused
    rejects(
      () => verifySessionRelease(opts(), served(p), T0 + 60_000),
      /certificate\.issuer: expected "https:\/\/token\.actions\.githubusercontent\.com", got "https:\/\/oidc\.sigstore\.internal\.example"/,
    );
    const v = verifySessionRelease(opts({ releaseIssuer: ISSUER }), served(p), T0 + 60_000);
    assert.equal(v?.verified.manifest.version, '1.0.0');
    // configured for the private issuer, a GitHub-issued certificate is refused in turn
    setReleaseStore(memoryStore());
    const gh = await signed('1.0.0');
    rejects(
      () => verifySessionRelease(opts({ releaseIssuer: ISSUER }), served(gh), T0 + 60_000),
      /certificate\.issuer: expected "https:\/\/oidc\.sigstore\.internal\.example", got "https:\/\/token\.actions\.githubusercontent\.com"/,
    );
  });

  test('a configured trusted root that is missing or not a trusted root refuses, naming the setting', () => {
    rejects(
      () => opts({ releaseTrustedRoot: join(dir, 'absent.json') }),
      /teechat\.release\.trustedRoot: expected a readable trusted_root\.json, got ENOENT/,
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ mediaType: 'application/json' }));
    rejects(
      () => opts({ releaseTrustedRoot: bad }),
      /teechat\.release\.trustedRoot: expected mediaType application\/vnd\.dev\.sigstore\.trustedroot\+json, got "application\/json"/,
    );
    writeFileSync(bad, '{');
    rejects(() => opts({ releaseTrustedRoot: bad }), /expected JSON, got unparsable text/);
  });

  test('the packaged manifest is used only when the server offers none, verified the same way', async () => {
    setReleaseStore(memoryStore());
    const bundled = await signed('1.1.0');
    setBundledRelease(() => bundled);
    const none = verifySessionRelease(opts(), served(null), T0 + 60_000);
    assert.equal(none?.source, 'bundled');
    assert.equal(none?.verified.manifest.version, '1.1.0');
    const server = await signed('1.2.0');
    const v = verifySessionRelease(opts(), served(server), T0 + 60_000);
    assert.equal(v?.source, 'server');
    assert.equal(v?.verified.manifest.version, '1.2.0');
    // Same identity pinning: a packaged manifest signed by another repository's workflow is refused.
    setBundledRelease(() => undefined);
    const other = await signed('1.1.0', T0, 'evil/teechat');
    setBundledRelease(() => other);
    rejects(
      () => verifySessionRelease(opts(), served(null), T0 + 60_000),
      /certificate\.identity: expected "https:\/\/github\.com\/teechat\/teechat\/\.github\/workflows\/release\.yml@refs\/tags\/v1\.1\.0", got "https:\/\/github\.com\/evil\//,
    );
    // Same freshness bound.
    setBundledRelease(() => bundled);
    rejects(
      () => verifySessionRelease(opts(), served(null), T0 + 8 * DAY),
      /freshness: expected a signature over this manifest at most 7\.0 days old, got 8\.0 days/,
    );
    setBundledRelease(() => undefined);
    assert.equal(verifySessionRelease(opts(), served(null), T0 + 60_000), null);
  });

  test('allowDowngradeTo allows exactly that older version, named; any other is refused', async () => {
    const kv = memoryStore();
    setReleaseStore(kv);
    const { commitAcceptedRelease } = await import('../../client/release/release');
    const { ReleaseState } = await import('../../client/release/state');
    const high = verifySessionRelease(opts(), served(await signed('2.0.0')), T0 + 60_000);
    assert.ok(high);
    await commitAcceptedRelease(new ReleaseState(kv), high.verified, T0 + 60_000);
    const older = await signed('1.9.0');
    rejects(
      () => verifySessionRelease(opts(), served(older), T0 + 60_000),
      /rollback\.version: expected version >= 2\.0\.0 .*got 1\.9\.0 \(set the user setting teechat\.release\.allowDowngradeTo to "1\.9\.0" to accept it\)/,
    );
    rejects(
      () =>
        verifySessionRelease(
          opts({ releaseAllowDowngradeTo: '1.8.0' }),
          served(older),
          T0 + 60_000,
        ),
      /got 1\.9\.0 \(only a downgrade to 1\.8\.0 is allowed\)/,
    );
    const ok = verifySessionRelease(
      opts({ releaseAllowDowngradeTo: '1.9.0' }),
      served(older),
      T0 + 60_000,
    );
    assert.equal(ok?.verified.kind, 'downgrade-allowed');
    assert.deepEqual(ok?.verified.relaxations, [
      'downgrade from 2.0.0 to 1.9.0 explicitly allowed',
    ]);
    assert.deepEqual(relaxedChecks({ ...base, releaseAllowDowngradeTo: '1.9.0' }), [
      'downgrade to release 1.9.0 allowed (teechat.release.allowDowngradeTo)',
    ]);
  });

  test('maxAgeDays: a shorter bound refuses, 0 does not bound (named), more than 7 is named', async () => {
    setReleaseStore(memoryStore());
    const p = await signed('3.0.0');
    rejects(
      () => verifySessionRelease(opts({ releaseMaxAgeDays: 1 }), served(p), T0 + 2 * DAY),
      /at most 1\.0 days old, got 2\.0 days/,
    );
    const unbounded = verifySessionRelease(
      opts({ releaseMaxAgeDays: 0 }),
      served(p),
      T0 + 30 * DAY,
    );
    assert.deepEqual(unbounded?.verified.relaxations, [
      'release freshness not bounded (maximum age 0)',
    ]);
    const long = verifySessionRelease(opts({ releaseMaxAgeDays: 30 }), served(p), T0 + 20 * DAY);
    assert.deepEqual(long?.verified.relaxations, [
      'release maximum age raised to 30.0 days (default 7.0 days)',
    ]);
    assert.deepEqual(relaxedChecks({ ...base, releaseMaxAgeDays: 0 }), [
      'release age not bounded (teechat.release.maxAgeDays 0)',
    ]);
    assert.deepEqual(relaxedChecks({ ...base, releaseMaxAgeDays: 30 }), [
      'release maximum age 30 days, default 7 (teechat.release.maxAgeDays)',
    ]);
    assert.deepEqual(relaxedChecks({ ...base, releaseMaxAgeDays: 3 }), []);
    // Without a release signer the release settings do nothing and are not listed.
    assert.deepEqual(
      relaxedChecks({
        ...base,
        releaseRepository: '',
        releaseMaxAgeDays: 0,
        releaseAllowDowngradeTo: '1.0.0',
      }),
      [],
    );
  });
});

describe('release settings are read from the user settings only, with safe defaults', () => {
  let settingsFrom: typeof ConfigModule.settingsFrom;
  before(async () => {
    await import('../helpers/vscode-shim');
    ({ settingsFrom } = await import('../../extension/config'));
  });
  const reader = (
    global: Record<string, unknown>,
    workspace: Record<string, unknown> = {},
  ): ConfigReader => ({
    get: <T>(k: string) => (workspace[k] ?? global[k]) as T | undefined,
    inspect: <T>(k: string) => ({
      defaultValue: (k === 'release.maxAgeDays' ? 7 : undefined) as T | undefined,
      globalValue: global[k] as T | undefined,
      workspaceValue: workspace[k] as T | undefined,
    }),
  });
  test('defaults: public-good root, GitHub issuer, no downgrade, 7 days', () => {
    const t = settingsFrom(reader({})).trust;
    assert.equal(t.releaseTrustedRoot, '');
    assert.equal(t.releaseIssuer, '');
    assert.equal(t.releaseAllowDowngradeTo, '');
    assert.equal(t.releaseMaxAgeDays, 7);
  });
  test('user values apply; invalid ages keep 7', () => {
    const t = settingsFrom(
      reader({
        'release.trustedRoot': ' /etc/sigstore/root.json ',
        'release.allowDowngradeTo': '1.2.3',
        'release.maxAgeDays': 0,
      }),
    ).trust;
    assert.equal(t.releaseTrustedRoot, '/etc/sigstore/root.json');
    assert.equal(t.releaseAllowDowngradeTo, '1.2.3');
    assert.equal(t.releaseMaxAgeDays, 0);
    for (const bad of [-1, 1.5, '30', 1e9, null])
      assert.equal(settingsFrom(reader({ 'release.maxAgeDays': bad })).trust.releaseMaxAgeDays, 7);
  });
  test('a workspace cannot set any of them (ignored and named)', () => {
    const s = settingsFrom(
      reader(
        {},
        {
          'release.trustedRoot': '/tmp/evil-root.json',
          'release.certificateOidcIssuer': 'https://evil.example',
          'release.allowDowngradeTo': '0.0.1',
          'release.maxAgeDays': 0,
        },
      ),
    );
    assert.equal(s.trust.releaseTrustedRoot, '');
    assert.equal(s.trust.releaseIssuer, '');
    assert.equal(s.trust.releaseAllowDowngradeTo, '');
    assert.equal(s.trust.releaseMaxAgeDays, 7);
    assert.deepEqual([...s.ignoredWorkspaceTrust].sort(), [
      'release.allowDowngradeTo',
      'release.certificateOidcIssuer',
      'release.maxAgeDays',
      'release.trustedRoot',
    ]);
  });
});
