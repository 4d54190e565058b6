/**
 * Shared pieces of `teechat attest ...`: I/O, exit codes, option parsing for the common flags,
 * input decoding (binary / hex / base64 / PEM, detected), policy assembly and output rendering.
 *
 * Output contract of every `attest verify <kind>`: with --json one object
 * {"ok", "kind", "checks": [{"id", "ok", "message"}], "fields"} on stdout; otherwise a table.
 * Exit 0 accepted, 1 rejected (including malformed or truncated input: a typed error, never a
 * stack trace), 2 usage error. Diagnostics go to stderr.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY, mergePolicy } from '../../protocol/attestation/policy';
import type { AttestationPolicy } from '../../protocol/attestation/policy';
import type {
  Check,
  Fields,
  FieldValue,
  VerificationReport,
} from '../../protocol/attestation/types';
import { ProtocolError } from '../../protocol/errors';
import { RELAXATIONS, relaxationFromFlags, relaxedIn } from '../../protocol/attestation/relax';
import type { RelaxSection } from '../../protocol/attestation/relax';
import { EXIT_USAGE, UsageError, parseCli, usageLine, type OptionSpec } from '../../protocol-node/args';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const EXIT_ACCEPT = 0;
export const EXIT_REJECT = 1;
export { EXIT_USAGE, UsageError };

/** The flags every `attest verify` kind understands. */
export interface CommonOptions {
  at: Date | undefined;
  policyFile: string | undefined;
  allowDebug: boolean;
  allowSimulated: boolean;
  measurements: string[];
  expectReportData: string | undefined;
  json: boolean;
  help: boolean;
  /** Relaxation flags given (relax.ts: `--allow-missing-…`); each is printed as RELAXED. */
  relax: Set<string>;
}

export const COMMON_HELP = `  --at ISO_TIME             verification time (default: now); pin it for old evidence
  --policy FILE             attestation policy JSON (merged over the defaults; unknown keys are errors)
  --allow-debug             accept a guest whose policy allows debugging
  --allow-simulated         trust a root certificate supplied with the evidence (development only)
  --measurement HEX         allowed launch measurement, 48-byte hex (repeatable)
  --expect-report-data HEX  expected REPORT_DATA / nonce (hex; zero-padded to 64 bytes for SNP)
  --json                    print one JSON object {ok, kind, checks, fields, relaxed}
  -h, --help                this help

Missing evidence is a refusal. Relaxations (off by default; each one is printed as RELAXED and
says what it gives up; use them only to audit old evidence offline):
${RELAXATIONS.map((r) => `  ${r.flag.padEnd(32)} ${r.section}.${r.key}`).join('\n')}

Exit status: 0 accepted, 1 rejected (also malformed or truncated input), 2 usage error.`;

/** The common flags as node:util parseArgs options (the relaxation flags are added from RELAXATIONS). */
const COMMON_OPTIONS = {
  at: { type: 'string' },
  policy: { type: 'string' },
  'allow-debug': { type: 'boolean' },
  'allow-simulated': { type: 'boolean' },
  measurement: { type: 'string', multiple: true },
  'expect-report-data': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

/**
 * Parses argv (node:util parseArgs through parseCli: strict, no positionals) into the common
 * options plus kind-specific ones. `specific` maps a flag (`--name`) to 'value' (at most once) |
 * 'multi' | 'bool'; its results come back in `extra`, keyed by the flag. Throws UsageError.
 */
export function parseOptions(
  argv: readonly string[],
  specific: Readonly<Record<string, 'value' | 'multi' | 'bool'>>,
): { common: CommonOptions; extra: Map<string, string[]> } {
  const options: OptionSpec = { ...COMMON_OPTIONS };
  for (const r of RELAXATIONS) options[r.flag.replace(/^--/, '')] = { type: 'boolean' };
  for (const [flag, kind] of Object.entries(specific))
    options[flag.replace(/^--/, '')] =
      kind === 'bool' ? { type: 'boolean' } : { type: 'string', multiple: true };
  const { values } = parseCli(argv, options, false);
  const v = values as Record<string, string | boolean | string[] | undefined>;
  const str = (k: keyof typeof COMMON_OPTIONS): string | undefined =>
    typeof v[k] === 'string' ? v[k] : undefined;
  const common: CommonOptions = {
    at: undefined,
    policyFile: str('policy'),
    allowDebug: v['allow-debug'] === true,
    allowSimulated: v['allow-simulated'] === true,
    measurements: [],
    expectReportData: undefined,
    json: v['json'] === true,
    help: v['help'] === true,
    relax: new Set(RELAXATIONS.map((r) => r.flag).filter((f) => v[f.slice(2)] === true)),
  };
  const at = str('at');
  if (at !== undefined) {
    const d = new Date(at);
    if (!/^\d{4}-\d{2}-\d{2}/.test(at) || Number.isNaN(d.getTime()))
      throw new UsageError(`--at: expected an ISO 8601 time, got ${JSON.stringify(at)}`, 'at');
    common.at = d;
  }
  for (const raw of (v['measurement'] as string[] | undefined) ?? []) {
    const m = raw.toLowerCase().replace(/^0x/, '');
    if (!/^[0-9a-f]{96}$/.test(m))
      throw new UsageError(
        `--measurement: expected 48-byte hex (96 digits), got ${JSON.stringify(m.slice(0, 100))}`,
        'measurement',
      );
    common.measurements.push(m);
  }
  const rd = str('expect-report-data');
  if (rd !== undefined) {
    const r = rd.toLowerCase().replace(/^0x/, '');
    if (!/^([0-9a-f]{2}){1,64}$/.test(r))
      throw new UsageError(
        `--expect-report-data: expected 1..64 bytes of hex, got ${JSON.stringify(r.slice(0, 140))}`,
        'expect-report-data',
      );
    common.expectReportData = r;
  }
  const extra = new Map<string, string[]>();
  for (const [flag, kind] of Object.entries(specific)) {
    const got = v[flag.replace(/^--/, '')];
    if (got === undefined || got === false) continue;
    const list = got === true ? ['true'] : typeof got === 'string' ? [got] : got;
    if (kind === 'value' && list.length > 1)
      throw new UsageError(`${flag}: expected once, got ${list.length} times`, flag.slice(2));
    extra.set(flag, list);
  }
  return { common, extra };
}

export function readFileOrUsage(path: string, flag: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(
      `${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
}

/**
 * Input detection: PEM text is returned as is (the certificate parsers read PEM); hex text and
 * base64 text are decoded; anything else is binary. JSON is returned as is (callers that accept
 * JSON check `looksLikeJson`).
 */
export function decodeInput(raw: Uint8Array): Uint8Array {
  const text = Buffer.from(raw).toString('latin1').trim();
  if (text.includes('-----BEGIN') || looksLikeJson(raw)) return raw;
  if (text.length > 0 && /^(0x)?[0-9a-fA-F\s]+$/.test(text)) {
    const hex = text.replace(/^0x/, '').replace(/\s+/g, '');
    if (hex.length % 2 === 0) return new Uint8Array(Buffer.from(hex, 'hex'));
  }
  if (text.length >= 16 && /^[A-Za-z0-9+/_\-=\s]+$/.test(text)) {
    return new Uint8Array(
      Buffer.from(text.replace(/\s+/g, ''), /[-_]/.test(text) ? 'base64url' : 'base64'),
    );
  }
  return raw;
}

export function looksLikeJson(raw: Uint8Array): boolean {
  const t = Buffer.from(raw.subarray(0, 64)).toString('latin1').trimStart();
  return t.startsWith('{') || t.startsWith('[');
}

export function parseJsonOrUsage(raw: Uint8Array, flag: string): unknown {
  try {
    return JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch (e) {
    throw new UsageError(
      `${flag}: expected JSON, got ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** The policy from --policy FILE and the common flags (flags only ever add constraints or opt-ins the user typed). */
export function buildPolicy(
  o: CommonOptions,
  apply: (p: AttestationPolicy) => AttestationPolicy = (p) => p,
): AttestationPolicy {
  let policy: AttestationPolicy = DEFAULT_POLICY;
  if (o.policyFile !== undefined) {
    const json = parseJsonOrUsage(readFileOrUsage(o.policyFile, '--policy'), '--policy');
    try {
      policy = mergePolicy(DEFAULT_POLICY, json);
    } catch (e) {
      if (e instanceof ProtocolError) throw new UsageError(`--policy: ${e.message}`);
      throw e;
    }
  }
  if (o.allowSimulated) policy = { ...policy, allowSimulated: true };
  policy = {
    ...policy,
    snp: { ...policy.snp, ...relaxationFromFlags(o.relax, 'snp') },
    tdx: { ...policy.tdx, ...relaxationFromFlags(o.relax, 'tdx') },
  };
  return apply(policy);
}

/** A relaxation flag that does not apply to this kind is a usage error (never silently ignored). */
export function checkRelaxFlags(o: CommonOptions, sections: readonly RelaxSection[]): void {
  for (const f of o.relax) {
    const r = RELAXATIONS.find((x) => x.flag === f);
    if (r !== undefined && !sections.includes(r.section))
      throw new UsageError(
        `${f}: expected a relaxation for ${sections.join(' or ')} evidence, got one for ${r.section}`,
      );
  }
}

function renderValue(v: FieldValue, indent: string): string[] {
  if (v === null) return ['—'];
  if (Array.isArray(v))
    return [
      v
        .map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x)))
        .join(', '),
    ];
  if (typeof v === 'object') {
    const entries = Object.entries(v as { [k: string]: FieldValue });
    if (entries.length === 0) return ['{}'];
    const w = Math.max(...entries.map(([k]) => k.length));
    const lines = [''];
    for (const [k, x] of entries) {
      const [first, ...rest] = renderValue(x, indent + '  ');
      lines.push(`${indent}  ${k.padEnd(w)}  ${first ?? ''}`, ...rest);
    }
    return lines;
  }
  return [String(v)];
}

/** Readable fields (nested objects indented). */
export function renderFields(fields: Fields, indent = '  '): string {
  const entries = Object.entries(fields);
  if (entries.length === 0) return '';
  const w = Math.max(...entries.map(([k]) => k.length));
  const lines: string[] = [];
  for (const [k, v] of entries) {
    const [first, ...rest] = renderValue(v, indent);
    lines.push(`${indent}${k.padEnd(w)}  ${first ?? ''}`, ...rest);
  }
  return lines.join('\n') + '\n';
}

/** The non-JSON output: verdict, one line per check, then the decoded fields. */
export function renderReport(
  kind: string,
  ok: boolean,
  checks: readonly Check[],
  fields: Fields,
  simulated = false,
): string {
  const relaxed = relaxedIn(checks);
  const lines = [
    `${kind}: ${ok ? 'ACCEPTED' : 'REJECTED'}${simulated ? ' (SIMULATED root — development only)' : ''}${relaxed.length > 0 ? ` — RELAXED: ${relaxed.join(', ')}` : ''}`,
    '',
  ];
  const w = Math.max(...checks.map((c) => c.id.length), 4);
  for (const c of checks)
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.id.padEnd(w)}  ${c.message}`);
  return lines.join('\n') + '\n\n' + renderFields(fields);
}

/** Prints a verification report per the output contract and returns the exit status. */
export function emitReport(io: CliIo, r: VerificationReport, json: boolean, at: Date): number {
  const fields: Fields = {
    ...r.fields,
    verified_at: at.toISOString(),
    ...(r.simulated ? { simulated: true } : {}),
  };
  if (json)
    io.out(
      JSON.stringify({
        ok: r.ok,
        kind: r.kind,
        checks: r.checks,
        fields,
        relaxed: relaxedIn(r.checks),
      }) + '\n',
    );
  else io.out(renderReport(r.kind, r.ok, r.checks, fields, r.simulated));
  return r.ok ? EXIT_ACCEPT : EXIT_REJECT;
}

/** Runs a verify command body, mapping UsageError → exit 2 (stderr) and never leaking a stack trace. */
export async function runVerify(
  io: CliIo,
  name: string,
  body: () => number | Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(usageLine(`teechat attest verify ${name}`, e));
      return EXIT_USAGE;
    }
    if (e instanceof ProtocolError) {
      io.err(`teechat attest verify ${name}: rejected: ${e.code}: ${e.message}\n`);
      return EXIT_REJECT;
    }
    io.err(
      `teechat attest verify ${name}: internal error: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    return EXIT_REJECT;
  }
}

/**
 * The frame of every `attest verify <kind>`: parses the common and kind-specific flags, answers
 * --help on stdout, and runs `body` under runVerify's error mapping. Returns the exit status.
 */
export function verifyCommand<K extends string>(
  io: CliIo,
  name: string,
  help: string,
  specific: Readonly<Record<K, 'value' | 'multi' | 'bool'>>,
  argv: readonly string[],
  body: (common: CommonOptions, extra: Map<string, string[]>) => number | Promise<number>,
): Promise<number> {
  return runVerify(io, name, () => {
    const { common, extra } = parseOptions(argv, specific);
    if (common.help) {
      io.out(help);
      return EXIT_ACCEPT;
    }
    return body(common, extra);
  });
}
