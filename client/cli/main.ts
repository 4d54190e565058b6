/**
 * `teechat`: the terminal client and attestation audit tool.
 *   teechat chat --server URL [...] [PROMPT]      attested, encrypted chat (client/cli/chat.ts)
 *   teechat attest show --server URL [...]        handshake only; print what was verified
 *   teechat attest verify|show ... (files)        offline evidence verification (client/cli/attest*.ts)
 *   teechat measure snp|verity|tdx ...            recompute expected measurements (client/cli/measure*.ts)
 *   teechat release verify --bundle FILE ...      offline Sigstore / release manifest verification (client/cli/release.ts)
 */
import { attestCommand } from './attest';
import { measureCommand } from './measure';
import { explainCommand } from './measure-explain';
import { chatCommand, showServerCommand, EXIT_OK, EXIT_USAGE, type Io } from './chat';

export const MAIN_HELP = `Usage: teechat <command> [options]

Commands:
  chat --server URL [PROMPT]        private chat with an attested enclave server (end-to-end encrypted)
  attest show --server URL          handshake only: verify the server's evidence and print it
  attest verify KIND ...            verify saved evidence files offline (sev-snp, azure-hcl, tdx, nvidia)
  attest show FILE...               decode saved evidence files
  attest explain --report FILE ...  recompute an SNP measurement and name the input that differs
  attest explain tdx --ccel FILE .. recompute TDX RTMR1/RTMR2 and name the input that differs
  measure snp|verity|tdx ...        recompute an SEV-SNP launch digest, a dm-verity root hash or
                                    TDX MRTD/RTMR1/RTMR2 from published inputs (docs/MEASUREMENTS.md)
  release verify --bundle FILE ...  verify a Sigstore-signed artifact or release manifest offline
  -h, --help, --version

Run "teechat <command> --help" for the options of a command.
Data goes to stdout, diagnostics to stderr; every command takes --json.
Exit status: 0 success (chat: after the authenticated end of every answer; attest: evidence
accepted), 1 error or evidence rejected (code and message on stderr), 2 usage error.
`;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'chat':
      return chatCommand(rest, io);
    case 'attest': {
      if (rest[0] === 'explain') return explainCommand(rest.slice(1), { out: io.out, err: io.err });
      if (rest[0] === 'show' && rest.some((a) => a === '--server' || a.startsWith('--server='))) {
        return showServerCommand(rest.slice(1), io);
      }
      // Offline evidence files: `attest verify <kind> ...`, `attest show FILE...`.
      return attestCommand(rest, { out: io.out, err: io.err });
    }
    case 'measure':
      return measureCommand(rest, { out: io.out, err: io.err });
    case 'release':
      // Loaded on use: the Sigstore libraries are not needed by the other commands.
      return (await import('./release')).releaseCommand(rest, { out: io.out, err: io.err });
    case undefined:
      // No command is a usage error: the help is a diagnostic then (stderr).
      io.err(MAIN_HELP);
      return EXIT_USAGE;
    case '--help':
    case '-h':
    case 'help':
      io.out(MAIN_HELP);
      return EXIT_OK;
    case '--version':
      io.out('teechat 0.1.0 (protocol v1)\n');
      return EXIT_OK;
    default:
      io.err(`teechat: unknown command ${JSON.stringify(cmd)}\n${MAIN_HELP}`);
      return EXIT_USAGE;
  }
}

const io: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  stdin: process.stdin,
  isTty: process.stdin.isTTY === true,
  outIsTty: process.stdout.isTTY === true,
};

run(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(
      `teechat: internal error: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    process.exitCode = 1;
  },
);
