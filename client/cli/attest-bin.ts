/**
 * Standalone entry for the attestation audit tool: `node --import tsx client/cli/attest-bin.ts
 * verify sev-snp ...` behaves exactly like `teechat attest verify sev-snp ...` (the tests run it as
 * a subprocess; `teechat` itself calls `attestCommand` from client/cli/main.ts).
 */
import { attestCommand } from './attest';

attestCommand(process.argv.slice(2), {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(
      `teechat attest: internal error: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    process.exitCode = 1;
  },
);
