/**
 * GPU end-to-end benchmark (bench/gpu/README.md): the same figures as the e2e suite, on a CUDA
 * machine, for every combination of flash attention on/off × CUDA graphs on/off
 * (GGML_CUDA_DISABLE_GRAPHS=1), with 1–16 concurrent sequences:
 *
 *   direct        the model through node-llama-cpp in this process (CUDA, same settings): TTFT and
 *                 decode tokens/s of one sequence — the no-TEEChat baseline;
 *   secure        the real teechat-server (--gpu cuda) and the real client over loopback (attested
 *                 handshake, encrypted channel): TTFT and tokens/s of one session;
 *   scaling       aggregate tokens/s with 1, 2, 4, 8, 16 concurrent sessions (server --sequences 16).
 *
 * Ratios are computed pair by pair (secure / direct) from medians of interleaved repeats.
 *
 *   node --import tsx bench/gpu/run.ts --model /models/llama-3.2-3b-instruct-q4_k_m.gguf \
 *        [--repeats 5] [--max-tokens 128] [--fa on,off] [--graphs on,off] [--sessions 1,2,4,8,16]
 *        [--attestation simulated] [--gpu-attestation simulated] [--json FILE]
 *
 * Each flash-attention × graphs combination runs in a fresh child process of this script (CUDA
 * graphs are chosen when llama.cpp initialises CUDA, so the environment must be set before that).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLlama, LlamaChat } from 'node-llama-cpp';
import { connect, DEFAULT_CLIENT_POLICY } from '../../client/index';
import type { Session } from '../../client/index';
import { startLoadServer } from '../load';
import { median } from '../lib';

const here = fileURLToPath(new URL('.', import.meta.url));

interface Args {
  model: string;
  repeats: number;
  maxTokens: number;
  fa: string[];
  graphs: string[];
  sessions: number[];
  attestation: string;
  gpuAttestation: string;
  json?: string;
  /** internal: run one combination and print its JSON */
  one?: { fa: string; graphs: string };
}

function parse(argv: string[]): Args {
  const a: Args = {
    model: '',
    repeats: 5,
    maxTokens: 128,
    fa: ['on', 'off'],
    graphs: ['on', 'off'],
    sessions: [1, 2, 4, 8, 16],
    attestation: 'simulated',
    gpuAttestation: 'simulated',
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--model') a.model = v();
    else if (k === '--repeats') a.repeats = Number(v());
    else if (k === '--max-tokens') a.maxTokens = Number(v());
    else if (k === '--fa') a.fa = v().split(',');
    else if (k === '--graphs') a.graphs = v().split(',');
    else if (k === '--sessions') a.sessions = v().split(',').map(Number);
    else if (k === '--attestation') a.attestation = v();
    else if (k === '--gpu-attestation') a.gpuAttestation = v();
    else if (k === '--json') a.json = v();
    else if (k === '--one') {
      const [fa, graphs] = v().split(':');
      a.one = { fa: fa ?? 'on', graphs: graphs ?? 'on' };
    } else if (k === '--help') {
      console.log('see bench/gpu/README.md');
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  if (!a.model) throw new Error('--model PATH is required (a GGUF file)');
  return a;
}

const PROMPTS = [
  'Explain in detail how a lighthouse lens focuses light.',
  'Write a long story about a cat who learns to sail.',
  'Describe the water cycle step by step, with examples.',
  'List and explain twenty uses of a paper clip.',
];

interface Run {
  ttftMs: number;
  tokensPerS: number;
}

async function secureRun(
  s: Session,
  prompt: string,
  maxTokens: number,
): Promise<Run & { tokens: number }> {
  const t0 = performance.now();
  let first = -1;
  let last = 0;
  let tokens = 0;
  for await (const ev of s.chat([{ role: 'user', content: prompt }], {
    maxTokens,
    temperature: 0,
  })) {
    if (ev.type === 'delta') {
      if (first < 0) first = performance.now();
      last = performance.now();
    } else if (ev.type === 'done') tokens = ev.usage.completionTokens;
  }
  return {
    ttftMs: first - t0,
    tokensPerS: ((tokens - 1) * 1000) / Math.max(1e-3, last - first),
    tokens,
  };
}

async function one(a: Args, fa: string, graphs: string): Promise<Record<string, unknown>> {
  const flash = fa === 'on';
  // direct baseline, same process, CUDA
  const llama = await getLlama({ gpu: 'cuda', build: 'never' });
  const model = await llama.loadModel({ modelPath: a.model, gpuLayers: 'max' });
  const ctx = await model.createContext({ contextSize: 4096, sequences: 1, flashAttention: flash });
  const chat = new LlamaChat({ contextSequence: ctx.getSequence() });
  const direct = async (q: string): Promise<Run> => {
    const t0 = performance.now();
    let first = -1;
    let last = 0;
    let tokens = 0;
    await chat.generateResponse(
      [
        { type: 'user', text: q },
        { type: 'model', response: [] },
      ],
      {
        maxTokens: a.maxTokens,
        temperature: 0,
        onToken: (t) => (tokens += t.length),
        onTextChunk: () => {
          if (first < 0) first = performance.now();
          last = performance.now();
        },
      },
    );
    return { ttftMs: first - t0, tokensPerS: ((tokens - 1) * 1000) / Math.max(1e-3, last - first) };
  };
  const maxSessions = Math.max(...a.sessions);
  const srv = await startLoadServer(
    a.model,
    [
      '--gpu',
      'cuda',
      '--flash-attention',
      fa,
      '--sequences',
      String(maxSessions),
      '--context-size',
      String(4096 * maxSessions),
      '--threads',
      '4',
      '--attestation',
      a.attestation,
      '--gpu-attestation',
      a.gpuAttestation,
      '--max-sessions',
      String(maxSessions + 4),
    ],
    600_000,
  );
  try {
    const opts = { policy: DEFAULT_CLIENT_POLICY, allowSimulated: a.attestation === 'simulated' };
    const h0 = performance.now();
    const s = await connect(srv.url, opts);
    const handshakeMs = performance.now() - h0;
    await secureRun(s, 'warm up', 8);
    await direct('warm up');
    const d: Run[] = [];
    const sec: Run[] = [];
    for (let r = 0; r < a.repeats; r++) {
      const q = `${PROMPTS[r % PROMPTS.length]} (${r})`;
      d.push(await direct(q));
      sec.push(await secureRun(s, q, a.maxTokens));
    }
    await s.close();
    const scaling: Record<string, number> = {};
    for (const n of a.sessions) {
      const ss = await Promise.all(Array.from({ length: n }, () => connect(srv.url, opts)));
      const t0 = performance.now();
      const rs = await Promise.all(
        ss.map((x, i) => secureRun(x, `${PROMPTS[i % PROMPTS.length]} [${i}]`, a.maxTokens)),
      );
      const wall = (performance.now() - t0) / 1000;
      scaling[String(n)] = Math.round(rs.reduce((t, x) => t + x.tokens, 0) / wall);
      await Promise.all(ss.map((x) => x.close()));
    }
    const med = (xs: Run[], k: keyof Run): number => median(xs.map((x) => x[k]));
    return {
      flash_attention: fa,
      cuda_graphs: graphs,
      server_summary: srv
        .stderr()
        .split('\n')
        .filter((l) => /backend|gpu|flash|sequences|VRAM/i.test(l))
        .slice(0, 8),
      handshake_ms: Math.round(handshakeMs),
      direct: { ttft_ms: med(d, 'ttftMs'), tokens_per_s: med(d, 'tokensPerS') },
      secure: { ttft_ms: med(sec, 'ttftMs'), tokens_per_s: med(sec, 'tokensPerS') },
      secure_vs_direct_tokens_per_s_ratio: med(sec, 'tokensPerS') / med(d, 'tokensPerS'),
      secure_vs_direct_ttft_ratio: med(sec, 'ttftMs') / med(d, 'ttftMs'),
      latency_overhead_percent:
        ((med(sec, 'ttftMs') + a.maxTokens * (1000 / med(sec, 'tokensPerS'))) /
          (med(d, 'ttftMs') + a.maxTokens * (1000 / med(d, 'tokensPerS'))) -
          1) *
        100,
      concurrency_scaling: scaling,
    };
  } finally {
    await srv.stop();
    await ctx.dispose();
    await model.dispose();
  }
}

function withoutJson(argv: string[]): string[] {
  const i = argv.indexOf('--json');
  return i < 0 ? argv : [...argv.slice(0, i), ...argv.slice(i + 2)];
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  if (a.one) {
    process.stdout.write(JSON.stringify(await one(a, a.one.fa, a.one.graphs)) + '\n');
    return;
  }
  const results: unknown[] = [];
  for (const fa of a.fa) {
    for (const graphs of a.graphs) {
      console.error(`gpu bench: flash attention ${fa}, CUDA graphs ${graphs} …`);
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(here, 'run.ts'),
          ...withoutJson(process.argv.slice(2)),
          '--one',
          `${fa}:${graphs}`,
        ],
        {
          env: { ...process.env, ...(graphs === 'off' ? { GGML_CUDA_DISABLE_GRAPHS: '1' } : {}) },
          stdio: ['ignore', 'pipe', 'inherit'],
          encoding: 'utf8',
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      if (r.status !== 0)
        throw new Error(`combination fa=${fa} graphs=${graphs} failed (${r.status})`);
      results.push(JSON.parse(r.stdout.trim().split('\n').at(-1) as string));
    }
  }
  const doc = {
    timestamp: new Date().toISOString(),
    model: a.model,
    maxTokens: a.maxTokens,
    repeats: a.repeats,
    results,
  };
  const text = JSON.stringify(doc, null, 2) + '\n';
  process.stdout.write(text);
  const out =
    a.json ?? join(here, '..', 'results', `gpu-${doc.timestamp.replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, text);
  console.error(`gpu bench: wrote ${out}`);
}

main().catch((e: unknown) => {
  console.error(`gpu bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
