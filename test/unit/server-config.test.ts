import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULTS,
  parseDuration,
  parseServerArgs,
  serverHelp,
  OPTION_SPECS,
} from '../../enclave-server/config';
import { UsageError } from '../../protocol-node/args';

const usage = (field?: string) => (e: unknown) =>
  e instanceof UsageError && (field === undefined || e.message.includes(field));

test('defaults', () => {
  const { config } = parseServerArgs([], {});
  assert.deepEqual(config, DEFAULTS);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.sequences, 8);
});

test('flags, env and config file with precedence flag > env > file', () => {
  const file = JSON.stringify({
    port: 1000,
    sequences: 4,
    'log-level': 'debug',
    idleTimeoutMs: '2m',
  });
  const { config, sources } = parseServerArgs(
    [
      '--config',
      'x.json',
      '--port=3000',
      '--threads',
      '2',
      '--no-flash-attention',
      '--handshake-timeout',
      '1500ms',
    ],
    { TEECHAT_PORT: '2000', TEECHAT_SEQUENCES: '6', TEECHAT_GPU: 'off' },
    () => file,
  );
  assert.equal(config.port, 3000);
  assert.equal(config.sequences, 6);
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.idleTimeoutMs, 120_000);
  assert.equal(config.handshakeTimeoutMs, 1500);
  assert.equal(config.threads, 2);
  assert.equal(config.flashAttention, 'off');
  assert.equal(config.gpu, 'off');
  assert.deepEqual(sources, {
    sequences: 'env',
    logLevel: 'file',
    idleTimeoutMs: 'file',
    port: 'flag',
    gpu: 'env',
    threads: 'flag',
    flashAttention: 'flag',
    handshakeTimeoutMs: 'flag',
  });
});

test('--flash-attention alone means on; with a value it takes the value', () => {
  assert.equal(parseServerArgs(['--flash-attention'], {}).config.flashAttention, 'on');
  assert.equal(parseServerArgs(['--flash-attention', 'auto'], {}).config.flashAttention, 'auto');
  assert.equal(parseServerArgs(['--flash-attention', '--port', '1'], {}).config.port, 1);
});

test('every bad value is a usage error naming the option and the value', () => {
  assert.throws(() => parseServerArgs(['--port', '70000'], {}), usage('70000'));
  assert.throws(() => parseServerArgs(['--port', 'x'], {}), usage('port'));
  assert.throws(() => parseServerArgs(['--sequences', '0'], {}), usage('sequences'));
  assert.throws(() => parseServerArgs(['--attestation', 'sgx'], {}), usage('sgx'));
  assert.throws(() => parseServerArgs(['--bogus', '1'], {}), usage('bogus'));
  assert.throws(() => parseServerArgs(['--port'], {}), usage('port'));
  assert.throws(() => parseServerArgs(['stray'], {}), usage('stray'));
  assert.throws(() => parseServerArgs(['--tls-cert', 'a.pem'], {}), usage('tls'));
  assert.throws(
    () => parseServerArgs([], { TEECHAT_LOG_LEVEL: 'loud' }),
    usage('TEECHAT_LOG_LEVEL'),
  );
  assert.throws(() => parseServerArgs(['--config', 'c'], {}, () => '[1]'), usage('config'));
  assert.throws(() => parseServerArgs(['--config', 'c'], {}, () => '{"nope":1}'), usage('nope'));
  assert.throws(() => parseServerArgs(['--config', 'c'], {}, () => '{'), usage('config'));
  assert.throws(
    () =>
      parseServerArgs(['--config', 'c'], {}, () => {
        throw new Error('ENOENT');
      }),
    usage('ENOENT'),
  );
});

test('durations', () => {
  assert.equal(parseDuration('d', '30'), 30_000);
  assert.equal(parseDuration('d', '250ms'), 250);
  assert.equal(parseDuration('d', '1.5s'), 1500);
  assert.equal(parseDuration('d', '1h'), 3_600_000);
  assert.throws(() => parseDuration('d', '0'), usage());
  assert.throws(() => parseDuration('d', '-1s'), usage());
  assert.throws(() => parseDuration('d', '5 days'), usage());
});

test('--help documents every option with its default', () => {
  const h = serverHelp();
  for (const s of OPTION_SPECS) assert.ok(h.includes(`--${s.flag} `), s.flag);
  assert.ok(parseServerArgs(['--help'], {}).help);
});
