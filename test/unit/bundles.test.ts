/**
 * The shipped bundles run as users run them (tests otherwise load the TypeScript sources through
 * tsx). The ESM bundles carry CommonJS dependencies (sigstore-js, loaded on use): without a real
 * `require` in the bundle, `teechat attest show --server` and `teechat release verify` failed with
 * "Dynamic require of "crypto" is not supported" while every source-level test passed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/shared';

// Inside the repository, so the bundles' external packages resolve from node_modules.
const OUT = join('.cache', 'bundle-test');

describe('bundles built by esbuild.mjs', () => {
  before(() => {
    const r = spawnSync(process.execPath, ['esbuild.mjs'], {
      cwd: repoRoot,
      env: { ...process.env, TEECHAT_OUTDIR: OUT },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => rmSync(join(repoRoot, OUT), { recursive: true, force: true }));

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(OUT, 'teechat.mjs'), ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });

  test('teechat release verify (sigstore-js, CommonJS) loads: usage error, not a require failure', () => {
    const r = cli('release', 'verify');
    assert.equal(r.status, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /Dynamic require/);
  });

  test('teechat attest show --server: a refused connection is a transport error, not a require failure', () => {
    const r = cli('attest', 'show', '--server', 'ws://127.0.0.1:9', '--timeout', '5');
    assert.equal(r.status, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /Dynamic require/);
    assert.match(r.stderr, /transport_error|ECONNREFUSED|unreachable/i);
  });

  test('teechat-server --help runs from its bundle', () => {
    const r = spawnSync(process.execPath, [join(OUT, 'teechat-server.mjs'), '--help'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /teechat-server/);
  });
});
