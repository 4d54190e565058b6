/**
 * Worker-thread entry of WorkerEvidenceProvider (worker-provider.ts): opens the evidence provider
 * named in `workerData.spec` in this thread and serves `collect` requests one at a time, so that
 * synchronous collection (NVML's FFI calls through koffi) never blocks the server's event loop.
 * Bundled as dist/teechat-evidence-worker.mjs (esbuild.mjs).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EvidenceProvider } from '../../protocol/attestation/types';
import type { WorkerProviderSpec, WorkerReply, WorkerRequest } from './worker-provider';

async function open(spec: WorkerProviderSpec): Promise<EvidenceProvider> {
  switch (spec.type) {
    case 'nvml': {
      const { NvmlEvidenceProvider } = await import('./nvml');
      return NvmlEvidenceProvider.create({
        ...(spec.rimCacheDir !== undefined ? { rimCacheDir: spec.rimCacheDir } : {}),
        ...(spec.ocspCacheDir !== undefined ? { ocspCacheDir: spec.ocspCacheDir } : {}),
      });
    }
    case 'simulated-nvidia': {
      const { SimulatedNvidiaProvider } = await import('./simulated-nvidia');
      return new SimulatedNvidiaProvider();
    }
  }
}

const port = parentPort;
if (port !== null) {
  const post = (m: WorkerReply): void => port.postMessage(m);
  const spec = (workerData as { spec: WorkerProviderSpec }).spec;
  open(spec).then(
    (provider) => {
      post({
        type: 'ready',
        kind: provider.kind,
        description: provider.description,
        simulated: provider.simulated,
      });
      let chain: Promise<void> = Promise.resolve();
      port.on('message', (req: WorkerRequest) => {
        chain = chain.then(async () => {
          try {
            const items = await provider.collect({
              cpuReportData: req.cpuReportData,
              gpuNonce: req.gpuNonce,
            });
            post({ type: 'items', id: req.id, items });
          } catch (e) {
            post({
              type: 'error',
              id: req.id,
              message: e instanceof Error ? e.message : String(e),
            });
          }
        });
      });
    },
    (e: unknown) => post({ type: 'fatal', message: e instanceof Error ? e.message : String(e) }),
  );
}
