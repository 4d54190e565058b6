/**
 * A session against a signed release manifest (client/release/session.ts + client/verifier.ts),
 * with the server's side (`--release-manifest/--release-bundle`: enclave-server/start.ts
 * loadReleaseParts, providers.ts evidenceCollector) producing the evidence: accepted only on an
 * exact match of the manifest's values, refused naming expected vs observed, rollback refused,
 * no-manifest servers refused when a manifest is required, a pinned manifest used instead.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BindingValues, EvidenceItem } from '../../protocol/attestation/types';
import { createVerifier, DEFAULT_CLIENT_POLICY } from '../../client/verifier';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { SimulatedSnpProvider } from '../../enclave-server/evidence/simulated-snp';
import { SimulatedNvidiaProvider } from '../../enclave-server/evidence/simulated-nvidia';
import { evidenceCollector } from '../../enclave-server/providers';
import { loadReleaseParts } from '../../enclave-server/start';
import { DEFAULTS } from '../../enclave-server/config';
import { UsageError } from '../../protocol-node/args';
import { silentLogger } from '../../enclave-server/log';
import { expectedIdentity, releaseSigner } from '../../client/release/identity';
import { memoryStore, ReleaseState } from '../../client/release/state';
import { offeredRelease, type ReleaseSessionOptions } from '../../client/release/session';
import { sampleManifest } from '../helpers/release-manifest';
import { testSigstore, type TestSigstore } from '../helpers/test-sigstore';

const DAY = 24 * 3600 * 1000;
// Signed just after the mock Sigstore root's start (its validity begins at the real now) and verified
// an hour later: the simulated evidence's stapled CRL and OCSP responses are fresh for two days from
// the providers' start, so the verification clock must stay inside that window.
const T0 = Date.now() + 10 * 60 * 1000;
const REPO = 'teechat/teechat';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const signer = releaseSigner({ repository: REPO });
const MEASUREMENT = createHash('sha384').update('teechat release test guest').digest();
const binding: BindingValues = {
  cpuReportData: new Uint8Array(64).fill(3),
  gpuNonce: new Uint8Array(32).fill(4),
};

describe('sessions against a signed release manifest', () => {
  let ts: TestSigstore;
  let dir: string;
  let snp: SimulatedSnpProvider;
  let gpu: SimulatedNvidiaProvider;
  before(async () => {
    ts = await testSigstore();
    dir = mkdtempSync(join(tmpdir(), 'teechat-release-session-'));
    snp = await SimulatedSnpProvider.create({ rsaBits: 2048, measurement: MEASUREMENT });
    gpu = new SimulatedNvidiaProvider();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes a signed manifest (files, as the server reads them) for `version` with the SNP digest `digest`. */
  async function release(
    version: string,
    digest: string,
    tag = version,
  ): Promise<{ manifest: string; bundle: string }> {
    const m = sampleManifest({ version });
    (m['source'] as Record<string, unknown>)['tag'] = `v${tag}`;
    (m['expected'] as Record<string, unknown>)['snp'] = [
      { shape: 'qemu-8', launch_digest: digest },
    ];
    const bytes = new TextEncoder().encode(JSON.stringify(m));
    const bundle = await ts.sign(bytes, {
      identity: expectedIdentity(signer, `v${tag}`),
      repository: `https://github.com/${REPO}`,
      ref: `refs/tags/v${tag}`,
      sha: COMMIT,
      at: new Date(T0),
    });
    const mf = join(dir, `${version}-${digest.slice(0, 8)}.json`);
    const bf = `${mf}.sigstore.json`;
    writeFileSync(mf, bytes);
    writeFileSync(bf, bundle);
    return { manifest: mf, bundle: bf };
  }
  /** Evidence as the server sends it with --release-manifest/--release-bundle. */
  async function serverEvidence(
    files: { manifest: string; bundle: string } | null,
  ): Promise<EvidenceItem[]> {
    const parts =
      files === null
        ? undefined
        : loadReleaseParts({ releaseManifest: files.manifest, releaseBundle: files.bundle });
    return evidenceCollector([snp, gpu], silentLogger, parts)(binding, []);
  }
  const opts = (
    state: ReleaseState,
    over: Partial<ReleaseSessionOptions> = {},
  ): ReleaseSessionOptions => ({
    signer,
    trustedRoot: ts.trustedRoot,
    state,
    maxAgeMs: 7 * DAY,
    require: true,
    ...over,
  });
  const verify = (
    items: EvidenceItem[],
    release: ReleaseSessionOptions,
  ): ReturnType<ReturnType<typeof createVerifier>> =>
    createVerifier({
      policy: DEFAULT_CLIENT_POLICY,
      crypto: nodeProvider,
      allowSimulated: true,
      now: () => new Date(T0 + 3600 * 1000),
      release,
    })(items, binding);

  test('the server attaches the manifest and bundle to the CPU item only (bound into the transcript)', async () => {
    const items = await serverEvidence(await release('1.4.2', MEASUREMENT.toString('hex')));
    const cpu = items.find((i) => i.kind === 'sev-snp');
    const g = items.find((i) => i.kind === 'nvidia-gpu');
    assert.ok(cpu?.parts.has('release.manifest') && cpu.parts.has('release.sigstore'));
    assert.equal(g?.parts.has('release.manifest'), false);
    assert.ok(offeredRelease(items) !== null);
  });

  test('exact match: accepted, release recorded, summary names the release', async () => {
    const state = new ReleaseState(memoryStore());
    const v = await verify(
      await serverEvidence(await release('1.4.2', MEASUREMENT.toString('hex'))),
      opts(state),
    );
    assert.equal(v.ok, true, v.summary);
    assert.equal(v.release?.version, '1.4.2');
    assert.equal(v.release?.source, 'server');
    assert.equal(v.release?.expected['snp.launch_digest[qemu-8]'], MEASUREMENT.toString('hex'));
    assert.match(v.summary, /release 1\.4\.2 \(signed manifest\)/);
    assert.equal(state.highest(`${signer.issuer} ${REPO} ${signer.workflow} v`)?.version, '1.4.2');
  });

  test('a different launch digest: refused naming expected and observed; nothing recorded', async () => {
    const other = 'ab'.repeat(48);
    const state = new ReleaseState(memoryStore());
    const v = await verify(await serverEvidence(await release('1.4.2', other)), opts(state));
    assert.equal(v.ok, false);
    assert.match(
      v.summary,
      new RegExp(
        `measurement: expected one of abababababababab…, got ${MEASUREMENT.toString('hex')}`,
      ),
    );
    assert.match(v.summary, /against release 1\.4\.2 manifest/);
    assert.equal(state.log().length, 0);
  });

  test('a downgrade is refused; a server offering no manifest is refused when one is required', async () => {
    const state = new ReleaseState(memoryStore());
    assert.equal(
      (
        await verify(
          await serverEvidence(await release('2.0.0', MEASUREMENT.toString('hex'))),
          opts(state),
        )
      ).ok,
      true,
    );
    const down = await verify(
      await serverEvidence(await release('1.9.0', MEASUREMENT.toString('hex'))),
      opts(state),
    );
    assert.equal(down.ok, false);
    assert.match(
      down.summary,
      /release_rejected: rollback\.version: expected version >= 2\.0\.0 .*got 1\.9\.0/,
    );
    const none = await verify(await serverEvidence(null), opts(state));
    assert.equal(none.ok, false);
    assert.match(
      none.summary,
      /release: expected a signed release manifest from the server \(or a pinned one\), got none/,
    );
    const optional = await verify(await serverEvidence(null), opts(state, { require: false }));
    assert.equal(optional.ok, true, optional.summary);
    assert.equal(optional.release, undefined);
  });

  test('a tampered manifest part is refused before any evidence is checked', async () => {
    const items = await serverEvidence(await release('1.4.2', MEASUREMENT.toString('hex')));
    const tampered = items.map((i) => {
      const m = i.parts.get('release.manifest');
      if (m === undefined) return i;
      const parts = new Map(i.parts);
      const t = new Uint8Array(m);
      t[t.length - 2] = (t[t.length - 2] ?? 0) ^ 1;
      parts.set('release.manifest', t);
      return { ...i, parts };
    });
    const v = await verify(tampered, opts(new ReleaseState(memoryStore())));
    assert.equal(v.ok, false);
    assert.match(v.summary, /^release_rejected: /);
  });

  test('a pinned manifest is used when the server offers none', async () => {
    const f = await release('1.4.2', MEASUREMENT.toString('hex'));
    const { readFileSync } = await import('node:fs');
    const pinned = { manifest: readFileSync(f.manifest), bundle: readFileSync(f.bundle) };
    const v = await verify(
      await serverEvidence(null),
      opts(new ReleaseState(memoryStore()), { pinned }),
    );
    assert.equal(v.ok, true, v.summary);
    assert.equal(v.release?.source, 'pinned');
  });

  test('server flags: both or neither; the manifest must parse', () => {
    assert.equal(loadReleaseParts(DEFAULTS), undefined);
    assert.throws(
      () => loadReleaseParts({ releaseManifest: 'x', releaseBundle: '' }),
      (e: unknown) => e instanceof UsageError && /expected both or neither/.test(e.message),
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"schema":"nope"}');
    assert.throws(
      () => loadReleaseParts({ releaseManifest: bad, releaseBundle: bad }),
      /release-manifest: manifest\.version: expected a value, got nothing/,
    );
  });
});
