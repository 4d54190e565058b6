/**
 * Admission that survives a flood (EnclaveServer, fake handshakes, loopback): unauthenticated
 * connections have their own budget (total and per address, oldest silent one closed first) and
 * a ClientHello deadline; only a finished handshake counts against --max-sessions; when the
 * sessions are full the longest-idle one is closed with a sealed notice to admit the newcomer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  EnclaveServer,
  SILENT_GRACE_MS,
  type ChannelLike,
  type ServerLimits,
} from '../../enclave-server/server';
import type { Engine } from '../../enclave-server/engine/types';
import { silentLogger } from '../../enclave-server/log';
import { resolveLimits } from '../../protocol/limits';
import { decodeAppMessage, encodeAppMessage } from '../../protocol/messages/messages';
import { testLimits } from '../helpers/server-limits';

const engine: Engine = {
  info: { engine: 'llama', modelId: 'm', modelSha256: '', modelBytes: 0, settings: {} },
  openSession: () => ({ generate: () => Promise.reject(new Error('unused')), dispose: () => {} }),
  stats: () => ({ busy: 0, queued: 0, capacity: 1 }),
  close: async () => {},
};

/** A pass-through "channel" (the handshake is faked; admission is what is tested). */
function plainChannel(): ChannelLike {
  let closed = false;
  return {
    seal: (p) => Uint8Array.of(0, ...p),
    openFrame: (f) => ({ kind: f[0] === 1 ? 'close' : 'data', plaintext: f.subarray(1) }),
    close: () => {
      closed = true;
      return Uint8Array.of(1);
    },
    get isClosed() {
      return closed;
    },
    zeroize: () => {},
  };
}

const LIMITS: ServerLimits = testLimits({
  maxSessions: 3,
  maxPendingHandshakes: 6,
  maxPendingPerAddress: 4,
  idleTimeoutMs: 60_000,
});

/** The admission clock, advanced by the tests (ms). */
const clock = { now: 0 };

function server(limits: Partial<ServerLimits> = {}): EnclaveServer {
  return new EnclaveServer({
    host: '127.0.0.1',
    port: 0,
    clock: () => clock.now,
    limits: { ...LIMITS, ...limits },
    engine,
    log: silentLogger,
    protocolLimits: resolveLimits({}),
    newHandshake: () => ({
      onClientHello: async () => Uint8Array.of(2),
      onClientFinished: () => ({ channel: plainChannel() }),
    }),
  });
}

interface Peer {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  frames: Uint8Array[];
}
async function open(url: string): Promise<Peer> {
  const ws = new WebSocket(url);
  const frames: Uint8Array[] = [];
  ws.on('message', (d) => frames.push(new Uint8Array(d as Buffer)));
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.once('close', (code, why) => r({ code, reason: why.toString() })),
  );
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  return { ws, closed, frames };
}
async function session(url: string): Promise<Peer> {
  const p = await open(url);
  p.ws.send(Uint8Array.of(1));
  for (let i = 0; i < 200 && p.frames.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  p.ws.send(Uint8Array.of(3));
  return p;
}
const until = async (ok: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), what);
};

test('silent sockets never block a newcomer: the pending budget closes the oldest silent ones; sessions are not counted', async () => {
  const srv = server();
  const url = await srv.listen();
  const peers: Peer[] = [];
  try {
    for (let i = 0; i < 20; i++) peers.push(await open(url));
    await until(() => srv.stats().pending === 4, `pending ${srv.stats().pending}`);
    // Per address (all on 127.0.0.1): at most 4 unauthenticated connections are kept; while the
    // kept ones are young, newcomers are refused.
    assert.equal(srv.stats().established, 0);
    const refused = await peers[4]!.closed;
    assert.equal(refused.code, 4400);
    assert.equal(
      refused.reason,
      'busy unauthenticated connections from this address: expected at most 4, got 5',
    );
    assert.equal(peers[0]!.ws.readyState, WebSocket.OPEN, 'a young connection is kept');
    // Once they have been silent for the grace period, a newcomer pushes out the oldest silent
    // one and completes its handshake; sessions are counted only now.
    clock.now += SILENT_GRACE_MS;
    const s = await session(url);
    assert.equal((await peers[0]!.closed).code, 4400, 'the oldest silent one made room');
    await until(() => srv.stats().established === 1, 'the newcomer is a session');
    assert.equal(s.ws.readyState, WebSocket.OPEN);
    assert.equal(srv.stats().pending, 3);
    assert.equal(srv.stats().pendingDropped, 17);
  } finally {
    for (const p of peers) p.ws.terminate();
    await srv.shutdown();
  }
});

test('the total pending budget (all addresses) is enforced separately', async () => {
  const srv = server({ maxPendingPerAddress: 100, maxPendingHandshakes: 5 });
  const url = await srv.listen();
  const peers: Peer[] = [];
  try {
    for (let i = 0; i < 9; i++) peers.push(await open(url));
    await until(() => srv.stats().pending === 5, `pending ${srv.stats().pending}`);
    assert.match(
      (await peers[5]!.closed).reason,
      /^busy unauthenticated connections: expected at most 5, got 6$/,
    );
  } finally {
    for (const p of peers) p.ws.terminate();
    await srv.shutdown();
  }
});

test('a connection that sends no ClientHello is closed at the hello deadline', async () => {
  const srv = server({ helloTimeoutMs: 400 });
  const url = await srv.listen();
  const p = await open(url);
  try {
    const c = await p.closed;
    assert.equal(c.code, 4400);
    assert.match(c.reason, /^handshake_timeout handshake: expected a ClientHello within 400 ms/);
  } finally {
    p.ws.terminate();
    await srv.shutdown();
  }
});

test('sessions full: the longest-idle session is closed with a sealed session_limit notice; the newcomer is admitted', async () => {
  const srv = server();
  const url = await srv.listen();
  const limits = resolveLimits({});
  const s: Peer[] = [];
  try {
    for (let i = 0; i < 3; i++) s.push(await session(url));
    await until(() => srv.stats().established === 3, 'three sessions');
    // Sessions 0 and 2 are active (a ping each); session 1 is now the longest idle.
    clock.now += 30_000;
    for (const i of [0, 2])
      s[i]!.ws.send(Uint8Array.of(0, ...encodeAppMessage({ type: 'ping', nonce: 1 }, limits)));
    await until(() => s[0]!.frames.length >= 2 && s[2]!.frames.length >= 2, 'pongs');
    const newcomer = await session(url);
    const c = await s[1]!.closed;
    assert.equal(c.code, 1008);
    // The notice is sealed (on the channel), then the authenticated close frame.
    const sealed = s[1]!.frames.slice(1).find((f) => f[0] === 0);
    assert.ok(sealed, 'a sealed notice');
    const m = decodeAppMessage(sealed.subarray(1), limits);
    assert.equal(m.type, 'error');
    assert.ok(m.type === 'error' && m.code === 'session_limit');
    assert.match(
      m.type === 'error' ? m.message : '',
      /limit of 3; this session, idle for 30 s \(the longest\), was closed to admit a new one/,
    );
    await until(() => srv.stats().established === 3 && srv.stats().evicted === 1, 'evicted one');
    assert.equal(newcomer.ws.readyState, WebSocket.OPEN);
    assert.equal(s[0]!.ws.readyState, WebSocket.OPEN);
    assert.equal(s[2]!.ws.readyState, WebSocket.OPEN);
    newcomer.ws.terminate();
  } finally {
    for (const p of s) p.ws.terminate();
    await srv.shutdown();
  }
});
