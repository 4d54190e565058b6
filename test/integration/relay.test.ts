/**
 * Man-in-the-middle attacks with keys, against the real server and the real client:
 *
 * (a) A keyed relay that completes its own handshake with each side: it is the client to the real
 *     server (genuine evidence, bound to the relay↔server transcript) and the server to the real
 *     client, with its own key shares and a valid server_finished under the keys it shares with
 *     the client, forwarding the genuine evidence. The client must refuse with binding_mismatch
 *     before it sends a single byte after its ClientHello (no ClientFinished, no prompt).
 * (b) ClientHello-side key substitution: a relay that replaces the client's X25519 and ML-KEM keys
 *     with its own before the server sees them (so it could compute the server's keys): the
 *     evidence is bound to the substituted hello, and the client refuses with binding_mismatch.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { connect, DEFAULT_CLIENT_POLICY } from '../../client/index';
import { ProtocolError } from '../../protocol/errors';
import { ClientHandshake, ServerHandshake } from '../../protocol/handshake/handshake';
import {
  decodeClientHello,
  decodeServerHello,
  encodeClientHello,
} from '../../protocol/handshake/messages';
import { resolveLimits } from '../../protocol/limits';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { tinyChatModelPath } from '../helpers/tiny-model';
import { startServerProcess, testServerArgs, type ServerProcess } from '../helpers/server-process';
import { startProxy } from '../helpers/ws-proxy';

const opts = { policy: DEFAULT_CLIENT_POLICY, allowSimulated: true, timeoutMs: 15_000 };
const limits = resolveLimits({});

function next(ws: WebSocket): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    ws.once('message', (d: Buffer) => resolve(new Uint8Array(d)));
    ws.once('close', () => reject(new Error('closed')));
  });
}

/** The keyed relay of (a); records every message the client sent it. */
async function startKeyedRelay(target: string): Promise<{
  url: string;
  fromClient: Uint8Array[];
  relayed: { serverFinished: number };
  close: () => Promise<void>;
}> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const fromClient: Uint8Array[] = [];
  const relayed = { serverFinished: 0 };
  const sockets = new Set<WebSocket>();
  wss.on('connection', (client) => {
    sockets.add(client);
    client.once('message', (d: Buffer) => {
      const hello = new Uint8Array(d);
      fromClient.push(hello);
      client.on('message', (m: Buffer) => fromClient.push(new Uint8Array(m)));
      void (async () => {
        // Upstream: the relay is an ordinary client of the real server (it accepts anything).
        const up = new WebSocket(target, { perMessageDeflate: false });
        sockets.add(up);
        await new Promise((r) => up.once('open', r));
        const ch = decodeClientHello(hello, limits);
        const upHs = new ClientHandshake({
          crypto: nodeProvider,
          verifier: async () => ({ ok: true, summary: 'relay', reports: [] }),
          requiredEvidence: ch.requiredEvidence,
        });
        up.send(upHs.clientHello());
        const genuine = decodeServerHello(await next(up), limits);
        // Downstream: the relay is the server to the client, with its own keys, forwarding the
        // genuine evidence (bound to the upstream transcript, not to the client's).
        const downHs = new ServerHandshake({
          crypto: nodeProvider,
          collectEvidence: async () => [...genuine.evidence],
          serverInfo: genuine.serverInfo,
        });
        const reply = await downHs.onClientHello(hello);
        relayed.serverFinished++;
        client.send(reply);
        up.terminate();
      })().catch(() => client.terminate());
    });
  });
  await new Promise((r) => wss.once('listening', r));
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    fromClient,
    relayed,
    close: async () => {
      for (const s of sockets) s.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

describe('keyed man-in-the-middle relays are refused before the prompt leaves', () => {
  let srv: ServerProcess;
  before(async () => {
    srv = await startServerProcess(testServerArgs(tinyChatModelPath(), ['--log-level', 'debug']));
  });
  after(async () => {
    await srv?.stop();
  });
  const requests = (): number => (srv.stderr().match(/chat request/g) ?? []).length;

  test('(a) a relay with valid server_finished under its own keys: binding_mismatch, nothing sent after the ClientHello', async () => {
    const relay = await startKeyedRelay(srv.url);
    try {
      // Control: the relay's ServerHello is well formed and its key confirmation is valid —
      // a client that skipped the evidence binding would accept it.
      const naive = new ClientHandshake({
        crypto: nodeProvider,
        verifier: async () => ({ ok: true, summary: 'no binding check', reports: [] }),
        requiredEvidence: ['nvidia-gpu'],
      });
      const ws = new WebSocket(relay.url);
      await new Promise((r) => ws.once('open', r));
      ws.send(naive.clientHello());
      const accepted = await naive.onServerHello(await next(ws));
      assert.ok(accepted.session.channel, 'valid server_finished from the relay');
      ws.terminate();

      const before = requests();
      const sentBefore = relay.fromClient.length;
      await assert.rejects(
        connect(relay.url, opts),
        (e: unknown) =>
          e instanceof ProtocolError &&
          e.code === 'binding_mismatch' &&
          /binding_mismatch in sev-snp .*report_data/.test(e.message),
      );
      assert.equal(relay.relayed.serverFinished, 2);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(relay.fromClient.length - sentBefore, 1, 'only the ClientHello was sent');
      assert.equal(requests(), before, 'the server received no chat request');
    } finally {
      await relay.close();
    }
  });

  test("(b) the client's key shares replaced on the way in: binding_mismatch, nothing sent after the ClientHello", async () => {
    const attacker = new ClientHandshake({
      crypto: nodeProvider,
      verifier: async () => ({ ok: true, summary: '', reports: [] }),
      requiredEvidence: [],
    });
    const mine = decodeClientHello(attacker.clientHello(), limits);
    const c2s: Uint8Array[] = [];
    const proxy = await startProxy(srv.url, (dir, i, data) => {
      if (dir === 'c2s') c2s.push(data);
      if (dir !== 'c2s' || i !== 0) return [data];
      const ch = decodeClientHello(data, limits);
      return [
        encodeClientHello(
          { ...ch, x25519Pub: mine.x25519Pub, mlkemEncapsulationKey: mine.mlkemEncapsulationKey },
          limits,
        ),
      ];
    });
    const before = requests();
    try {
      await assert.rejects(
        connect(proxy.url, opts),
        (e: unknown) =>
          e instanceof ProtocolError &&
          e.code === 'binding_mismatch' &&
          /binding_mismatch in sev-snp/.test(e.message),
      );
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(c2s.length, 1, 'only the ClientHello was sent');
      assert.equal(requests(), before);
    } finally {
      attacker.dispose();
      await proxy.close();
    }
  });
});
