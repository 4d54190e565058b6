/**
 * Benchmark helpers: calibrated timing loops with medians over repeats. Times are the process's
 * CPU time (user + system, `process.cpuUsage`), not wall-clock: on a shared 2-core machine the
 * wall clock mostly measures other processes (load averages of 5–10 were seen while developing),
 * whereas CPU time is what an operation costs. Every suite runs its own no-crypto baseline in the
 * same process so figures can also be compared as ratios.
 */
import { cpuUsage } from 'node:process';

/** Milliseconds of CPU time this process has used. */
export function cpuMs(): number {
  const u = cpuUsage();
  return (u.user + u.system) / 1000;
}

export const CLOCK = 'process CPU time (user + system), median of repeats';
export interface BenchOptions {
  readonly quick: boolean;
}

export interface Suite {
  readonly name: string;
  readonly description?: string;
  run(opts: BenchOptions): Promise<Record<string, number | object>>;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Milliseconds per call of `fn`: each repeat runs enough iterations to last ≥ minMs, after a
 * warm-up; returns the median over repeats.
 */
export function msPerOp(
  fn: () => unknown,
  o: { quick: boolean; minMs?: number; repeats?: number },
): number {
  const minMs = o.minMs ?? (o.quick ? 20 : 100);
  const repeats = o.repeats ?? (o.quick ? 5 : 11);
  for (let i = 0; i < 3; i++) fn();
  let iters = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < iters; i++) fn();
    const dt = performance.now() - t;
    if (dt >= minMs / 4 || iters > 1e7) {
      iters = Math.max(1, Math.ceil((iters * minMs) / Math.max(dt, 1e-3)));
      break;
    }
    iters *= 4;
  }
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = cpuMs();
    for (let i = 0; i < iters; i++) fn();
    samples.push((cpuMs() - t) / iters);
  }
  return median(samples);
}

/**
 * Like msPerOp for operations that consume prepared inputs (e.g. opening frames in order):
 * `prepare(n)` builds the inputs for n calls outside the timed region; `fn(input)` is timed.
 */
export function msPerOpPrepared<T>(
  prepare: (n: number) => T[],
  fn: (x: T) => unknown,
  o: { quick: boolean; batch: number; repeats?: number },
): number {
  const repeats = o.repeats ?? (o.quick ? 5 : 11);
  const warm = prepare(Math.min(3, o.batch));
  for (const x of warm) fn(x);
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const inputs = prepare(o.batch);
    const t = cpuMs();
    for (const x of inputs) fn(x);
    samples.push((cpuMs() - t) / inputs.length);
  }
  return median(samples);
}

/** Async variant (for handshakes): median over repeats of the mean of `batch` sequential calls. */
export async function msPerOpAsync(
  fn: () => Promise<unknown>,
  o: { quick: boolean; batch: number; repeats?: number },
): Promise<number> {
  const repeats = o.repeats ?? (o.quick ? 5 : 11);
  for (let i = 0; i < 3; i++) await fn();
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = cpuMs();
    for (let i = 0; i < o.batch; i++) await fn();
    samples.push((cpuMs() - t) / o.batch);
  }
  return median(samples);
}

export function round(x: number, digits = 4): number {
  return Number(x.toPrecision(digits));
}
