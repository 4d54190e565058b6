/**
 * The bad-input matrix: each malformed, oversized, replayed, reordered, truncated or tampered input
 * at each layer — WebSocket message, handshake, channel frame, application message — against the
 * real enclave server (child process, simulated attestation, tiny model), and, in the other
 * direction, tampering by a man-in-the-middle between the real client and the real server.
 *
 * Each case asserts: the server answers with its own typed error (the WebSocket close reason
 * "<code> …" before the channel exists; a sealed `error` message with the code, then the
 * authenticated close frame and close 1008 after it), the connection closes cleanly (close frame,
 * not a reset), and the server keeps serving: a bystander session opened before the matrix still
 * chats afterwards, and a fresh connection works. Client side: the chat fails with the typed code
 * and no text from an unauthenticated or out-of-order frame is ever yielded. The client runs the
 * production trust path (the server's roots injected as pinned trust anchors, allowSimulated off).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { connect, DEFAULT_CLIENT_POLICY } from '../../client/index';
import type { ChatEvent, Session } from '../../client/index';
import { createVerifier } from '../../client/verifier';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { ProtocolError } from '../../protocol/errors';
import { ClientHandshake } from '../../protocol/handshake/handshake';
import type { SecureChannel } from '../../protocol/channel/channel';
import { decodeAppMessage, encodeAppMessage } from '../../protocol/messages/messages';
import type { AppMessage } from '../../protocol/messages/messages';
import { requiredKinds } from '../../client/index';
import { startLoadServer } from '../../bench/load';
import type { LoadServer } from '../../bench/load';
import { tinyChatModelPath } from '../helpers/tiny-model';
import type { TrustAnchors } from '../../protocol/attestation/types';

const crypto = nodeProvider;
/**
 * The production trust path: the server's generated roots (--simulated-roots-out) injected as
 * pinned trust anchors, allowSimulated off (test/helpers/test-roots.ts). Set once the server runs.
 */
let trustAnchors: TrustAnchors;
const clientOpts = (): {
  policy: typeof DEFAULT_CLIENT_POLICY;
  allowSimulated: false;
  trustAnchors: TrustAnchors;
} => ({ policy: DEFAULT_CLIENT_POLICY, allowSimulated: false, trustAnchors });
const MAX_FRAME = 65_536;

interface Closed {
  code: number;
  reason: string;
  /** Server messages received (raw). */
  received: Uint8Array[];
}

/** A raw WebSocket client that records what arrives until the server closes. */
class Raw {
  readonly ws: WebSocket;
  readonly received: Uint8Array[] = [];
  private taken = 0;
  private waiter: (() => void) | undefined;
  readonly closed: Promise<Closed>;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (d: Buffer) => {
      this.received.push(new Uint8Array(d));
      this.waiter?.();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) =>
        resolve({ code, reason: reason.toString('utf8'), received: this.received }),
      ),
    );
  }
  static async open(url: string): Promise<Raw> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Raw(ws);
  }
  /** The next server message not yet taken (already received or arriving). */
  async next(timeoutMs = 20_000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.taken >= this.received.length) {
      if (Date.now() > deadline) throw new Error('no server message');
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 50);
      });
    }
    return this.received[this.taken++] as Uint8Array;
  }
  send(b: Uint8Array | string): void {
    this.ws.send(b, { binary: typeof b !== 'string' });
  }
}

/** A client handshake on the production trust path: the server's roots pinned, nothing simulated. */
function pinnedHandshake(): ClientHandshake {
  return new ClientHandshake({
    crypto,
    verifier: createVerifier({
      policy: DEFAULT_CLIENT_POLICY,
      crypto,
      allowSimulated: false,
      trustAnchors,
    }),
    requiredEvidence: requiredKinds(DEFAULT_CLIENT_POLICY),
  });
}

/** A raw client that completes a real attested handshake and holds the client channel. */
async function rawSession(
  url: string,
): Promise<{ raw: Raw; ch: SecureChannel; clientFinished: Uint8Array }> {
  const raw = await Raw.open(url);
  const hs = pinnedHandshake();
  raw.send(hs.clientHello());
  const { clientFinished, session } = await hs.onServerHello(await raw.next());
  raw.send(clientFinished);
  return { raw, ch: session.channel, clientFinished };
}

const chatReq = (id: string, content = 'hi'): AppMessage => ({
  type: 'chat_request',
  id,
  messages: [{ role: 'user', content }],
  params: { maxTokens: 2 },
});

/** The server must close within a bound (a hang is a failure, not a test timeout). */
async function closedWithin(raw: Raw, ms = 15_000): Promise<Closed> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`the server did not close within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([raw.closed, timeout]);
  } finally {
    clearTimeout(t);
    raw.ws.terminate();
  }
}

/** Before the channel: close 4400 with reason "<code> …". */
async function expectCloseCode(raw: Raw, code: string): Promise<void> {
  const c = await closedWithin(raw);
  assert.equal(c.code, 4400, `close code (reason ${JSON.stringify(c.reason)})`);
  assert.equal(c.reason.split(' ')[0], code, `close reason ${JSON.stringify(c.reason)}`);
}

/** After the channel: a sealed error with `code`, the authenticated close frame, close 1008. */
async function expectSealedError(raw: Raw, ch: SecureChannel, code: string): Promise<void> {
  const c = await closedWithin(raw);
  const errors: string[] = [];
  let closeFrame = false;
  // every server message after the ServerHello, in order (frames already taken included)
  for (const f of c.received.slice(1)) {
    let opened: ReturnType<SecureChannel['openFrame']>;
    try {
      opened = ch.openFrame(f);
    } catch (e) {
      assert.fail(`a server frame did not open: ${String(e)}`);
    }
    if (opened.kind === 'close') closeFrame = true;
    else {
      const m = decodeAppMessage(opened.plaintext);
      if (m.type === 'error') errors.push(m.code);
    }
  }
  assert.deepEqual(errors, [code], `sealed errors (close ${c.code} ${c.reason})`);
  assert.ok(closeFrame, 'the server sent its authenticated close frame');
  assert.equal(c.code, 1008);
}

async function collect(it: AsyncIterable<ChatEvent>): Promise<string> {
  let text = '';
  for await (const ev of it) if (ev.type === 'delta') text += ev.text;
  return text;
}

describe('bad-input matrix against the real server', () => {
  let srv: LoadServer;
  let bystander: Session;
  before(async () => {
    const rootsDir = mkdtempSync(join(tmpdir(), 'teechat-test-roots-'));
    try {
      srv = await startLoadServer(tinyChatModelPath(), [
        '--sequences',
        '2',
        '--context-size',
        '1024',
        '--max-frame-bytes',
        String(MAX_FRAME),
        '--handshake-timeout',
        '1500ms',
        '--simulated-roots-out',
        join(rootsDir, 'roots.json'),
      ]);
      trustAnchors = JSON.parse(readFileSync(join(rootsDir, 'roots.json'), 'utf8')) as TrustAnchors;
    } finally {
      rmSync(rootsDir, { recursive: true, force: true });
    }
    bystander = await connect(srv.url, clientOpts());
    assert.equal(bystander.summary.simulated, false, bystander.summary.verdict);
    assert.ok(
      (await collect(bystander.chat([{ role: 'user', content: 'before' }], { maxTokens: 2 })))
        .length > 0,
    );
  });
  after(async () => {
    await bystander?.close();
    const code = await srv?.stop();
    assert.equal(code, 0, srv?.stderr().slice(-2000));
  });

  describe('WebSocket message layer', () => {
    test('text message instead of binary → malformed', async () => {
      const raw = await Raw.open(srv.url);
      raw.send('hello');
      await expectCloseCode(raw, 'malformed');
    });
    test('empty binary message → truncated', async () => {
      const raw = await Raw.open(srv.url);
      raw.send(new Uint8Array(0));
      await expectCloseCode(raw, 'truncated');
    });
    test('text message after the handshake → sealed malformed', async () => {
      const { raw, ch } = await rawSession(srv.url);
      raw.send('{"type":"chat_request"}');
      await expectSealedError(raw, ch, 'malformed');
    });
  });

  describe('handshake layer', () => {
    const hello = (): Uint8Array =>
      new ClientHandshake({
        crypto,
        verifier: async () => ({ ok: true, reports: [], summary: '' }),
        requiredEvidence: [],
      }).clientHello();
    const cases: [string, () => Uint8Array, string][] = [
      [
        'random bytes as ClientHello',
        () => crypto.randomBytes(300).map((b, i) => (i === 0 ? 0x7e : b)),
        'unknown_type',
      ],
      ['truncated ClientHello', () => hello().subarray(0, 500), 'truncated'],
      [
        'ClientHello with a trailing byte',
        () => Uint8Array.from([...hello(), 0]),
        'trailing_bytes',
      ],
      [
        'oversized ClientHello (5,000 bytes)',
        () => Uint8Array.from([...hello(), ...new Uint8Array(5000 - hello().length)]),
        'too_large',
      ],
      [
        'ClientHello offering only version 2',
        () => {
          const h = hello();
          h[2] = 0;
          h[3] = 2;
          return h;
        },
        'version_mismatch',
      ],
      [
        'ClientFinished before ClientHello (reordered)',
        () => Uint8Array.from([3, ...new Uint8Array(32)]),
        'unknown_type',
      ],
    ];
    for (const [name, make, code] of cases) {
      test(`${name} → ${code}`, async () => {
        const raw = await Raw.open(srv.url);
        raw.send(make());
        await expectCloseCode(raw, code);
      });
    }

    const afterHello = async (
      finished: (genuine: Uint8Array, hello: Uint8Array) => Uint8Array,
      code: string,
    ): Promise<void> => {
      const raw = await Raw.open(srv.url);
      const hs = pinnedHandshake();
      const h = hs.clientHello();
      raw.send(h);
      const { clientFinished } = await hs.onServerHello(await raw.next());
      raw.send(finished(clientFinished, h));
      await expectCloseCode(raw, code);
    };
    test('replayed ClientHello in place of ClientFinished → unknown_type', () =>
      afterHello((_f, h) => h, 'unknown_type'));
    test('tampered ClientFinished MAC → key_confirmation_failed', () =>
      afterHello((f) => f.map((b, i) => (i === 5 ? b ^ 1 : b)), 'key_confirmation_failed'));
    test('truncated ClientFinished → truncated', () =>
      afterHello((f) => f.subarray(0, 20), 'truncated'));
    test("another session's ClientFinished (replayed) → key_confirmation_failed", async () => {
      const other = await rawSession(srv.url);
      await afterHello(() => other.clientFinished, 'key_confirmation_failed');
      other.raw.ws.close();
    });
    test('no ClientHello within the handshake timeout → handshake_timeout', async () => {
      const raw = await Raw.open(srv.url);
      await expectCloseCode(raw, 'handshake_timeout');
    });
  });

  describe('channel frame layer', () => {
    const frameCase = (
      name: string,
      code: string,
      act: (s: { raw: Raw; ch: SecureChannel }) => Promise<void> | void,
    ): void => {
      test(`${name} → ${code}`, async () => {
        const s = await rawSession(srv.url);
        await act(s);
        await expectSealedError(s.raw, s.ch, code);
      });
    };
    const ping = (ch: SecureChannel, nonce = 1): Uint8Array =>
      ch.seal(encodeAppMessage({ type: 'ping', nonce }));
    frameCase('tampered ciphertext', 'decrypt_failed', ({ raw, ch }) => {
      const f = ping(ch);
      f[40] = (f[40] as number) ^ 0x80;
      raw.send(f);
    });
    frameCase('tampered header (flags)', 'reserved_nonzero', ({ raw, ch }) => {
      const f = ping(ch);
      f[3] = 0x80;
      raw.send(f);
    });
    frameCase('truncated frame (body not a padding bucket)', 'bad_length', ({ raw, ch }) =>
      raw.send(ch.seal(new Uint8Array(300)).subarray(0, 16 + 600 + 16)),
    );
    frameCase('truncated frame (below the minimum size)', 'truncated', ({ raw, ch }) =>
      raw.send(ping(ch).subarray(0, 16 + 256)),
    );
    frameCase('a 40-byte frame', 'truncated', ({ raw }) => raw.send(new Uint8Array(40)));
    frameCase('replayed frame', 'replay', async ({ raw, ch }) => {
      const f = ping(ch, 7);
      raw.send(f);
      await raw.next(); // the pong: the first copy was accepted
      raw.send(f);
    });
    frameCase('reordered frames (seq 1 before seq 0)', 'gap', ({ raw, ch }) => {
      const f0 = ping(ch, 1);
      const f1 = ping(ch, 2);
      raw.send(f1);
      raw.send(f0);
    });
    frameCase(
      'reflected server frame (wrong direction)',
      'wrong_direction',
      async ({ raw, ch }) => {
        raw.send(ping(ch, 3));
        raw.send(await raw.next()); // the server's own pong, sent back
      },
    );
    frameCase('wrong key epoch', 'wrong_epoch', ({ raw, ch }) => {
      const f = ping(ch);
      f[7] = 1;
      raw.send(f);
    });
    frameCase(`oversized frame (> --max-frame-bytes ${MAX_FRAME})`, 'too_large', ({ raw, ch }) =>
      raw.send(ch.seal(new Uint8Array(MAX_FRAME + 10))),
    );
  });

  describe('application message layer', () => {
    const appCase = (name: string, code: string, plaintext: () => Uint8Array): void => {
      test(`${name} → ${code}`, async () => {
        const { raw, ch } = await rawSession(srv.url);
        raw.send(ch.seal(plaintext()));
        await expectSealedError(raw, ch, code);
      });
    };
    appCase('unknown message type', 'unknown_type', () => Uint8Array.of(0x7f, 0, 0));
    appCase('empty message', 'truncated', () => new Uint8Array(0));
    appCase('truncated chat_request', 'truncated', () =>
      encodeAppMessage(chatReq('a')).subarray(0, 6),
    );
    appCase('chat_request with a trailing byte', 'trailing_bytes', () =>
      Uint8Array.from([...encodeAppMessage(chatReq('a')), 0]),
    );
    appCase('server-only message (delta) from the client', 'unknown_type', () =>
      encodeAppMessage({ type: 'delta', id: 'x', seq: 0, text: 'forged' }),
    );
    appCase('chat_request with temperature 5 (out of range)', 'malformed', () => {
      const b = encodeAppMessage({ ...chatReq('t'), params: { temperature: 1 } } as AppMessage);
      // temperature is the f64 right after the present-bits byte: set it to 5.0
      const at = b.length - 1 - 8;
      new DataView(b.buffer, b.byteOffset).setFloat64(at, 5);
      return b;
    });
    appCase('chat_request with 1,025 messages (over the limit)', 'too_large', () => {
      const m = chatReq('big');
      const b = encodeAppMessage(m);
      // message count u16 sits after type and str8 id
      const at = 1 + 1 + 3;
      new DataView(b.buffer, b.byteOffset).setUint16(at, 1025);
      return b;
    });
    test('a second chat_request while one is generating → per-request busy error, session stays open', async () => {
      const { raw, ch } = await rawSession(srv.url);
      raw.send(
        ch.seal(encodeAppMessage({ ...chatReq('one'), params: { maxTokens: 400 } } as AppMessage)),
      );
      raw.send(ch.seal(encodeAppMessage(chatReq('two'))));
      const seen: AppMessage[] = [];
      for (;;) {
        const m = decodeAppMessage(ch.open(await raw.next()));
        seen.push(m);
        if (m.type === 'error') break;
      }
      const err = seen.at(-1);
      assert.ok(err?.type === 'error' && err.code === 'busy' && err.id === 'two');
      raw.send(ch.seal(encodeAppMessage({ type: 'cancel', id: 'one' })));
      raw.send(ch.close());
      const c = await raw.closed;
      assert.equal(c.code, 1000);
    });
  });

  test('after the whole matrix the server still serves: the bystander chats, a fresh session works', async () => {
    assert.ok(bystander.isOpen, 'the bystander session was not disturbed');
    assert.ok(
      (await collect(bystander.chat([{ role: 'user', content: 'after' }], { maxTokens: 2 })))
        .length > 0,
    );
    const fresh = await connect(srv.url, clientOpts());
    assert.ok(
      (await collect(fresh.chat([{ role: 'user', content: 'fresh' }], { maxTokens: 2 }))).length >
        0,
    );
    await fresh.close();
    assert.ok(!/internal error/.test(srv.stderr()), 'no input reached an internal error path');
  });

  describe('server → client tampering by a man in the middle (nothing unauthenticated reaches the user)', () => {
    /** A proxy that forwards both ways and lets `mutate` rewrite server→client messages by index. */
    async function mitm(
      target: string,
      mutate: (i: number, b: Buffer, send: (b: Buffer) => void, cut: () => void) => void,
    ): Promise<{ url: string; close: () => Promise<void> }> {
      const port = await new Promise<number>((resolve) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as { port: number }).port;
          s.close(() => resolve(p));
        });
      });
      const wss = new WebSocketServer({ host: '127.0.0.1', port });
      wss.on('connection', (down) => {
        const up = new WebSocket(target);
        const pending: Buffer[] = [];
        let i = 0;
        up.on('open', () => pending.splice(0).forEach((b) => up.send(b)));
        down.on('message', (d: Buffer) =>
          up.readyState === WebSocket.OPEN ? up.send(d) : pending.push(d),
        );
        up.on('message', (d: Buffer) =>
          mutate(
            i++,
            d,
            (b) => down.send(b),
            () => down.close(1000),
          ),
        );
        up.on('close', () => down.close());
        down.on('close', () => up.close());
      });
      await new Promise((r) => wss.once('listening', r));
      return {
        url: `ws://127.0.0.1:${port}`,
        close: () => new Promise((r) => wss.close(() => r())),
      };
    }

    // message 0 is the ServerHello; 1.. are frames (the first answer's queued/deltas/done)
    const cases: [
      string,
      string | readonly string[],
      (i: number, b: Buffer, send: (b: Buffer) => void, cut: () => void) => void,
    ][] = [
      [
        'a delta frame with one flipped ciphertext bit',
        'decrypt_failed',
        (i, b, send) => {
          if (i === 3) b[b.length - 20] = (b[b.length - 20] as number) ^ 1;
          send(b);
        },
      ],
      [
        'a dropped delta frame',
        'gap',
        (i, b, send) => {
          if (i !== 2) send(b);
        },
      ],
      [
        'a replayed delta frame',
        'replay',
        (i, b, send) => {
          send(b);
          if (i === 2) send(b);
        },
      ],
      [
        'two delta frames swapped',
        ['gap', 'reorder'],
        (() => {
          let held: Buffer | undefined;
          return (i: number, b: Buffer, send: (b: Buffer) => void) => {
            if (i === 2) held = b;
            else {
              send(b);
              if (i === 3 && held) send(held);
            }
          };
        })(),
      ],
      [
        'the stream ended (clean WebSocket close) before the authenticated end',
        'truncation',
        (i, b, send, cut) => {
          if (i < 3) send(b);
          else if (i === 3) cut();
        },
      ],
    ];
    for (const [name, code, mutate] of cases) {
      test(`${name} → the client fails with ${[code].flat().join(' or ')}, no forged text`, async () => {
        const proxy = await mitm(srv.url, mutate);
        try {
          const s = await connect(proxy.url, clientOpts());
          const deltas: string[] = [];
          await assert.rejects(
            (async () => {
              for await (const ev of s.chat([{ role: 'user', content: 'tamper' }], {
                maxTokens: 12,
              }))
                if (ev.type === 'delta') deltas.push(ev.text);
            })(),
            (e: unknown) => e instanceof ProtocolError && [code].flat().includes(e.code),
          );
          // frames 1..k before the tampered one may have been shown; none after it
          assert.ok(deltas.length <= 2, `${deltas.length} deltas shown`);
          await s.close();
        } finally {
          await proxy.close();
        }
      });
    }
  });
});
