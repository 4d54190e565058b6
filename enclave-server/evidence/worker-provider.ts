/**
 * An evidence provider that runs in a worker thread (evidence-worker.ts). NVML collection is
 * synchronous FFI (hundreds of milliseconds per GPU report); run on the event loop it would stall
 * every stream and every other handshake. Requests are served one at a time inside the worker;
 * the server bounds how many wait (providers.ts `limitConcurrency`).
 */
import { Worker } from 'node:worker_threads';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceKind,
  EvidenceProvider,
} from '../../protocol/attestation/types';
import { ProtocolError } from '../../protocol/errors';

/** Which provider the worker opens (only providers that can be built from plain data). */
export type WorkerProviderSpec =
  | {
      readonly type: 'nvml';
      readonly rimCacheDir?: string;
      /** OCSP cache from `teechat-server collateral fetch` (stapled while fresh). */
      readonly ocspCacheDir?: string;
    }
  | { readonly type: 'simulated-nvidia' };

export interface WorkerRequest {
  readonly id: number;
  readonly cpuReportData: Uint8Array;
  readonly gpuNonce: Uint8Array;
}

export type WorkerReply =
  | {
      readonly type: 'ready';
      readonly kind: EvidenceKind;
      readonly description: string;
      readonly simulated: boolean;
    }
  | { readonly type: 'fatal'; readonly message: string }
  | { readonly type: 'items'; readonly id: number; readonly items: EvidenceItem[] }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

/** The worker script: the .ts source under tsx (tests), the bundle's sibling in dist/. */
export function evidenceWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('./evidence-worker.ts', import.meta.url)
    : new URL('./teechat-evidence-worker.mjs', import.meta.url);
}

export class WorkerEvidenceProvider implements EvidenceProvider {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (i: EvidenceItem[]) => void; reject: (e: unknown) => void }
  >();
  private dead: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly kind: EvidenceKind,
    readonly description: string,
    readonly simulated: boolean,
  ) {
    worker.on('message', (m: WorkerReply) => {
      if (m.type !== 'items' && m.type !== 'error') return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (m.type === 'items') w.resolve(m.items);
      else w.reject(new Error(m.message));
    });
    const die = (e: Error): void => {
      this.dead = e;
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`evidence worker exited (code ${code})`)));
    // The worker keeps the process alive only while a collection is in flight.
    worker.unref();
  }

  /** Starts the worker and opens the provider there; rejects (fail closed) when it cannot. */
  static start(
    spec: WorkerProviderSpec,
    url: URL = evidenceWorkerUrl(),
  ): Promise<WorkerEvidenceProvider> {
    // From TypeScript sources (tests, development under tsx) the worker registers tsx itself:
    // loader hooks are not inherited by worker threads on every Node line.
    const worker = url.pathname.endsWith('.ts')
      ? new Worker(
          `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url.href)}); });`,
          { eval: true, workerData: { spec } },
        )
      : new Worker(url, { workerData: { spec } });
    return new Promise((resolve, reject) => {
      const fail = (e: unknown): void => {
        void worker.terminate();
        reject(e instanceof Error ? e : new Error(String(e)));
      };
      worker.once('error', fail);
      worker.once('exit', (code) =>
        fail(new Error(`evidence worker exited (code ${code}) before it was ready`)),
      );
      worker.once('message', (m: WorkerReply) => {
        worker.removeAllListeners('error');
        worker.removeAllListeners('exit');
        if (m.type === 'ready')
          resolve(new WorkerEvidenceProvider(worker, m.kind, m.description, m.simulated));
        else
          fail(new Error(m.type === 'fatal' ? m.message : `evidence worker: unexpected ${m.type}`));
      });
    });
  }

  collect(binding: BindingValues): Promise<EvidenceItem[]> {
    if (this.dead)
      return Promise.reject(
        new ProtocolError('server_error', `evidence worker: ${this.dead.message}`, 'evidence'),
      );
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref();
      const req: WorkerRequest = {
        id,
        cpuReportData: binding.cpuReportData.slice(),
        gpuNonce: binding.gpuNonce.slice(),
      };
      this.worker.postMessage(req);
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
