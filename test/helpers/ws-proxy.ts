/**
 * A WebSocket man-in-the-middle for tests: forwards binary messages between a client and the real
 * server and lets a hook rewrite, drop, duplicate or reorder them per direction. Message index 0
 * server→client is the ServerHello; index 0 client→server is the ClientHello, 1 the ClientFinished.
 */
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';

export type Direction = 'c2s' | 's2c';
/** Returns the messages to forward instead of `data` (empty = drop). `close` ends both sides. */
export type Hook = (dir: Direction, index: number, data: Uint8Array) => Uint8Array[] | 'close';

export interface Proxy {
  readonly url: string;
  close(): Promise<void>;
}

export async function startProxy(target: string, hook: Hook): Promise<Proxy> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const sockets = new Set<WebSocket>();
  wss.on('connection', (client) => {
    sockets.add(client);
    const upstream = new WebSocket(target, { perMessageDeflate: false });
    sockets.add(upstream);
    const pending: Uint8Array[] = [];
    const count = { c2s: 0, s2c: 0 };
    const forward = (dir: Direction, data: Uint8Array, to: WebSocket): void => {
      const out = hook(dir, count[dir]++, new Uint8Array(data));
      if (out === 'close') {
        client.terminate();
        upstream.terminate();
        return;
      }
      for (const m of out) if (to.readyState === WebSocket.OPEN) to.send(m, { binary: true });
    };
    client.on('message', (d: Buffer) => {
      if (upstream.readyState === WebSocket.OPEN) forward('c2s', d, upstream);
      else pending.push(new Uint8Array(d));
    });
    upstream.on('open', () => {
      for (const m of pending.splice(0)) forward('c2s', m, upstream);
    });
    upstream.on('message', (d: Buffer) => forward('s2c', d, client));
    client.on('close', () => upstream.close());
    upstream.on('close', (code, reason) => {
      if (client.readyState === WebSocket.OPEN)
        client.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    });
    client.on('error', () => {});
    upstream.on('error', () => client.terminate());
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.terminate();
        wss.close(() => r());
      }),
  };
}
