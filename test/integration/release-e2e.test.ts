/**
 * End to end with the real server process: `teechat-server --release-manifest --release-bundle`
 * (simulated attestation, tiny model) and `connect()` with release checking. The manifest signed by
 * the local test Sigstore pins the simulated launch digest and the model's SHA-256: an exact match
 * connects and shows the release; another digest or another model is refused naming the value; a
 * later downgrade is refused from the remembered state.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, DEFAULT_CLIENT_POLICY } from '../../client/index';
import { expectedIdentity, releaseSigner } from '../../client/release/identity';
import { memoryStore, ReleaseState } from '../../client/release/state';
import type { ReleaseSessionOptions } from '../../client/release/session';
import { ProtocolError } from '../../protocol/errors';
import { sampleManifest } from '../helpers/release-manifest';
import { startServerProcess, testServerArgs, type ServerProcess } from '../helpers/server-process';
import { testSigstore, type TestSigstore } from '../helpers/test-sigstore';
import { tinyChatModelPath } from '../helpers/tiny-model';

const REPO = 'teechat/teechat';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const signer = releaseSigner({ repository: REPO });
const SIM_DIGEST = createHash('sha384').update('teechat simulated guest').digest('hex');

describe('signed release, real server process', () => {
  let ts: TestSigstore;
  let dir: string;
  const servers: ServerProcess[] = [];
  let model: string;
  before(async () => {
    ts = await testSigstore();
    dir = mkdtempSync(join(tmpdir(), 'teechat-release-e2e-'));
    model = tinyChatModelPath();
  });
  after(async () => {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(version: string, digest: string, modelSha: string): Promise<string> {
    const m = sampleManifest({ version });
    (m['source'] as Record<string, unknown>)['tag'] = `v${version}`;
    (m['expected'] as Record<string, unknown>)['snp'] = [
      { shape: 'qemu-8', launch_digest: digest },
    ];
    (m['model'] as Record<string, unknown>)['sha256'] = modelSha;
    const bytes = new TextEncoder().encode(JSON.stringify(m));
    const mf = join(dir, `m-${version}-${digest.slice(0, 6)}-${modelSha.slice(0, 6)}.json`);
    writeFileSync(mf, bytes);
    writeFileSync(
      `${mf}.sigstore.json`,
      await ts.sign(bytes, {
        identity: expectedIdentity(signer, `v${version}`),
        repository: `https://github.com/${REPO}`,
        ref: `refs/tags/v${version}`,
        sha: COMMIT,
        at: new Date(Date.now() + 60_000),
      }),
    );
    const s = await startServerProcess(
      testServerArgs(model, ['--release-manifest', mf, '--release-bundle', `${mf}.sigstore.json`]),
    );
    servers.push(s);
    return s.url;
  }
  const release = (state: ReleaseState): ReleaseSessionOptions => ({
    signer,
    trustedRoot: ts.trustedRoot,
    state,
    maxAgeMs: 24 * 3600 * 1000,
    require: true,
  });
  const open = (url: string, state: ReleaseState): ReturnType<typeof connect> =>
    connect(url, {
      policy: DEFAULT_CLIENT_POLICY,
      allowSimulated: true,
      timeoutMs: 60_000,
      now: () => new Date(Date.now() + 120_000),
      release: release(state),
    });

  test('exact match connects; the summary carries the release; a downgrade is then refused', async () => {
    const modelSha = createHash('sha256').update(readFileSync(model)).digest('hex');
    const state = new ReleaseState(memoryStore());
    const s = await open(await serve('2.0.0', SIM_DIGEST, modelSha), state);
    try {
      assert.equal(s.summary.release?.version, '2.0.0');
      assert.match(s.summary.verdict, /release 2\.0\.0 \(signed manifest\)/);
    } finally {
      await s.close();
    }
    await assert.rejects(open(await serve('1.0.0', SIM_DIGEST, modelSha), state), (e: unknown) => {
      assert.ok(e instanceof ProtocolError);
      assert.match(e.message, /rollback\.version: expected version >= 2\.0\.0 .*got 1\.0\.0/);
      return true;
    });
  });

  test('another launch digest or another model is refused naming the value', async () => {
    const modelSha = createHash('sha256').update(readFileSync(model)).digest('hex');
    await assert.rejects(
      open(await serve('3.0.0', 'ab'.repeat(48), modelSha), new ReleaseState(memoryStore())),
      (e: unknown) => {
        assert.ok(e instanceof ProtocolError);
        assert.match(
          e.message,
          new RegExp(`measurement: expected one of abababababababab…, got ${SIM_DIGEST}`),
        );
        return true;
      },
    );
    await assert.rejects(
      open(await serve('3.0.0', SIM_DIGEST, 'cd'.repeat(32)), new ReleaseState(memoryStore())),
      (e: unknown) => {
        assert.ok(e instanceof ProtocolError);
        assert.match(
          e.message,
          new RegExp(
            `server_info\\.modelSha256: expected (cd){32} \\(release 3\\.0\\.0 manifest\\), got ${modelSha}`,
          ),
        );
        return true;
      },
    );
  });
});
