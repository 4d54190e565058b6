#!/usr/bin/env node
// `npm start`: the main job on the embedded default, end to end on this machine.
//   1. starts dist/teechat-server.mjs on loopback with SIMULATED attestation (byte-exact SEV-SNP
//      and NVIDIA reports signed by roots generated at start) and a small model;
//   2. runs the terminal client (dist/teechat.mjs) through the full path: attested handshake,
//      offline evidence verification, encrypted streaming; prints the streamed answer;
//   3. prints the verified evidence summary (`teechat attest show --server`), then stops the
//      server (its whole process group).
// Model: --model PATH|hf:URI, else ../shared/models/stories260K.gguf when present, else a tiny
// random-weights ChatML model the project generates itself (offline; its answer is noise, but
// every byte of it went through the attested, encrypted path).
// Usage: npm start [-- --model PATH|hf:URI] [--prompt TEXT] [--max-tokens N]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, tmpdir } from 'node:os';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
};
if (args.includes('--help')) {
  process.stdout.write(
    'usage: npm start [-- --model PATH|hf:URI] [--prompt TEXT] [--max-tokens N]\n',
  );
  process.exit(0);
}

function pickModel() {
  const given = opt('model', '');
  if (given !== '') return { model: given, what: 'given with --model' };
  const shared = resolve(root, '..', 'shared', 'models', 'stories260K.gguf');
  if (existsSync(shared)) return { model: shared, what: 'stories260K (../shared/models)' };
  const tiny = join(root, '.cache', 'demo', 'tiny-chatml.gguf');
  if (!existsSync(tiny)) {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts', 'make-tiny-model.ts'), tiny],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    if (r.status !== 0) {
      process.stderr.write(
        'demo: could not generate the tiny model (is tsx installed? run npm install)\n',
      );
      process.exit(1);
    }
  }
  return { model: tiny, what: 'generated tiny random-weights ChatML model (answers are noise)' };
}

const { model, what } = pickModel();
// One thread on small machines: llama.cpp's spinning thread barrier makes 2 threads on a busy
// 2-core machine 100x slower (measured: 96 tokens in 0.1 s with 1 thread, 9-40 s with 2).
const threads = opt('threads', cpus().length >= 8 ? '4' : '1');
const prompt = opt('prompt', 'Once upon a time, a little robot');
const maxTokens = opt('max-tokens', '96');
const serverJs = join(root, 'dist', 'teechat-server.mjs');
const clientJs = join(root, 'dist', 'teechat.mjs');
for (const f of [serverJs, clientJs]) {
  if (!existsSync(f)) {
    process.stderr.write(`demo: ${f} is missing; run "node esbuild.mjs" first (npm start does)\n`);
    process.exit(1);
  }
}

process.stderr.write(
  `== TEEChat demo: model ${what}\n== starting the enclave server (simulated attestation, loopback)\n`,
);
const server = spawn(
  process.execPath,
  [
    serverJs,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--model',
    model,
    '--attestation',
    'simulated',
    '--gpu-attestation',
    'simulated',
    '--gpu',
    'auto',
    '--threads',
    threads,
    '--sequences',
    '4',
    '--log-level',
    'warn',
  ],
  { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'inherit'] },
);
const stopServer = () => {
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    // already gone
  }
};
process.on('exit', stopServer);
process.on('SIGINT', () => process.exit(130));

const url = await new Promise((res, rej) => {
  let buf = '';
  const timer = setTimeout(
    () => rej(new Error('server did not report "listening on" within 120 s')),
    120_000,
  );
  server.stdout.on('data', (d) => {
    buf += d.toString();
    const m = /^listening on (\S+)$/m.exec(buf);
    if (m) {
      clearTimeout(timer);
      res(m[1]);
    }
  });
  server.once('exit', (code) => {
    clearTimeout(timer);
    rej(new Error(`server exited with code ${code} before listening`));
  });
}).catch((e) => {
  process.stderr.write(`demo: ${e.message}\n`);
  process.exit(1);
});

const run = (argv) =>
  new Promise((res) => {
    const c = spawn(process.execPath, [clientJs, ...argv], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    c.once('exit', (code) => res(code ?? 1));
  });

// The CLI sends nothing to an unpinned server. The demo's server is new on every run (fresh
// simulated roots, a new port): trust it on first use, recorded in a throw-away known enclaves
// file, so the user's own file (~/.config/teechat/known_enclaves) is never touched.
const knownDir = mkdtempSync(join(tmpdir(), 'teechat-demo-'));
const pin = ['--known-enclaves', join(knownDir, 'known_enclaves')];
process.stderr.write(
  `\n== client: teechat chat --server ${url} --allow-simulated --trust-on-first-use\n== prompt: ${prompt}\n\n`,
);
const chatCode = await run([
  'chat',
  '--server',
  url,
  '--allow-simulated',
  ...pin,
  '--trust-on-first-use',
  '--max-tokens',
  maxTokens,
  '--temperature',
  '0.8',
  prompt,
]);
process.stderr.write(
  `\n== verified evidence summary: teechat attest show --server ${url} --allow-simulated\n\n`,
);
const showCode = await run(['attest', 'show', '--server', url, '--allow-simulated', ...pin]);
rmSync(knownDir, { recursive: true, force: true });

stopServer();
await new Promise((r) => {
  const t = setTimeout(r, 5000);
  server.once('exit', () => {
    clearTimeout(t);
    r();
  });
});
process.stderr.write(`\n== server stopped. chat exit ${chatCode}, attest show exit ${showCode}\n`);
process.exit(chatCode === 0 && showCode === 0 ? 0 : 1);
