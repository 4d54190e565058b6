/**
 * What the embedded (llama.ts) and upstream (openai.ts) engines share: the session handle over a
 * slot pool, the pool's stats, the timing arithmetic of a finished answer, and the error mapping
 * of a generation (cancelled when the signal aborted, model_error for anything untyped).
 */
import { ProtocolError, isProtocolError } from '../../protocol/errors';
import type { SlotPool } from './slots';
import type {
  ChatMessage,
  EngineSession,
  EngineStats,
  GenerateEvents,
  GenerateParams,
  GenerateResult,
  Timings,
} from './types';

export function cancelled(): ProtocolError {
  return new ProtocolError('cancelled', 'generation cancelled');
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A generation failure as the session layer sees it (typed errors pass through). */
export function generationError(e: unknown, signal: AbortSignal, prefix: string): ProtocolError {
  if (signal.aborted) return cancelled();
  if (isProtocolError(e)) return e;
  return new ProtocolError('model_error', `${prefix}: ${errText(e)}`);
}

/**
 * An EngineSession whose generate refuses after dispose; `onDispose` runs once (idempotent, as
 * the interface requires).
 */
export function engineSession(
  generate: (
    messages: readonly ChatMessage[],
    params: GenerateParams,
    events: GenerateEvents,
    signal: AbortSignal,
  ) => Promise<GenerateResult>,
  onDispose: () => void,
): EngineSession {
  let disposed = false;
  return {
    generate: (messages, params, events, signal) => {
      if (disposed) return Promise.reject(new ProtocolError('channel_closed', 'session is closed'));
      return generate(messages, params, events, signal);
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      onDispose();
    },
  };
}

export function poolStats<S>(pool: SlotPool<S>): EngineStats {
  return { busy: pool.busy, queued: pool.queued, capacity: pool.capacity };
}

/**
 * Timings of a finished answer (performance.now() values; tFirst < 0 when no delta was
 * streamed). Tokens per second counts the decode steps after the first token.
 */
export function answerTimings(
  t: { queued: number; start: number; first: number; end: number },
  tokens: number,
  decodeMs: number,
): Timings {
  return {
    queueMs: t.start - t.queued,
    ttftMs: (t.first >= 0 ? t.first : t.end) - t.start,
    totalMs: t.end - t.start,
    tokensPerSecond: tokens > 1 && decodeMs > 0 ? ((tokens - 1) * 1000) / decodeMs : 0,
  };
}
