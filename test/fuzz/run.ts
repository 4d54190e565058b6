/**
 * `npm run fuzz` — property-based fuzzing of every decoder (see targets.ts for the list and the
 * oracle). Runs the decoders on at most 2 worker threads, prints progress on stderr and a JSON
 * summary on stdout; writes each finding (input bytes + JSON details) under --out.
 *
 *   node --import tsx test/fuzz/run.ts [--runs N] [--decoder NAME[,NAME…]] [--workers 1|2]
 *        [--seed S] [--chunk N] [--slow-ms MS] [--hang-ms MS] [--out DIR] [--list] [--help]
 *
 * Exit status: 0 no findings, 1 findings (crash, oracle violation, slow input or hang), 2 usage.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Finding, TargetResult } from './engine';
import { TARGET_NAMES } from './targets';
import { WATCHDOG_HEADER } from './jobs';
import type { WorkerJob, WorkerMessage } from './jobs';
import { repoRoot } from '../helpers/shared';

const HELP = `Usage: npm run fuzz -- [options]

Property-based fuzzing (fast-check) of every decoder: random bytes plus structure-aware
mutations of real vectors (../shared/vectors) and of simulated evidence. Oracle: only
ProtocolError may be thrown, bounded time per input, no mutated frame or handshake message
accepted, canonical re-encoding where an encoder exists.

Options:
  --runs N          inputs per decoder (default 1000000; accepts 1e6)
  --decoder NAMES   only these decoders (comma-separated or repeated); see --list
  --workers N       worker threads, 1 or 2 (default 2)
  --seed S          base fast-check seed (default: random; printed in the summary)
  --chunk N         inputs per fast-check run / progress step (default 10000)
  --slow-ms MS      per-input time limit, checked twice before reporting (default 2000)
  --hang-ms MS      watchdog: no new input for this long is a hang (default 60000)
  --out DIR         where findings are written (default test-artifacts/fuzz)
  --list            print the decoder names and exit
  --help            this text

Output: progress on stderr; a JSON summary on stdout; findings as DIR/<decoder>-<kind>-<hash>.bin
(+ .json) and each decoder's slowest input as DIR/slowest/<decoder>.bin (copy interesting ones to
test/fuzz/regressions/ so npm test replays them). Exit 0 = no findings, 1 = findings, 2 = usage.
`;

interface Args {
  runs: number;
  decoders: string[];
  workers: number;
  seed: number;
  chunk: number;
  slowMs: number;
  hangMs: number;
  out: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args | 'help' | 'list' {
  const a: Args = {
    runs: 1_000_000,
    decoders: [],
    workers: 2,
    seed: (Math.random() * 0x7fffffff) | 0,
    chunk: 10_000,
    slowMs: 2_000,
    hangMs: 60_000,
    out: join(repoRoot, 'test-artifacts', 'fuzz'),
  };
  const num = (flag: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || !Number.isInteger(n) || n < min || n > max)
      throw new UsageError(
        `${flag}: expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`,
      );
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i] as string;
    const [flag, inline] =
      f.startsWith('--') && f.includes('=') ? f.split(/=(.*)/s, 2) : [f, undefined];
    const val = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--list':
        return 'list';
      case '--runs':
        a.runs = num(flag, val(), 1, 1e10);
        break;
      case '--decoder':
        for (const d of (val() ?? '').split(',').filter(Boolean)) {
          if (!(TARGET_NAMES as readonly string[]).includes(d))
            throw new UsageError(
              `--decoder: unknown ${JSON.stringify(d)}; one of ${TARGET_NAMES.join(', ')}`,
            );
          a.decoders.push(d);
        }
        break;
      case '--workers':
        a.workers = num(flag, val(), 1, 2);
        break;
      case '--seed':
        a.seed = num(flag, val(), -0x80000000, 0x7fffffff);
        break;
      case '--chunk':
        a.chunk = num(flag, val(), 1, 1e7);
        break;
      case '--slow-ms':
        a.slowMs = num(flag, val(), 1, 1e7);
        break;
      case '--hang-ms':
        a.hangMs = num(flag, val(), 100, 1e8);
        break;
      case '--out': {
        const v = val();
        if (!v) throw new UsageError('--out: expected a directory');
        a.out = v;
        break;
      }
      default:
        throw new UsageError(`unknown option ${JSON.stringify(f)} (see --help)`);
    }
  }
  if (a.decoders.length === 0) a.decoders = [...TARGET_NAMES];
  return a;
}

const WATCHDOG_BYTES = 4 * 1024 * 1024;

interface Slot {
  worker: Worker;
  meta: Int32Array;
  data: Uint8Array;
  job: WorkerJob | null;
  lastCount: number;
  lastChange: number;
}

function saveFinding(out: string, f: Finding): string {
  mkdirSync(out, { recursive: true });
  const bytes = Buffer.from(f.inputHex, 'hex');
  const id = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  const base = join(out, `${f.decoder}-${f.kind}-${id}`);
  writeFileSync(`${base}.bin`, bytes);
  writeFileSync(`${base}.json`, JSON.stringify(f, null, 2) + '\n');
  return `${base}.bin`;
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`fuzz: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed === 'list') {
    process.stdout.write(TARGET_NAMES.join('\n') + '\n');
    return 0;
  }
  const args = parsed;
  const started = Date.now();
  const queue = [...args.decoders];
  const results: TargetResult[] = [];
  const progress = new Map<string, { done: number; r: TargetResult }>();
  const errors: { decoder: string; message: string }[] = [];
  const saved: string[] = [];
  process.stderr.write(
    `fuzz: ${queue.length} decoders × ${args.runs} inputs, ${args.workers} worker(s), seed ${args.seed}\n`,
  );

  await new Promise<void>((resolveAll) => {
    const slots: Slot[] = [];
    let active = 0;
    const finishIfIdle = (): void => {
      if (queue.length === 0 && slots.every((s) => s.job === null)) {
        clearInterval(timer);
        for (const s of slots) void s.worker.terminate();
        resolveAll();
      }
    };
    const next = (s: Slot): void => {
      const decoder = queue.shift();
      if (decoder === undefined) {
        s.job = null;
        finishIfIdle();
        return;
      }
      const job: WorkerJob = {
        decoder,
        runs: args.runs,
        seed: args.seed,
        chunk: args.chunk,
        slowMs: args.slowMs,
      };
      s.job = job;
      s.lastChange = Date.now();
      process.stderr.write(`fuzz: start ${decoder}\n`);
      s.worker.postMessage(job);
    };
    const spawn = (): Slot => {
      const sab = new SharedArrayBuffer(WATCHDOG_HEADER + WATCHDOG_BYTES);
      const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
        workerData: { watchdog: sab },
      });
      const s: Slot = {
        worker,
        meta: new Int32Array(sab, 0, 2),
        data: new Uint8Array(sab, WATCHDOG_HEADER),
        job: null,
        lastCount: 0,
        lastChange: Date.now(),
      };
      active++;
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress') {
          progress.set(m.decoder, { done: m.done, r: m.result });
        } else if (m.type === 'result') {
          results.push(m.result);
          progress.delete(m.result.decoder);
          for (const f of m.result.findings) saved.push(saveFinding(args.out, f));
          mkdirSync(join(args.out, 'slowest'), { recursive: true });
          writeFileSync(
            join(args.out, 'slowest', `${m.result.decoder}.bin`),
            Buffer.from(m.result.slowestInputHex, 'hex'),
          );
          const r = m.result;
          process.stderr.write(
            `fuzz: done  ${r.decoder}: ${r.inputs} inputs in ${(r.ms / 1000).toFixed(1)} s ` +
              `(${r.inputsPerSecond}/s), accepted ${r.accepted}, rejected ${r.rejected}, findings ${r.findings.length}\n`,
          );
          next(s);
        } else {
          errors.push({ decoder: m.decoder, message: m.message });
          process.stderr.write(`fuzz: ERROR ${m.decoder}: ${m.message}\n`);
          next(s);
        }
      });
      worker.on('error', (e) => {
        const d = s.job?.decoder ?? '?';
        errors.push({ decoder: d, message: `worker error: ${e.stack ?? e.message}` });
        process.stderr.write(`fuzz: worker error on ${d}: ${e.message}\n`);
        active--;
        s.job = null;
        const i = slots.indexOf(s);
        if (i >= 0) slots.splice(i, 1);
        if (queue.length > 0) {
          const ns = spawn();
          slots.push(ns);
          next(ns);
        } else finishIfIdle();
      });
      return s;
    };
    for (let i = 0; i < Math.min(args.workers, queue.length); i++) slots.push(spawn());
    for (const s of [...slots]) next(s);

    const timer = setInterval(() => {
      const now = Date.now();
      const lines: string[] = [];
      for (const s of [...slots]) {
        if (!s.job) continue;
        const count = Atomics.load(s.meta, 0);
        if (count !== s.lastCount) {
          s.lastCount = count;
          s.lastChange = now;
        } else if (now - s.lastChange > args.hangMs) {
          const len = Atomics.load(s.meta, 1);
          const input = s.data.slice(0, Math.min(len, s.data.length));
          const f: Finding = {
            decoder: s.job.decoder,
            kind: 'hang',
            message: `no new input for ${args.hangMs} ms (worker terminated)`,
            inputHex: Buffer.from(input).toString('hex'),
            inputLength: len,
            origin: 'watchdog',
            seed: args.seed,
          };
          saved.push(saveFinding(args.out, f));
          const p = progress.get(s.job.decoder);
          results.push({
            ...(p?.r ?? {
              decoder: s.job.decoder,
              description: '',
              seedSources: '',
              seedCount: 0,
              runsRequested: args.runs,
              inputs: count,
              accepted: 0,
              rejected: 0,
              rejectedByCode: {},
              ms: now - started,
              inputsPerSecond: 0,
              slowestInputMs: args.hangMs,
              slowestInputHex: '',
              seed: args.seed,
            }),
            findings: [...(p?.r.findings ?? []), f],
          });
          process.stderr.write(
            `fuzz: HANG in ${s.job.decoder}; input saved; restarting the worker\n`,
          );
          s.job = null;
          void s.worker.terminate();
          slots.splice(slots.indexOf(s), 1);
          active--;
          if (queue.length > 0) {
            const ns = spawn();
            slots.push(ns);
            next(ns);
          } else finishIfIdle();
          continue;
        }
        const p = progress.get(s.job.decoder);
        if (p) {
          lines.push(
            `${s.job.decoder} ${p.done}/${args.runs} (${((100 * p.done) / args.runs).toFixed(1)}%) ` +
              `${p.r.inputsPerSecond}/s findings ${p.r.findings.length}`,
          );
        }
      }
      if (lines.length > 0 && now % 10_000 < 1_000)
        process.stderr.write(
          `fuzz: [${Math.round((now - started) / 1000)} s] ${lines.join(' | ')}\n`,
        );
    }, 1_000);
    void active;
  });

  const findings = results.flatMap((r) => r.findings);
  const summary = {
    ok: findings.length === 0 && errors.length === 0,
    seed: args.seed,
    runsPerDecoder: args.runs,
    workers: args.workers,
    wallSeconds: Math.round((Date.now() - started) / 100) / 10,
    totalInputs: results.reduce((n, r) => n + r.inputs, 0),
    decoders: results
      .sort((x, y) => args.decoders.indexOf(x.decoder) - args.decoders.indexOf(y.decoder))
      .map((r) => ({
        decoder: r.decoder,
        inputs: r.inputs,
        accepted: r.accepted,
        rejected: r.rejected,
        findings: r.findings.length,
        seconds: Math.round(r.ms / 100) / 10,
        inputsPerSecond: r.inputsPerSecond,
        slowestInputMs: r.slowestInputMs,
        seeds: r.seedCount,
        seedSources: r.seedSources,
        rejectedByCode: r.rejectedByCode,
      })),
    findings: findings.map((f) => ({
      decoder: f.decoder,
      kind: f.kind,
      message: f.message.split('\n')[0],
      inputLength: f.inputLength,
      origin: f.origin,
      seed: f.seed,
      path: f.path,
    })),
    findingFiles: saved,
    errors,
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  return summary.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
