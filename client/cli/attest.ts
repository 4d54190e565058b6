/**
 * `teechat attest ...`: the audit tool for attestation evidence.
 *
 *   teechat attest verify <kind> [options]     kinds: sev-snp, azure-hcl, tdx, nvidia
 *   teechat attest show FILE...                decoded fields of reports, quotes, certificates
 *
 * Each evidence kind lives in its own file (attest-snp.ts, attest-azure.ts, attest-tdx.ts,
 * attest-nvidia.ts) and is added here with ONE `registerAttestKind({...})` line: a name, a
 * one-line summary, its --help text, its verify function, and optionally a detector + decoder
 * for `attest show`. The output contract and exit codes are described in attest-common.ts.
 */
import {
  decodeInput,
  EXIT_ACCEPT,
  EXIT_REJECT,
  EXIT_USAGE,
  readFileOrUsage,
  renderFields,
  UsageError,
  looksLikeJson,
  parseJsonOrUsage,
} from './attest-common';
import type { CliIo } from './attest-common';
import { usageLine } from '../../protocol-node/args';
import type { Fields, FieldValue } from '../../protocol/attestation/types';
import { ProtocolError } from '../../protocol/errors';
import { parsePemOrDer } from '../../protocol/x509/index';
import { parseCrl } from '../../protocol/x509/crl';
import { toHex } from '../../protocol/asn1/encoding';
import { amdCertInfo } from '../../protocol/attestation/snp/vcek';
import { azureEvidenceFromJson } from '../../protocol/attestation/azure/evidence-json';
import {
  AZURE_VERIFY_HELP,
  attestVerifyAzure,
  looksLikeHclReport,
  showHclReport,
} from './attest-azure';
import { SNP_VERIFY_HELP, attestVerifySnp, looksLikeSnpReport, showSnpReport } from './attest-snp';
import { TDX_VERIFY_HELP, attestVerifyTdx, looksLikeTdxQuote, showTdxQuote } from './attest-tdx';
import {
  NVIDIA_VERIFY_HELP,
  attestVerifyNvidia,
  looksLikeNvidiaReport,
  showNvidiaReport,
} from './attest-nvidia';

export type { CliIo } from './attest-common';

export interface AttestKind {
  /** The `verify` subcommand name, e.g. "sev-snp". */
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  readonly verify: (argv: readonly string[], io: CliIo) => number | Promise<number>;
  /** For `attest show`: whether a (decoded) file is this kind's evidence, and its fields. */
  readonly detect?: (bytes: Uint8Array) => boolean;
  readonly show?: (bytes: Uint8Array) => Fields;
}

const KINDS = new Map<string, AttestKind>();

export function registerAttestKind(kind: AttestKind): void {
  if (KINDS.has(kind.name)) throw new Error(`attest kind ${kind.name} registered twice`);
  KINDS.set(kind.name, kind);
}

export function attestKinds(): readonly AttestKind[] {
  return [...KINDS.values()];
}

// ---- registrations: one line per evidence kind ----
registerAttestKind({
  name: 'sev-snp',
  summary: 'AMD SEV-SNP attestation report (+ VCEK/VLEK, chain, CRL)',
  help: SNP_VERIFY_HELP,
  verify: attestVerifySnp,
  detect: looksLikeSnpReport,
  show: showSnpReport,
});
registerAttestKind({
  name: 'azure-hcl',
  summary: 'Azure CVM vTPM HCL report + TPM quote (SNP or TDX inside)',
  help: AZURE_VERIFY_HELP,
  verify: attestVerifyAzure,
  detect: looksLikeHclReport,
  show: showHclReport,
});
registerAttestKind({
  name: 'tdx',
  summary: 'Intel TDX DCAP quote v4/v5 (+ PCS collateral, CCEL)',
  help: TDX_VERIFY_HELP,
  verify: attestVerifyTdx,
  detect: looksLikeTdxQuote,
  show: showTdxQuote,
});
registerAttestKind({
  name: 'nvidia',
  summary: 'NVIDIA GPU / NVSwitch SPDM report (+ device chain, RIMs)',
  help: NVIDIA_VERIFY_HELP,
  verify: attestVerifyNvidia,
  detect: looksLikeNvidiaReport,
  show: showNvidiaReport,
});

export function attestHelp(): string {
  const w = Math.max(...attestKinds().map((k) => k.name.length));
  return `Usage: teechat attest verify <kind> [options]
       teechat attest show FILE...

Offline verification of confidential-computing evidence against pinned vendor roots and a policy.

verify kinds:
${attestKinds()
  .map((k) => `  ${k.name.padEnd(w)}  ${k.summary}`)
  .join('\n')}

show: decodes attestation reports, HCL reports, TDX quotes, NVIDIA reports, Azure evidence JSON,
      certificates (PEM/DER, with AMD VCEK extensions) and CRLs, without verifying them.
      Options: --json

Run "teechat attest verify <kind> --help" for the options of a kind.
Exit status: 0 accepted, 1 rejected (also malformed input), 2 usage error.
`;
}

export const SHOW_HELP = `Usage: teechat attest show [--json] FILE...

Prints the decoded fields of each file (no verification: nothing shown here is trusted).
Detected: SEV-SNP reports, Azure HCL reports and evidence JSON, TDX quotes, NVIDIA SPDM reports,
X.509 certificates (PEM bundles or DER) and CRLs. Inputs may be binary, hex text or base64 text.
Exit status: 0 all decoded, 1 a file could not be decoded, 2 usage error.
`;

function certFields(bytes: Uint8Array): Fields {
  const certs = parsePemOrDer(bytes);
  return {
    kind: 'certificates',
    certificates: certs.map((c) => {
      const f: Record<string, FieldValue> = {
        subject: c.subject.toString(),
        issuer: c.issuer.toString(),
        serial: toHex(c.serialNumber),
        not_before: c.notBefore.toISOString(),
        not_after: c.notAfter.toISOString(),
        signature: `${c.sigAlg.scheme} ${c.sigAlg.hash}${c.sigAlg.saltLength !== undefined ? ` salt ${c.sigAlg.saltLength}` : ''}`,
        public_key:
          c.publicKey.kind === 'ec' ? `EC ${c.publicKey.curve}` : `RSA ${c.publicKey.n.length * 8}`,
        extensions: [...c.extensions.keys()],
      };
      if ([...c.extensions.keys()].some((o) => o.startsWith('1.3.6.1.4.1.3704.1.'))) {
        const info = amdCertInfo(c);
        f['amd'] = {
          key_type: info.keyType,
          product: info.productName ?? info.product ?? null,
          tcb: { ...info.tcb },
          hwid: info.hwid === undefined ? null : toHex(info.hwid),
        };
      }
      return f;
    }),
  };
}

function crlFields(bytes: Uint8Array): Fields {
  const c = parseCrl(bytes);
  return {
    kind: 'crl',
    issuer: c.issuer.toString(),
    this_update: c.thisUpdate.toISOString(),
    next_update: c.nextUpdate?.toISOString() ?? null,
    revoked: c.revoked.map((r) => `${toHex(r.serialNumber)} @ ${r.revocationDate.toISOString()}`),
  };
}

/** Decodes one file for `attest show`. Throws ProtocolError / UsageError. */
export function showFile(raw: Uint8Array, name: string): Fields {
  if (looksLikeJson(raw)) {
    const parts = azureEvidenceFromJson(parseJsonOrUsage(raw, name));
    return showHclReport(parts.get('hcl')!);
  }
  const b = decodeInput(raw);
  const text = Buffer.from(b.subarray(0, 64)).toString('latin1');
  if (text.includes('-----BEGIN X509 CRL'))
    return crlFields(
      new Uint8Array(
        Buffer.from(
          Buffer.from(b)
            .toString('latin1')
            .replace(/-----[^-]+-----|\s+/g, ''),
          'base64',
        ),
      ),
    );
  if (text.includes('-----BEGIN')) return certFields(b);
  for (const k of attestKinds()) if (k.detect?.(b) && k.show) return k.show(b);
  if (b[0] === 0x30) {
    try {
      return certFields(b);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return crlFields(b);
    }
  }
  throw new ProtocolError(
    'unknown_type',
    `${name}: expected an SNP/HCL/TDX/NVIDIA report, a certificate or a CRL, got ${b.length} unrecognised bytes`,
    name,
  );
}

async function attestShow(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(SHOW_HELP);
    return EXIT_ACCEPT;
  }
  const files = argv.filter((a) => a !== '--json');
  const unknown = files.find((f) => f.startsWith('--'));
  if (unknown !== undefined || files.length === 0) {
    io.err(
      `teechat attest show: ${unknown !== undefined ? `unknown argument ${JSON.stringify(unknown)}` : 'expected at least one FILE, got none'}\n(see --help)\n`,
    );
    return EXIT_USAGE;
  }
  let status = EXIT_ACCEPT;
  const results: { file: string; ok: boolean; fields?: Fields; error?: string }[] = [];
  for (const f of files) {
    try {
      const fields = showFile(readFileOrUsage(f, 'FILE'), f);
      results.push({ file: f, ok: true, fields });
    } catch (e) {
      if (e instanceof UsageError) {
        io.err(usageLine('teechat attest show', e));
        return EXIT_USAGE;
      }
      status = EXIT_REJECT;
      const msg =
        e instanceof ProtocolError
          ? `${e.code}: ${e.message}`
          : e instanceof Error
            ? e.message
            : String(e);
      results.push({ file: f, ok: false, error: msg });
      io.err(`teechat attest show: ${f}: ${msg}\n`);
    }
  }
  if (json) io.out(JSON.stringify(results.length === 1 ? results[0] : results) + '\n');
  else for (const r of results) if (r.fields) io.out(`${r.file}\n${renderFields(r.fields)}\n`);
  return status;
}

/** Entry point for `teechat attest ...` (argv after "attest"). Returns the exit status. */
export async function attestCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    // Asked for: data (stdout, exit 0); missing subcommand: a usage error (stderr, exit 2).
    (sub === undefined ? io.err : io.out)(attestHelp());
    return sub === undefined ? EXIT_USAGE : EXIT_ACCEPT;
  }
  if (sub === 'show') return attestShow(rest, io);
  if (sub === 'verify') {
    const [name, ...args] = rest;
    if (name === undefined || name === '--help' || name === '-h') {
      (name === undefined ? io.err : io.out)(attestHelp());
      return name === undefined ? EXIT_USAGE : EXIT_ACCEPT;
    }
    const kind = KINDS.get(name);
    if (kind === undefined) {
      io.err(
        `teechat attest verify: expected one of ${[...KINDS.keys()].join(', ')}, got ${JSON.stringify(name)}\n`,
      );
      return EXIT_USAGE;
    }
    try {
      return await kind.verify(args, io);
    } catch (e) {
      io.err(
        `teechat attest verify ${name}: ${e instanceof ProtocolError ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}\n`,
      );
      return EXIT_REJECT;
    }
  }
  io.err(`teechat attest: expected verify or show, got ${JSON.stringify(sub)}\n(see --help)\n`);
  return EXIT_USAGE;
}
