/**
 * Before its ServerHello the server accepts exactly one message (the ClientHello): a client that
 * sends more while the evidence is being collected is refused with handshake_state, so nothing
 * queues up (each message could be max-frame-bytes). Deterministic: the in-process server's
 * handshake takes 300 ms to answer the hello.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { EnclaveServer } from '../../enclave-server/server';
import { silentLogger } from '../../enclave-server/log';
import type { Engine } from '../../enclave-server/engine/types';
import { resolveLimits } from '../../protocol/limits';
import { testLimits } from '../helpers/server-limits';

const engine: Engine = {
  info: { engine: 'llama', modelId: 'm', modelSha256: '', modelBytes: 0, settings: {} },
  openSession: () => ({ generate: () => Promise.reject(new Error('unused')), dispose: () => {} }),
  stats: () => ({ busy: 0, queued: 0, capacity: 1 }),
  close: async () => {},
};

function server(helloDelayMs: number, hellos: { n: number }): EnclaveServer {
  return new EnclaveServer({
    host: '127.0.0.1',
    port: 0,
    limits: testLimits({ helloTimeoutMs: 3000 }),
    engine,
    log: silentLogger,
    protocolLimits: resolveLimits({}),
    newHandshake: () => ({
      onClientHello: async () => {
        hellos.n++;
        await new Promise((r) => setTimeout(r, helloDelayMs));
        return Uint8Array.of(1);
      },
      onClientFinished: () => {
        throw new Error('unused');
      },
    }),
  });
}

async function closeOf(ws: WebSocket): Promise<[number, string]> {
  return new Promise((r) => ws.once('close', (c, why) => r([c, why.toString()])));
}

test('a second message before the ServerHello: close 4400 handshake_state; at most one hello is handled', async () => {
  const hellos = { n: 0 };
  const srv = server(300, hellos);
  const url = await srv.listen();
  try {
    const ws = new WebSocket(url);
    await new Promise((r) => ws.once('open', r));
    const closed = closeOf(ws);
    ws.send(Uint8Array.of(0x01, 0x02));
    for (let i = 0; i < 8; i++) ws.send(new Uint8Array(1024));
    const [code, reason] = await closed;
    assert.equal(code, 4400);
    assert.equal(
      reason,
      'handshake_state handshake: expected 1 message before the ServerHello, got 2',
    );
    assert.ok(hellos.n <= 1, `hellos handled: ${hellos.n}`);

    // A well-behaved client (one message, then it waits) gets its ServerHello.
    const ok = new WebSocket(url);
    await new Promise((r) => ok.once('open', r));
    const reply = new Promise<Buffer>((r) => ok.once('message', (d) => r(d as Buffer)));
    ok.send(Uint8Array.of(0x01));
    assert.deepEqual([...(await reply)], [1]);
    ok.terminate();
  } finally {
    await srv.shutdown();
  }
});
