/**
 * Load against the real enclave server (child process, simulated attestation, the generated tiny
 * ChatML model) on loopback: 64 concurrent sessions, each with a fresh attested handshake and
 * several turns, bounded in count and time. Zero errors, zero cross-session mix-ups (each session's
 * prompt has its own token count, calibrated first; every authenticated `done` must carry it), the
 * server RSS bounded. The full-size run (64 × 20) is `node --import tsx bench/load.ts`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, runLoad, startLoadServer } from '../../bench/load';
import type { LoadServer } from '../../bench/load';
import { tinyChatModelPath } from '../helpers/tiny-model';

const SESSIONS = 64;
const TURNS = Number(process.env['LOAD_TURNS'] ?? 20);
const MAX_TOKENS = 4;

describe(`load: ${SESSIONS} concurrent sessions × ${TURNS} turns`, () => {
  let srv: LoadServer;
  before(async () => {
    srv = await startLoadServer(tinyChatModelPath(), [
      '--sequences',
      '8',
      '--context-size',
      '2048',
      '--max-sessions',
      String(SESSIONS + 8),
      // 64 users connect at once, all from 127.0.0.1: in production they come from 64 addresses,
      // so the per-address budget of unauthenticated connections (default 16) is raised here.
      '--max-pending-per-address',
      String(SESSIONS),
      // one client process opens all 64 connections at once and verifies 64 ServerHellos on a busy
      // event loop: the later ClientHellos can take longer than the default 3 s hello timeout.
      '--hello-timeout',
      '30s',
    ]);
  });
  after(async () => {
    const code = await srv?.stop();
    assert.equal(code, 0, `server exit ${code}; stderr:\n${srv?.stderr().slice(-2000)}`);
  });

  test('zero errors, zero mix-ups, bounded RSS; reports p99 TTFT and peak RSS', async () => {
    const expected = await calibrate(srv.url, SESSIONS);
    // the tag only works if every session's prompt has its own token count
    assert.equal(
      new Set(expected).size,
      SESSIONS,
      `prompt token counts collide: ${expected.join(',')}`,
    );
    const r = await runLoad(srv.url, expected, {
      sessions: SESSIONS,
      turns: TURNS,
      maxTokens: MAX_TOKENS,
      deadlineMs: 240_000,
      serverPid: srv.pid,
    });
    console.error(`load: ${JSON.stringify(r)}`);
    assert.equal(r.errors, 0, r.errorSamples.join('\n'));
    assert.equal(r.mixups, 0, r.mixupSamples.join('\n'));
    assert.equal(r.completed, SESSIONS * TURNS);
    assert.equal(r.tokens, SESSIONS * TURNS * MAX_TOKENS);
    assert.ok(Number.isFinite(r.ttftMs.p99));
    // 64 sessions must fit in a bounded server: model + KV cache + 64 channels well under 1 GiB
    if (r.serverPeakRssMiB !== null)
      assert.ok(r.serverPeakRssMiB < 1024, `peak RSS ${r.serverPeakRssMiB} MiB`);
    assert.match(srv.stderr(), /listening|sessions|model/);
  });
});
