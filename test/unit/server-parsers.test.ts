/**
 * Property tests for the input parsers of the server and client layers: random input yields a
 * result or a ProtocolError (a UsageError for command lines), never another exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseServerArgs, parseDuration } from '../../enclave-server/config';
import { sseData, checkUpstreamUrl } from '../../enclave-server/engine/openai';
import { closeReason } from '../../protocol/errors';
import { closeError } from '../../client/transport';
import { parseFlags } from '../../client/cli/chat';
import { isRemoteModelSpec } from '../../enclave-server/engine/model';
import { ProtocolError } from '../../protocol/errors';
import { UsageError } from '../../protocol-node/args';

const onlyUsageErrors = (f: () => unknown): void => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof UsageError, `threw ${String(e)}`);
  }
};

const flagish = fc.oneof(
  fc.constantFrom(
    '--port',
    '--sequences',
    '--threads',
    '--attestation',
    '--flash-attention',
    '--no-flash-attention',
    '--idle-timeout',
    '--log-level',
    '--config',
    '--tls-cert',
    '--help',
    '--bogus',
  ),
  fc.string(),
  fc.string().map((s) => `--port=${s}`),
);

test('parseServerArgs: random argv, env and config files → a config or a usage error', () => {
  fc.assert(
    fc.property(
      fc.array(flagish, { maxLength: 8 }),
      fc.dictionary(
        fc.constantFrom('TEECHAT_PORT', 'TEECHAT_GPU', 'TEECHAT_IDLE_TIMEOUT', 'TEECHAT_X'),
        fc.string(),
      ),
      fc.string(),
      (argv, env, file) => {
        onlyUsageErrors(() => parseServerArgs(argv, env, () => file));
      },
    ),
    { numRuns: 500 },
  );
});

test('parseDuration: random strings → milliseconds in range or a usage error', () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      try {
        const ms = parseDuration('d', s);
        assert.ok(Number.isInteger(ms) && ms >= 1);
      } catch (e) {
        assert.ok(e instanceof UsageError);
      }
    }),
  );
});

test('teechat chat flags: random argv → flags or a usage error', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.constantFrom(
            '--server',
            '--max-tokens',
            '--temperature',
            '--timeout',
            '--json',
            '--x',
          ),
          fc.string(),
        ),
        { maxLength: 8 },
      ),
      (argv) => {
        onlyUsageErrors(() => parseFlags(argv));
      },
    ),
    { numRuns: 500 },
  );
});

test('WebSocket close reasons: any (code, reason) maps to a ProtocolError; the server never exceeds 123 bytes', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1000, max: 4999 }), fc.string(), (code, reason) => {
      assert.ok(closeError(code, reason) instanceof ProtocolError);
      assert.ok(Buffer.byteLength(closeReason('malformed', reason)) <= 123);
    }),
  );
  // Unauthenticated: whatever code the reason claims, it is information (transport_closed).
  assert.equal(closeError(4400, 'session_limit too many').code, 'transport_closed');
  assert.equal(closeError(4400, 'not_a_code whatever').code, 'transport_closed');
});

test('SSE parser: random bytes in random chunks never throw and never yield partial events', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 400 }),
      fc.integer({ min: 1, max: 17 }),
      async (bytes, step) => {
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            for (let i = 0; i < bytes.length; i += step) c.enqueue(bytes.subarray(i, i + step));
            c.close();
          },
        });
        const out: string[] = [];
        for await (const d of sseData(stream, new AbortController().signal)) out.push(d);
        for (const d of out) assert.equal(typeof d, 'string');
      },
    ),
    { numRuns: 200 },
  );
});

test('upstream URLs: random strings → a loopback URL or a usage error', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.webUrl()), (s) => {
      try {
        const u = checkUpstreamUrl(s);
        assert.ok(['127.', 'localhost', '[::1]'].some((p) => u.hostname.startsWith(p)));
      } catch (e) {
        assert.ok(e instanceof UsageError);
      }
    }),
  );
});

test('model specs: hf: and https: are remote, paths are local', () => {
  assert.equal(isRemoteModelSpec('hf:bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M'), true);
  assert.equal(isRemoteModelSpec('https://example.org/m.gguf'), true);
  assert.equal(isRemoteModelSpec('/models/m.gguf'), false);
  assert.equal(isRemoteModelSpec('hf.gguf'), false);
});
