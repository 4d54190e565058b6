/**
 * Evidence collection off the event loop: the worker-thread provider (used for NVML) returns the
 * provider's evidence bound to the binding values and fails closed when the provider cannot open;
 * `limitConcurrency` runs at most N collections at once, queues at most Q and refuses the next
 * with `busy`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { WorkerEvidenceProvider } from '../../enclave-server/evidence/worker-provider';
import { limitConcurrency } from '../../enclave-server/providers';
import { parseNvidiaReport } from '../../protocol/attestation/nvidia/spdm';
import { ProtocolError } from '../../protocol/errors';

test('a worker-thread provider returns evidence bound to the nonce, from another thread', async () => {
  const p = await WorkerEvidenceProvider.start({ type: 'simulated-nvidia' });
  try {
    assert.equal(p.kind, 'nvidia-gpu');
    assert.equal(p.simulated, true);
    const nonce = new Uint8Array(32).fill(7);
    const items = await p.collect({ cpuReportData: new Uint8Array(64), gpuNonce: nonce });
    assert.ok(items.length >= 1);
    const report = items[0]?.parts.get('report');
    assert.ok(report instanceof Uint8Array && report.length > 0);
    assert.deepEqual([...parseNvidiaReport(report).request.nonce], [...nonce]);
    assert.equal(threadId, 0, 'the test runs on the main thread; the provider did not');
  } finally {
    await p.close();
  }
});

test('a provider that cannot open in the worker fails closed with its reason', async () => {
  await assert.rejects(WorkerEvidenceProvider.start({ type: 'nvml' }), /libnvidia-ml|NVML|nvml/i);
});

test('limitConcurrency: at most N at once, Q waiting, the next refused with busy; all waiters run', async () => {
  let running = 0;
  let peak = 0;
  const release: (() => void)[] = [];
  const fn = limitConcurrency(
    async (x: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((r) => release.push(r));
      running--;
      return x * 2;
    },
    { concurrency: 2, queue: 3 },
  );
  const ps = [1, 2, 3, 4, 5].map((x) => fn(x));
  await assert.rejects(
    fn(6),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.code === 'busy' &&
      e.message === 'evidence: expected at most 3 collections waiting, got 4; try again',
  );
  assert.deepEqual(fn.stats(), { running: 2, queued: 3 });
  while (release.length > 0 || fn.stats().running > 0) {
    release.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await Promise.all(ps), [2, 4, 6, 8, 10]);
  assert.equal(peak, 2);
  // A failure frees its slot too.
  const bad = limitConcurrency(async () => Promise.reject(new Error('x')), {
    concurrency: 1,
    queue: 0,
  });
  await assert.rejects(bad(), /x/);
  await assert.rejects(bad(), /x/);
});
