/**
 * Runs the real enclave server (enclave-server/main.ts through tsx) as a child process in its own
 * process group, waits for its "listening on ws://HOST:PORT" line, and kills the whole group at the
 * end. stderr is captured (logs, summary) for assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './shared';

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM to the process group, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
}

export async function startServerProcess(
  args: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; node?: string } = {},
): Promise<ServerProcess> {
  const child = spawn(
    opts.node ?? process.execPath,
    ['--import', 'tsx', join(repoRoot, 'enclave-server', 'main.ts'), ...args],
    {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { TEECHAT_SIMULATED_RSA_BITS: '2048', ...process.env, ...opts.env },
    },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)),
  );
  const killGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  const stop = async (graceMs = 8000): Promise<number | string> => {
    killGroup('SIGTERM');
    const t = setTimeout(() => killGroup('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(t);
    return code;
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup('SIGKILL');
      reject(
        new Error(`server did not start within ${opts.timeoutMs ?? 60000} ms; stderr:\n${err}`),
      );
    }, opts.timeoutMs ?? 60000);
    const onData = (): void => {
      const m = /^listening on (\S+)$/m.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening; stderr:\n${err}`));
    });
  });
  return { url, child, stderr: () => err, stdout: () => out, exited, stop };
}

/** Runs a process to completion (CLI tests); returns exit code, stdout, stderr. */
export function runProcess(
  args: readonly string[],
  opts: { timeoutMs?: number; input?: string; node?: string } = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(opts.node ?? process.execPath, ['--import', 'tsx', ...args], {
      cwd: repoRoot,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, opts.timeoutMs ?? 60000);
    child.stdin.end(opts.input ?? '');
    child.once('exit', (code, sig) => {
      clearTimeout(t);
      resolve({ code: code ?? sig ?? -1, stdout, stderr });
    });
  });
}

/** Common flags for a fast test server on loopback (simulated attestation, 1 thread). */
export function testServerArgs(model: string, extra: readonly string[] = []): string[] {
  return [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--model',
    model,
    '--attestation',
    'simulated',
    '--gpu-attestation',
    'simulated',
    '--gpu',
    'off',
    '--threads',
    '1',
    '--sequences',
    '4',
    '--context-size',
    '1024',
    ...extra,
  ];
}
