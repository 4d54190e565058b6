/**
 * `teechat attest verify tdx` and the TDX part of `teechat attest show`.
 *
 *   teechat attest verify tdx --quote FILE [--collateral DIR] [--ccel FILE] [--at ISO_TIME]
 *       [--policy POLICY.json] [--allow-debug] [--measurement HEX]... [--expect-report-data HEX]
 *       [--require-collateral] [--json]
 *
 * Output contract (shared by every `attest verify` kind): with --json one object
 * {"ok", "kind", "checks": [{"id", "ok", "message"}], "fields"} on stdout; otherwise a table.
 * Exit 0 accepted, 1 rejected (including malformed or truncated input), 2 usage error.
 * Diagnostics go to stderr.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { DEFAULT_POLICY, mergePolicy } from '../../protocol/attestation/policy';
import type { AttestationPolicy } from '../../protocol/attestation/policy';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import { collateralFromParts, verifyTdxQuote } from '../../protocol/attestation/tdx/verify';
import { tdxCollateralPartName } from '../../protocol/attestation/tdx/parts';
import type { TdxCollateral } from '../../protocol/attestation/tdx/verify';
import { toHex } from '../../protocol/attestation/tdx/bytes';
import type { Check, Fields, FieldValue } from '../../protocol/attestation/types';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const EXIT_ACCEPT = 0;
export const EXIT_REJECT = 1;
export const EXIT_USAGE = 2;

export const TDX_VERIFY_HELP = `Usage: teechat attest verify tdx --quote FILE [options]

Verifies an Intel TDX DCAP quote (v4/v5) offline: quote signature, QE report, PCK chain to the
pinned Intel SGX Root CA, collateral when given, CCEL replay when given, and the policy.

Options:
  --quote FILE              the quote (binary, hex text or base64 text)
  --collateral DIR          Intel PCS collateral: TCB info JSON, TD_QE identity JSON, optional
                            TCB-Info-Issuer-Chain PEM, CRLs (DER or PEM); detected by content
  --ccel FILE               CCEL event log to replay into RTMR0..3
  --at ISO_TIME             verification time (default: now); pin it for old evidence
  --policy FILE             attestation policy JSON (its "tdx" section applies)
  --allow-debug             accept a TD with TD_ATTRIBUTES.DEBUG set
  --measurement HEX         allowed MRTD (repeatable)
  --expect-report-data HEX  expected REPORTDATA (64 bytes)
  --require-collateral      reject when TCB info / QE identity are not given
  --json                    print one JSON object
  -h, --help                this help

Exit status: 0 accepted, 1 rejected (also malformed input), 2 usage error.
`;

class UsageError extends Error {}

interface TdxArgs {
  quote: string;
  collateral?: string;
  ccel?: string;
  at?: Date;
  policy?: string;
  allowDebug: boolean;
  measurements: string[];
  expectReportData?: string;
  requireCollateral: boolean;
  json: boolean;
  help: boolean;
}

function parseArgs(argv: readonly string[]): TdxArgs {
  const a: Partial<TdxArgs> & { measurements: string[] } = { measurements: [] };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--'))
      throw new UsageError(`${flag}: expected a value, got ${v === undefined ? 'nothing' : v}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i] ?? '';
    switch (f) {
      case '--quote':
        a.quote = value(i++, f);
        break;
      case '--collateral':
        a.collateral = value(i++, f);
        break;
      case '--ccel':
        a.ccel = value(i++, f);
        break;
      case '--at': {
        const s = value(i++, f);
        const d = new Date(s);
        if (Number.isNaN(d.getTime()))
          throw new UsageError(`--at: expected an ISO 8601 time, got ${JSON.stringify(s)}`);
        a.at = d;
        break;
      }
      case '--policy':
        a.policy = value(i++, f);
        break;
      case '--allow-debug':
        a.allowDebug = true;
        break;
      case '--measurement': {
        const m = value(i++, f).toLowerCase().replace(/^0x/, '');
        if (!/^[0-9a-f]{96}$/.test(m))
          throw new UsageError(
            `--measurement: expected 48-byte hex (96 digits), got ${JSON.stringify(m)}`,
          );
        a.measurements.push(m);
        break;
      }
      case '--expect-report-data': {
        const r = value(i++, f).toLowerCase().replace(/^0x/, '');
        if (!/^[0-9a-f]{128}$/.test(r))
          throw new UsageError(
            `--expect-report-data: expected 64-byte hex (128 digits), got ${JSON.stringify(r)}`,
          );
        a.expectReportData = r;
        break;
      }
      case '--require-collateral':
        a.requireCollateral = true;
        break;
      case '--json':
        a.json = true;
        break;
      case '-h':
      case '--help':
        a.help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(f)}`);
    }
  }
  if (a.help !== true && a.quote === undefined)
    throw new UsageError('--quote: expected a file, got nothing');
  return {
    quote: a.quote ?? '',
    measurements: a.measurements,
    allowDebug: a.allowDebug ?? false,
    requireCollateral: a.requireCollateral ?? false,
    json: a.json ?? false,
    help: a.help ?? false,
    ...(a.collateral !== undefined ? { collateral: a.collateral } : {}),
    ...(a.ccel !== undefined ? { ccel: a.ccel } : {}),
    ...(a.at !== undefined ? { at: a.at } : {}),
    ...(a.policy !== undefined ? { policy: a.policy } : {}),
    ...(a.expectReportData !== undefined ? { expectReportData: a.expectReportData } : {}),
  };
}

/** Binary as is; hex text or base64 text decoded (whitespace ignored). */
export function decodeBinaryInput(raw: Uint8Array): Uint8Array {
  const text = Buffer.from(raw).toString('latin1').trim();
  if (text.length > 0 && /^[0-9a-fA-F\s]+$/.test(text)) {
    const hex = text.replace(/\s+/g, '');
    if (hex.length % 2 === 0) return new Uint8Array(Buffer.from(hex, 'hex'));
  }
  if (text.length >= 16 && /^[A-Za-z0-9+/_\-=\s]+$/.test(text)) {
    return new Uint8Array(
      Buffer.from(
        text.replace(/\s+/g, ''),
        text.includes('-') || text.includes('_') ? 'base64url' : 'base64',
      ),
    );
  }
  return raw;
}

/** Reads a collateral directory, classifying files by content (see protocol/attestation/tdx/parts.ts). */
export function readCollateralDir(dir: string): TdxCollateral {
  const parts = new Map<string, Uint8Array>();
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (!statSync(p).isFile()) continue;
    const b = new Uint8Array(readFileSync(p));
    const part = tdxCollateralPartName(name, b);
    if (part === null) continue; // READMEs, checksums
    if (parts.has(part))
      throw new UsageError(
        `--collateral: expected one file for ${part} in ${dir}, got more (${name})`,
      );
    parts.set(part, b);
  }
  return collateralFromParts(parts) ?? { crls: new Map() };
}

function readFileOrUsage(path: string, flag: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(
      `${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
}

function buildPolicy(a: TdxArgs): AttestationPolicy {
  let policy: AttestationPolicy = DEFAULT_POLICY;
  if (a.policy !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(readFileOrUsage(a.policy, '--policy')).toString('utf8'));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(
        `--policy: expected JSON, got ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    try {
      policy = mergePolicy(DEFAULT_POLICY, json);
    } catch (e) {
      throw new UsageError(`--policy: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const tdx = {
    ...policy.tdx,
    ...(a.allowDebug ? { allowDebug: true } : {}),
    ...(a.measurements.length > 0 ? { mrtd: a.measurements } : {}),
    ...(a.expectReportData !== undefined ? { expectedReportData: a.expectReportData } : {}),
    ...(a.requireCollateral ? { requireCollateral: true } : {}),
  };
  return { ...policy, tdx };
}

function renderValue(v: FieldValue): string {
  if (v === null) return '—';
  if (Array.isArray(v)) return v.map((x) => renderValue(x as FieldValue)).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A readable table of checks and fields (the non-JSON output of every `attest` kind). */
export function renderReport(
  kind: string,
  ok: boolean,
  checks: readonly Check[],
  fields: Fields,
): string {
  const lines: string[] = [];
  lines.push(`${kind}: ${ok ? 'ACCEPTED' : 'REJECTED'}`);
  lines.push('');
  const w = Math.max(...checks.map((c) => c.id.length), 4);
  for (const c of checks)
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.id.padEnd(w)}  ${c.message}`);
  if (Object.keys(fields).length > 0) {
    lines.push('');
    const fw = Math.max(...Object.keys(fields).map((k) => k.length));
    for (const [k, v] of Object.entries(fields)) lines.push(`  ${k.padEnd(fw)}  ${renderValue(v)}`);
  }
  return lines.join('\n') + '\n';
}

/** `teechat attest verify tdx ...` — returns the exit status. */
export function attestVerifyTdx(argv: readonly string[], io: CliIo): number {
  let a: TdxArgs;
  let policy: AttestationPolicy;
  let quote: Uint8Array;
  let collateral: TdxCollateral | undefined;
  let ccel: Uint8Array | undefined;
  try {
    a = parseArgs(argv);
    if (a.help) {
      io.out(TDX_VERIFY_HELP);
      return EXIT_ACCEPT;
    }
    policy = buildPolicy(a);
    quote = decodeBinaryInput(readFileOrUsage(a.quote, '--quote'));
    if (a.collateral !== undefined) {
      try {
        if (!statSync(a.collateral).isDirectory())
          throw new UsageError(`--collateral: expected a directory, got a file: ${a.collateral}`);
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError(`--collateral: cannot read ${a.collateral}`);
      }
      collateral = readCollateralDir(a.collateral);
    }
    if (a.ccel !== undefined) ccel = readFileOrUsage(a.ccel, '--ccel');
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`teechat attest verify tdx: ${e.message}\n(see --help)\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  const at = a.at ?? new Date();
  const r = verifyTdxQuote(
    {
      quote,
      ...(collateral !== undefined ? { collateral } : {}),
      ...(ccel !== undefined ? { ccel } : {}),
    },
    { crypto: nodeProvider, now: () => at },
    policy.tdx,
  );
  const fields: Fields = { ...r.fields, verified_at: at.toISOString() };
  if (a.json) io.out(JSON.stringify({ ok: r.ok, kind: 'tdx', checks: r.checks, fields }) + '\n');
  else io.out(renderReport('tdx', r.ok, r.checks, fields));
  return r.ok ? EXIT_ACCEPT : EXIT_REJECT;
}

/** True when `b` starts like a DCAP TDX quote (version 4/5, ECDSA P-256 key, TEE type 0x81). */
export function looksLikeTdxQuote(b: Uint8Array): boolean {
  if (b.length < 48) return false;
  const v = (b[0] ?? 0) | ((b[1] ?? 0) << 8);
  const k = (b[2] ?? 0) | ((b[3] ?? 0) << 8);
  return (v === 4 || v === 5) && k === 2 && b[4] === 0x81 && b[5] === 0 && b[6] === 0 && b[7] === 0;
}

/** Decoded fields of a TDX quote for `teechat attest show` (no verification). Throws ProtocolError. */
export function showTdxQuote(raw: Uint8Array): Fields {
  const q = parseTdxQuote(decodeBinaryInput(raw));
  const b = q.body;
  const f: Record<string, FieldValue> = {
    kind: 'tdx',
    version: q.header.version,
    body_type: q.bodyType,
    tee_type: `0x${q.header.teeType.toString(16)}`,
    qe_vendor_id: toHex(q.header.qeVendorId),
    qe_svn: q.header.qeSvn,
    pce_svn: q.header.pceSvn,
    tee_tcb_svn: toHex(b.teeTcbSvn),
    mrseam: toHex(b.mrSeam),
    mrsignerseam: toHex(b.mrSignerSeam),
    seam_attributes: toHex(b.seamAttributes),
    td_attributes: toHex(b.tdAttributes),
    debug: ((b.tdAttributes[0] ?? 0) & 1) === 1,
    xfam: toHex(b.xfam),
    mrtd: toHex(b.mrTd),
    mrconfigid: toHex(b.mrConfigId),
    mrowner: toHex(b.mrOwner),
    mrownerconfig: toHex(b.mrOwnerConfig),
    rtmr0: toHex(b.rtmrs[0]),
    rtmr1: toHex(b.rtmrs[1]),
    rtmr2: toHex(b.rtmrs[2]),
    rtmr3: toHex(b.rtmrs[3]),
    report_data: toHex(b.reportData),
    qe_mrsigner: toHex(q.qeReport.mrSigner),
    qe_isvprodid: q.qeReport.isvProdId,
    qe_isvsvn: q.qeReport.isvSvn,
    trailing_bytes: q.trailingBytes,
  };
  if (b.teeTcbSvn2 !== undefined) f['tee_tcb_svn2'] = toHex(b.teeTcbSvn2);
  if (b.mrServiceTd !== undefined) f['mr_servicetd'] = toHex(b.mrServiceTd);
  return f;
}
