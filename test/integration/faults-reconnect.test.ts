/**
 * Faults, end to end through the extension's chat controller (the client-side conversation
 * history), the real client library and the real enclave server (child process, simulated
 * attestation, tiny model):
 *  - the server is killed (SIGKILL) mid-answer, then restarted on the same port;
 *  - the connection is dropped (TCP reset by a proxy) mid-answer;
 *  - the connection stalls mid-answer (a proxy stops forwarding); the user stops and reconnects;
 *  - slowloris clients (TCP connections that dribble an upgrade request or never finish the
 *    handshake) are cut off by the server, which keeps serving.
 * Each time: the user sees a typed error notice (never as assistant text), the partial answer is
 * kept and marked interrupted, the next message goes over a fresh attested handshake (a new
 * transcript hash), and the conversation history has every user message exactly once, in order,
 * with nothing lost or duplicated — also in the turns sent to the model.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { ChatController } from '../../extension/chat-controller';
import { MemoryHistory } from '../../extension/history';
import { connectWithClient } from '../../extension/client-adapter';
import type { TeeSession, TrustSettings } from '../../extension/types';
import type { HostEvent, StatusView } from '../../ui-contract/messages';
import { IDLE_STATUS } from '../../extension/status-format';
import { startLoadServer } from '../../bench/load';
import type { LoadServer } from '../../bench/load';
import { tinyChatModelPath } from '../helpers/tiny-model';

const trust: TrustSettings = {
  allowedMeasurements: [],
  minimumTcb: {},
  requireGpuEvidence: true,
  allowDebug: false,
  allowSimulated: true,
};

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A WebSocket proxy whose server→client forwarding can be cut or stalled after n messages. */
class Proxy {
  mode: { kind: 'pass' } | { kind: 'cut' | 'stall'; after: number } = { kind: 'pass' };
  private wss!: WebSocketServer;
  url = '';
  readonly sockets: WebSocket[] = [];
  async start(target: string): Promise<void> {
    const port = await freePort();
    this.wss = new WebSocketServer({ host: '127.0.0.1', port });
    this.wss.on('connection', (down) => {
      this.sockets.push(down);
      const up = new WebSocket(target);
      const pending: Buffer[] = [];
      let n = 0;
      const mode = this.mode; // fixed per connection
      up.on('open', () => pending.splice(0).forEach((b) => up.send(b)));
      up.on('error', () => down.terminate());
      down.on('message', (d: Buffer) =>
        up.readyState === WebSocket.OPEN ? up.send(d) : pending.push(d),
      );
      up.on('message', (d: Buffer) => {
        n++;
        if (mode.kind === 'pass' || n <= mode.after) down.send(d);
        else if (mode.kind === 'cut') {
          down.terminate(); // TCP reset, no close frame
          up.terminate();
        }
        // stall: swallow everything from here on, keep both connections open
      });
      up.on('close', () => down.readyState === WebSocket.OPEN && down.close());
      down.on('close', () => up.close());
    });
    await new Promise((r) => this.wss.once('listening', r));
    this.url = `ws://127.0.0.1:${port}`;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

/** The chat controller with a session source that reconnects (fresh handshake) when needed. */
function conversation(url: () => string) {
  const events: HostEvent[] = [];
  const handshakes: string[] = [];
  let current: TeeSession | undefined;
  let open = false;
  const getSession = async (): Promise<TeeSession> => {
    if (current && open) return current;
    const s = await connectWithClient({ url: url(), trust, timeoutMs: 30_000 });
    open = true;
    s.onClose(() => (open = false));
    handshakes.push(s.attestation.transcriptHash);
    current = s;
    return s;
  };
  const c = new ChatController({
    getSession,
    status: (): StatusView => IDLE_STATUS,
    history: new MemoryHistory(),
    post: (e) => events.push(e),
    params: () => ({ maxTokens: 4000 }),
  });
  return {
    c,
    events,
    handshakes,
    /** What the "reconnect" button does: drop the current session. */
    async reconnect(): Promise<void> {
      open = false;
      await current?.close().catch(() => undefined);
    },
  };
}

async function untilStreamedChars(c: ChatController, n: number, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const last = c.conversation.entries.at(-1);
    if (last && last.role === 'assistant' && last.content.length >= n) return;
    if (Date.now() - t0 > timeoutMs) throw new Error('no streamed text');
    await sleep(10);
  }
}

async function settle(c: ChatController, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (c.isStreaming) {
    if (Date.now() - t0 > timeoutMs) throw new Error('the answer did not end');
    await sleep(10);
  }
}

/** Every user message exactly once, in order; the model turns carry the same sequence. */
function assertHistory(c: ChatController, users: string[]): void {
  const entries = c.conversation.entries;
  assert.deepEqual(
    entries.filter((e) => e.role === 'user').map((e) => (e.role === 'user' ? e.content : '')),
    users,
  );
  assert.deepEqual(
    c
      .modelTurns()
      .filter((t) => t.role === 'user')
      .map((t) => t.content),
    users,
  );
  const ids = entries.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'duplicate entries');
}

/** The interrupted answer kept its partial text; an error notice with a code follows it. */
function assertInterrupted(c: ChatController, events: HostEvent[]): string {
  const entries = c.conversation.entries;
  const a = [...entries].reverse().find((e) => e.role === 'assistant');
  assert.ok(a && a.role === 'assistant');
  assert.equal(a.state, 'interrupted');
  assert.ok(a.content.length > 0, 'the partial answer was kept');
  const streamed = events
    .filter((e) => e.type === 'delta' && e.messageId === a.id)
    .map((e) => (e.type === 'delta' ? e.text : ''))
    .join('');
  assert.equal(a.content, streamed, 'the kept text is exactly what was streamed');
  return a.content;
}

function lastNotice(c: ChatController): { code?: string; message: string } {
  const n = c.conversation.entries.at(-1);
  assert.ok(n && n.role === 'error', `expected an error notice last, got ${n?.role}`);
  return n.role === 'error'
    ? { ...(n.code ? { code: n.code } : {}), message: n.message }
    : { message: '' };
}

describe('faults', () => {
  let port: number;
  let srv: LoadServer;
  const model = tinyChatModelPath();
  const args = ['--sequences', '2', '--context-size', '2048', '--handshake-timeout', '2s'];
  before(async () => {
    port = await freePort();
    srv = await startLoadServer(model, args, 120_000, port);
  });
  after(async () => {
    await srv?.stop(2000);
  });

  test('server killed mid-answer, then restarted: typed error, partial kept, fresh handshake, history intact', async () => {
    const { c, events, handshakes } = conversation(() => srv.url);
    await c.send('first question');
    await untilStreamedChars(c, 3);
    process.kill(-srv.pid, 'SIGKILL');
    await settle(c);
    const partial = assertInterrupted(c, events);
    const n = lastNotice(c);
    assert.ok(
      n.code === 'truncation' || n.code === 'transport_error' || n.code === 'transport_closed',
      `notice code ${n.code}`,
    );
    await srv.stop(1000);

    srv = await startLoadServer(model, args, 120_000, port);
    await c.send('second question');
    await settle(c);
    const last = c.conversation.entries.at(-1);
    assert.ok(last?.role === 'assistant' && last.state === 'complete' && last.content.length > 0);
    assert.equal(handshakes.length, 2);
    assert.notEqual(handshakes[0], handshakes[1], 'the reconnect made a fresh handshake');
    assertHistory(c, ['first question', 'second question']);
    // the partial answer is part of the context sent with the second question, once
    const turns = c.modelTurns();
    assert.equal(turns.filter((t) => t.role === 'assistant' && t.content === partial).length, 1);
  });

  test('connection dropped (TCP reset) mid-answer: typed error, partial kept, reconnect', async () => {
    const proxy = new Proxy();
    await proxy.start(srv.url);
    try {
      const { c, events, handshakes } = conversation(() => proxy.url);
      proxy.mode = { kind: 'cut', after: 6 }; // ServerHello + 5 frames, then reset
      await c.send('question one');
      await settle(c);
      assertInterrupted(c, events);
      assert.ok(lastNotice(c).code, 'the notice carries an error code');
      proxy.mode = { kind: 'pass' };
      await c.send('question two');
      await settle(c);
      assert.equal(c.conversation.entries.at(-1)?.role, 'assistant');
      assert.equal(handshakes.length, 2);
      assert.notEqual(handshakes[0], handshakes[1]);
      assertHistory(c, ['question one', 'question two']);
    } finally {
      await proxy.stop();
    }
  });

  test('connection stalls mid-answer: the user stops, the partial stays, reconnect gets a fresh session', async () => {
    const proxy = new Proxy();
    await proxy.start(srv.url);
    try {
      const { c, events, handshakes, reconnect } = conversation(() => proxy.url);
      proxy.mode = { kind: 'stall', after: 6 };
      await c.send('stalled question');
      await untilStreamedChars(c, 1);
      await sleep(1500); // nothing arrives any more
      const before = c.conversation.entries.at(-1);
      assert.ok(before?.role === 'assistant' && before.state === 'streaming');
      assert.equal(await c.stop(), true);
      assertInterrupted(c, events);
      await reconnect();
      proxy.mode = { kind: 'pass' };
      await c.send('after the stall');
      await settle(c);
      const last = c.conversation.entries.at(-1);
      assert.ok(last?.role === 'assistant' && last.state === 'complete');
      assert.equal(handshakes.length, 2);
      assert.notEqual(handshakes[0], handshakes[1]);
      assertHistory(c, ['stalled question', 'after the stall']);
    } finally {
      await proxy.stop();
    }
  });

  test('slowloris: dribbling and silent connections are cut off, other sessions are served meanwhile', async () => {
    const url = new URL(srv.url);
    const closedAfter = (sock: Socket): Promise<number> => {
      const t0 = Date.now();
      return new Promise((resolve) => sock.once('close', () => resolve(Date.now() - t0)));
    };
    // 1) completes the WebSocket upgrade, then never sends a ClientHello
    const silent = new WebSocket(srv.url);
    const silentClosed = new Promise<number>((r) => silent.once('close', (code) => r(code)));
    // 2) dribbles a ClientHello-sized binary WebSocket frame one byte every 200 ms
    const dribble = netConnect(Number(url.port), url.hostname);
    await new Promise((r) => dribble.once('connect', r));
    dribble.write(
      `GET / HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const dribbleClosed = closedAfter(dribble);
    dribble.on('error', () => undefined);
    let stop = false;
    void (async () => {
      // masked binary frame header announcing 1,300 bytes, then payload bytes slowly
      const header = Buffer.from([0x82, 0xfe, 0x05, 0x14, 1, 2, 3, 4]);
      for (const b of header) {
        if (stop || dribble.destroyed) return;
        dribble.write(Buffer.of(b));
        await sleep(200);
      }
      while (!stop && !dribble.destroyed) {
        dribble.write(Buffer.of(0));
        await sleep(200);
      }
    })();
    // meanwhile a normal session chats
    const { c } = conversation(() => srv.url);
    await c.send('while the slowloris runs');
    await settle(c);
    assert.equal(c.conversation.entries.at(-1)?.role, 'assistant');
    // both slow connections are cut by the handshake timeout (2 s), well before they finish
    assert.equal(await silentClosed, 4400);
    const ms = await dribbleClosed;
    stop = true;
    assert.ok(ms < 10_000, `the dribbling connection lived ${ms} ms`);
    assert.match(srv.stderr(), /handshake_timeout/);
  });
});
