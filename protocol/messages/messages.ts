/**
 * Application messages carried inside the secure channel (docs/PROTOCOL.md §Application messages).
 * Binary encoding: u8 type ‖ fields in the order listed below, with the wire codec's vectors.
 * Every value is validated on encode AND decode (ranges, enums, identifier syntax, strict UTF-8,
 * finite numbers, no trailing bytes); decoding throws only ProtocolError naming the field.
 *
 *   0x20 chat_request  str8 id ‖ u16 n ‖ n × (u8 role ‖ str32 content) ‖ params
 *                      params = u8 present (bit0 maxTokens, bit1 temperature, bit2 topP, bit3 seed;
 *                      other bits 0) ‖ [u32 maxTokens] ‖ [f64 temperature] ‖ [f64 topP] ‖ [u32 seed]
 *                      ‖ u8 n_stop ‖ n_stop × str8 stop
 *   0x21 delta         str8 id ‖ u32 seq ‖ str32 text
 *   0x22 done          str8 id ‖ u8 finishReason ‖ u32 promptTokens ‖ u32 completionTokens
 *                      ‖ u32 cachedPromptTokens ‖ f64 ttftMs ‖ f64 totalMs ‖ f64 tokensPerSecond
 *   0x23 error         u8 has_id ‖ [str8 id] ‖ str8 code ‖ str16 message
 *   0x24 cancel        str8 id
 *   0x25 queued        str8 id ‖ u32 position
 *   0x26 ping          u32 nonce
 *   0x27 pong          u32 nonce
 *   0x28 server_info   u16 protocolVersion ‖ str8 modelId ‖ 32 modelSha256 ‖ engine ‖ limits
 *                      engine = str8 backend ‖ str8 gpu ‖ u8 flashAttention (0|1) ‖ u16 sequences
 *                      ‖ u32 contextSize ‖ u16 threads ‖ u8 n ‖ n × (str8 key ‖ str8 value)
 *                      limits = u8 n ‖ n × (str8 key ‖ f64 value)
 *
 * Roles: 0 system, 1 user, 2 assistant. Finish reasons: 0 stop, 1 length, 2 cancelled, 3 error.
 * Identifiers (id): 1..64 chars of [A-Za-z0-9._:-]. Error codes and map keys: [a-z][a-z0-9_.]{0,63}.
 */
import { fail } from '../errors';
import { DEFAULT_LIMITS } from '../limits';
import type { Limits } from '../limits';
import { fromHex, toHex } from '../wire/bytes';
import { Reader, Writer } from '../wire/codec';

export const MESSAGE_TYPE = {
  chat_request: 0x20,
  delta: 0x21,
  done: 0x22,
  error: 0x23,
  cancel: 0x24,
  queued: 0x25,
  ping: 0x26,
  pong: 0x27,
  server_info: 0x28,
} as const;

export type ChatRole = 'system' | 'user' | 'assistant';
export const CHAT_ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];
export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error';
export const FINISH_REASONS: readonly FinishReason[] = ['stop', 'length', 'cancelled', 'error'];

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
}
export interface ChatParams {
  /** 1..1,048,576 */
  readonly maxTokens?: number;
  /** 0..2 */
  readonly temperature?: number;
  /** (0, 1] */
  readonly topP?: number;
  /** u32 */
  readonly seed?: number;
  /** up to limits.maxStopSequences strings of 1..255 UTF-8 bytes */
  readonly stop?: readonly string[];
}
export interface ChatRequest {
  readonly type: 'chat_request';
  readonly id: string;
  readonly messages: readonly ChatMessage[];
  readonly params: ChatParams;
}
export interface Delta {
  readonly type: 'delta';
  readonly id: string;
  /** 0-based index of this delta within the answer. */
  readonly seq: number;
  readonly text: string;
}
export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedPromptTokens: number;
}
export interface Timings {
  readonly ttftMs: number;
  readonly totalMs: number;
  readonly tokensPerSecond: number;
}
export interface Done {
  readonly type: 'done';
  readonly id: string;
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  readonly timings: Timings;
}
export interface ErrorMessage {
  readonly type: 'error';
  /** The request the error is about; absent for session-level errors. */
  readonly id?: string;
  /** A ProtocolErrorCode or another [a-z][a-z0-9_.]* code. */
  readonly code: string;
  readonly message: string;
}
export interface Cancel {
  readonly type: 'cancel';
  readonly id: string;
}
export interface Queued {
  readonly type: 'queued';
  readonly id: string;
  /** 1-based position in the server's queue. */
  readonly position: number;
}
export interface Ping {
  readonly type: 'ping';
  readonly nonce: number;
}
export interface Pong {
  readonly type: 'pong';
  readonly nonce: number;
}
export interface EngineSettings {
  /** e.g. "node-llama-cpp", "openai-upstream" */
  readonly backend: string;
  /** e.g. "cuda", "vulkan", "metal", "none" (llama.gpu) */
  readonly gpu: string;
  readonly flashAttention: boolean;
  /** Parallel sequences in the context (continuous batching). */
  readonly sequences: number;
  /** Context size in tokens. */
  readonly contextSize: number;
  readonly threads: number;
  /** Further settings worth showing (e.g. "vram_bytes", "gpu_name"); keys [a-z][a-z0-9_.]*. */
  readonly extra?: Readonly<Record<string, string>>;
}
export interface ServerInfo {
  readonly type: 'server_info';
  readonly protocolVersion: number;
  readonly modelId: string;
  /** Lower-case hex SHA-256 of the model file (64 chars). */
  readonly modelSha256: string;
  readonly engine: EngineSettings;
  /** Server-side limits (e.g. "max_request_bytes", "max_output_tokens", "max_queue"); keys [a-z][a-z0-9_.]*. */
  readonly limits: Readonly<Record<string, number>>;
}

export type AppMessage =
  ChatRequest | Delta | Done | ErrorMessage | Cancel | Queued | Ping | Pong | ServerInfo;
export type AppMessageType = AppMessage['type'];

const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const CODE_RE = /^[a-z][a-z0-9_.]{0,63}$/;
const U32 = 0xffffffff;
const MAX_TEXT = 0xffffffff;
const MAX_MAP = 32;

function bad(field: string, expected: unknown, actual: unknown): never {
  return fail('malformed', field, expected, actual);
}
function checkId(id: unknown, field: string): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) bad(field, '1..64 chars of [A-Za-z0-9._:-]', id);
  return id;
}
function checkCode(c: unknown, field: string): string {
  if (typeof c !== 'string' || !CODE_RE.test(c)) bad(field, '[a-z][a-z0-9_.]{0,63}', c);
  return c;
}
function checkInt(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    bad(field, `an integer in ${min}..${max}`, v);
  return v;
}
function checkNum(
  v: unknown,
  field: string,
  min: number,
  max: number,
  minExclusive = false,
): number {
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    v > max ||
    (minExclusive ? v <= min : v < min)
  )
    bad(field, `a number in ${minExclusive ? '(' : '['}${min}, ${max}]`, v);
  return v;
}
function checkStr(v: unknown, field: string): string {
  if (typeof v !== 'string') bad(field, 'a string', typeof v);
  return v;
}

function checkParams(p: ChatParams, f: string, limits: Limits): void {
  if (typeof p !== 'object' || p === null) bad(f, 'an object', p);
  if (p.maxTokens !== undefined) checkInt(p.maxTokens, `${f}.maxTokens`, 1, 1 << 20);
  if (p.temperature !== undefined) checkNum(p.temperature, `${f}.temperature`, 0, 2);
  if (p.topP !== undefined) checkNum(p.topP, `${f}.topP`, 0, 1, true);
  if (p.seed !== undefined) checkInt(p.seed, `${f}.seed`, 0, U32);
  const stop = p.stop ?? [];
  if (!Array.isArray(stop) || stop.length > limits.maxStopSequences)
    bad(`${f}.stop`, `at most ${limits.maxStopSequences} strings`, stop.length);
  stop.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) bad(`${f}.stop[${i}]`, 'a non-empty string', s);
  });
}

function checkMap<T>(
  m: Readonly<Record<string, T>> | undefined,
  field: string,
  check: (v: T, f: string) => void,
): [string, T][] {
  if (m === undefined) return [];
  if (typeof m !== 'object' || m === null) bad(field, 'an object', m);
  const entries = Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length > MAX_MAP) bad(field, `at most ${MAX_MAP} entries`, entries.length);
  for (const [k, v] of entries) {
    checkCode(k, `${field} key`);
    check(v, `${field}.${k}`);
  }
  return entries;
}

/** Validates a message (the encoder calls it; exported for callers that build messages by hand). */
export function validateAppMessage(m: AppMessage, limits: Limits = DEFAULT_LIMITS): void {
  if (typeof m !== 'object' || m === null) bad('message', 'an object', m);
  const f = m.type;
  switch (m.type) {
    case 'chat_request':
      checkId(m.id, `${f}.id`);
      if (!Array.isArray(m.messages) || m.messages.length > limits.maxChatMessages)
        bad(`${f}.messages`, `at most ${limits.maxChatMessages} messages`, m.messages?.length);
      m.messages.forEach((x, i) => {
        if (!CHAT_ROLES.includes(x?.role))
          bad(`${f}.messages[${i}].role`, CHAT_ROLES.join(' | '), x?.role);
        checkStr(x.content, `${f}.messages[${i}].content`);
      });
      checkParams(m.params, `${f}.params`, limits);
      return;
    case 'delta':
      checkId(m.id, `${f}.id`);
      checkInt(m.seq, `${f}.seq`, 0, U32);
      checkStr(m.text, `${f}.text`);
      return;
    case 'done':
      checkId(m.id, `${f}.id`);
      if (!FINISH_REASONS.includes(m.finishReason))
        bad(`${f}.finishReason`, FINISH_REASONS.join(' | '), m.finishReason);
      for (const k of ['promptTokens', 'completionTokens', 'cachedPromptTokens'] as const)
        checkInt(m.usage?.[k], `${f}.usage.${k}`, 0, U32);
      for (const k of ['ttftMs', 'totalMs', 'tokensPerSecond'] as const)
        checkNum(m.timings?.[k], `${f}.timings.${k}`, 0, Number.MAX_VALUE);
      return;
    case 'error':
      if (m.id !== undefined) checkId(m.id, `${f}.id`);
      checkCode(m.code, `${f}.code`);
      checkStr(m.message, `${f}.message`);
      return;
    case 'cancel':
      checkId(m.id, `${f}.id`);
      return;
    case 'queued':
      checkId(m.id, `${f}.id`);
      checkInt(m.position, `${f}.position`, 0, U32);
      return;
    case 'ping':
    case 'pong':
      checkInt(m.nonce, `${f}.nonce`, 0, U32);
      return;
    case 'server_info':
      checkInt(m.protocolVersion, `${f}.protocolVersion`, 0, 0xffff);
      checkStr(m.modelId, `${f}.modelId`);
      if (typeof m.modelSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.modelSha256))
        bad(`${f}.modelSha256`, '64 lower-case hex chars', m.modelSha256);
      if (typeof m.engine !== 'object' || m.engine === null)
        bad(`${f}.engine`, 'an object', m.engine);
      checkStr(m.engine.backend, `${f}.engine.backend`);
      checkStr(m.engine.gpu, `${f}.engine.gpu`);
      if (typeof m.engine.flashAttention !== 'boolean')
        bad(`${f}.engine.flashAttention`, 'a boolean', m.engine.flashAttention);
      checkInt(m.engine.sequences, `${f}.engine.sequences`, 0, 0xffff);
      checkInt(m.engine.contextSize, `${f}.engine.contextSize`, 0, U32);
      checkInt(m.engine.threads, `${f}.engine.threads`, 0, 0xffff);
      checkMap(m.engine.extra, `${f}.engine.extra`, (v, ff) => checkStr(v, ff));
      checkMap(m.limits, `${f}.limits`, (v, ff) =>
        checkNum(v, ff, -Number.MAX_VALUE, Number.MAX_VALUE),
      );
      return;
    default:
      return fail(
        'unknown_type',
        'message.type',
        Object.keys(MESSAGE_TYPE).join(' | '),
        (m as { type: unknown }).type,
      );
  }
}

export function encodeAppMessage(m: AppMessage, limits: Limits = DEFAULT_LIMITS): Uint8Array {
  validateAppMessage(m, limits);
  const w = new Writer(m.type, 64);
  w.u8(MESSAGE_TYPE[m.type], 'type');
  switch (m.type) {
    case 'chat_request': {
      w.str8(m.id, 'id');
      w.u16(m.messages.length, 'message_count');
      m.messages.forEach((x, i) => {
        w.u8(CHAT_ROLES.indexOf(x.role), `messages[${i}].role`);
        w.str32(x.content, `messages[${i}].content`, MAX_TEXT);
      });
      const p = m.params;
      const present =
        (p.maxTokens !== undefined ? 1 : 0) |
        (p.temperature !== undefined ? 2 : 0) |
        (p.topP !== undefined ? 4 : 0) |
        (p.seed !== undefined ? 8 : 0);
      w.u8(present, 'params.present');
      if (p.maxTokens !== undefined) w.u32(p.maxTokens, 'params.maxTokens');
      if (p.temperature !== undefined) w.f64(p.temperature, 'params.temperature');
      if (p.topP !== undefined) w.f64(p.topP, 'params.topP');
      if (p.seed !== undefined) w.u32(p.seed, 'params.seed');
      const stop = p.stop ?? [];
      w.u8(stop.length, 'params.stop_count');
      stop.forEach((s, i) => w.str8(s, `params.stop[${i}]`));
      break;
    }
    case 'delta':
      w.str8(m.id, 'id').u32(m.seq, 'seq').str32(m.text, 'text', MAX_TEXT);
      break;
    case 'done':
      w.str8(m.id, 'id').u8(FINISH_REASONS.indexOf(m.finishReason), 'finishReason');
      w.u32(m.usage.promptTokens, 'usage.promptTokens').u32(
        m.usage.completionTokens,
        'usage.completionTokens',
      );
      w.u32(m.usage.cachedPromptTokens, 'usage.cachedPromptTokens');
      w.f64(m.timings.ttftMs, 'timings.ttftMs')
        .f64(m.timings.totalMs, 'timings.totalMs')
        .f64(m.timings.tokensPerSecond, 'timings.tokensPerSecond');
      break;
    case 'error':
      w.u8(m.id === undefined ? 0 : 1, 'has_id');
      if (m.id !== undefined) w.str8(m.id, 'id');
      w.str8(m.code, 'code').str16(m.message, 'message');
      break;
    case 'cancel':
      w.str8(m.id, 'id');
      break;
    case 'queued':
      w.str8(m.id, 'id').u32(m.position, 'position');
      break;
    case 'ping':
    case 'pong':
      w.u32(m.nonce, 'nonce');
      break;
    case 'server_info': {
      w.u16(m.protocolVersion, 'protocolVersion')
        .str8(m.modelId, 'modelId')
        .bytes(fromHex(m.modelSha256, 'server_info.modelSha256'), 'modelSha256', 32);
      const e = m.engine;
      w.str8(e.backend, 'engine.backend')
        .str8(e.gpu, 'engine.gpu')
        .u8(e.flashAttention ? 1 : 0, 'engine.flashAttention');
      w.u16(e.sequences, 'engine.sequences')
        .u32(e.contextSize, 'engine.contextSize')
        .u16(e.threads, 'engine.threads');
      const extra = checkMap(e.extra, 'engine.extra', () => undefined);
      w.u8(extra.length, 'engine.extra_count');
      for (const [k, v] of extra) w.str8(k, 'engine.extra.key').str8(v, `engine.extra.${k}`);
      const lim = checkMap(m.limits, 'limits', () => undefined);
      w.u8(lim.length, 'limits_count');
      for (const [k, v] of lim) w.str8(k, 'limits.key').f64(v, `limits.${k}`);
      break;
    }
  }
  return w.finish();
}

const TYPE_BY_BYTE = new Map<number, AppMessageType>(
  Object.entries(MESSAGE_TYPE).map(([k, v]) => [v, k as AppMessageType]),
);

/** Decodes one application message; throws only ProtocolError. */
export function decodeAppMessage(bytes: Uint8Array, limits: Limits = DEFAULT_LIMITS): AppMessage {
  const r0 = new Reader(bytes, 'message');
  const tb = r0.u8('type');
  const type = TYPE_BY_BYTE.get(tb);
  if (type === undefined) fail('unknown_type', 'message.type', '0x20..0x28', tb);
  const r = new Reader(bytes.subarray(1), type);
  const id = (field = 'id'): string => checkId(r.str8(field, 64), `${type}.${field}`);
  let m: AppMessage;
  switch (type) {
    case 'chat_request': {
      const rid = id();
      const n = r.u16('message_count');
      if (n > limits.maxChatMessages)
        fail('too_large', 'chat_request.message_count', `at most ${limits.maxChatMessages}`, n);
      const messages: ChatMessage[] = [];
      for (let i = 0; i < n; i++) {
        const role = CHAT_ROLES[r.enum8(`messages[${i}].role`, [0, 1, 2])] as ChatRole;
        messages.push({ role, content: r.str32(`messages[${i}].content`, MAX_TEXT) });
      }
      const present = r.u8('params.present');
      if ((present & ~0x0f) !== 0)
        fail('reserved_nonzero', 'chat_request.params.present', 'only bits 0..3', present);
      const params: { -readonly [K in keyof ChatParams]: ChatParams[K] } = {};
      if (present & 1) params.maxTokens = r.u32('params.maxTokens');
      if (present & 2) params.temperature = r.f64('params.temperature');
      if (present & 4) params.topP = r.f64('params.topP');
      if (present & 8) params.seed = r.u32('params.seed');
      const ns = r.u8('params.stop_count');
      if (ns > limits.maxStopSequences)
        fail(
          'too_large',
          'chat_request.params.stop_count',
          `at most ${limits.maxStopSequences}`,
          ns,
        );
      const stop: string[] = [];
      for (let i = 0; i < ns; i++) stop.push(r.str8(`params.stop[${i}]`));
      params.stop = stop;
      m = { type, id: rid, messages, params };
      break;
    }
    case 'delta':
      m = { type, id: id(), seq: r.u32('seq'), text: r.str32('text', MAX_TEXT) };
      break;
    case 'done': {
      const rid = id();
      const finishReason = FINISH_REASONS[r.enum8('finishReason', [0, 1, 2, 3])] as FinishReason;
      const usage = {
        promptTokens: r.u32('usage.promptTokens'),
        completionTokens: r.u32('usage.completionTokens'),
        cachedPromptTokens: r.u32('usage.cachedPromptTokens'),
      };
      const timings = {
        ttftMs: r.f64('timings.ttftMs'),
        totalMs: r.f64('timings.totalMs'),
        tokensPerSecond: r.f64('timings.tokensPerSecond'),
      };
      m = { type, id: rid, finishReason, usage, timings };
      break;
    }
    case 'error': {
      const has = r.enum8('has_id', [0, 1]);
      const eid = has === 1 ? id() : undefined;
      const code = r.str8('code', 64);
      const message = r.str16('message');
      m = eid === undefined ? { type, code, message } : { type, id: eid, code, message };
      break;
    }
    case 'cancel':
      m = { type, id: id() };
      break;
    case 'queued':
      m = { type, id: id(), position: r.u32('position') };
      break;
    case 'ping':
    case 'pong':
      m = { type, nonce: r.u32('nonce') };
      break;
    case 'server_info': {
      const protocolVersion = r.u16('protocolVersion');
      const modelId = r.str8('modelId');
      const modelSha256 = toHex(r.bytes(32, 'modelSha256'));
      const backend = r.str8('engine.backend');
      const gpu = r.str8('engine.gpu');
      const flashAttention = r.enum8('engine.flashAttention', [0, 1]) === 1;
      const sequences = r.u16('engine.sequences');
      const contextSize = r.u32('engine.contextSize');
      const threads = r.u16('engine.threads');
      const extra: Record<string, string> = {};
      const ne = r.u8('engine.extra_count');
      if (ne > MAX_MAP)
        fail('too_large', 'server_info.engine.extra_count', `at most ${MAX_MAP}`, ne);
      let prev = '';
      for (let i = 0; i < ne; i++) {
        const k = checkCode(r.str8('engine.extra.key', 64), `server_info.engine.extra[${i}] key`);
        if (i > 0 && k <= prev)
          fail(
            'malformed',
            `server_info.engine.extra[${i}] key`,
            `a key sorting after ${JSON.stringify(prev)}`,
            k,
          );
        prev = k;
        extra[k] = r.str8(`engine.extra.${k}`);
      }
      const limitsMap: Record<string, number> = {};
      const nl = r.u8('limits_count');
      if (nl > MAX_MAP) fail('too_large', 'server_info.limits_count', `at most ${MAX_MAP}`, nl);
      prev = '';
      for (let i = 0; i < nl; i++) {
        const k = checkCode(r.str8('limits.key', 64), `server_info.limits[${i}] key`);
        if (i > 0 && k <= prev)
          fail(
            'malformed',
            `server_info.limits[${i}] key`,
            `a key sorting after ${JSON.stringify(prev)}`,
            k,
          );
        prev = k;
        limitsMap[k] = r.f64(`limits.${k}`);
      }
      m = {
        type,
        protocolVersion,
        modelId,
        modelSha256,
        engine: { backend, gpu, flashAttention, sequences, contextSize, threads, extra },
        limits: limitsMap,
      };
      break;
    }
  }
  r.end();
  validateAppMessage(m, limits);
  return m;
}
