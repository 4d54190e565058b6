/**
 * The inference engine interface the server's session layer talks to. Engines see decrypted
 * requests only inside the enclave and must never log message content.
 */

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface GenerateParams {
  /** Upper bound on generated tokens (the server also clamps it to its own limit). */
  readonly maxTokens?: number;
  /** 0 = greedy. */
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly seed?: number;
  /** Extra stop strings (the model's own end-of-turn always stops). */
  readonly stop?: readonly string[];
}

export interface GenerateEvents {
  /** Called when the request has to wait for a free sequence (position 1 = next), and again when it moves up. */
  onQueued?(position: number): void;
  /** A piece of the answer, in order. */
  onDelta(text: string): void;
}

export interface Usage {
  readonly promptTokens: number;
  /** Prompt tokens that were already in this session's KV cache (not evaluated again). */
  readonly cachedPromptTokens: number;
  readonly completionTokens: number;
}

export interface Timings {
  /** Time spent waiting for a free sequence. */
  readonly queueMs: number;
  /** From the start of generation (after queueing) to the first delta. */
  readonly ttftMs: number;
  readonly totalMs: number;
  /** completionTokens / decode time. */
  readonly tokensPerSecond: number;
}

export type StopReason = 'stop' | 'length';

export interface GenerateResult {
  readonly stopReason: StopReason;
  readonly usage: Usage;
  readonly timings: Timings;
}

/** One client's conversation state (its KV cache affinity); one per attested connection. */
export interface EngineSession {
  /**
   * Generates the assistant's answer to `messages`. Rejects with ProtocolError('cancelled') when
   * `signal` aborts and ProtocolError('model_error') on engine failure. Never drops a request: it
   * waits for a free sequence (reporting its queue position) until the signal aborts.
   */
  generate(
    messages: readonly ChatMessage[],
    params: GenerateParams,
    events: GenerateEvents,
    signal: AbortSignal,
  ): Promise<GenerateResult>;
  /** Releases the session's cache affinity. Idempotent. */
  dispose(): void;
}

export interface EngineInfo {
  readonly engine: 'llama' | 'openai';
  /** Model identity announced to clients. */
  readonly modelId: string;
  /** Lower-case hex SHA-256 of the model file ('' when the engine cannot know it, e.g. upstream). */
  readonly modelSha256: string;
  readonly modelBytes: number;
  /** Human-readable engine settings for the start-up summary and the server info message. */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
}

export interface EngineStats {
  readonly busy: number;
  readonly queued: number;
  readonly capacity: number;
}

export interface Engine {
  readonly info: EngineInfo;
  openSession(): EngineSession;
  stats(): EngineStats;
  close(): Promise<void>;
}
