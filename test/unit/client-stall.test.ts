/**
 * The client's liveness watchdog while an answer streams: a server that goes silent mid-answer
 * gets a ping at half the stall time and the session ends with `idle_timeout` at the full time;
 * a server that answers the ping keeps the session alive. The partial answer stays with the caller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelSession } from '../../client/session';
import { ProtocolError } from '../../protocol/errors';
import { resolveLimits } from '../../protocol/limits';
import {
  decodeAppMessage,
  encodeAppMessage,
  type AppMessage,
} from '../../protocol/messages/messages';

/** A pass-through "channel" and an in-memory transport: the watchdog is what is under test. */
function harness(onSent: (m: AppMessage, reply: (m: AppMessage) => void) => void) {
  const limits = resolveLimits({});
  let deliver: (b: Uint8Array) => void = () => {};
  let closed: ((e: ProtocolError) => void) | undefined;
  const reply = (m: AppMessage): void => deliver(encodeAppMessage(m, limits));
  const transport = {
    onMessage: (cb: (b: Uint8Array) => void) => (deliver = cb),
    onClose: (cb: (e: ProtocolError) => void) => (closed = cb),
    send: (b: Uint8Array) => queueMicrotask(() => onSent(decodeAppMessage(b, limits), reply)),
    close: () => closed?.(new ProtocolError('transport_closed', 'closed')),
    waitClosed: async () => {},
    terminate: () => {},
  };
  const channel = {
    seal: (p: Uint8Array) => p,
    openFrame: (f: Uint8Array) => ({ kind: 'data' as const, plaintext: f }),
    close: () => new Uint8Array(0),
    isClosed: false,
    zeroize: () => {},
  };
  return new ChannelSession(transport as never, channel, limits, {}, {}, 200);
}

test('a server silent mid-answer is pinged, then the session ends with idle_timeout', async () => {
  const sent: string[] = [];
  const s = harness((m, reply) => {
    sent.push(m.type);
    if (m.type === 'chat_request') reply({ type: 'delta', id: m.id, seq: 0, text: 'partial' });
    // then silence: no more deltas, no pong
  });
  const got: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const ev of s.chat([{ role: 'user', content: 'q' }]))
        if (ev.type === 'delta') got.push(ev.text);
    })(),
    (e: unknown) =>
      e instanceof ProtocolError && e.code === 'idle_timeout' && /200 ms/.test(e.message),
  );
  assert.deepEqual(got, ['partial']);
  assert.ok(sent.includes('ping'), `expected a ping before giving up, sent ${sent.join(',')}`);
  assert.equal(s.isOpen, false);
});

test('a slow server that answers pings keeps the answer alive', async () => {
  let id = '';
  let n = 0;
  const s = harness((m, reply) => {
    if (m.type === 'chat_request') id = m.id;
    if (m.type === 'ping') reply({ type: 'pong', nonce: m.nonce });
  });
  // Tokens arrive every 150 ms (longer than half the stall time): pings bridge the gaps.
  const timer = setInterval(() => {
    const reply = (s as unknown as { onFrame(b: Uint8Array): void }).onFrame.bind(s);
    const limits = resolveLimits({});
    if (n < 4) reply(encodeAppMessage({ type: 'delta', id, seq: n++, text: `t${n}` }, limits));
    else {
      clearInterval(timer);
      reply(
        encodeAppMessage(
          {
            type: 'done',
            id,
            finishReason: 'stop',
            usage: { promptTokens: 1, completionTokens: 4, cachedPromptTokens: 0 },
            timings: { ttftMs: 1, totalMs: 600, tokensPerSecond: 6 },
          },
          limits,
        ),
      );
    }
  }, 150);
  const texts: string[] = [];
  for await (const ev of s.chat([{ role: 'user', content: 'q' }]))
    if (ev.type === 'delta') texts.push(ev.text);
  assert.deepEqual(texts, ['t1', 't2', 't3', 't4']);
  assert.equal(s.isOpen, true);
});
