/**
 * An established, verified session: chat requests go out sealed; every incoming frame is opened
 * by the channel (strict order, authenticated) before anything is yielded. Errors are thrown as
 * ProtocolError — never yielded as text — and a stream that ends without the server's
 * authenticated `done` (or authenticated close) throws `truncation`.
 */
import { ProtocolError, isProtocolError, type ProtocolErrorCode } from '../protocol/errors';
import type { Limits } from '../protocol/limits';
import {
  decodeAppMessage,
  encodeAppMessage,
  type AppMessage,
  type ChatMessage,
  type ChatParams,
  type Timings,
  type Usage,
} from '../protocol/messages/messages';
import { CLOSE_PROTOCOL_ERROR, KNOWN_CODES, type Transport } from './transport';

/** The channel as the session uses it (protocol/channel SecureChannel). */
export interface ClientChannelLike {
  seal(plaintext: Uint8Array): Uint8Array;
  openFrame(frame: Uint8Array): { kind: 'data' | 'close'; plaintext: Uint8Array };
  close(): Uint8Array;
  readonly isClosed: boolean;
  zeroize(): void;
}

export type { ChatMessage, ChatParams, Timings, Usage };

export type ChatEvent =
  | { readonly type: 'delta'; readonly text: string }
  | { readonly type: 'queued'; readonly position: number }
  | {
      readonly type: 'done';
      readonly finishReason: 'stop' | 'length';
      readonly usage: Usage;
      readonly timings: Timings;
    };

interface Pending {
  readonly events: ChatEvent[];
  wake: (() => void) | undefined;
  error: ProtocolError | undefined;
  finished: boolean;
  cancelled: boolean;
  /** Next expected delta seq. */
  seq: number;
}

/** A server error code as a ProtocolErrorCode (unknown codes become server_error). */
export function serverErrorCode(code: string): ProtocolErrorCode {
  return KNOWN_CODES.has(code) ? (code as ProtocolErrorCode) : 'server_error';
}

/**
 * While an answer is in progress, a server that sends no authenticated frame for this long is
 * treated as stalled: the session ends with `idle_timeout` (the partial answer stays with the
 * caller). At half the time the client sends a ping, so a live server that is merely slow (a long
 * prompt, a queue) always answers with an authenticated pong in between.
 */
export const DEFAULT_STREAM_STALL_MS = 30_000;

export class ChannelSession<Summary, Info> {
  private nextId = 1;
  private lastFrameAt = performance.now();
  private active: { id: string; p: Pending } | undefined;
  private closeCbs: ((err: ProtocolError | undefined) => void)[] = [];
  private ended: ProtocolError | null | undefined; // undefined = open, null = clean close
  private closing = false;
  private readonly pongs = new Map<number, () => void>();
  private pendingGap: { err: ProtocolError; timer: ReturnType<typeof setTimeout> } | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly channel: ClientChannelLike,
    private readonly limits: Limits,
    readonly summary: Summary,
    readonly serverInfo: Info,
    private readonly streamStallMs: number = DEFAULT_STREAM_STALL_MS,
  ) {
    transport.onMessage((b) => this.onFrame(b));
    transport.onClose((err, code) => {
      // A close without the server's authenticated close frame is a truncation of the stream.
      if (this.pendingGap) {
        clearTimeout(this.pendingGap.timer);
        this.finish(this.pendingGap.err);
        this.pendingGap = undefined;
      }
      if (this.ended === undefined) {
        this.finish(
          this.closing
            ? null
            : code === CLOSE_PROTOCOL_ERROR
              ? // The typed 4400 close is for faults before the channel exists; after it, its
                // code and reason are anyone's (unauthenticated): neither is passed on as a verdict.
                new ProtocolError(
                  'truncation',
                  `connection closed with an unauthenticated error (close code ${code}) after the secure channel was established; the stream ended without the server's authenticated close`,
                )
              : new ProtocolError(
                  err.code === 'transport_closed' ? 'truncation' : err.code,
                  `${err.code === 'transport_closed' ? `connection closed (code ${code})` : err.message}; the stream ended without the server's authenticated close`,
                ),
        );
      }
      this.channel.zeroize();
    });
  }

  get isOpen(): boolean {
    return this.ended === undefined;
  }

  /** Called once when the session ends: undefined after a clean close, else the error. */
  onClose(cb: (err: ProtocolError | undefined) => void): void {
    if (this.ended !== undefined) cb(this.ended ?? undefined);
    else this.closeCbs.push(cb);
  }

  async *chat(
    messages: readonly ChatMessage[],
    params: ChatParams = {},
    signal?: AbortSignal,
  ): AsyncGenerator<ChatEvent> {
    if (this.ended !== undefined)
      throw this.ended ?? new ProtocolError('channel_closed', 'session is closed');
    if (this.active)
      throw new ProtocolError(
        'busy',
        `session: expected one request at a time, got a second while ${this.active.id} is unfinished`,
        'session',
      );
    if (signal?.aborted) throw new ProtocolError('cancelled', 'chat cancelled before it started');
    const id = `r${this.nextId++}`;
    const p: Pending = {
      events: [],
      wake: undefined,
      error: undefined,
      finished: false,
      cancelled: false,
      seq: 0,
    };
    this.active = { id, p };
    const onAbort = (): void => {
      if (p.finished || p.cancelled) return;
      // Stop yielding now; wait for the server's authenticated acknowledgement (bounded).
      p.cancelled = true;
      p.events.length = 0;
      this.sendApp({ type: 'cancel', id });
      const t = setTimeout(() => {
        if (!p.finished) {
          p.finished = true;
          p.error = new ProtocolError(
            'cancelled',
            `cancel ${id}: expected the server's acknowledgement within 5000 ms, got none`,
          );
          p.wake?.();
        }
      }, 5000);
      t.unref?.();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // Liveness while the answer streams: ping at half the stall time, give up at the full time.
    this.lastFrameAt = performance.now();
    let pinged = false;
    const watchdog = setInterval(
      () => {
        if (p.finished || this.ended !== undefined) {
          clearInterval(watchdog);
          return;
        }
        const quiet = performance.now() - this.lastFrameAt;
        if (quiet >= this.streamStallMs)
          this.fatal(
            new ProtocolError(
              'idle_timeout',
              `stream: expected an authenticated frame within ${this.streamStallMs} ms, got none for ${Math.round(quiet)} ms`,
            ),
          );
        else if (quiet >= this.streamStallMs / 2 && !pinged) {
          pinged = true;
          this.sendApp({ type: 'ping', nonce: Math.floor(Math.random() * 0xffffffff) });
        } else if (quiet < this.streamStallMs / 2) pinged = false;
      },
      Math.max(10, Math.floor(this.streamStallMs / 4)),
    );
    try {
      this.sendApp({ type: 'chat_request', id, messages, params });
      for (;;) {
        const ev = p.cancelled ? undefined : p.events.shift();
        if (ev !== undefined) {
          yield ev;
          if (ev.type === 'done') return;
          continue;
        }
        if (p.error) throw p.error;
        if (p.cancelled && p.finished) throw new ProtocolError('cancelled', 'chat cancelled');
        await new Promise<void>((r) => (p.wake = r));
        p.wake = undefined;
      }
    } finally {
      clearInterval(watchdog);
      signal?.removeEventListener('abort', onAbort);
      // Left early by the consumer (break / throw): stop the generation server-side.
      if (!p.finished && !p.cancelled && this.ended === undefined)
        this.sendApp({ type: 'cancel', id });
      if (this.active?.id === id) this.active = undefined;
    }
  }

  /** Round trip through the channel (keep-alive / liveness). */
  ping(timeoutMs = 10_000): Promise<number> {
    const nonce = Math.floor(Math.random() * 0xffffffff);
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pongs.delete(nonce);
        reject(
          new ProtocolError('transport_error', `ping: expected a pong within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.pongs.set(nonce, () => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      });
      this.sendApp({ type: 'ping', nonce });
    });
  }

  /** Sends the authenticated close frame and waits for the server's close (bounded). */
  async close(): Promise<void> {
    if (this.ended !== undefined) return;
    this.closing = true;
    try {
      this.transport.send(this.channel.close());
    } catch {
      // channel already unusable
    }
    this.transport.close(1000);
    await this.transport.waitClosed(2000);
    if (this.ended === undefined) this.finish(null);
  }

  private sendApp(msg: AppMessage): void {
    if (this.ended !== undefined || this.channel.isClosed) return;
    this.transport.send(this.channel.seal(encodeAppMessage(msg, this.limits)));
  }

  private onFrame(bytes: Uint8Array): void {
    if (this.ended !== undefined) return;
    this.lastFrameAt = performance.now();
    if (this.pendingGap) {
      // A frame after a gap: the channel tells a late (reordered) frame from a further gap.
      const gap = this.pendingGap;
      this.pendingGap = undefined;
      clearTimeout(gap.timer);
      let err: ProtocolError = gap.err;
      try {
        this.channel.openFrame(bytes);
      } catch (e) {
        if (isProtocolError(e) && e.code === 'reorder') err = e;
      }
      this.fatal(err);
      return;
    }
    let msg: AppMessage;
    try {
      const f = this.channel.openFrame(bytes);
      if (f.kind === 'close') {
        const err = this.active
          ? new ProtocolError(
              'truncation',
              `answer ${this.active.id}: expected done before the server's close frame, got the close frame`,
            )
          : null;
        this.finish(err);
        this.transport.close(1000);
        return;
      }
      msg = decodeAppMessage(f.plaintext, this.limits);
    } catch (e) {
      if (isProtocolError(e) && e.code === 'gap') {
        // Dropped or reordered? Decide on the next frame (or after a short wait: dropped).
        const timer = setTimeout(() => {
          this.pendingGap = undefined;
          this.fatal(e);
        }, 200);
        this.pendingGap = { err: e, timer };
        return;
      }
      // Tampered, replayed, reordered, dropped or malformed: the session is over.
      this.finish(
        isProtocolError(e)
          ? e
          : new ProtocolError('malformed', `frame: ${e instanceof Error ? e.message : String(e)}`),
      );
      this.transport.close(1008);
      return;
    }
    this.onApp(msg);
  }

  private onApp(msg: AppMessage): void {
    switch (msg.type) {
      case 'pong':
        this.pongs.get(msg.nonce)?.();
        this.pongs.delete(msg.nonce);
        return;
      case 'error':
        if (msg.id === undefined) {
          this.finish(new ProtocolError(serverErrorCode(msg.code), `server: ${msg.message}`));
          return;
        }
        break;
      case 'queued':
      case 'delta':
      case 'done':
        break;
      default:
        this.fatal(
          new ProtocolError(
            'unknown_type',
            `message.type: expected a server message, got ${msg.type}`,
            'message.type',
          ),
        );
        return;
    }
    const a = this.active;
    if (a === undefined || msg.id !== a.id) {
      // Authenticated, but for no request in flight: the late end of a request the consumer left.
      return;
    }
    const p = a.p;
    switch (msg.type) {
      case 'queued':
        if (!p.cancelled) p.events.push({ type: 'queued', position: msg.position });
        break;
      case 'delta':
        if (msg.seq !== p.seq) {
          this.fatal(
            new ProtocolError('gap', `delta.seq: expected ${p.seq}, got ${msg.seq}`, 'delta.seq'),
          );
          return;
        }
        p.seq++;
        if (!p.cancelled) p.events.push({ type: 'delta', text: msg.text });
        break;
      case 'done':
        p.finished = true;
        if (msg.finishReason === 'stop' || msg.finishReason === 'length')
          p.events.push({
            type: 'done',
            finishReason: msg.finishReason,
            usage: msg.usage,
            timings: msg.timings,
          });
        else
          p.error = new ProtocolError(
            msg.finishReason === 'cancelled' ? 'cancelled' : 'server_error',
            `done.finishReason: expected stop or length, got ${msg.finishReason}`,
            'done.finishReason',
          );
        break;
      case 'error':
        p.finished = true;
        p.error = new ProtocolError(serverErrorCode(msg.code), `server: ${msg.message}`);
        break;
    }
    p.wake?.();
  }

  private fatal(err: ProtocolError): void {
    this.finish(err);
    this.transport.close(1008);
  }

  private finish(err: ProtocolError | null): void {
    if (this.ended !== undefined) return;
    this.ended = err;
    const a = this.active;
    if (a && !a.p.finished) {
      a.p.finished = true;
      a.p.error = err ?? new ProtocolError('channel_closed', 'session closed');
      a.p.wake?.();
    }
    for (const cb of this.closeCbs.splice(0)) cb(err ?? undefined);
  }
}
