/**
 * Model resolution: a local GGUF path, or an `hf:` URI downloaded into a cache directory (with a
 * progress bar on stderr). The file's SHA-256 is computed once per process, streamed from disk,
 * and announced to clients in the server info (the policy can pin it).
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ProtocolError } from '../../protocol/errors';
import { UsageError } from '../../protocol-node/args';

export interface ResolvedModel {
  readonly path: string;
  /** The spec the operator gave (`hf:owner/repo/file.gguf` or the file name). */
  readonly id: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface ResolveModelOptions {
  readonly cacheDir: string;
  /** Receives progress lines; the default draws a bar on stderr. */
  readonly onProgress?: (downloaded: number, total: number) => void;
  readonly signal?: AbortSignal;
}

export function isRemoteModelSpec(spec: string): boolean {
  return /^(hf:|huggingface:|https:\/\/)/.test(spec);
}

export async function resolveModel(
  spec: string,
  opts: ResolveModelOptions,
): Promise<ResolvedModel> {
  if (spec.trim() === '')
    throw new UsageError('model: expected a GGUF path or hf: URI, got ""', 'model');
  let path: string;
  if (isRemoteModelSpec(spec)) {
    const { resolveModelFile } = await import('node-llama-cpp');
    const progress = opts.onProgress ?? progressBar();
    try {
      path = await resolveModelFile(spec, {
        directory: opts.cacheDir,
        cli: false,
        onProgress: ({ downloadedSize, totalSize }) => progress(downloadedSize, totalSize),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (e) {
      throw new ProtocolError(
        'model_error',
        `model: could not download ${JSON.stringify(spec)}: ${errText(e)}`,
        'model',
      );
    }
  } else {
    path = resolve(spec);
  }
  let bytes: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    bytes = st.size;
  } catch (e) {
    throw new ProtocolError(
      'model_error',
      `model: expected a readable GGUF file at ${JSON.stringify(path)}, got ${errText(e)}`,
      'model',
    );
  }
  const sha256 = await sha256File(path);
  const id = isRemoteModelSpec(spec) ? spec : basename(path);
  return { path, id, sha256, bytes };
}

export function sha256File(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (c) => h.update(c))
      .on('error', (e) =>
        rej(
          new ProtocolError(
            'model_error',
            `model: reading ${JSON.stringify(path)} failed: ${e.message}`,
            'model',
          ),
        ),
      )
      .on('end', () => res(h.digest('hex')));
  });
}

/** A stderr progress bar: redrawn in place on a TTY, one line per 10% otherwise. */
export function progressBar(
  out: NodeJS.WriteStream = process.stderr,
): (done: number, total: number) => void {
  let lastDecile = -1;
  return (done, total) => {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const mb = (n: number): string => (n / 1048576).toFixed(1);
    if (out.isTTY) {
      const width = 30;
      const fill = Math.round(frac * width);
      out.write(
        `\rdownloading model [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0)}% ${mb(done)}/${mb(total)} MB`,
      );
      if (frac >= 1) out.write('\n');
    } else {
      const decile = Math.floor(frac * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        out.write(`downloading model: ${decile * 10}% (${mb(done)}/${mb(total)} MB)\n`);
      }
    }
  };
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
