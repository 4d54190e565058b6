/**
 * The enclave's WebSocket server. Per connection:
 *   1. handshake (one per connection: fresh keys, fresh evidence bound to this transcript), under
 *      a deadline; errors before the channel exists end the connection with WebSocket close code
 *      4400 and the reason "<ProtocolErrorCode> <message>" (unauthenticated: the client shows it
 *      as a connection error, never as model output);
 *   2. then every WebSocket message is one channel frame; requests are decrypted only here and
 *      handed to the engine; answers stream back as sealed deltas and an authenticated `done`;
 *   3. every fault after the handshake sends a sealed typed error, the authenticated close frame,
 *      and closes the WebSocket (1000 normal / 1008 policy violation) — the server keeps serving
 *      the others.
 * Nothing from a decrypted frame is ever logged.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ProtocolError, isProtocolError, type ProtocolErrorCode } from '../protocol/errors';
import {
  decodeAppMessage,
  encodeAppMessage,
  type AppMessage,
  type ChatRequest,
} from '../protocol/messages/messages';
import type { Limits } from '../protocol/limits';
import type { ServerConfig } from './config';
import type { Engine, EngineSession } from './engine/types';
import type { Logger } from './log';

/** Minimum spacing of delta frames of one answer (see startChat). */
export const DELTA_INTERVAL_MS = 1;

/** A connection that has sent nothing for this long may be closed to admit a newcomer. */
export const SILENT_GRACE_MS = 250;
/** A handshake unfinished after this long may be closed to admit a newcomer. */
export const STALE_PENDING_MS = 2_000;

/** WebSocket close code carrying a typed, unauthenticated error before the channel exists. */
export const CLOSE_PROTOCOL_ERROR = 4400;

/** The channel as the connection uses it (protocol/channel SecureChannel). */
export interface ChannelLike {
  seal(plaintext: Uint8Array): Uint8Array;
  openFrame(frame: Uint8Array): { kind: 'data' | 'close'; plaintext: Uint8Array };
  close(): Uint8Array;
  readonly isClosed: boolean;
  zeroize(): void;
}

/** protocol/handshake ServerHandshake, one per connection. */
export interface ServerHandshakeLike {
  onClientHello(msg: Uint8Array): Promise<Uint8Array>;
  onClientFinished(msg: Uint8Array): { readonly channel: ChannelLike };
  /** Abandon: wipe the pending keys now (the connection ended before the ClientFinished). */
  dispose?(): void;
}

/** The limits the server enforces, as configured (config.ts). */
export type ServerLimits = Pick<
  ServerConfig,
  | 'maxSessions'
  | 'maxPendingHandshakes'
  | 'maxPendingPerAddress'
  | 'helloTimeoutMs'
  | 'maxFrameBytes'
  | 'maxTokens'
  | 'idleTimeoutMs'
  | 'handshakeTimeoutMs'
  | 'shutdownTimeoutMs'
>;

export interface EnclaveServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: Uint8Array; readonly key: Uint8Array };
  readonly limits: ServerLimits;
  readonly engine: Engine;
  readonly log: Logger;
  /** A fresh server handshake (fresh ephemeral keys) per connection. */
  readonly newHandshake: () => ServerHandshakeLike;
  /** Protocol limits for decoding application messages. */
  readonly protocolLimits: Limits;
  /**
   * Clock for admission decisions (ms, monotonic): connection age and idle time. Default
   * performance.now; tests inject one.
   */
  readonly clock?: () => number;
  /**
   * Bench harness only (enclave-server/bench-harness.ts): skip the handshake and use this
   * channel. No flag, env or config key reaches it.
   */
  readonly benchPlaintextChannel?: () => ChannelLike;
}

export interface ServerStats {
  readonly connections: number;
  /** Unauthenticated connections (handshake not finished). */
  readonly pending: number;
  readonly established: number;
  readonly generating: number;
  /** Sessions closed to admit a new one since start. */
  readonly evicted: number;
  /** Unauthenticated connections closed to make room since start. */
  readonly pendingDropped: number;
}

type State = 'handshake-hello' | 'handshake-finished' | 'open' | 'closing' | 'closed';

export class EnclaveServer {
  private http: HttpServer | undefined;
  private wss: WebSocketServer | undefined;
  private readonly conns = new Set<Connection>();
  /** Unauthenticated connections, oldest first (insertion order). */
  private readonly pending = new Set<Connection>();
  /** Established sessions: only these count against maxSessions. */
  private readonly sessions = new Set<Connection>();
  private evicted = 0;
  private pendingDropped = 0;
  private nextConnId = 1;
  private shuttingDown = false;
  url = '';

  private readonly clock: () => number;

  constructor(readonly opts: EnclaveServerOptions) {
    this.clock = opts.clock ?? (() => performance.now());
  }

  async listen(): Promise<string> {
    const o = this.opts;
    this.http = o.tls
      ? createHttpsServer({ cert: Buffer.from(o.tls.cert), key: Buffer.from(o.tls.key) })
      : createHttpServer();
    this.http.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('teechat: WebSocket only\n');
    });
    this.wss = new WebSocketServer({
      server: this.http,
      // Hard cap in ws itself (memory bound per message): up to maxFrameBytes + 64 KiB a message
      // is read and refused with a sealed typed error (our check at maxFrameBytes); beyond that ws
      // closes the connection with 1009, which the client reports as too_large.
      maxPayload: o.limits.maxFrameBytes + 64 * 1024,
      perMessageDeflate: false,
    });
    this.wss.on('connection', (ws, req) => this.accept(ws, req));
    await new Promise<void>((resolve, reject) => {
      this.http!.once('error', reject);
      this.http!.listen(o.port, o.host, () => {
        this.http!.off('error', reject);
        resolve();
      });
    });
    const addr = this.http.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `${o.tls ? 'wss' : 'ws'}://${host}:${addr.port}`;
    return this.url;
  }

  stats(): ServerStats {
    let generating = 0;
    for (const c of this.conns) generating += c.inflight.size;
    return {
      connections: this.conns.size,
      pending: this.pending.size,
      established: this.sessions.size,
      generating,
      evicted: this.evicted,
      pendingDropped: this.pendingDropped,
    };
  }

  /**
   * Graceful shutdown: stop accepting, cancel in-flight answers with a sealed `shutting_down`
   * error, close every session, then release the engine. Resolves within shutdownTimeoutMs
   * (connections still open then are terminated).
   */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const o = this.opts;
    o.log.info('shutdown', { connections: this.conns.size });
    this.wss?.close();
    this.http?.close();
    for (const c of [...this.conns])
      c.fail(new ProtocolError('shutting_down', 'server is shutting down'));
    const deadline = Date.now() + o.limits.shutdownTimeoutMs;
    while (this.conns.size > 0 && Date.now() < deadline) await sleep(20);
    for (const c of [...this.conns]) c.terminate();
    this.http?.closeAllConnections?.();
    await o.engine.close();
  }

  /**
   * Admission, in two budgets. An unauthenticated connection (before its handshake finished)
   * counts against --max-pending-handshakes and --max-pending-per-address, and must send its
   * ClientHello within --hello-timeout; when a budget is full, a connection that stayed silent
   * (or a stale handshake) is closed to make room, else the newcomer is refused (`dropPending`),
   * so silent or slow sockets cannot keep a client out. Only a finished handshake counts against
   * --max-sessions (`admit`).
   */
  private accept(ws: WebSocket, req: IncomingMessage): void {
    const id = this.nextConnId++;
    const log = this.opts.log.child({ conn: id });
    if (this.shuttingDown) {
      closeWithError(ws, new ProtocolError('shutting_down', 'server is shutting down'));
      return;
    }
    const address = req.socket.remoteAddress ?? '';
    const c: Connection = new Connection(ws, this.opts, log, address, {
      gone: () => {
        this.conns.delete(c);
        this.pending.delete(c);
        this.sessions.delete(c);
      },
      admit: (): boolean => this.admit(c),
    });
    this.conns.add(c);
    if (c.state !== 'open') {
      this.pending.add(c);
      const lim = this.opts.limits;
      const fromAddress = [...this.pending].filter((p) => p.address === address);
      if (fromAddress.length > lim.maxPendingPerAddress)
        this.dropPending(
          fromAddress,
          c,
          `unauthenticated connections from this address: expected at most ${lim.maxPendingPerAddress}, got ${fromAddress.length}`,
        );
      if (this.pending.has(c) && this.pending.size > lim.maxPendingHandshakes)
        this.dropPending(
          [...this.pending],
          c,
          `unauthenticated connections: expected at most ${lim.maxPendingHandshakes}, got ${this.pending.size}`,
        );
    } else this.sessions.add(c);
  }

  /**
   * Makes room in a full unauthenticated budget. The victim is the oldest connection of `among`
   * that has sent nothing for SILENT_GRACE_MS, else the oldest one still unfinished after
   * STALE_PENDING_MS, else the newcomer itself (refused at once). A client that speaks at once
   * (its ClientHello follows the WebSocket upgrade) is therefore never pushed out by a flood of
   * sockets that arrive after it.
   */
  private dropPending(among: readonly Connection[], newcomer: Connection, why: string): void {
    const now = this.clock();
    const victim =
      among.find((p) => p !== newcomer && p.silent && now - p.opened >= SILENT_GRACE_MS) ??
      among.find((p) => p !== newcomer && now - p.opened >= STALE_PENDING_MS) ??
      newcomer;
    this.pending.delete(victim);
    this.pendingDropped++;
    this.opts.log.warn('unauthenticated connection dropped', {
      budget: why.split(':')[0],
      newcomer: victim === newcomer,
    });
    victim.fail(new ProtocolError('busy', why));
  }

  /**
   * A handshake finished: the connection becomes a session. When --max-sessions are established,
   * the longest-idle session with no answer in flight is closed with a sealed `session_limit`
   * notice to make room; when every session is generating, the newcomer gets that notice instead.
   */
  private admit(c: Connection): boolean {
    this.pending.delete(c);
    const max = this.opts.limits.maxSessions;
    if (this.sessions.size >= max) {
      let victim: Connection | undefined;
      for (const s of this.sessions)
        if (s.inflight.size === 0 && (victim === undefined || s.lastActive < victim.lastActive))
          victim = s;
      if (victim === undefined) {
        this.opts.log.warn('session limit', { max });
        return false;
      }
      const idleS = Math.round((this.clock() - victim.lastActive) / 1000);
      this.sessions.delete(victim);
      this.evicted++;
      this.opts.log.info('session evicted', { max, idle_s: idleS });
      victim.fail(
        new ProtocolError(
          'session_limit',
          `sessions: the server is at its limit of ${max}; this session, idle for ${idleS} s (the longest), was closed to admit a new one`,
        ),
      );
    }
    this.sessions.add(c);
    return true;
  }
}

interface ConnectionHooks {
  readonly gone: () => void;
  /** The handshake finished: true when the server admits the session (see EnclaveServer.admit). */
  readonly admit: () => boolean;
}

class Connection {
  state: State = 'handshake-hello';
  /** clock() of the last authenticated activity. */
  lastActive: number;
  /** Nothing received yet. */
  silent = true;
  /** clock() at the WebSocket upgrade. */
  readonly opened: number;
  readonly inflight = new Map<string, { readonly ac: AbortController; cancelled: boolean }>();
  private hs: ServerHandshakeLike | undefined;
  private channel: ChannelLike | undefined;
  private engineSession: EngineSession | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Messages received and not yet handled. */
  private backlog = 0;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private shutdownReason: ProtocolError | undefined;
  private readonly t0 = performance.now();

  constructor(
    private readonly ws: WebSocket,
    private readonly o: EnclaveServerOptions,
    private readonly log: Logger,
    readonly address: string,
    private readonly hooks: ConnectionHooks,
  ) {
    this.opened = this.lastActive = o.clock?.() ?? performance.now();
    log.debug('connection');
    ws.on('message', (data, isBinary) => {
      this.silent = false;
      clearTimeout(this.helloTimer);
      // Before the ServerHello the client has nothing to send but its one ClientHello: anything
      // more would queue (up to max-frame-bytes each) while the evidence is collected.
      if (this.state === 'handshake-hello' && this.backlog > 0) {
        this.fail(
          new ProtocolError(
            'handshake_state',
            `handshake: expected 1 message before the ServerHello, got ${this.backlog + 1}`,
          ),
        );
        return;
      }
      const bytes = toBytes(data);
      this.backlog++;
      this.queue = this.queue
        .then(() => this.onMessage(bytes, isBinary))
        .catch((e) => this.fail(e))
        .finally(() => this.backlog--);
    });
    ws.on('close', (code) => this.onClose(code));
    ws.on('error', (e) => log.debug('websocket error', { error: e.message }));
    if (o.benchPlaintextChannel) {
      this.channel = o.benchPlaintextChannel();
      this.state = 'open';
      this.engineSession = this.o.engine.openSession();
      this.touch();
    } else {
      this.hs = o.newHandshake();
      this.helloTimer = setTimeout(
        () =>
          this.fail(
            new ProtocolError(
              'handshake_timeout',
              `handshake: expected a ClientHello within ${o.limits.helloTimeoutMs} ms`,
            ),
          ),
        o.limits.helloTimeoutMs,
      );
      this.handshakeTimer = setTimeout(
        () =>
          this.fail(
            new ProtocolError(
              'handshake_timeout',
              `handshake: expected to complete within ${o.limits.handshakeTimeoutMs} ms`,
            ),
          ),
        o.limits.handshakeTimeoutMs,
      );
    }
  }

  private async onMessage(bytes: Uint8Array, isBinary: boolean): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    if (!isBinary)
      throw new ProtocolError('malformed', 'websocket message: expected binary, got text');
    switch (this.state) {
      case 'handshake-hello': {
        const reply = await this.hs!.onClientHello(bytes);
        if (this.state !== 'handshake-hello') return;
        this.state = 'handshake-finished';
        this.send(reply);
        return;
      }
      case 'handshake-finished': {
        const session = this.hs!.onClientFinished(bytes);
        this.hs = undefined;
        this.channel = session.channel;
        this.established();
        return;
      }
      case 'open':
        return this.onFrame(bytes);
    }
  }

  private established(): void {
    clearTimeout(this.handshakeTimer);
    this.state = 'open';
    if (!this.hooks.admit()) {
      this.fail(
        new ProtocolError(
          'session_limit',
          `sessions: expected at most ${this.o.limits.maxSessions}, all generating; try again`,
        ),
      );
      return;
    }
    this.engineSession = this.o.engine.openSession();
    this.log.info('session established', { handshake_ms: Math.round(performance.now() - this.t0) });
    this.touch();
  }

  private onFrame(bytes: Uint8Array): void {
    if (bytes.length > this.o.limits.maxFrameBytes)
      throw new ProtocolError(
        'too_large',
        `frame: expected at most ${this.o.limits.maxFrameBytes} bytes, got ${bytes.length}`,
      );
    const { kind, plaintext } = this.channel!.openFrame(bytes);
    this.touch();
    if (kind === 'close') {
      this.log.debug('client closed the channel');
      this.end(1000);
      return;
    }
    const msg = decodeAppMessage(plaintext, this.o.protocolLimits);
    this.dispatch(msg);
  }

  private dispatch(msg: AppMessage): void {
    switch (msg.type) {
      case 'ping':
        this.sendApp({ type: 'pong', nonce: msg.nonce });
        return;
      case 'cancel': {
        const f = this.inflight.get(msg.id);
        if (f && !f.cancelled) {
          f.cancelled = true;
          f.ac.abort();
        }
        return;
      }
      case 'chat_request':
        this.startChat(msg);
        return;
      default:
        throw new ProtocolError(
          'unknown_type',
          `message.type: expected chat_request, cancel or ping from a client, got ${msg.type}`,
          'message.type',
        );
    }
  }

  private startChat(msg: ChatRequest): void {
    const { id } = msg;
    if (this.inflight.has(id)) {
      this.sendApp({
        type: 'error',
        id,
        code: 'malformed',
        message: `chat_request.id: expected an id not in flight, got ${JSON.stringify(id)}`,
      });
      return;
    }
    if ([...this.inflight.values()].some((f) => !f.cancelled)) {
      // One answer at a time per session (its KV cache is one sequence); the client waits.
      this.sendApp({
        type: 'error',
        id,
        code: 'busy',
        message: 'session: expected one request at a time, got a second while one is generating',
      });
      return;
    }
    const flight = { ac: new AbortController(), cancelled: false };
    this.inflight.set(id, flight);
    const maxTokens = Math.min(
      msg.params.maxTokens ?? this.o.limits.maxTokens,
      this.o.limits.maxTokens,
    );
    const log = this.log.child({ req: id });
    log.debug('chat request', { messages: msg.messages.length, max_tokens: maxTokens });
    // Deltas are sealed off the generation's critical path: the token callback only appends;
    // the text is sealed and sent one setImmediate later, while llama.cpp decodes the next
    // token. At most one delta frame per DELTA_INTERVAL_MS: faster token rates (tiny models on
    // a CPU) share frames, so the per-frame cost (encode, seal, send, open) does not slow
    // generation; at GPU rates (≤ ~200 tokens/s) every token still gets its own frame at once.
    let seq = 0;
    let pending = '';
    let scheduled = false;
    let lastFlush = -Infinity;
    const flush = (): void => {
      scheduled = false;
      if (pending === '') return;
      lastFlush = performance.now();
      const text = pending;
      pending = '';
      this.sendApp({ type: 'delta', id, seq: seq++, text });
    };
    const params = {
      maxTokens,
      ...(msg.params.temperature !== undefined ? { temperature: msg.params.temperature } : {}),
      ...(msg.params.topP !== undefined ? { topP: msg.params.topP } : {}),
      ...(msg.params.seed !== undefined ? { seed: msg.params.seed } : {}),
      ...(msg.params.stop !== undefined ? { stop: msg.params.stop } : {}),
    };
    this.engineSession!.generate(
      msg.messages,
      params,
      {
        onQueued: (position) => this.sendApp({ type: 'queued', id, position }),
        onDelta: (text) => {
          pending += text;
          if (scheduled) return;
          scheduled = true;
          const wait = lastFlush + DELTA_INTERVAL_MS - performance.now();
          if (wait > 0) setTimeout(flush, wait);
          else setImmediate(flush);
        },
      },
      flight.ac.signal,
    ).then(
      (r) => {
        flush();
        this.inflight.delete(id);
        this.touch();
        log.info('answer done', {
          prompt_tokens: r.usage.promptTokens,
          cached_tokens: r.usage.cachedPromptTokens,
          completion_tokens: r.usage.completionTokens,
          ttft_ms: r.timings.ttftMs.toFixed(1),
          tokens_per_s: r.timings.tokensPerSecond.toFixed(0),
        });
        this.sendApp({
          type: 'done',
          id,
          finishReason: r.stopReason,
          usage: r.usage,
          timings: {
            ttftMs: r.timings.ttftMs,
            totalMs: r.timings.totalMs,
            tokensPerSecond: r.timings.tokensPerSecond,
          },
        });
      },
      (e: unknown) => {
        flush();
        this.inflight.delete(id);
        this.touch();
        const err =
          this.shutdownReason ??
          (isProtocolError(e) ? e : new ProtocolError('server_error', 'generation failed'));
        log.info('answer ended', { code: err.code });
        if (this.state === 'open')
          this.sendApp({ type: 'error', id, code: err.code, message: err.message });
      },
    );
  }

  /** Any fault: a typed error to the client (sealed when the channel exists), then a clean close. */
  fail(e: unknown): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const err = isProtocolError(e) ? e : new ProtocolError('server_error', 'internal error');
    if (!isProtocolError(e))
      this.log.error('internal error', { error: e instanceof Error ? e.message : String(e) });
    else this.log.info('session error', { code: err.code, state: this.state });
    if (err.code === 'shutting_down') this.shutdownReason = err;
    for (const f of this.inflight.values()) f.ac.abort();
    if (this.state === 'open' && this.channel && !this.channel.isClosed) {
      try {
        this.sendApp({ type: 'error', code: err.code, message: err.message });
      } catch {
        // channel unusable; the close below still tells the client
      }
      this.end(err.code === 'shutting_down' || err.code === 'idle_timeout' ? 1001 : 1008);
      return;
    }
    this.state = 'closing';
    this.hs?.dispose?.();
    this.hs = undefined;
    closeWithError(this.ws, err);
  }

  /** Authenticated close frame, then the WebSocket close. */
  private end(code: number): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    for (const f of this.inflight.values()) f.ac.abort();
    try {
      if (this.channel && !this.channel.isClosed) this.send(this.channel.close());
    } catch {
      // ignore: closing anyway
    }
    this.state = 'closing';
    this.ws.close(code);
    // A peer that never answers the close handshake is cut off.
    setTimeout(() => this.terminate(), 2000).unref();
  }

  terminate(): void {
    this.ws.terminate();
  }

  private onClose(code: number): void {
    const wasGenerating = this.inflight.size;
    for (const f of this.inflight.values()) f.ac.abort();
    this.inflight.clear();
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.helloTimer);
    clearTimeout(this.idleTimer);
    this.engineSession?.dispose();
    this.channel?.zeroize();
    this.channel = undefined;
    // An abandoned handshake's pending keys are wiped now, not left to the garbage collector.
    this.hs?.dispose?.();
    this.hs = undefined;
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.log.info('connection closed', { code, cancelled_generations: wasGenerating });
      this.hooks.gone();
    }
  }

  private touch(): void {
    this.lastActive = this.o.clock?.() ?? performance.now();
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.inflight.size > 0) return this.touch();
      this.fail(
        new ProtocolError('idle_timeout', `session: idle for ${this.o.limits.idleTimeoutMs} ms`),
      );
    }, this.o.limits.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private sendApp(msg: AppMessage): void {
    if (this.state !== 'open' || !this.channel || this.channel.isClosed) return;
    this.send(this.channel.seal(encodeAppMessage(msg, this.o.protocolLimits)));
  }

  private send(bytes: Uint8Array): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(bytes, { binary: true });
  }
}

export function closeWithError(ws: WebSocket, e: ProtocolError): void {
  if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return;
  ws.close(CLOSE_PROTOCOL_ERROR, closeReason(e.code, e.message));
  setTimeout(() => ws.terminate(), 2000).unref();
}

/** "<code> <message>" truncated to the 123-byte limit of a WebSocket close reason. */
export function closeReason(code: ProtocolErrorCode, message: string): string {
  let r = `${code} ${message}`;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -2) + '…';
  return r;
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
