/**
 * The embedded engine: node-llama-cpp with one context holding N sequences (continuous batching:
 * llama.cpp evaluates the pending tokens of every active sequence in one batch). Each session
 * keeps an affinity to the sequence it used last, so a follow-up turn re-uses the KV cache of the
 * shared prefix; a sequence handed to a different session is cleared first (no cross-session
 * prefix cache: that would be a timing side channel between users).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type {
  ChatHistoryItem,
  Llama,
  LlamaChat,
  LlamaContext,
  LlamaContextSequence,
  LlamaModel,
} from 'node-llama-cpp';
import { ProtocolError, isProtocolError } from '../../protocol/errors';
import type { Logger } from '../log';
import type { GpuChoice } from '../config';
import { SlotPool } from './slots';
import { answerTimings, cancelled, engineSession, generationError, poolStats } from './shared';
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

export interface LlamaEngineOptions {
  readonly modelPath: string;
  readonly modelId: string;
  readonly modelSha256: string;
  readonly modelBytes: number;
  readonly gpu: GpuChoice;
  /** Tokens per sequence; 0 = min(4096, the model's training context). */
  readonly contextSize: number;
  readonly sequences: number;
  /** Always explicit: llama.cpp's default thread choice is pathological on small machines. */
  readonly threads: number;
  /** undefined = on with a GPU backend where the model supports it, off on CPU. */
  readonly flashAttention: boolean | undefined;
  readonly log: Logger;
}

interface Slot {
  readonly index: number;
  readonly sequence: LlamaContextSequence;
  readonly chat: LlamaChat;
}

/**
 * The default thread count: the physical cores, except on machines with at most 2 logical CPUs,
 * where it is 1 (llama.cpp's spinning barrier with 2 threads on a busy 2-core machine measured
 * 100x slower than 1 thread).
 */
export function defaultThreads(): number {
  if (availableParallelism() <= 2) return 1;
  return physicalCores();
}

/** Physical cores from /proc/cpuinfo (Linux), else the available parallelism. */
export function physicalCores(): number {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const cores = new Set<string>();
    let phys = '0';
    for (const line of info.split('\n')) {
      const [k, v] = line.split(':').map((s) => s.trim());
      if (k === 'physical id') phys = v ?? '0';
      if (k === 'core id') cores.add(`${phys}/${v ?? ''}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // not Linux
  }
  return Math.max(1, availableParallelism());
}

export class LlamaEngine implements Engine {
  readonly info: EngineInfo;
  private readonly pool: SlotPool<Slot>;

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    slots: Slot[],
    info: EngineInfo,
  ) {
    this.pool = new SlotPool(slots);
    this.info = info;
  }

  static async load(o: LlamaEngineOptions): Promise<LlamaEngine> {
    const nlc = await import('node-llama-cpp');
    if (!Number.isInteger(o.threads) || o.threads < 1)
      throw new UsageError(`threads: expected an integer >= 1, got ${o.threads}`, 'threads');
    if (!Number.isInteger(o.sequences) || o.sequences < 1)
      throw new UsageError(`sequences: expected an integer >= 1, got ${o.sequences}`, 'sequences');
    let llama: Llama | undefined;
    let model: LlamaModel | undefined;
    try {
      llama = await nlc.getLlama({
        gpu: o.gpu === 'off' ? false : o.gpu,
        build: 'never',
        maxThreads: o.threads,
        logLevel: nlc.LlamaLogLevel.warn,
        // llama.cpp messages are about the runtime (never prompts); they go to our logger.
        logger: (level, message) => {
          const m = message.trim();
          if (m === '') return;
          if (level === 'error' || level === 'fatal') o.log.warn('llama.cpp', { message: m });
          else o.log.debug('llama.cpp', { level, message: m });
        },
      });
      model = await llama.loadModel({
        modelPath: o.modelPath,
        gpuLayers: o.gpu === 'off' ? 0 : 'auto',
      });
      // auto: on with a GPU backend where the model supports it; off on CPU, where this
      // llama.cpp's flash attention makes short batches over a long context ~10x slower
      // (measured: 20 new tokens after 2,000 cached: 70 ms with, 7 ms without).
      const flashAttention =
        o.flashAttention ?? (llama.gpu !== false && model.flashAttentionSupported);
      const contextSize =
        o.contextSize > 0 ? o.contextSize : Math.min(4096, model.trainContextSize);
      const context = await model.createContext({
        contextSize,
        sequences: o.sequences,
        threads: o.threads,
        flashAttention,
      });
      const slots: Slot[] = [];
      for (let i = 0; i < o.sequences; i++) {
        const sequence = context.getSequence();
        slots.push({ index: i, sequence, chat: new nlc.LlamaChat({ contextSequence: sequence }) });
      }
      const vram = await llama.getVramState();
      const info: EngineInfo = {
        engine: 'llama',
        modelId: o.modelId,
        modelSha256: o.modelSha256,
        modelBytes: o.modelBytes,
        settings: {
          backend: llama.gpu === false ? 'cpu' : llama.gpu,
          gpuLayers: `${model.gpuLayers}/${model.fileInsights.totalLayers}`,
          flashAttention: context.flashAttention === true,
          sequences: o.sequences,
          contextSize: context.contextSize,
          threads: o.threads,
          chatWrapper: slots[0]?.chat.chatWrapper.wrapperName ?? 'unknown',
          vramTotalMiB: Math.round(vram.total / 1048576),
          vramUsedMiB: Math.round(vram.used / 1048576),
        },
      };
      return new LlamaEngine(llama, model, context, slots, info);
    } catch (e) {
      await model?.dispose().catch(() => {});
      await llama?.dispose().catch(() => {});
      if (isProtocolError(e)) throw e;
      if (
        e instanceof Error &&
        (e.name === 'NoBinaryFoundError' ||
          e.message === 'NoBinaryFoundError' ||
          e.constructor.name === 'NoBinaryFoundError')
      )
        throw new ProtocolError(
          'model_error',
          `gpu: expected a llama.cpp binary for --gpu ${o.gpu}, got none installed (the CUDA prebuilt is installed on the CVM: docs/DEPLOY.md)`,
          'gpu',
        );
      throw new ProtocolError(
        'model_error',
        `model: loading ${JSON.stringify(o.modelPath)} failed: ${e instanceof Error ? e.message : String(e)}`,
        'model',
      );
    }
  }

  openSession(): EngineSession {
    const st: SessionState = { last: undefined };
    return engineSession(
      (messages, params, events, signal) => this.generate(st, messages, params, events, signal),
      () => {
        st.last = undefined;
        // Clear the session's KV state now, off any request's critical path.
        this.pool.scrub(st, (slot) => slot.sequence.clearHistory());
      },
    );
  }

  stats(): EngineStats {
    return poolStats(this.pool);
  }

  async close(): Promise<void> {
    this.pool.close();
    await this.context.dispose().catch(() => {});
    await this.model.dispose().catch(() => {});
    await this.llama.dispose().catch(() => {});
  }

  private async generate(
    st: SessionState,
    messages: readonly ChatMessage[],
    params: GenerateParams,
    events: GenerateEvents,
    signal: AbortSignal,
  ): Promise<GenerateResult> {
    const history = toHistory(messages);
    const tQueued = performance.now();
    const lease = await this.pool.acquire(st, signal, events.onQueued);
    const { slot } = lease;
    // The last turn's evaluated context window, when this request continues it on the same
    // sequence: LlamaChat then starts from that window instead of re-deriving it from the full
    // history (measured: 2nd-turn TTFT with a 2,000-token history 74 ms → 5 ms).
    const last = lease.sameOwner ? continuation(st.last, messages) : undefined;
    st.last = undefined;
    try {
      if (lease.foreignState) await slot.sequence.clearHistory();
      // Snapshot of the KV state, to report after the answer how much of the prompt it held.
      const before = slot.sequence.contextTokens;
      const t0 = performance.now();
      let tFirst = -1;
      let completion = 0;
      let answer = '';
      const res = await slot.chat.generateResponse([...history, { type: 'model', response: [] }], {
        signal,
        stopOnAbortSignal: false,
        maxTokens: params.maxTokens,
        temperature: params.temperature ?? 0,
        ...(params.topP !== undefined ? { topP: params.topP } : {}),
        ...(params.topK !== undefined ? { topK: params.topK } : {}),
        ...(params.seed !== undefined ? { seed: params.seed } : {}),
        ...(params.stop !== undefined && params.stop.length > 0
          ? { customStopTriggers: [...params.stop] }
          : {}),
        ...(last
          ? {
              lastEvaluationContextWindow: {
                history: [
                  ...last.window,
                  ...toHistoryTail(last.rest),
                  { type: 'model', response: [] },
                ],
                minimumOverlapPercentageToPreventContextShift: 0.5,
              },
              contextShift: { lastEvaluationMetadata: last.shiftMeta },
            }
          : {}),
        onToken: (t) => {
          completion += t.length;
        },
        onTextChunk: (text) => {
          if (text === '') return;
          if (tFirst < 0) tFirst = performance.now();
          answer += text;
          events.onDelta(text);
        },
      });
      if (signal.aborted) throw cancelled();
      const tEnd = performance.now();
      st.last = {
        messages: [...messages],
        answer,
        window: res.lastEvaluation.contextWindow,
        shiftMeta: res.lastEvaluation.contextShiftMetadata,
      };
      // Off the critical path (the answer is complete): what the model saw, and how much of it
      // the KV cache already held before this request.
      const promptTokens = slot.chat.chatWrapper
        .generateContextState({ chatHistory: [...history, { type: 'model', response: [] }] })
        .contextText.tokenize(this.model.tokenizer);
      let cached = 0;
      while (
        cached < before.length &&
        cached < promptTokens.length &&
        before[cached] === promptTokens[cached]
      )
        cached++;
      const decodeMs = tFirst >= 0 ? tEnd - tFirst : tEnd - t0;
      return {
        stopReason: res.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
        usage: {
          promptTokens: promptTokens.length,
          cachedPromptTokens: cached,
          completionTokens: completion,
        },
        timings: answerTimings(
          { queued: tQueued, start: t0, first: tFirst, end: tEnd },
          completion,
          decodeMs,
        ),
      };
    } catch (e) {
      throw generationError(e, signal, 'engine: generation failed');
    } finally {
      this.pool.release(slot);
    }
  }
}

/** Per-session engine state: the last completed turn on its sequence. */
interface SessionState {
  last:
    | {
        readonly messages: readonly ChatMessage[];
        /** The answer exactly as streamed to the client. */
        readonly answer: string;
        readonly window: ChatHistoryItem[];
        readonly shiftMeta: object | null | undefined;
      }
    | undefined;
}

/**
 * When `messages` = the last request's messages ‖ the answer we streamed (as an assistant
 * message) ‖ new non-assistant messages, returns the last context window and the new tail.
 * Anything else (an edited history, a regenerated answer) starts from the full history.
 */
export function continuation(
  last: SessionState['last'],
  messages: readonly ChatMessage[],
):
  | {
      window: ChatHistoryItem[];
      shiftMeta: object | null | undefined;
      rest: readonly ChatMessage[];
    }
  | undefined {
  if (!last) return undefined;
  const n = last.messages.length;
  if (messages.length < n + 2) return undefined;
  for (let i = 0; i < n; i++) {
    const a = messages[i];
    const b = last.messages[i];
    if (!a || !b || a.role !== b.role || a.content !== b.content) return undefined;
  }
  const reply = messages[n];
  if (reply?.role !== 'assistant' || reply.content !== last.answer) return undefined;
  const rest = messages.slice(n + 1);
  if (rest.some((m) => m.role === 'assistant')) return undefined;
  return { window: last.window, shiftMeta: last.shiftMeta, rest };
}

function toHistoryTail(rest: readonly ChatMessage[]): ChatHistoryItem[] {
  return rest.map((m): ChatHistoryItem =>
    m.role === 'system' ? { type: 'system', text: m.content } : { type: 'user', text: m.content },
  );
}

export function toHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  if (messages.length === 0)
    throw new ProtocolError(
      'malformed',
      'messages: expected at least one message, got 0',
      'messages',
    );
  const last = messages[messages.length - 1];
  if (last?.role !== 'user')
    throw new ProtocolError(
      'malformed',
      `messages[${messages.length - 1}].role: expected "user", got ${JSON.stringify(last?.role)}`,
      'messages',
    );
  return messages.map((m, i): ChatHistoryItem => {
    switch (m.role) {
      case 'system':
        return { type: 'system', text: m.content };
      case 'user':
        return { type: 'user', text: m.content };
      case 'assistant':
        return { type: 'model', response: [m.content] };
      default:
        throw new ProtocolError(
          'malformed',
          `messages[${i}].role: expected system|user|assistant, got ${JSON.stringify((m as { role: unknown }).role)}`,
          'messages',
        );
    }
  });
}
