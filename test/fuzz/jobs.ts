/** Messages between the fuzz runner (run.ts) and its worker threads (worker.ts). */
import type { TargetResult } from './engine';

export interface WorkerJob {
  readonly decoder: string;
  readonly runs: number;
  readonly seed: number;
  readonly chunk: number;
  readonly slowMs: number;
}

export type WorkerMessage =
  | {
      readonly type: 'progress';
      readonly decoder: string;
      readonly done: number;
      readonly result: TargetResult;
    }
  | { readonly type: 'result'; readonly result: TargetResult }
  | { readonly type: 'error'; readonly decoder: string; readonly message: string };

/** Watchdog buffer layout: Int32 [0] input counter, [1] input length; input bytes from offset 8. */
export const WATCHDOG_HEADER = 8;
