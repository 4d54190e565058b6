/**
 * Server lifecycle with the real processes: SIGTERM during an answer, restart + client reconnect
 * with a fresh handshake, start-up failures (model, attestation) with their exit codes, the
 * OpenAI-compatible upstream engine through the full attested path, and stories260K.
 */
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import {
  connect,
  DEFAULT_CLIENT_POLICY,
  ReconnectingClient,
  type ChatEvent,
} from '../../client/index';
import { ProtocolError } from '../../protocol/errors';
import { tinyChatModelPath } from '../helpers/tiny-model';
import { sharedPath, skipUnlessShared } from '../helpers/shared';
import { runProcess, startServerProcess, testServerArgs } from '../helpers/server-process';
import { startOpenAiStandIn } from '../helpers/openai-standin';

const opts = { policy: DEFAULT_CLIENT_POLICY, allowSimulated: true };

async function text(
  it: AsyncIterable<ChatEvent>,
): Promise<{ text: string; last: ChatEvent | undefined }> {
  let t = '';
  let last: ChatEvent | undefined;
  for await (const ev of it) {
    last = ev;
    if (ev.type === 'delta') t += ev.text;
  }
  return { text: t, last };
}

test('SIGTERM: the in-flight answer ends with a sealed shutting_down error and the server exits 0 in time', async () => {
  const srv = await startServerProcess(
    testServerArgs(tinyChatModelPath(), ['--shutdown-timeout', '3s']),
  );
  try {
    const s = await connect(srv.url, opts);
    const gen = s.chat([{ role: 'user', content: 'long answer' }], { maxTokens: 1_000_000 });
    const it = gen[Symbol.asyncIterator]();
    await it.next();
    const t0 = Date.now();
    process.kill(-srv.child.pid!, 'SIGTERM');
    let err: unknown;
    try {
      for (;;) if ((await it.next()).done) break;
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ProtocolError && err.code === 'shutting_down', String(err));
    assert.equal(await srv.exited, 0);
    assert.ok(Date.now() - t0 < 5000, `exit took ${Date.now() - t0} ms`);
  } finally {
    await srv.stop();
  }
});

test('server restart: the ReconnectingClient reconnects with a fresh handshake', async () => {
  const first = await startServerProcess(testServerArgs(tinyChatModelPath()));
  const port = new URL(first.url).port;
  const client = new ReconnectingClient(first.url, { ...opts, attempts: 20 });
  let second: Awaited<ReturnType<typeof startServerProcess>> | undefined;
  try {
    const r1 = await text(client.chat([{ role: 'user', content: 'one' }], { maxTokens: 3 }));
    assert.equal(r1.last?.type, 'done');
    const th1 = (await client.session()).summary.transcriptHash;
    assert.equal(await first.stop(), 0);
    second = await startServerProcess(
      testServerArgs(tinyChatModelPath()).map((a, i, all) => (all[i - 1] === '--port' ? port : a)),
    );
    const r2 = await text(client.chat([{ role: 'user', content: 'two' }], { maxTokens: 3 }));
    assert.equal(r2.last?.type, 'done');
    const th2 = (await client.session()).summary.transcriptHash;
    assert.notEqual(th1, th2);
  } finally {
    await client.close();
    await first.stop();
    await second?.stop();
  }
});

test('model load failure: exit 3 with a typed message, nothing on stdout', async () => {
  const r = await runProcess([
    'enclave-server/main.ts',
    '--model',
    '/nonexistent/model.gguf',
    '--attestation',
    'simulated',
    '--threads',
    '1',
  ]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /model_error/);
  assert.equal(r.stdout, '');
});

test('no attestation hardware with --attestation auto: exit 4 (fails closed, never serves)', async () => {
  const r = await runProcess([
    'enclave-server/main.ts',
    '--model',
    tinyChatModelPath(),
    '--attestation',
    'auto',
    '--threads',
    '1',
    '--gpu',
    'off',
    '--port',
    '0',
  ]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /evidence_missing/);
  assert.doesNotMatch(r.stdout, /listening/);
});

test('usage errors: exit 2; --help: exit 0 with every option', async () => {
  const bad = await runProcess(['enclave-server/main.ts', '--sequences', '0']);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    'teechat-server: --sequences: expected an integer in [1, 256], got "0" (see teechat-server --help)\n',
  );
  const help = await runProcess(['enclave-server/main.ts', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--gpu-attestation/);
});

test('OpenAI-compatible upstream engine through the full attested path (stand-in upstream)', async () => {
  const upstream = await startOpenAiStandIn({ delayMs: 1 });
  const srv = await startServerProcess([
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--engine',
    'openai',
    '--upstream',
    upstream.url,
    '--attestation',
    'simulated',
    '--gpu-attestation',
    'simulated',
    '--sequences',
    '2',
  ]);
  try {
    const s = await connect(srv.url, opts);
    assert.equal(s.serverInfo.engine.backend, 'openai-upstream');
    assert.equal(s.summary.model.id, 'standin-model');
    const r = await text(s.chat([{ role: 'user', content: 'hi' }], { maxTokens: 4 }));
    assert.equal(r.text, 'tok0 tok1 tok2 tok3');
    assert.equal(r.last?.type, 'done');
    await s.close();
  } finally {
    await srv.stop();
    await upstream.close();
  }
});

test(
  'stories260K: a full chat through the attested, encrypted path',
  { skip: skipUnlessShared('models', 'stories260K.gguf') },
  async () => {
    const srv = await startServerProcess(
      testServerArgs(sharedPath('models', 'stories260K.gguf')!, ['--context-size', '512']),
    );
    try {
      const s = await connect(srv.url, opts);
      assert.equal(
        s.summary.model.sha256,
        '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d',
      );
      const r = await text(
        s.chat([{ role: 'user', content: 'Once upon a time' }], { maxTokens: 40 }),
      );
      assert.equal(r.last?.type, 'done');
      assert.match(r.text, /[a-z]{3,}/i, 'a real model answers with words');
      await s.close();
    } finally {
      await srv.stop();
    }
  },
);

test('--tls-cert/--tls-key: wss:// with the attested channel inside', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'teechat-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  assert.equal(r.status, 0, 'openssl could not create a test certificate');
  const srv = await startServerProcess(
    testServerArgs(tinyChatModelPath(), ['--tls-cert', cert, '--tls-key', key]),
  );
  try {
    assert.match(srv.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
    const s = await connect(srv.url, { ...opts, wsOptions: { ca: readFileSync(cert) } });
    const out = await text(s.chat([{ role: 'user', content: 'hi' }], { maxTokens: 3 }));
    assert.equal(out.last?.type, 'done');
    await s.close();
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
