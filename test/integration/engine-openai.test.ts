import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAiEngine, checkUpstreamUrl, sseData } from '../../enclave-server/engine/openai';
import { silentLogger } from '../../enclave-server/log';
import { startOpenAiStandIn, type StandIn } from '../helpers/openai-standin';
import { isCode } from '../helpers/errors';
import { UsageError } from '../../protocol-node/args';

describe('OpenAI-compatible upstream engine against a stand-in server', () => {
  let standin: StandIn;
  let engine: OpenAiEngine;
  before(async () => {
    standin = await startOpenAiStandIn({ delayMs: 2 });
    engine = await OpenAiEngine.connect({
      upstream: standin.url,
      model: '',
      sequences: 1,
      log: silentLogger,
    });
  });
  after(async () => {
    await engine?.close();
    await standin?.close();
  });

  test('discovers the model and streams deltas in order with usage', async () => {
    assert.equal(engine.info.modelId, 'standin-model');
    const s = engine.openSession();
    const deltas: string[] = [];
    const r = await s.generate(
      [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'hi' },
      ],
      { maxTokens: 5, temperature: 0.5 },
      { onDelta: (t) => deltas.push(t) },
      new AbortController().signal,
    );
    assert.deepEqual(deltas, ['tok0', ' tok1', ' tok2', ' tok3', ' tok4']);
    assert.equal(r.stopReason, 'length');
    assert.equal(r.usage.completionTokens, 5);
    assert.equal(r.usage.promptTokens, 5);
    const body = standin.requests.at(-1) as Record<string, unknown>;
    assert.equal(body['stream'], true);
    assert.equal(body['max_tokens'], 5);
    assert.equal(body['model'], 'standin-model');
    assert.deepEqual(body['messages'], [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'hi' },
    ]);
  });

  test('cancel aborts the upstream HTTP request', async () => {
    const s = engine.openSession();
    const ac = new AbortController();
    let n = 0;
    const before = standin.aborted.length;
    await assert.rejects(
      s.generate(
        [{ role: 'user', content: 'x' }],
        { maxTokens: 1000 },
        {
          onDelta: () => {
            if (++n === 2) ac.abort();
          },
        },
        ac.signal,
      ),
      isCode('cancelled'),
    );
    for (let i = 0; i < 50 && standin.aborted.length === before; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(standin.aborted.length, before + 1);
  });

  test('requests beyond the concurrency bound are queued with a position', async () => {
    const a = engine.openSession();
    const b = engine.openSession();
    const pos: number[] = [];
    const sig = new AbortController().signal;
    const [ra, rb] = await Promise.all([
      a.generate([{ role: 'user', content: 'a' }], { maxTokens: 3 }, { onDelta: () => {} }, sig),
      b.generate(
        [{ role: 'user', content: 'b' }],
        { maxTokens: 3 },
        { onDelta: () => {}, onQueued: (p) => pos.push(p) },
        sig,
      ),
    ]);
    assert.equal(ra.usage.completionTokens, 3);
    assert.equal(rb.usage.completionTokens, 3);
    assert.deepEqual(pos, [1]);
  });
});

test('an upstream HTTP error is a typed model_error', async () => {
  const standin = await startOpenAiStandIn({ failStatus: 500 });
  try {
    const e = await OpenAiEngine.connect({
      upstream: standin.url,
      model: 'm',
      sequences: 1,
      log: silentLogger,
    });
    await assert.rejects(
      e
        .openSession()
        .generate(
          [{ role: 'user', content: 'x' }],
          {},
          { onDelta: () => {} },
          new AbortController().signal,
        ),
      isCode('model_error'),
    );
  } finally {
    await standin.close();
  }
});

test('an unreachable upstream fails at start-up with model_error', async () => {
  await assert.rejects(
    OpenAiEngine.connect({
      upstream: 'http://127.0.0.1:1/v1',
      model: '',
      sequences: 1,
      log: silentLogger,
      startupTimeoutMs: 2000,
    }),
    isCode('model_error'),
  );
});

test('the upstream must be on loopback inside the CVM', () => {
  assert.equal(checkUpstreamUrl('http://127.0.0.1:8000/v1').port, '8000');
  assert.ok(checkUpstreamUrl('http://localhost:8000/v1'));
  assert.ok(checkUpstreamUrl('http://[::1]:8000/v1'));
  assert.throws(() => checkUpstreamUrl('http://10.0.0.5:8000/v1'), UsageError);
  assert.throws(() => checkUpstreamUrl('http://example.com/v1'), UsageError);
  assert.throws(() => checkUpstreamUrl('ftp://127.0.0.1/v1'), UsageError);
  assert.throws(() => checkUpstreamUrl('not a url'), UsageError);
});

test('SSE parser: CRLF, multi-line data, comments, split chunks', async () => {
  const text = ': hello\r\ndata: a\r\n\r\ndata: b1\ndata: b2\n\nevent: x\ndata: [DONE]\n\n';
  const enc = new TextEncoder().encode(text);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < enc.length; i += 3) c.enqueue(enc.subarray(i, i + 3));
      c.close();
    },
  });
  const out: string[] = [];
  for await (const d of sseData(stream, new AbortController().signal)) out.push(d);
  assert.deepEqual(out, ['a', 'b1\nb2', '[DONE]']);
});
