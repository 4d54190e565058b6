import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAppMessage, encodeAppMessage, MESSAGE_TYPE } from '../../protocol/messages/messages';
import type { AppMessage } from '../../protocol/messages/messages';
import { ProtocolError } from '../../protocol/errors';
import { codeOf as code } from '../helpers/errors';

const samples: AppMessage[] = [
  {
    type: 'chat_request',
    id: 'req-1',
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'Explain this:\n```ts\nconst x = 1;\n``` 🚀 ünïcödé' },
      { role: 'assistant', content: '' },
    ],
    params: { maxTokens: 256, temperature: 0.7, topP: 0.95, seed: 42, stop: ['</s>', '\n\n'] },
  },
  { type: 'chat_request', id: 'r2', messages: [], params: { stop: [] } },
  { type: 'delta', id: 'req-1', seq: 0, text: ' Hello' },
  {
    type: 'done',
    id: 'req-1',
    finishReason: 'length',
    usage: { promptTokens: 10, completionTokens: 256, cachedPromptTokens: 4 },
    timings: { ttftMs: 12.5, totalMs: 1034.25, tokensPerSecond: 248.1 },
  },
  {
    type: 'error',
    id: 'req-1',
    code: 'model_error',
    message: 'context overflow: expected ≤ 4096 tokens, got 5000',
  },
  { type: 'error', code: 'busy', message: 'server busy' },
  { type: 'cancel', id: 'req-1' },
  { type: 'queued', id: 'req-1', position: 3 },
  { type: 'ping', nonce: 0xdeadbeef },
  { type: 'pong', nonce: 0 },
  {
    type: 'server_info',
    protocolVersion: 1,
    modelId: 'stories260K.gguf',
    modelSha256: 'ab'.repeat(32),
    engine: {
      backend: 'node-llama-cpp',
      gpu: 'cuda',
      flashAttention: true,
      sequences: 8,
      contextSize: 4096,
      threads: 2,
      extra: { gpu_name: 'NVIDIA H100', vram_bytes: '85899345920' },
    },
    limits: { max_output_tokens: 4096, max_queue: 16, max_request_bytes: 16777216 },
  },
];

describe('application messages', () => {
  test('every message type round-trips', () => {
    const seen = new Set<string>();
    for (const m of samples) {
      const b = encodeAppMessage(m);
      assert.equal(b[0], MESSAGE_TYPE[m.type]);
      const d = decodeAppMessage(b);
      const want =
        m.type === 'server_info'
          ? m
          : m.type === 'chat_request'
            ? { ...m, params: { ...m.params, stop: m.params.stop ?? [] } }
            : m;
      assert.deepEqual(d, want);
      assert.deepEqual(encodeAppMessage(d), b);
      seen.add(m.type);
    }
    assert.deepEqual([...seen].sort(), Object.keys(MESSAGE_TYPE).sort());
  });

  test('encode refuses invalid values (each check)', () => {
    const cr = samples[0] as Extract<AppMessage, { type: 'chat_request' }>;
    const bad: [AppMessage, string][] = [
      [{ ...cr, id: '' }, 'malformed'],
      [{ ...cr, id: 'has space' }, 'malformed'],
      [{ ...cr, messages: [{ role: 'tool' as never, content: 'x' }] }, 'malformed'],
      [{ ...cr, params: { maxTokens: 0 } }, 'malformed'],
      [{ ...cr, params: { temperature: 2.5 } }, 'malformed'],
      [{ ...cr, params: { temperature: Number.NaN } }, 'malformed'],
      [{ ...cr, params: { topP: 0 } }, 'malformed'],
      [{ ...cr, params: { seed: -1 } }, 'malformed'],
      [{ ...cr, params: { stop: [''] } }, 'malformed'],
      [{ ...cr, params: { stop: Array(17).fill('x') } }, 'malformed'],
      [{ ...cr, messages: [{ role: 'user', content: 'lone \ud800 surrogate' }] }, 'malformed'],
      [{ type: 'delta', id: 'a', seq: -1, text: '' }, 'malformed'],
      [
        {
          type: 'done',
          id: 'a',
          finishReason: 'timeout' as never,
          usage: { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 },
          timings: { ttftMs: 0, totalMs: 0, tokensPerSecond: 0 },
        },
        'malformed',
      ],
      [
        {
          type: 'done',
          id: 'a',
          finishReason: 'stop',
          usage: { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 },
          timings: { ttftMs: -1, totalMs: 0, tokensPerSecond: 0 },
        },
        'malformed',
      ],
      [{ type: 'error', code: 'Bad-Code', message: '' }, 'malformed'],
      [{ type: 'queued', id: 'a', position: 1.5 }, 'malformed'],
      [{ type: 'ping', nonce: 2 ** 32 }, 'malformed'],
      [
        {
          ...(samples[10] as Extract<AppMessage, { type: 'server_info' }>),
          modelSha256: 'AB'.repeat(32),
        },
        'malformed',
      ],
      [
        {
          ...(samples[10] as Extract<AppMessage, { type: 'server_info' }>),
          limits: { 'Bad Key': 1 },
        },
        'malformed',
      ],
      [{ type: 'nope' } as never, 'unknown_type'],
    ];
    for (const [m, want] of bad)
      assert.equal(
        code(() => encodeAppMessage(m)),
        want,
        JSON.stringify(m).slice(0, 80),
      );
  });

  test('decode refuses: unknown type, trailing bytes, truncation, reserved bits, bad enums, bad UTF-8', () => {
    assert.equal(
      code(() => decodeAppMessage(new Uint8Array([0x7f]))),
      'unknown_type',
    );
    assert.equal(
      code(() => decodeAppMessage(new Uint8Array([]))),
      'truncated',
    );
    const ping = encodeAppMessage({ type: 'ping', nonce: 1 });
    assert.equal(
      code(() => decodeAppMessage(new Uint8Array([...ping, 0]))),
      'trailing_bytes',
    );
    assert.equal(
      code(() => decodeAppMessage(ping.subarray(0, 3))),
      'truncated',
    );
    const req = encodeAppMessage({ type: 'chat_request', id: 'a', messages: [], params: {} });
    const reserved = req.slice();
    reserved[reserved.length - 2] = 0x10; // params.present
    assert.equal(
      code(() => decodeAppMessage(reserved)),
      'reserved_nonzero',
    );
    const delta = encodeAppMessage({ type: 'delta', id: 'a', seq: 1, text: 'é' });
    const badUtf8 = delta.slice();
    badUtf8[badUtf8.length - 1] = 0x41; // breaks the 2-byte sequence
    assert.equal(
      code(() => decodeAppMessage(badUtf8)),
      'malformed',
    );
    const done = encodeAppMessage(samples[3] as AppMessage);
    const badEnum = done.slice();
    badEnum[1 + 1 + 5] = 9; // finishReason
    assert.equal(
      code(() => decodeAppMessage(badEnum)),
      'malformed',
    );
  });

  test('property: random bytes decode to a message or a ProtocolError, and successes are canonical', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(...Object.values(MESSAGE_TYPE)),
        (b, t) => {
          const input = new Uint8Array([t, ...b]);
          try {
            const m = decodeAppMessage(input);
            assert.deepEqual(encodeAppMessage(m), input);
          } catch (e) {
            assert.ok(e instanceof ProtocolError, String(e));
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('property: mutated valid messages decode to a message or a ProtocolError, and successes are canonical', () => {
    const encoded = samples.map((m) => encodeAppMessage(m));
    fc.assert(
      fc.property(
        fc.constantFrom(...encoded),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.integer({ min: -3, max: 3 }),
        (orig, muts, cut) => {
          let b = orig.slice();
          for (const [p, v] of muts) b[p % b.length] = v;
          if (cut < 0) b = b.subarray(0, Math.max(0, b.length + cut));
          if (cut > 0) b = new Uint8Array([...b, ...new Uint8Array(cut)]);
          try {
            const m = decodeAppMessage(b);
            assert.deepEqual(encodeAppMessage(m), b);
          } catch (e) {
            assert.ok(e instanceof ProtocolError, String(e));
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  test('property: arbitrary deltas and requests round-trip', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.nat({ max: 2 ** 32 - 1 }),
        (text, seq) => {
          const m: AppMessage = { type: 'delta', id: 'x', seq, text };
          assert.deepEqual(decodeAppMessage(encodeAppMessage(m)), m);
        },
      ),
    );
  });
});
