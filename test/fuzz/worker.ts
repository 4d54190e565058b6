/**
 * Fuzz worker (worker_threads): receives one decoder job at a time from run.ts, runs it, posts
 * progress after each chunk and the final result. Before each input it copies the input into the
 * shared watchdog buffer and bumps the shared counter, so the parent can report (and keep) the
 * exact input of a hang after terminating this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzTarget } from './engine';
import { buildTarget } from './targets';
import { WATCHDOG_HEADER } from './jobs';
import type { WorkerJob, WorkerMessage } from './jobs';

const port = parentPort;
if (port === null) throw new Error('test/fuzz/worker.ts runs only as a worker thread');
const shared = (workerData as { watchdog: SharedArrayBuffer }).watchdog;
const meta = new Int32Array(shared, 0, 2);
const data = new Uint8Array(shared, WATCHDOG_HEADER);

const onInput = (bytes: Uint8Array): void => {
  const n = Math.min(bytes.length, data.length);
  data.set(bytes.subarray(0, n));
  Atomics.store(meta, 1, bytes.length);
  Atomics.add(meta, 0, 1);
};

port.on('message', (job: WorkerJob) => {
  void (async () => {
    try {
      const target = await buildTarget(job.decoder);
      const result = await fuzzTarget(target, {
        runs: job.runs,
        seed: job.seed,
        chunk: job.chunk,
        slowMs: job.slowMs,
        onInput,
        onProgress: (done, r) =>
          port.postMessage({
            type: 'progress',
            decoder: job.decoder,
            done,
            result: r,
          } satisfies WorkerMessage),
      });
      port.postMessage({ type: 'result', result } satisfies WorkerMessage);
    } catch (e) {
      port.postMessage({
        type: 'error',
        decoder: job.decoder,
        message: e instanceof Error ? (e.stack ?? e.message) : String(e),
      } satisfies WorkerMessage);
    }
  })();
});
