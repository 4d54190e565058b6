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

function harness() {
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
    openFrame: (f: Uint8Array) => ({ kind: 'data' as const, plaintext: f }),
    close: () => new Uint8Array(0),
    isClosed: false,
    zeroize: () => {},
  };
  const session = new ChannelSession(transport as never, channel, limits, {}, {});
  const peerClose = (code: number, reason: string): void =>
    closed?.(closeError(code, reason), code);
  return { session, peerClose, id: () => requestId };
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
