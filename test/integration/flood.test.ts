/**
 * Admission that survives a flood, end to end (real server process on default limits, simulated
 * attestation, tiny model, loopback): a real client gets its first token within 15 s while 80
 * silent WebSocket connections are held open (each reopened as soon as the server closes it), and
 * separately while 70 attested sessions sit idle (more than the default --max-sessions 64: the
 * longest-idle one is closed with a sealed session_limit notice to admit the newcomer).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { idleSessions, silentFlood, timeToFirstToken } from '../../bench/flood';
import { tinyChatModelPath } from '../helpers/tiny-model';
import { startServerProcess, testServerArgs, type ServerProcess } from '../helpers/server-process';

describe('a real chat answers under a flood (default limits)', () => {
  let srv: ServerProcess;
  before(async () => {
    srv = await startServerProcess(testServerArgs(tinyChatModelPath(), ['--log-level', 'info']));
  });
  after(async () => {
    await srv?.stop();
  });

  test('80 silent connections: first token within 15 s', async () => {
    const flood = silentFlood(srv.url, 80);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const r = await timeToFirstToken(srv.url, 15_000);
      assert.ok(r.text.length > 0, 'an answer');
      assert.ok(r.ttftMs < 15_000, `first token after ${r.ttftMs} ms`);
      assert.ok(flood.opened() > 80, 'the server closed silent connections (they were reopened)');
    } finally {
      flood.stop();
    }
    assert.match(srv.stderr(), /unauthenticated connection dropped/);
  });

  test('70 idle attested sessions: the longest idle is evicted with a sealed notice; first token within 15 s', async () => {
    const held = await idleSessions(srv.url, 70);
    try {
      // More than 64 handshakes finished: the first ones were evicted already.
      const early = held.slice(0, 6);
      assert.ok(
        early.some((s) => !s.isOpen),
        'some of the earliest (longest idle) sessions were closed to admit later ones',
      );
      const r = await timeToFirstToken(srv.url, 15_000);
      assert.ok(r.text.length > 0);
      assert.ok(r.ttftMs < 15_000, `first token after ${r.ttftMs} ms`);
      assert.match(srv.stderr(), /session evicted/);
    } finally {
      await Promise.all(held.map((s) => s.close().catch(() => {})));
    }
  });
});
