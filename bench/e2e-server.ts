/**
 * BENCH ONLY: starts the enclave server in its own process for bench/suites/e2e.ts, with the same
 * engine settings as the suite's direct node-llama-cpp run, optionally with the plaintext channel
 * (--plain: a second, plaintext listener on the same engine) to measure the attested channel's
 * cost. Prints "listening on URL" (attested) and, with --plain, "plaintext on URL".
 * Usage: node --import tsx bench/e2e-server.ts MODEL THREADS SEQUENCES CONTEXT [--plain]
 */
import { parseServerArgs } from '../enclave-server/config';
import { LlamaEngine } from '../enclave-server/engine/llama';
import { resolveModel } from '../enclave-server/engine/model';
import { silentLogger } from '../enclave-server/log';
import { startServer } from '../enclave-server/start';
import { PlainChannel } from './plain-channel';

const [modelPath = '', threads = '1', sequences = '8', context = '2560'] = process.argv.slice(2);
const plain = process.argv.includes('--plain');
const { config } = parseServerArgs(
  [
    '--port',
    '0',
    '--model',
    modelPath,
    '--attestation',
    'simulated',
    '--gpu-attestation',
    'simulated',
    '--gpu',
    'off',
    '--max-sessions',
    '512',
  ],
  {},
);
const m = await resolveModel(modelPath, { cacheDir: '/nonexistent' });
const engine = await LlamaEngine.load({
  modelPath: m.path,
  modelId: m.id,
  modelSha256: m.sha256,
  modelBytes: m.bytes,
  gpu: 'off',
  contextSize: Number(context),
  sequences: Number(sequences),
  threads: Number(threads),
  flashAttention: undefined,
  log: silentLogger,
});
// Both servers share ONE engine (one llama.cpp context in this process), so the secure and the
// plaintext variants are measured under identical engine conditions.
const secure = await startServer({ ...config, sequences: Number(sequences) }, silentLogger, {
  engine,
});
process.stdout.write(`listening on ${secure.url}\n`);
if (plain) {
  const plainSrv = await startServer({ ...config, sequences: Number(sequences) }, silentLogger, {
    engine,
    benchPlaintextChannel: () => new PlainChannel(),
  });
  process.stdout.write(`plaintext on ${plainSrv.url}\n`);
}
process.on('SIGTERM', () => {
  void secure.server.shutdown().then(() => process.exit(0));
});
