/**
 * After the secure channel exists, a WebSocket close with the pre-channel error code 4400 is
 * anyone's (an on-path attacker can send it): the session ends with `truncation`, and the
 * attacker's chosen code (e.g. evidence_rejected) and text are not passed on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelSession } from '../../client/session';
import { closeError } from '../../client/transport';
import { ProtocolError } from '../../protocol/errors';
import { resolveLimits } from '../../protocol/limits';
import { decodeAppMessage, encodeAppMessage } from '../../protocol/messages/messages';

function harness(closeFrameOn?: (b: Uint8Array) => boolean) {
  const limits = resolveLimits({});
  let deliver: (b: Uint8Array) => void = () => {};
  let closed: ((e: ProtocolError, code: number) => void) | undefined;
  let requestId = '';
  const transport = {
    onMessage: (cb: (b: Uint8Array) => void) => (deliver = cb),
    onClose: (cb: (e: ProtocolError, code: number) => void) => (closed = cb),
    send: (b: Uint8Array) => {
      const m = decodeAppMessage(b, limits);
      if (m.type === 'chat_request') {
        requestId = m.id;
        queueMicrotask(() =>
          deliver(encodeAppMessage({ type: 'delta', id: m.id, seq: 0, text: 'ok' }, limits)),
        );
      }
    },
    close: () => {},
    waitClosed: async () => {},
    terminate: () => {},
  };
  const channel = {
    seal: (p: Uint8Array) => p,
    openFrame: (f: Uint8Array) => ({
      kind: closeFrameOn?.(f) ? ('close' as const) : ('data' as const),
      plaintext: f,
    }),
    close: () => new Uint8Array(0),
    isClosed: false,
    zeroize: () => {},
  };
  const session = new ChannelSession(transport as never, channel, limits, {}, {});
  const peerClose = (code: number, reason: string): void =>
    closed?.(closeError(code, reason), code);
  const frame = (b: Uint8Array): void => deliver(b);
  return { session, peerClose, frame, id: () => requestId, limits };
}

test('a 4400 close mid-answer is a truncation, not the code it claims', async () => {
  const h = harness();
  const got: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const ev of h.session.chat([{ role: 'user', content: 'q' }])) {
        if (ev.type === 'delta') {
          got.push(ev.text);
          h.peerClose(4400, 'evidence_rejected the server is fake, visit evil.example');
        }
      }
    })(),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.code === 'truncation' &&
      /unauthenticated/.test(e.message) &&
      !/evil\.example|fake/.test(e.message),
  );
  assert.deepEqual(got, ['ok']);
});

test('other closes keep their mapping (too_large for 1009, truncation for a plain close)', async () => {
  for (const [code, want] of [
    [1009, 'too_large'],
    [1006, 'truncation'],
  ] as const) {
    const h = harness();
    await assert.rejects(
      (async () => {
        for await (const ev of h.session.chat([{ role: 'user', content: 'q' }]))
          if (ev.type === 'delta') h.peerClose(code, '');
      })(),
      (e: unknown) => e instanceof ProtocolError && e.code === want,
    );
  }
});

test('state errors name what was expected and what came: busy, close frame mid-answer, unusable finishReason', async () => {
  const h = harness((b) => b.length === 1 && b[0] === 0xff);
  const first = h.session.chat([{ role: 'user', content: 'q' }]);
  await first.next();
  await assert.rejects(
    h.session.chat([{ role: 'user', content: 'again' }]).next(),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.code === 'busy' &&
      e.message ===
        `session: expected one request at a time, got a second while ${h.id()} is unfinished`,
  );
  h.frame(Uint8Array.of(0xff)); // the server's authenticated close frame, before `done`
  await assert.rejects(
    first.next(),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.code === 'truncation' &&
      e.message ===
        `answer ${h.id()}: expected done before the server's close frame, got the close frame`,
  );

  const h2 = harness();
  const it = h2.session.chat([{ role: 'user', content: 'q' }]);
  await it.next();
  h2.frame(
    encodeAppMessage(
      {
        type: 'done',
        id: h2.id(),
        finishReason: 'error',
        usage: { promptTokens: 1, cachedPromptTokens: 0, completionTokens: 1 },
        timings: { ttftMs: 1, totalMs: 1, tokensPerSecond: 1 },
      },
      h2.limits,
    ),
  );
  await assert.rejects(
    it.next(),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.code === 'server_error' &&
      e.field === 'done.finishReason' &&
      /expected stop or length, got error/.test(e.message),
  );
});
