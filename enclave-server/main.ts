/**
 * `teechat-server`: the enclave server CLI. See `teechat-server --help` and docs/DEPLOY.md.
 * stdout carries exactly one line when ready: `listening on ws://HOST:PORT`; everything else
 * (summary, logs, progress) goes to stderr.
 */
import { isProtocolError } from '../protocol/errors';
import { EXIT_USAGE, UsageError, usageLine } from '../protocol-node/args';
import { parseServerArgs, serverHelp } from './config';
import { createLogger } from './log';
import { RIMS_FETCH_HELP, rimsFetchCommand } from './evidence/rims-cli';
import { chainsFromLocalNvml, idsFromLocalNvml } from './evidence/nvml';
import { COLLATERAL_FETCH_HELP, collateralFetchCommand } from './evidence/collateral';
import { startServer } from './start';

export const EXIT = { ok: 0, other: 1, usage: EXIT_USAGE, model: 3, attestation: 4 } as const;

export interface Io {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

const io: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'rims') {
    if (argv[1] !== 'fetch') {
      io.stderr(
        `teechat-server rims: expected "fetch", got ${JSON.stringify(argv[1] ?? '')}\n${RIMS_FETCH_HELP}`,
      );
      return EXIT.usage;
    }
    return rimsFetchCommand(argv.slice(2), {
      out: io.stdout,
      err: io.stderr,
      idsFromNvml: idsFromLocalNvml,
    });
  }
  if (argv[0] === 'collateral') {
    if (argv[1] !== 'fetch') {
      io.stderr(
        `teechat-server collateral: expected "fetch", got ${JSON.stringify(argv[1] ?? '')}\n${COLLATERAL_FETCH_HELP}`,
      );
      return EXIT.usage;
    }
    return collateralFetchCommand(argv.slice(2), {
      out: io.stdout,
      err: io.stderr,
      chainsFromNvml: chainsFromLocalNvml,
    });
  }
  let parsed;
  try {
    parsed = parseServerArgs(argv);
  } catch (e) {
    io.stderr(usageLine('teechat-server', e instanceof Error ? e.message : String(e)));
    return EXIT.usage;
  }
  if (parsed.help) {
    io.stdout(serverHelp());
    return EXIT.ok;
  }
  if (parsed.version) {
    io.stdout('teechat-server 0.1.0 (protocol v1)\n');
    return EXIT.ok;
  }
  const config = parsed.config;
  const log = createLogger(config.logLevel);
  let started;
  try {
    started = await startServer(config, log);
  } catch (e) {
    // A configuration the flags made impossible (no model, unreadable TLS files, port taken, an
    // upstream off loopback) is a UsageError: exit 2.
    const code = e instanceof UsageError ? 'usage' : isProtocolError(e) ? e.code : 'server_error';
    io.stderr(`teechat-server: ${code}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (code === 'usage') return EXIT.usage;
    if (code === 'model_error') return EXIT.model;
    if (code === 'evidence_missing' || code === 'evidence_rejected') return EXIT.attestation;
    return EXIT.other;
  }
  io.stderr(started.summary + '\n');
  io.stdout(`listening on ${started.url}\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info('signal', { signal });
      // Hard bound: exit even if something refuses to close.
      setTimeout(() => {
        io.stderr('teechat-server: shutdown timed out; exiting\n');
        process.exit(EXIT.other);
      }, config.shutdownTimeoutMs + 2000).unref();
      started.server.shutdown().then(
        () => resolve(EXIT.ok),
        () => resolve(EXIT.other),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    io.stderr(`teechat-server: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(EXIT.other);
  },
);
