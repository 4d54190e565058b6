import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LlamaEngine, continuation } from '../../enclave-server/engine/llama';
import { resolveModel } from '../../enclave-server/engine/model';
import { silentLogger } from '../../enclave-server/log';
import { ProtocolError } from '../../protocol/errors';
import { tinyChatModelPath } from '../helpers/tiny-model';

describe('LlamaEngine (generated tiny ChatML model, threads: 1)', () => {
  let engine: LlamaEngine;
  before(async () => {
    const m = await resolveModel(tinyChatModelPath(), { cacheDir: '/nonexistent' });
    engine = await LlamaEngine.load({
      modelPath: m.path,
      modelId: m.id,
      modelSha256: m.sha256,
      modelBytes: m.bytes,
      gpu: 'off',
      contextSize: 2048,
      sequences: 2,
      threads: 1,
      flashAttention: undefined,
      log: silentLogger,
    });
  });
  after(async () => {
    await engine?.close();
  });

  test('reports its settings and the model hash', () => {
    assert.match(engine.info.modelSha256, /^[0-9a-f]{64}$/);
    assert.equal(engine.info.settings['backend'], 'cpu');
    assert.equal(engine.info.settings['sequences'], 2);
    assert.equal(engine.info.settings['threads'], 1);
    assert.equal(engine.info.settings['chatWrapper'], 'ChatML');
  });

  test('streams deltas, counts tokens, stops at maxTokens', async () => {
    const s = engine.openSession();
    const deltas: string[] = [];
    const r = await s.generate(
      [{ role: 'user', content: 'Hello' }],
      { maxTokens: 12 },
      { onDelta: (t) => deltas.push(t) },
      new AbortController().signal,
    );
    assert.equal(r.stopReason, 'length');
    assert.equal(r.usage.completionTokens, 12);
    assert.ok(deltas.length > 0);
    assert.ok(r.usage.promptTokens > 3);
    assert.equal(r.usage.cachedPromptTokens, 0);
    s.dispose();
  });

  test('a follow-up turn reuses the KV cache of the shared prefix', async () => {
    const s = engine.openSession();
    const sig = new AbortController().signal;
    const history = [
      { role: 'system' as const, content: 'You are terse. '.repeat(40) },
      { role: 'user' as const, content: 'First question' },
    ];
    let answer = '';
    const r1 = await s.generate(history, { maxTokens: 8 }, { onDelta: (t) => (answer += t) }, sig);
    const r2 = await s.generate(
      [...history, { role: 'assistant', content: answer }, { role: 'user', content: 'Second' }],
      { maxTokens: 8 },
      { onDelta: () => {} },
      sig,
    );
    assert.ok(r1.usage.promptTokens > 300, `prompt ${r1.usage.promptTokens}`);
    // Everything up to the end of the first prompt is cached.
    assert.ok(
      r2.usage.cachedPromptTokens >= r1.usage.promptTokens,
      `cached ${r2.usage.cachedPromptTokens} < first prompt ${r1.usage.promptTokens}`,
    );
    s.dispose();
  });

  test('a sequence handed to another session is cleared (no cross-session prefix cache)', async () => {
    const sig = new AbortController().signal;
    const msgs = [{ role: 'user' as const, content: 'same prompt '.repeat(20) }];
    const a = engine.openSession();
    await a.generate(msgs, { maxTokens: 2 }, { onDelta: () => {} }, sig);
    a.dispose();
    const b = engine.openSession();
    const c = engine.openSession();
    const rb = await b.generate(msgs, { maxTokens: 2 }, { onDelta: () => {} }, sig);
    const rc = await c.generate(msgs, { maxTokens: 2 }, { onDelta: () => {} }, sig);
    assert.equal(rb.usage.cachedPromptTokens, 0);
    assert.equal(rc.usage.cachedPromptTokens, 0);
    b.dispose();
    c.dispose();
  });

  test('cancel stops generation with a typed error and frees the sequence', async () => {
    const s = engine.openSession();
    const ac = new AbortController();
    let n = 0;
    await assert.rejects(
      s.generate(
        [{ role: 'user', content: 'go' }],
        { maxTokens: 100000 },
        {
          onDelta: () => {
            if (++n === 3) ac.abort();
          },
        },
        ac.signal,
      ),
      (e: unknown) => e instanceof ProtocolError && e.code === 'cancelled',
    );
    assert.equal(engine.stats().busy, 0);
    s.dispose();
  });

  test('requests beyond the sequences wait in a queue with their position; none is dropped', async () => {
    const sig = new AbortController().signal;
    const sessions = [0, 1, 2, 3].map(() => engine.openSession());
    const positions: number[][] = sessions.map(() => []);
    const results = await Promise.all(
      sessions.map((s, i) =>
        s.generate(
          [{ role: 'user', content: `q${i}` }],
          { maxTokens: 16 },
          {
            onDelta: () => {},
            onQueued: (p) => positions[i]!.push(p),
          },
          sig,
        ),
      ),
    );
    assert.equal(results.length, 4);
    for (const r of results)
      assert.ok(r.usage.completionTokens > 0 && r.usage.completionTokens <= 16);
    assert.deepEqual(positions[0], []);
    assert.deepEqual(positions[1], []);
    assert.deepEqual(positions[2], [1]);
    assert.deepEqual(positions[3], [2, 1]);
    for (const s of sessions) s.dispose();
  });

  test('rejects a history that does not end with a user message', async () => {
    const s = engine.openSession();
    await assert.rejects(
      s.generate(
        [{ role: 'assistant', content: 'x' }],
        {},
        { onDelta: () => {} },
        new AbortController().signal,
      ),
      (e: unknown) => e instanceof ProtocolError && e.code === 'malformed',
    );
  });
});

test('model load failure is a typed model_error', async () => {
  await assert.rejects(
    resolveModel('/nonexistent/model.gguf', { cacheDir: '/tmp' }),
    (e: unknown) => e instanceof ProtocolError && e.code === 'model_error',
  );
  await assert.rejects(
    LlamaEngine.load({
      modelPath: '/etc/hostname',
      modelId: 'x',
      modelSha256: '',
      modelBytes: 0,
      gpu: 'off',
      contextSize: 256,
      sequences: 1,
      threads: 1,
      flashAttention: false,
      log: silentLogger,
    }),
    (e: unknown) => e instanceof ProtocolError && e.code === 'model_error',
  );
});

describe('continuation detection (which requests may start from the last context window)', () => {
  const last = {
    messages: [{ role: 'user' as const, content: 'a' }],
    answer: 'A!',
    window: [],
    shiftMeta: null,
  };
  test('history ‖ streamed answer ‖ new user message continues', () => {
    const c = continuation(last, [
      ...last.messages,
      { role: 'assistant', content: 'A!' },
      { role: 'user', content: 'b' },
    ]);
    assert.deepEqual(c?.rest, [{ role: 'user', content: 'b' }]);
  });
  test('an edited answer, an edited earlier message, or a regenerate does not', () => {
    assert.equal(
      continuation(last, [
        ...last.messages,
        { role: 'assistant', content: 'edited' },
        { role: 'user', content: 'b' },
      ]),
      undefined,
    );
    assert.equal(
      continuation(last, [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: 'A!' },
        { role: 'user', content: 'b' },
      ]),
      undefined,
    );
    assert.equal(continuation(last, [...last.messages]), undefined);
    assert.equal(
      continuation(undefined, [
        ...last.messages,
        { role: 'assistant', content: 'A!' },
        { role: 'user', content: 'b' },
      ]),
      undefined,
    );
    assert.equal(
      continuation(last, [
        ...last.messages,
        { role: 'assistant', content: 'A!' },
        { role: 'assistant', content: 'x' },
        { role: 'user', content: 'b' },
      ]),
      undefined,
    );
  });
});
