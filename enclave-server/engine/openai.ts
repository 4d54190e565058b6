/**
 * OpenAI-compatible upstream engine: decrypted requests are forwarded to vLLM / SGLang /
 * llama-server running inside the SAME confidential VM (loopback only: plaintext must never leave
 * the enclave), with streaming preserved (Server-Sent Events → deltas as they arrive).
 * Concurrency towards the upstream is bounded by `sequences`; beyond that requests queue with
 * their position, like the embedded engine. Prefix caching is the upstream's (vLLM's automatic
 * prefix caching); cancel aborts the HTTP request, which vLLM turns into an abort of the sequence.
 */
import { ProtocolError } from '../../protocol/errors';
import type { Logger } from '../log';
import { SlotPool } from './slots';
import {
  answerTimings,
  cancelled,
  engineSession,
  errText,
  generationError,
  poolStats,
} from './shared';
import type {
  ChatMessage,
  Engine,
  EngineInfo,
  EngineSession,
  EngineStats,
  GenerateEvents,
  GenerateParams,
  GenerateResult,
} from './types';
import { UsageError } from '../../protocol-node/args';

export interface OpenAiEngineOptions {
  /** Base URL ending in /v1, e.g. http://127.0.0.1:8000/v1 */
  readonly upstream: string;
  /** Model name to request; empty = the first model the upstream lists. */
  readonly model: string;
  readonly sequences: number;
  readonly log: Logger;
  /** Injected for tests. */
  readonly fetch?: typeof fetch;
  /** Request timeout for the model listing at start-up. */
  readonly startupTimeoutMs?: number;
}

const LOOPBACK = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])$/;

/** Throws unless the URL is http(s) on a loopback address. */
export function checkUpstreamUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`upstream: expected an http URL, got ${JSON.stringify(url)}`, 'upstream');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(
      `upstream: expected http: or https:, got ${JSON.stringify(u.protocol)}`,
      'upstream',
    );
  if (!LOOPBACK.test(u.hostname))
    throw new UsageError(
      `upstream: expected a loopback host inside this CVM (127.0.0.1, ::1, localhost), got ${JSON.stringify(u.hostname)}`,
      'upstream',
    );
  return u;
}

export class OpenAiEngine implements Engine {
  readonly info: EngineInfo;
  private readonly pool: SlotPool<number>;
  private readonly base: string;
  private readonly fetch: typeof fetch;

  private constructor(
    base: string,
    private readonly model: string,
    sequences: number,
    f: typeof fetch,
  ) {
    this.base = base;
    this.fetch = f;
    this.pool = new SlotPool(Array.from({ length: sequences }, (_, i) => i));
    this.info = {
      engine: 'openai',
      modelId: model,
      modelSha256: '',
      modelBytes: 0,
      settings: { backend: 'openai-upstream', upstream: base, sequences },
    };
  }

  static async connect(o: OpenAiEngineOptions): Promise<OpenAiEngine> {
    const u = checkUpstreamUrl(o.upstream);
    const base = u.toString().replace(/\/+$/, '');
    const f = o.fetch ?? fetch;
    let model = o.model;
    if (model === '') {
      let body: unknown;
      try {
        const r = await f(`${base}/models`, {
          signal: AbortSignal.timeout(o.startupTimeoutMs ?? 10000),
        });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        body = await r.json();
      } catch (e) {
        throw new ProtocolError(
          'model_error',
          `upstream: GET ${base}/models failed: ${errText(e)}`,
          'upstream',
        );
      }
      const first = (body as { data?: { id?: unknown }[] } | null)?.data?.[0]?.id;
      if (typeof first !== 'string' || first === '')
        throw new ProtocolError(
          'model_error',
          `upstream: expected a model id in GET /models, got ${JSON.stringify(first)}`,
          'upstream',
        );
      model = first;
    }
    o.log.info('upstream engine', { upstream: base, model });
    return new OpenAiEngine(base, model, o.sequences, f);
  }

  openSession(): EngineSession {
    const owner = {};
    return engineSession(
      (messages, params, events, signal) => this.generate(owner, messages, params, events, signal),
      () => this.pool.forget(owner),
    );
  }

  stats(): EngineStats {
    return poolStats(this.pool);
  }

  async close(): Promise<void> {
    this.pool.close();
  }

  private async generate(
    owner: object,
    messages: readonly ChatMessage[],
    params: GenerateParams,
    events: GenerateEvents,
    signal: AbortSignal,
  ): Promise<GenerateResult> {
    const tQueued = performance.now();
    const lease = await this.pool.acquire(owner, signal, events.onQueued);
    const t0 = performance.now();
    try {
      const body = {
        model: this.model,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        stream: true,
        stream_options: { include_usage: true },
        ...(params.maxTokens !== undefined ? { max_tokens: params.maxTokens } : {}),
        temperature: params.temperature ?? 0,
        ...(params.topP !== undefined ? { top_p: params.topP } : {}),
        ...(params.topK !== undefined ? { top_k: params.topK } : {}),
        ...(params.seed !== undefined ? { seed: params.seed } : {}),
        ...(params.stop !== undefined && params.stop.length > 0 ? { stop: params.stop } : {}),
      };
      let res: Response;
      try {
        res = await this.fetch(`${this.base}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify(body),
          signal,
        });
      } catch (e) {
        if (signal.aborted) throw cancelled();
        throw new ProtocolError('model_error', `upstream: request failed: ${errText(e)}`);
      }
      if (!res.ok || res.body === null) {
        // The body may echo the prompt: never include it in the error.
        await res.body?.cancel().catch(() => {});
        throw new ProtocolError('model_error', `upstream: expected HTTP 200, got ${res.status}`);
      }
      let tFirst = -1;
      let completion = 0;
      let promptTokens = 0;
      let cachedTokens = 0;
      let finish: string | null = null;
      let reportedCompletion = -1;
      for await (const data of sseData(res.body, signal)) {
        if (data === '[DONE]') break;
        let chunk: OpenAiChunk;
        try {
          chunk = JSON.parse(data) as OpenAiChunk;
        } catch {
          throw new ProtocolError('model_error', 'upstream: an SSE event is not JSON');
        }
        const choice = chunk.choices?.[0];
        const text = choice?.delta?.content;
        if (typeof text === 'string' && text !== '') {
          if (tFirst < 0) tFirst = performance.now();
          completion++;
          events.onDelta(text);
        }
        if (typeof choice?.finish_reason === 'string') finish = choice.finish_reason;
        if (chunk.usage) {
          promptTokens = chunk.usage.prompt_tokens ?? promptTokens;
          reportedCompletion = chunk.usage.completion_tokens ?? reportedCompletion;
          cachedTokens = chunk.usage.prompt_tokens_details?.cached_tokens ?? cachedTokens;
        }
      }
      if (signal.aborted) throw cancelled();
      const tEnd = performance.now();
      const tokens = reportedCompletion >= 0 ? reportedCompletion : completion;
      const decodeMs = tFirst >= 0 ? tEnd - tFirst : 0;
      return {
        stopReason: finish === 'length' ? 'length' : 'stop',
        usage: { promptTokens, cachedPromptTokens: cachedTokens, completionTokens: tokens },
        timings: answerTimings(
          { queued: tQueued, start: t0, first: tFirst, end: tEnd },
          tokens,
          decodeMs,
        ),
      };
    } catch (e) {
      throw generationError(e, signal, 'upstream');
    } finally {
      this.pool.release(lease.slot);
    }
  }
}

interface OpenAiChunk {
  choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[];
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number };
  };
}

/** Yields the `data:` payload of each Server-Sent Event (multi-line data joined with \n). */
export async function* sseData(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = '';
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      if (signal.aborted) return;
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (data.length > 0) yield data.join('\n');
          data = [];
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
        // comments (":") and other fields (event:, id:, retry:) are ignored
      }
    }
    if (data.length > 0) yield data.join('\n');
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
