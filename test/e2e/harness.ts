/**
 * End-to-end harness: the real enclave server (simulated attestation, tiny model) and code-server
 * (a real VS Code in the browser) with the packaged .vsix installed, each in its own process group
 * (setsid) that is killed at the end; Chromium (playwright-core) drives the workbench.
 * Prerequisites come from scripts/e2e-setup.sh (cached in .e2e/).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  createWriteStream,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NODE_VERSIONS, installedNodePath } from '../helpers/node-versions';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const E2E = join(ROOT, '.e2e');
/** The pinned Node that runs code-server (scripts/node-versions.json "e2e"). */
export const NODE24 = installedNodePath(NODE_VERSIONS.e2e);
export const CODE_SERVER = join(
  E2E,
  'code-server',
  'node_modules',
  'code-server',
  'out',
  'node',
  'entry.js',
);
export const VSIX = join(ROOT, 'dist', 'teechat.vsix');
export const SERVER = join(ROOT, 'dist', 'teechat-server.mjs');
export const MODEL =
  process.env.TEECHAT_E2E_MODEL ?? join(ROOT, '..', 'shared', 'models', 'stories260K.gguf');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'e2e');

export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  for (const [what, p] of [
    ['Node 24 (scripts/e2e-setup.sh)', NODE24],
    ['code-server (scripts/e2e-setup.sh)', CODE_SERVER],
    ['dist/teechat.vsix (npm run package)', VSIX],
    ['dist/teechat-server.mjs (npm run build)', SERVER],
    ['the tiny model', MODEL],
    ['chromium', '/usr/bin/chromium'],
  ] as const)
    if (!existsSync(p)) missing.push(`${what}: ${p}`);
  return missing;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

/** A child in its own process group, output to a log file; `stop()` kills the whole group. */
export class Group {
  private exited = false;
  readonly exit: Promise<number | null>;
  private out = '';
  private waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    logFile: string,
  ) {
    const log = createWriteStream(logFile);
    const onData = (b: Buffer): void => {
      log.write(b);
      this.out += b.toString('utf8');
      if (this.out.length > 1_000_000) this.out = this.out.slice(-500_000);
      for (const w of [...this.waiters]) {
        const m = w.re.exec(this.out);
        if (m) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exit = new Promise((r) =>
      child.on('exit', (code) => {
        this.exited = true;
        log.end();
        r(code);
      }),
    );
  }

  static start(
    name: string,
    cmd: string,
    args: string[],
    opts: { cwd?: string; env?: NodeJS.ProcessEnv; log: string },
  ): Group {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Group(name, child, opts.log);
  }

  get output(): string {
    return this.out;
  }

  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const m = re.exec(this.out);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const w = { re, resolve };
      this.waiters.push(w);
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(
          new Error(
            `${this.name}: no ${re} within ${timeoutMs} ms; output tail:\n${this.out.slice(-2000)}`,
          ),
        );
      }, timeoutMs);
      void this.exit.then(() => {
        clearTimeout(t);
        if (this.waiters.includes(w))
          reject(
            new Error(`${this.name} exited before ${re}; output tail:\n${this.out.slice(-2000)}`),
          );
      });
      void w;
    });
  }

  async stop(): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const t = setTimeout(() => {
      try {
        if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 5000);
    await this.exit;
    clearTimeout(t);
  }
}

export interface EnclaveOpts {
  readonly port: number;
  readonly gpu: 'simulated' | 'none';
  readonly log: string;
  /** More server flags (e.g. --release-manifest FILE --release-bundle FILE). */
  readonly extraArgs?: readonly string[];
}

export function startEnclave(o: EnclaveOpts): Group {
  return Group.start(
    'teechat-server',
    process.execPath,
    [
      SERVER,
      '--attestation',
      'simulated',
      '--gpu-attestation',
      o.gpu,
      '--model',
      MODEL,
      '--threads',
      '1',
      '--sequences',
      '1',
      '--gpu',
      'off',
      '--host',
      '127.0.0.1',
      '--port',
      String(o.port),
      ...(o.extraArgs ?? []),
    ],
    { log: o.log },
  );
}

export interface CodeServerSetup {
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly workspace: string;
  readonly home: string;
}

/** Fresh profile + workspace; installs the .vsix with code-server's own --install-extension. */
export function prepareCodeServer(
  settings: Record<string, unknown>,
  files: Record<string, string>,
  vsix: string = VSIX,
): CodeServerSetup {
  const base = mkdtempSync(join(tmpdir(), 'teechat-e2e-'));
  const s: CodeServerSetup = {
    userDataDir: join(base, 'user-data'),
    extensionsDir: join(base, 'extensions'),
    workspace: join(base, 'workspace'),
    home: join(base, 'home'),
  };
  for (const d of [
    s.userDataDir,
    s.extensionsDir,
    s.workspace,
    s.home,
    join(s.userDataDir, 'User'),
    join(s.userDataDir, 'Machine'),
  ])
    mkdirSync(d, { recursive: true });
  writeFileSync(join(s.userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  // code-server is a remote window: machine-scoped settings (every teechat.trust.* setting) are read
  // from the server machine's settings, not from User/ (docs/EXTENSION.md).
  writeFileSync(join(s.userDataDir, 'Machine', 'settings.json'), JSON.stringify(settings, null, 2));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(s.workspace, name), text);
  const r = spawnSync(
    NODE24,
    [
      CODE_SERVER,
      '--user-data-dir',
      s.userDataDir,
      '--extensions-dir',
      s.extensionsDir,
      '--install-extension',
      vsix,
    ],
    {
      env: codeServerEnv(s),
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (r.status !== 0)
    throw new Error(
      `code-server --install-extension failed (${r.status}): ${r.stdout}\n${r.stderr}`,
    );
  return s;
}

export function codeServerEnv(s: CodeServerSetup): NodeJS.ProcessEnv {
  const path = `${join(NODE24, '..')}:${process.env.PATH ?? ''}`;
  return {
    ...process.env,
    PATH: path,
    HOME: s.home,
    XDG_CONFIG_HOME: join(s.home, '.config'),
    XDG_DATA_HOME: join(s.home, '.local', 'share'),
  };
}

export function startCodeServer(s: CodeServerSetup, port: number, log: string): Group {
  return Group.start(
    'code-server',
    NODE24,
    [
      CODE_SERVER,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir',
      s.userDataDir,
      '--extensions-dir',
      s.extensionsDir,
      s.workspace,
    ],
    { env: codeServerEnv(s), log },
  );
}

/** The extension host logs of the session (code-server runs the extension host remotely). */
export function extensionHostLogs(s: CodeServerSetup): { file: string; text: string }[] {
  const dir = join(s.userDataDir, 'logs');
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => /exthost[^/]*\.log$|remoteexthost\.log$/i.test(f))
    .map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') }));
}

export function cleanup(s: CodeServerSetup | undefined): void {
  if (s) rmSync(join(s.userDataDir, '..'), { recursive: true, force: true });
}
