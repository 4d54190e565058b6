/**
 * Load: N concurrent sessions × T turns against the real enclave server (child process, simulated
 * attestation, a tiny model) on loopback. Every session does a fresh attested handshake, then T
 * turns one after the other; all sessions run at once.
 *
 * Cross-session mix-ups are detected by tagging: session i's prompt is "load session i:" followed by
 * i + 1 filler words, so every session has a distinct prompt length; a calibration request per
 * session (on a quiet server, before the load) records its `usage.promptTokens`, and under load
 * every answer's authenticated `done` must report exactly that count and `maxTokens` completion
 * tokens. An answer computed for another session's prompt (or stream) cannot match.
 *
 * Reported: errors, mix-ups, p50/p99 time to first token (client-observed, from sending the request
 * to the first authenticated delta), handshake p50/p99, aggregate tokens/s, and the server's peak
 * RSS (VmHWM of the server process) and RSS after the run.
 *
 *   node --import tsx bench/load.ts [--sessions 64] [--turns 20] [--max-tokens 8] [--model PATH]
 *        [--sequences 8] [--json FILE]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, DEFAULT_CLIENT_POLICY } from '../client/index';
import type { ChatEvent, Session } from '../client/index';

const repoRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..');

export interface LoadServer {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves with the exit code/signal. */
  stop(graceMs?: number): Promise<number | string>;
}

/** Starts `teechat-server` (through tsx) in its own process group and waits for "listening on". */
export async function startLoadServer(
  model: string,
  extra: readonly string[] = [],
  timeoutMs = 120_000,
  port = 0,
): Promise<LoadServer> {
  const args = [
    '--import',
    'tsx',
    join(repoRoot, 'enclave-server', 'main.ts'),
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--model',
    model,
    '--attestation',
    'simulated',
    '--gpu-attestation',
    'simulated',
    // defaults for a CPU test machine, unless the caller sets them
    ...(extra.includes('--gpu') ? [] : ['--gpu', 'off']),
    ...(extra.includes('--threads') ? [] : ['--threads', '1']),
    ...extra,
  ];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | string>((r) =>
    child.once('exit', (code, sig) => r(code ?? sig ?? -1)),
  );
  const kill = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-(child.pid as number), sig);
    } catch {
      // already gone
    }
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill('SIGKILL');
      reject(new Error(`server did not listen within ${timeoutMs} ms; stderr:\n${err}`));
    }, timeoutMs);
    const poll = setInterval(() => {
      const m = /^listening on (\S+)$/m.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve(m[1]);
      }
    }, 20);
    void exited.then((code) => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(new Error(`server exited (${code}) before listening; stderr:\n${err}`));
    });
  });
  return {
    url,
    pid: child.pid as number,
    child,
    stderr: () => err,
    async stop(graceMs = 8_000) {
      kill('SIGTERM');
      const t = setTimeout(() => kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Resident set (current and peak) of a process in bytes, from /proc (Linux); null elsewhere. */
export function processRss(pid: number): { rss: number; peak: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string): number =>
      Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
  } catch {
    return null;
  }
}

export interface LoadOptions {
  readonly sessions: number;
  readonly turns: number;
  readonly maxTokens: number;
  /** Overall deadline (ms); the run fails with the sessions still open when it passes. */
  readonly deadlineMs: number;
  /** Called with the server RSS sampler's pid (optional). */
  readonly serverPid?: number;
}

export interface LoadResult {
  sessions: number;
  turns: number;
  requests: number;
  completed: number;
  errors: number;
  errorSamples: string[];
  mixups: number;
  mixupSamples: string[];
  wallSeconds: number;
  tokens: number;
  aggregateTokensPerSecond: number;
  ttftMs: { p50: number; p90: number; p99: number; max: number };
  handshakeMs: { p50: number; p99: number; max: number };
  queuedAnswers: number;
  serverPeakRssMiB: number | null;
  serverRssAfterMiB: number | null;
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i] as number;
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

export function loadPrompt(session: number): string {
  return `load session ${session}:` + ' go'.repeat(session + 1);
}

const clientOpts = { policy: DEFAULT_CLIENT_POLICY, allowSimulated: true } as const;

async function ask(
  s: Session,
  prompt: string,
  maxTokens: number,
): Promise<{ ttft: number; events: ChatEvent[] }> {
  const t0 = performance.now();
  let ttft = NaN;
  const events: ChatEvent[] = [];
  for await (const ev of s.chat([{ role: 'user', content: prompt }], {
    maxTokens,
    temperature: 0,
    seed: 1,
  })) {
    if (ev.type === 'delta' && Number.isNaN(ttft)) ttft = performance.now() - t0;
    events.push(ev);
  }
  return { ttft, events };
}

/** Calibration: each session's prompt, alone on the server, gives its expected promptTokens. */
export async function calibrate(url: string, sessions: number): Promise<number[]> {
  const s = await connect(url, clientOpts);
  try {
    const out: number[] = [];
    for (let i = 0; i < sessions; i++) {
      const { events } = await ask(s, loadPrompt(i), 1);
      const done = events.at(-1);
      if (done?.type !== 'done') throw new Error(`calibration ${i}: no done`);
      out.push(done.usage.promptTokens);
    }
    return out;
  } finally {
    await s.close();
  }
}

export async function runLoad(
  url: string,
  expected: readonly number[],
  o: LoadOptions,
): Promise<LoadResult> {
  const ttfts: number[] = [];
  const handshakes: number[] = [];
  const errorSamples: string[] = [];
  const mixupSamples: string[] = [];
  let errors = 0;
  let mixups = 0;
  let completed = 0;
  let tokens = 0;
  let queued = 0;
  let peak = o.serverPid !== undefined ? (processRss(o.serverPid)?.peak ?? null) : null;
  const sampler =
    o.serverPid !== undefined
      ? setInterval(() => {
          const r = processRss(o.serverPid as number);
          if (r && (peak === null || r.peak > peak)) peak = r.peak;
        }, 250)
      : undefined;
  const t0 = performance.now();
  const deadline = Date.now() + o.deadlineMs;
  const one = async (i: number): Promise<void> => {
    let s: Session | undefined;
    try {
      const h0 = performance.now();
      s = await connect(url, { ...clientOpts, timeoutMs: Math.max(1, deadline - Date.now()) });
      handshakes.push(performance.now() - h0);
      for (let t = 0; t < o.turns; t++) {
        if (Date.now() > deadline) throw new Error(`deadline passed at turn ${t}`);
        const { ttft, events } = await ask(s, loadPrompt(i), o.maxTokens);
        const done = events.at(-1);
        if (done?.type !== 'done') throw new Error(`turn ${t}: the answer ended without done`);
        if (events.some((e) => e.type === 'queued')) queued++;
        const deltas = events.filter((e) => e.type === 'delta').length;
        if (
          done.usage.promptTokens !== expected[i] ||
          done.usage.completionTokens !== o.maxTokens ||
          deltas === 0
        ) {
          mixups++;
          if (mixupSamples.length < 5)
            mixupSamples.push(
              `session ${i} turn ${t}: promptTokens ${done.usage.promptTokens} (expected ${expected[i]}), completionTokens ${done.usage.completionTokens} (expected ${o.maxTokens}), ${deltas} deltas`,
            );
        }
        ttfts.push(ttft);
        tokens += done.usage.completionTokens;
        completed++;
      }
    } catch (e) {
      errors++;
      if (errorSamples.length < 5)
        errorSamples.push(`session ${i}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      await s?.close().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: o.sessions }, (_, i) => one(i)));
  const wall = (performance.now() - t0) / 1000;
  if (sampler) clearInterval(sampler);
  const after = o.serverPid !== undefined ? processRss(o.serverPid) : null;
  if (after && (peak === null || after.peak > peak)) peak = after.peak;
  const mib = (b: number | null): number | null => (b === null ? null : round(b / 2 ** 20, 1));
  return {
    sessions: o.sessions,
    turns: o.turns,
    requests: o.sessions * o.turns,
    completed,
    errors,
    errorSamples,
    mixups,
    mixupSamples,
    wallSeconds: round(wall, 1),
    tokens,
    aggregateTokensPerSecond: round(tokens / wall, 1),
    ttftMs: {
      p50: round(quantile(ttfts, 0.5)),
      p90: round(quantile(ttfts, 0.9)),
      p99: round(quantile(ttfts, 0.99)),
      max: round(quantile(ttfts, 1)),
    },
    handshakeMs: {
      p50: round(quantile(handshakes, 0.5)),
      p99: round(quantile(handshakes, 0.99)),
      max: round(quantile(handshakes, 1)),
    },
    queuedAnswers: queued,
    serverPeakRssMiB: mib(peak),
    serverRssAfterMiB: mib(after?.rss ?? null),
  };
}

// ------------------------------------------------------------------ CLI

const HELP = `usage: node --import tsx bench/load.ts [options]
  --sessions N     concurrent sessions (default 64)
  --turns N        turns per session (default 20)
  --max-tokens N   tokens per answer (default 8)
  --sequences N    server --sequences (default 8)
  --model PATH     GGUF model (default: the generated tiny ChatML model)
  --deadline-s N   overall bound (default 600)
  --json FILE      also write the result JSON to FILE
Prints the result JSON on stdout; exit 0 only with zero errors and zero mix-ups.`;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const o = { sessions: 64, turns: 20, maxTokens: 8, sequences: 8, deadlineS: 600 };
  let model: string | undefined;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    const n = (): number => {
      const x = Number(v());
      if (!Number.isInteger(x) || x < 1) throw new Error(`${a}: expected a positive integer`);
      return x;
    };
    if (a === '--help' || a === '-h') {
      console.log(HELP);
      return 0;
    } else if (a === '--sessions') o.sessions = n();
    else if (a === '--turns') o.turns = n();
    else if (a === '--max-tokens') o.maxTokens = n();
    else if (a === '--sequences') o.sequences = n();
    else if (a === '--deadline-s') o.deadlineS = n();
    else if (a === '--model') model = v();
    else if (a === '--json') json = v();
    else {
      console.error(`load: unknown argument ${a}\n${HELP}`);
      return 2;
    }
  }
  if (model === undefined) {
    const { tinyChatModelPath } = await import('../test/helpers/tiny-model');
    model = tinyChatModelPath();
  }
  const srv = await startLoadServer(model, [
    '--sequences',
    String(o.sequences),
    '--context-size',
    String(Math.max(1024, o.sequences * 256)),
    '--max-sessions',
    String(o.sessions + 8),
    // every simulated user connects from 127.0.0.1 (see test/integration/load.test.ts)
    '--max-pending-per-address',
    String(o.sessions),
    // one client process opens all 64 connections at once and verifies 64 ServerHellos on a busy
    // event loop: the later ClientHellos can take longer than the default 3 s hello timeout.
    '--hello-timeout',
    '30s',
  ]);
  try {
    console.error(`load: server ${srv.url} (pid ${srv.pid}); calibrating ${o.sessions} prompts …`);
    const expected = await calibrate(srv.url, o.sessions);
    console.error(`load: ${o.sessions} sessions × ${o.turns} turns × ${o.maxTokens} tokens …`);
    const r = await runLoad(srv.url, expected, {
      sessions: o.sessions,
      turns: o.turns,
      maxTokens: o.maxTokens,
      deadlineMs: o.deadlineS * 1000,
      serverPid: srv.pid,
    });
    const doc = { model, sequences: o.sequences, ...r };
    const text = JSON.stringify(doc, null, 2) + '\n';
    process.stdout.write(text);
    if (json) writeFileSync(json, text);
    return r.errors === 0 && r.mixups === 0 && r.completed === r.requests ? 0 : 1;
  } finally {
    await srv.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (c) => (process.exitCode = c),
    (e: unknown) => {
      console.error(`load: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exitCode = 1;
    },
  );
}
