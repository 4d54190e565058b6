/**
 * Runs one fuzz target with fast-check, in chunks (progress, bounded memory), and classifies every
 * input: accepted, rejected with a ProtocolError (counted per code), or a finding:
 *  - crash:  any exception other than ProtocolError (TypeError, RangeError, a stack overflow, ...);
 *  - oracle: a target invariant failed (OracleViolation), or a ProtocolError message is unbounded
 *            (messages are log-safe: they must not echo large inputs);
 *  - slow:   one input took longer than `slowMs` twice in a row (quadratic blow-up, catastrophic
 *            backtracking); real hangs are caught by the runner's watchdog (run.ts).
 * fast-check shrinks each finding to a small counterexample; findings are de-duplicated by kind
 * and message and capped per target.
 */
import fc from 'fast-check';
import { ProtocolError } from '../../protocol/errors';
import { inputArb } from './mutate';
import type { FuzzInput } from './mutate';
import { OracleViolation } from './targets';
import type { FuzzTarget } from './targets';

export type FindingKind = 'crash' | 'oracle' | 'slow' | 'hang';

export interface Finding {
  readonly decoder: string;
  readonly kind: FindingKind;
  readonly message: string;
  readonly stack?: string;
  readonly inputHex: string;
  readonly inputLength: number;
  readonly origin: string;
  /** fast-check seed and path that reproduce it (with the same --runs chunking). */
  readonly seed: number;
  readonly path?: string;
}

export interface TargetResult {
  readonly decoder: string;
  readonly description: string;
  readonly seedSources: string;
  readonly seedCount: number;
  readonly runsRequested: number;
  /** Inputs generated and run (shrinking runs included). */
  readonly inputs: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly rejectedByCode: Record<string, number>;
  readonly findings: readonly Finding[];
  readonly ms: number;
  readonly inputsPerSecond: number;
  readonly slowestInputMs: number;
  /** The slowest input seen (hex), kept as a regression corpus entry for complexity blow-ups. */
  readonly slowestInputHex: string;
  readonly seed: number;
}

export interface FuzzOptions {
  readonly runs: number;
  readonly seed: number;
  /** Inputs per fast-check run (default 10,000). */
  readonly chunk?: number;
  /** Per-input time limit (ms) before an input is re-run and, if slow again, reported. */
  readonly slowMs?: number;
  /** Largest ProtocolError message accepted (characters). */
  readonly maxMessageLength?: number;
  readonly maxFindings?: number;
  /** Called with each input before it runs (the runner's hang watchdog keeps a copy). */
  readonly onInput?: (bytes: Uint8Array) => void;
  /** Called after each chunk. */
  readonly onProgress?: (done: number, r: TargetResult) => void;
}

class SlowInput extends Error {
  override readonly name = 'SlowInput';
}
class UnboundedMessage extends Error {
  override readonly name = 'UnboundedMessage';
}

export async function fuzzTarget(t: FuzzTarget, o: FuzzOptions): Promise<TargetResult> {
  const chunk = Math.max(1, o.chunk ?? 10_000);
  const slowMs = o.slowMs ?? 2_000;
  const maxMsg = o.maxMessageLength ?? 4_096;
  const maxFindings = o.maxFindings ?? 10;
  const arb = t.arbitrary ?? inputArb(t);
  const codes: Record<string, number> = {};
  const findings: Finding[] = [];
  const seen = new Set<string>();
  let inputs = 0;
  let accepted = 0;
  let rejected = 0;
  let slowest = 0;
  let slowestInput = new Uint8Array(0);
  const t0 = performance.now();

  const classify = (e: unknown): void => {
    if (e instanceof ProtocolError) {
      rejected++;
      codes[e.code] = (codes[e.code] ?? 0) + 1;
      if (e.message.length > maxMsg)
        throw new UnboundedMessage(
          `ProtocolError(${e.code}) message has ${e.message.length} characters (limit ${maxMsg})`,
        );
      return;
    }
    throw e;
  };
  const timed = (ms: number, bytes: Uint8Array, rerun: () => number): void => {
    if (ms > slowest) {
      slowest = ms;
      slowestInput = bytes.slice();
    }
    if (ms > slowMs) {
      const again = rerun();
      if (again > slowMs)
        throw new SlowInput(
          `one input of ${bytes.length} bytes took ${ms.toFixed(0)} ms and ${again.toFixed(0)} ms (limit ${slowMs} ms)`,
        );
    }
  };

  const syncPredicate = (input: FuzzInput): void => {
    inputs++;
    o.onInput?.(input.bytes);
    const once = (): number => {
      const s = performance.now();
      try {
        t.run(input.bytes);
        accepted++;
      } catch (e) {
        classify(e);
      }
      return performance.now() - s;
    };
    timed(once(), input.bytes, once);
  };
  const asyncPredicate = async (input: FuzzInput): Promise<void> => {
    inputs++;
    o.onInput?.(input.bytes);
    const once = async (): Promise<number> => {
      const s = performance.now();
      try {
        await t.run(input.bytes);
        accepted++;
      } catch (e) {
        classify(e);
      }
      return performance.now() - s;
    };
    const first = await once();
    if (first > slowMs) {
      const again = await once();
      timed(first, input.bytes, () => again);
    } else timed(first, input.bytes, () => 0);
  };

  const result = (): TargetResult => {
    const ms = performance.now() - t0;
    return {
      decoder: t.name,
      description: t.description,
      seedSources: t.seedSources,
      seedCount: t.seeds.length,
      runsRequested: o.runs,
      inputs,
      accepted,
      rejected,
      rejectedByCode: { ...codes },
      findings: [...findings],
      ms: Math.round(ms),
      inputsPerSecond: Math.round((inputs / Math.max(ms, 1)) * 1000),
      slowestInputMs: Math.round(slowest * 10) / 10,
      slowestInputHex: Buffer.from(slowestInput).toString('hex'),
      seed: o.seed,
    };
  };

  let done = 0;
  for (let c = 0; done < o.runs && findings.length < maxFindings; c++) {
    const n = Math.min(chunk, o.runs - done);
    const seed = (o.seed + c) | 0;
    const details = t.async
      ? await fc.check(fc.asyncProperty(arb, asyncPredicate), { numRuns: n, seed })
      : fc.check(fc.property(arb, syncPredicate), { numRuns: n, seed });
    done += n;
    if (details.failed && details.counterexample) {
      const input = details.counterexample[0];
      const err = details.errorInstance;
      const kind: FindingKind =
        err instanceof OracleViolation || err instanceof UnboundedMessage
          ? 'oracle'
          : err instanceof SlowInput
            ? 'slow'
            : 'crash';
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      const key = `${kind}:${message.split('\n')[0]}`;
      if (!seen.has(key)) {
        seen.add(key);
        findings.push({
          decoder: t.name,
          kind,
          message,
          ...(err instanceof Error && err.stack ? { stack: err.stack } : {}),
          inputHex: Buffer.from(input.bytes).toString('hex'),
          inputLength: input.bytes.length,
          origin: input.origin,
          seed,
          ...(details.counterexamplePath ? { path: details.counterexamplePath } : {}),
        });
      }
    }
    o.onProgress?.(done, result());
  }
  return result();
}
