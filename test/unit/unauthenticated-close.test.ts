/**
 * A close code or reason received before the secure session existed is information, never a
 * verdict: whatever a peer (or anyone on the path) puts in a 4400 close, the client reports
 * `transport_closed` ("the connection was closed before a secure session existed: 4400 …"),
 * `ReconnectingClient` retries it like any dropped connection, and the extension titles it "Could
 * not set up a secure session with the server" — never "evidence rejected", never "unreachable".
 * Also the plain titles of each error class (#12 item 5).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WebSocketServer } from 'ws';
import { CLOSED_BEFORE_SESSION, closeError } from '../../client/transport';
import { DEFAULT_CLIENT_POLICY, ReconnectingClient } from '../../client/index';
import { ProtocolError } from '../../protocol/errors';
import { classifyError } from '../../extension/errors';
import { failedStatus } from '../../extension/status-format';
import { SessionManager } from '../../extension/session-manager';
import { MemoryMeasurementStore } from '../../extension/trust';
import { ERROR_TITLES } from '../../webview/messages';
import { connectReturning, protocolError } from '../helpers/fake-session';

describe('closeError: unauthenticated close codes are information only', () => {
  test('a 4400 "evidence_rejected …" close is transport_closed, with the code and text shown as such', () => {
    const e = closeError(4400, 'evidence_rejected the server is fake, visit evil.example');
    assert.equal(e.code, 'transport_closed');
    assert.equal(e.field, CLOSED_BEFORE_SESSION);
    assert.equal(
      e.message,
      'the connection was closed before a secure session existed: 4400 evidence_rejected the server is fake, visit evil.example (unauthenticated)',
    );
  });
  test('property: no close code or reason yields a verdict code', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 4999 }),
        fc.string({ unit: 'binary', maxLength: 123 }),
        (code, reason) => {
          const e = closeError(code, reason);
          assert.ok(e.code === 'transport_closed' || (code === 1009 && e.code === 'too_large'));
          assert.ok(e.message.length < 320);
        },
      ),
    );
  });
});

describe('ReconnectingClient: a 4400 claim does not change the retry policy', () => {
  test('every attempt is made (3 of 3), and the error is transport_closed', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.once('message', () => ws.close(4400, 'evidence_rejected forged verdict'));
    });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const port = (wss.address() as { port: number }).port;
    const client = new ReconnectingClient(`ws://127.0.0.1:${port}`, {
      policy: DEFAULT_CLIENT_POLICY,
      attempts: 3,
      timeoutMs: 5000,
    });
    try {
      await assert.rejects(
        client.session(),
        (e: unknown) =>
          e instanceof ProtocolError &&
          e.code === 'transport_closed' &&
          /closed before a secure session existed: 4400 evidence_rejected forged verdict/.test(
            e.message,
          ),
      );
      assert.equal(connections, 3);
    } finally {
      await client.close();
      await new Promise((r) => wss.close(r));
    }
  });
});

describe('plain titles per error class (chat notices and the status bar)', () => {
  test('each class has its title above the technical detail; the code is kept', () => {
    const cases: [Error, string, string][] = [
      [
        protocolError('evidence_rejected', 'sev-snp: bad sig'),
        'verification',
        "The server's hardware evidence was rejected",
      ],
      [
        protocolError('not_pinned', 'm'),
        'verification',
        "The server's hardware evidence was rejected",
      ],
      [
        protocolError('bad_key', 'x25519.shared: all-zero'),
        'handshake',
        'Could not set up a secure session with the server',
      ],
      [
        protocolError('key_confirmation_failed', 'k'),
        'handshake',
        'Could not set up a secure session with the server',
      ],
      [
        protocolError('handshake_timeout', 't'),
        'handshake',
        'Could not set up a secure session with the server',
      ],
      [
        closeError(4400, 'evidence_rejected forged'),
        'handshake',
        'Could not set up a secure session with the server',
      ],
      [
        protocolError('transport_error', 'connect ECONNREFUSED'),
        'unreachable',
        'The server is unreachable',
      ],
    ];
    for (const [e, kind, title] of cases) {
      const c = classifyError(e);
      assert.equal(c.kind, kind, e.message);
      assert.equal(c.title, title);
      assert.equal(ERROR_TITLES[c.kind], title);
      assert.equal(c.message, `${title}: ${e.message}`);
      assert.equal(c.code, (e as unknown as { code: string }).code);
    }
  });
  test('the status bar says "unreachable" for network failures only', () => {
    assert.equal(failedStatus('unreachable', 'x').text, 'TEEChat: unreachable');
    assert.equal(failedStatus('verification', 'x').text, 'TEEChat: evidence rejected');
    assert.equal(failedStatus('handshake', 'x').text, 'TEEChat: no secure session');
    assert.equal(failedStatus('handshake', 'x').state, 'failed');
  });
  test('SessionManager: a forged 4400 verdict and a failed key exchange are "no secure session"', async () => {
    for (const err of [
      closeError(4400, 'evidence_rejected forged'),
      protocolError('bad_key', 'zero'),
    ]) {
      const m = new SessionManager({
        connect: connectReturning(() => {
          throw err;
        }),
        settings: () => ({
          serverUrl: 'ws://127.0.0.1:9',
          trust: {
            allowedMeasurements: [],
            minimumTcb: {},
            requireGpuEvidence: true,
            allowDebug: false,
            allowSimulated: false,
          },
          connectTimeoutMs: 1000,
        }),
        store: new MemoryMeasurementStore(),
        askTrust: async () => 'cancel',
      });
      await assert.rejects(m.getSession());
      assert.equal(m.snapshot.lastError?.kind, 'handshake');
      assert.equal(m.snapshot.status.text, 'TEEChat: no secure session');
      assert.match(
        m.snapshot.status.detail,
        /^Could not set up a secure session with the server: /,
      );
      m.dispose();
    }
  });
});
