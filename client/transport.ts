/**
 * The client's WebSocket transport: binary messages in order, a pull API for the handshake
 * (`next()` with a deadline) and a push API afterwards (`onMessage`). A close before the channel
 * exists with code 4400 carries the server's typed error "<code> <message>"; it is unauthenticated
 * and reported as information only (`transport_closed`), never as a verdict or as model output.
 */
import WebSocket from 'ws';
import { ProtocolError } from '../protocol/errors';
import { printable } from './text';

export const CLOSE_PROTOCOL_ERROR = 4400;

export const KNOWN_CODES: ReadonlySet<string> = new Set<string>([
  'truncated',
  'trailing_bytes',
  'malformed',
  'bad_length',
  'bad_magic',
  'unsupported_version',
  'unknown_type',
  'reserved_nonzero',
  'too_large',
  'handshake_state',
  'version_mismatch',
  'bad_key',
  'key_confirmation_failed',
  'evidence_rejected',
  'evidence_missing',
  'binding_mismatch',
  'handshake_timeout',
  'decrypt_failed',
  'replay',
  'reorder',
  'gap',
  'wrong_direction',
  'wrong_epoch',
  'truncation',
  'channel_closed',
  'rekey_required',
  'bad_padding',
  'server_error',
  'cancelled',
  'busy',
  'session_limit',
  'model_error',
  'idle_timeout',
  'shutting_down',
  'transport_closed',
  'transport_error',
  'crypto_internal',
]);

/** The `field` of an error for a close received before the secure session existed. */
export const CLOSED_BEFORE_SESSION = 'close.before_session';

/**
 * Maps a WebSocket close (code, reason) to an error. Nothing about a close is authenticated: the
 * server's typed 4400 "<code> <message>" is shown as information ("the connection was closed
 * before a secure session existed: 4400 evidence_rejected …"), never as a verdict. The error's
 * code is always `transport_closed` (or `too_large` for the local 1009), so that no peer can make
 * the client report a verification failure or change its retry policy.
 */
export function closeError(code: number, reason: string): ProtocolError {
  if (code === 1009)
    return new ProtocolError('too_large', 'server closed the connection: message too big (1009)');
  // Unauthenticated peer text: made printable (it may end up on a terminal), bounded.
  const text = printable(reason).slice(0, 200);
  return new ProtocolError(
    'transport_closed',
    `the connection was closed before a secure session existed: ${code}${text ? ` ${text}` : ''} (unauthenticated)`,
    CLOSED_BEFORE_SESSION,
  );
}

export interface TransportOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Extra `ws` options (TLS CA for wss with a private certificate, headers). */
  readonly wsOptions?: WebSocket.ClientOptions;
}

export class Transport {
  private readonly inbox: Uint8Array[] = [];
  private waiter: { resolve: (b: Uint8Array) => void; reject: (e: unknown) => void } | undefined;
  private handler: ((b: Uint8Array) => void) | undefined;
  private closeHandlers: ((e: ProtocolError, code: number) => void)[] = [];
  private closedWith: { err: ProtocolError; code: number } | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        this.ws.close(1003);
        return;
      }
      const bytes = toBytes(data);
      if (this.handler) this.handler(bytes);
      else if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(bytes);
      } else this.inbox.push(bytes);
    });
    ws.on('close', (code, reason) => {
      const err = closeError(code, reason.toString('utf8'));
      this.closedWith = { err, code };
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.reject(err);
      }
      for (const h of this.closeHandlers) h(err, code);
    });
    ws.on('error', () => {
      // 'close' follows and reports it
    });
  }

  static open(url: string, o: TransportOptions): Promise<Transport> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, {
          perMessageDeflate: false,
          maxPayload: 64 * 1024 * 1024,
          ...o.wsOptions,
        });
      } catch (e) {
        reject(
          new ProtocolError(
            'usage',
            `server: expected a ws:// or wss:// URL, got ${JSON.stringify(url)} (${e instanceof Error ? e.message : String(e)})`,
            'server',
          ),
        );
        return;
      }
      const t = new Transport(ws);
      const timer = setTimeout(() => {
        ws.terminate();
        reject(
          // A network failure (nothing answered), not a handshake fault.
          new ProtocolError(
            'transport_error',
            `connect: expected to connect within ${o.timeoutMs} ms`,
          ),
        );
      }, o.timeoutMs);
      const onAbort = (): void => {
        ws.terminate();
        reject(new ProtocolError('cancelled', 'connect cancelled'));
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      ws.once('open', () => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        resolve(t);
      });
      ws.once('error', (e) => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        reject(new ProtocolError('transport_error', `connect to ${url} failed: ${e.message}`));
      });
    });
  }

  /** Next binary message (handshake phase). */
  next(timeoutMs: number): Promise<Uint8Array> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedWith) return Promise.reject(this.closedWith.err);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(
          new ProtocolError(
            'handshake_timeout',
            `handshake: expected the server's reply within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.waiter = {
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Switches to push mode; messages already queued are delivered first. */
  onMessage(h: (b: Uint8Array) => void): void {
    this.handler = h;
    for (const b of this.inbox.splice(0)) h(b);
  }

  onClose(h: (e: ProtocolError, code: number) => void): void {
    if (this.closedWith) h(this.closedWith.err, this.closedWith.code);
    else this.closeHandlers.push(h);
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  send(b: Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(b, { binary: true });
  }

  close(code = 1000): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(code);
  }

  terminate(): void {
    this.ws.terminate();
  }

  /** Resolves once the WebSocket is closed (or after `ms`, terminating it). */
  waitClosed(ms: number): Promise<void> {
    if (this.closedWith) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, ms);
      this.closeHandlers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
