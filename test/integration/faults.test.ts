/**
 * Faults between the real client and the real server: a man-in-the-middle proxy that tampers
 * with, replays, reorders, drops or truncates WebSocket messages, swaps the server's key, or
 * replays a whole ServerHello; plus the server's limits (handshake timeout, oversized and
 * malformed frames, session limit, idle timeout). Each is detected with a typed error and nothing
 * after the fault is ever shown as model output.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect, DEFAULT_CLIENT_POLICY, type ChatEvent, type Session } from '../../client/index';
import { ProtocolError } from '../../protocol/errors';
import { tinyChatModelPath } from '../helpers/tiny-model';
import { startServerProcess, testServerArgs, type ServerProcess } from '../helpers/server-process';
import { startProxy, type Hook } from '../helpers/ws-proxy';

const opts = { policy: DEFAULT_CLIENT_POLICY, allowSimulated: true, timeoutMs: 10_000 };

/** Runs one chat through a proxy; returns the deltas shown before the error and the error. */
async function chatThrough(
  url: string,
  hook: Hook,
): Promise<{ shown: string[]; error: ProtocolError | undefined }> {
  const proxy = await startProxy(url, hook);
  const shown: string[] = [];
  let error: ProtocolError | undefined;
  let s: Session | undefined;
  try {
    s = await connect(proxy.url, opts);
    for await (const ev of s.chat([{ role: 'user', content: 'tell me' }], {
      maxTokens: 40,
    }) as AsyncIterable<ChatEvent>) {
      if (ev.type === 'delta') shown.push(ev.text);
    }
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    error = e;
  } finally {
    await s?.close().catch(() => {});
    await proxy.close();
  }
  return { shown, error };
}

const flip = (b: Uint8Array, at: number): Uint8Array => {
  const c = b.slice();
  c[at]! ^= 0x01;
  return c;
};

describe('a man-in-the-middle between client and server', () => {
  let srv: ServerProcess;
  before(async () => {
    srv = await startServerProcess(
      testServerArgs(tinyChatModelPath(), [
        '--max-frame-bytes',
        '65536',
        '--handshake-timeout',
        '500ms',
        '--max-sessions',
        '3',
        '--idle-timeout',
        '1500ms',
      ]),
    );
  });
  after(async () => {
    await srv?.stop();
  });

  test('control: the proxy alone changes nothing', async () => {
    const r = await chatThrough(srv.url, (_d, _i, data) => [data]);
    assert.equal(r.error, undefined);
    assert.ok(r.shown.length > 0);
  });

  test('a tampered server frame: decrypt_failed, nothing from it or after it is shown', async () => {
    const r = await chatThrough(srv.url, (d, i, data) =>
      d === 's2c' && i === 3 ? [flip(data, data.length - 20)] : [data],
    );
    assert.equal(r.error?.code, 'decrypt_failed');
    assert.ok(r.shown.length <= 2, `shown ${r.shown.length} deltas`);
  });

  test('a tampered header (authenticated as associated data): decrypt_failed', async () => {
    const r = await chatThrough(srv.url, (d, i, data) =>
      d === 's2c' && i === 2 ? [flip(data, 3 + 12)] : [data],
    );
    assert.ok(
      r.error !== undefined &&
        ['decrypt_failed', 'replay', 'gap', 'malformed', 'reserved_nonzero'].includes(r.error.code),
      r.error?.code,
    );
    assert.ok(r.shown.length <= 1);
  });

  test('a replayed server frame: replay', async () => {
    const r = await chatThrough(srv.url, (d, i, data) =>
      d === 's2c' && i === 3 ? [data, data] : [data],
    );
    assert.equal(r.error?.code, 'replay');
    assert.ok(r.shown.length <= 3);
  });

  test('reordered server frames: reorder', async () => {
    let held: Uint8Array | undefined;
    const r = await chatThrough(srv.url, (d, i, data) => {
      if (d !== 's2c') return [data];
      if (i === 3) {
        held = data;
        return [];
      }
      if (i === 4 && held) return [data, held];
      return [data];
    });
    assert.equal(r.error?.code, 'reorder');
    assert.ok(r.shown.length <= 2);
  });

  test('a dropped server frame: gap', async () => {
    const r = await chatThrough(srv.url, (d, i, data) => (d === 's2c' && i === 3 ? [] : [data]));
    assert.equal(r.error?.code, 'gap');
    assert.ok(r.shown.length <= 2);
  });

  test('a truncated frame: rejected before decryption', async () => {
    const r = await chatThrough(srv.url, (d, i, data) =>
      d === 's2c' && i === 3 ? [data.subarray(0, data.length - 7)] : [data],
    );
    assert.ok(
      r.error !== undefined && ['bad_length', 'truncated', 'decrypt_failed'].includes(r.error.code),
      r.error?.code,
    );
    assert.ok(r.shown.length <= 2);
  });

  test('a stream cut mid-answer (no authenticated close): truncation', async () => {
    const r = await chatThrough(srv.url, (d, i, data) =>
      d === 's2c' && i === 4 ? 'close' : [data],
    );
    assert.equal(r.error?.code, 'truncation');
    assert.ok(r.shown.length <= 3);
  });

  test('a tampered client frame: the server refuses it with a sealed typed error', async () => {
    const r = await chatThrough(srv.url, (d, i, data) =>
      d === 'c2s' && i === 2 ? [flip(data, data.length - 1)] : [data],
    );
    assert.equal(r.error?.code, 'decrypt_failed');
    assert.match(r.error?.message ?? '', /^server: /);
    assert.equal(r.shown.length, 0);
  });

  test("a MITM that swaps the server's X25519 key: the handshake fails on the evidence binding", async () => {
    // ServerHello core: u8 type ‖ u16 version ‖ u16 suite ‖ 32 x25519_pub ‖ ...
    const r = await chatThrough(srv.url, (d, i, data) =>
      d === 's2c' && i === 0 ? [flip(data, 5 + 7)] : [data],
    );
    assert.equal(r.error?.code, 'binding_mismatch');
    assert.match(r.error?.message ?? '', /binding_mismatch in sev-snp/);
    assert.equal(r.shown.length, 0);
  });

  test('a replayed ServerHello from an earlier session: the handshake fails on the binding', async () => {
    let recorded: Uint8Array | undefined;
    await chatThrough(srv.url, (d, i, data) => {
      if (d === 's2c' && i === 0) recorded = data;
      return [data];
    });
    assert.ok(recorded);
    const r = await chatThrough(srv.url, (d, i, data) =>
      d === 's2c' && i === 0 ? [recorded!] : [data],
    );
    assert.equal(r.error?.code, 'binding_mismatch');
    assert.match(r.error?.message ?? '', /binding_mismatch in sev-snp/);
  });

  test('handshake timeout: a silent client gets a typed close', async () => {
    const ws = new WebSocket(srv.url);
    await new Promise((r) => ws.once('open', r));
    const [code, reason] = await new Promise<[number, string]>((r) =>
      ws.once('close', (c, why) => r([c, why.toString()])),
    );
    assert.equal(code, 4400);
    assert.match(reason, /^handshake_timeout /);
  });

  test('a malformed ClientHello: typed close, the server keeps serving', async () => {
    const ws = new WebSocket(srv.url);
    await new Promise((r) => ws.once('open', r));
    ws.send(new Uint8Array([1, 2, 3]));
    const [code, reason] = await new Promise<[number, string]>((r) =>
      ws.once('close', (c, why) => r([c, why.toString()])),
    );
    assert.equal(code, 4400);
    assert.match(reason, /^(truncated|malformed|unsupported_version|bad_length) /);
    const s = await connect(srv.url, opts);
    await s.close();
  });

  const raw = (s: Session): { send(b: Uint8Array): void } =>
    (s as unknown as { transport: { send(b: Uint8Array): void } }).transport;
  const closed = (s: Session): Promise<ProtocolError | undefined> =>
    new Promise((r) => s.onClose(r));

  test('an oversized frame after the handshake: sealed too_large error, clean close', async () => {
    const s = await connect(srv.url, opts);
    raw(s).send(new Uint8Array(100_000));
    const err = await closed(s);
    assert.equal(err?.code, 'too_large');
  });

  test('a message far beyond the limit is cut by the WebSocket layer: too_large (1009)', async () => {
    const s = await connect(srv.url, opts);
    raw(s).send(new Uint8Array(65536 + 64 * 1024 + 1));
    const err = await closed(s);
    assert.equal(err?.code, 'too_large');
  });

  test('a malformed frame after the handshake: sealed typed error, clean close', async () => {
    const s = await connect(srv.url, opts);
    raw(s).send(new Uint8Array(40).fill(7));
    const err = await closed(s);
    assert.ok(
      err !== undefined &&
        ['unsupported_version', 'malformed', 'bad_length', 'truncated'].includes(err.code),
      err?.code,
    );
  });

  test('sessions full: the longest-idle session gets a sealed session_limit notice; the newcomer is admitted', async () => {
    // The previous tests' sessions may still be counted for a moment after their close: the
    // first of the three held here is the longest idle whatever happens to the others.
    const held: Session[] = [];
    for (let i = 0; i < 3; i++) {
      held.push(await connect(srv.url, opts));
      await new Promise((r) => setTimeout(r, 20));
    }
    const firstClosed = closed(held[0]!);
    const newcomer = await connect(srv.url, opts);
    const err = await firstClosed;
    assert.equal(err?.code, 'session_limit');
    assert.match(
      err?.message ?? '',
      /limit of 3; this session, idle for \d+ s \(the longest\), was closed to admit a new one/,
    );
    let text = '';
    for await (const ev of newcomer.chat([{ role: 'user', content: 'hi' }], { maxTokens: 2 }))
      if (ev.type === 'delta') text += ev.text;
    assert.ok(text.length > 0, 'the newcomer is served');
    await Promise.all([newcomer, ...held].map((h) => h.close().catch(() => {})));
  });

  test('idle timeout: sealed idle_timeout error, clean close', async () => {
    const s = await connect(srv.url, opts);
    const err = await closed(s);
    assert.equal(err?.code, 'idle_timeout');
  });
});
