/**
 * An attested chat between the real server and the real CLI client running on different Node.js
 * releases: every (server, client) pair of the binaries listed in TEECHAT_NODE_MATRIX (colon-
 * separated paths; scripts/test-matrix.sh sets it to the newest Node 20, 22 and 24), or only this
 * process's Node when it is unset. A Node release that breaks the key exchange on either side
 * (Node 24.22 refusing a lenient X25519 key import did) fails here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha384 } from '@noble/hashes/sha2.js';
import { runProcess, startServerProcess, testServerArgs } from '../helpers/server-process';
import type { ServerProcess } from '../helpers/server-process';
import { tinyChatModelPath } from '../helpers/tiny-model';

const nodes = (process.env['TEECHAT_NODE_MATRIX'] ?? process.execPath).split(':').filter(Boolean);
const version = (bin: string): string => {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} --version failed: ${r.stderr}`);
  return r.stdout.trim();
};
const versions = new Map(nodes.map((n) => [n, version(n)]));
// The simulated SNP provider's launch measurement (enclave-server/evidence/simulated-snp.ts).
const measurement = Buffer.from(
  sha384(new TextEncoder().encode('teechat simulated guest')),
).toString('hex');

describe(`attested chat across Node releases (${[...versions.values()].join(', ')})`, () => {
  const servers = new Map<string, ServerProcess>();
  let dir = '';
  let policy = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'teechat-cross-node-'));
    policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ snp: { measurements: [measurement] } }));
    const model = tinyChatModelPath();
    for (const n of nodes)
      servers.set(n, await startServerProcess(testServerArgs(model), { node: n }));
  });
  after(async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  for (const server of nodes)
    for (const client of nodes)
      test(`server ${versions.get(server)} ↔ client ${versions.get(client)}`, async () => {
        const srv = servers.get(server)!;
        const r = await runProcess(
          [
            'client/cli/main.ts',
            'chat',
            '--server',
            srv.url,
            '--allow-simulated',
            '--policy',
            policy,
            '--json',
            '--max-tokens',
            '4',
            'hello',
          ],
          { node: client },
        );
        assert.equal(r.code, 0, `client exit ${String(r.code)}; stderr:\n${r.stderr}`);
        const events = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { type: string });
        assert.equal(events[0]?.type, 'summary');
        assert.equal(events.at(-1)?.type, 'done', r.stdout);
        assert.ok(
          events.some((e) => e.type === 'delta'),
          'the model answered',
        );
      });
});
