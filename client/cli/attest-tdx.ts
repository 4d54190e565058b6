/**
 * `teechat attest verify tdx` and the TDX part of `teechat attest show`.
 *
 *   teechat attest verify tdx --quote FILE [--collateral DIR] [--ccel FILE] [--at ISO_TIME]
 *       [--policy POLICY.json] [--allow-debug] [--measurement HEX]... [--expect-report-data HEX]
 *       [--allow-missing-tcb-info] [--allow-missing-qe-identity] [--allow-missing-pck-crl]
 *       [--allow-missing-root-ca-crl] [--json]
 *
 * Options, input detection, the JSON output contract and exit codes are the shared ones of
 * attest-common.ts (0 accepted, 1 rejected including malformed input, 2 usage error).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import { collateralFromParts, verifyTdxQuote } from '../../protocol/attestation/tdx/verify';
import type { TdxCollateral } from '../../protocol/attestation/tdx/verify';
import { tdxCollateralPartName } from '../../protocol/attestation/tdx/parts';
import { tdxQuoteFields } from '../../protocol/attestation/tdx/fields';
import type { Fields } from '../../protocol/attestation/types';
import {
  COMMON_HELP,
  UsageError,
  buildPolicy,
  checkRelaxFlags,
  decodeInput,
  emitReport,
  readFileOrUsage,
  verifyCommand,
} from './attest-common';
import type { CliIo } from './attest-common';

export const TDX_VERIFY_HELP = `Usage: teechat attest verify tdx --quote FILE [--collateral DIR] [--ccel FILE] [options]

Verifies an Intel TDX DCAP quote (v4/v5) offline: quote signature (P-256), QE report signed by the
PCK leaf and binding the attestation key, PCK chain to the pinned Intel SGX Root CA, PCS collateral
when given (TCB info / QE identity signatures over the exact JSON bytes, freshness, TCB level,
QE identity, CRLs), CCEL replay when given, and the policy (debug forbidden by default, MRTD /
RTMR / MRCONFIGID / MROWNER allowlists, REPORTDATA).

Options:
  --quote FILE              the quote (binary, hex text or base64 text)
  --collateral DIR          Intel PCS collateral: TCB info JSON, TD_QE identity JSON, optional
                            TCB-Info-Issuer-Chain PEM, CRLs (DER or PEM; a DER file's name must
                            contain "crl"); detected by content. REQUIRED: without the TCB info,
                            the QE identity, the PCK CRL and the root CA CRL the quote is refused
                            (see the --allow-missing-* relaxations below)
  --ccel FILE               CCEL event log to replay into RTMR0..3
  (--measurement is an allowed MRTD; --expect-report-data is zero-padded to 64 bytes)
${COMMON_HELP}
`;

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

const SPECIFIC = {
  '--quote': 'value',
  '--collateral': 'value',
  '--ccel': 'value',
} as const;

/** `teechat attest verify tdx ...` — returns the exit status. */
export function attestVerifyTdx(argv: readonly string[], io: CliIo): Promise<number> {
  return verifyCommand(io, 'tdx', TDX_VERIFY_HELP, SPECIFIC, argv, (common, extra) => {
    checkRelaxFlags(common, ['tdx']);
    const quotePath = extra.get('--quote')?.[0];
    if (quotePath === undefined) throw new UsageError('--quote: expected a file, got nothing');
    const policy = buildPolicy(common, (p) => ({
      ...p,
      tdx: {
        ...p.tdx,
        ...(common.allowDebug ? { allowDebug: true } : {}),
        ...(common.measurements.length > 0 ? { mrtd: common.measurements } : {}),
        ...(common.expectReportData !== undefined
          ? { expectedReportData: common.expectReportData.padEnd(128, '0') }
          : {}),
      },
    }));
    const quote = decodeInput(readFileOrUsage(quotePath, '--quote'));
    const dir = extra.get('--collateral')?.[0];
    let collateral: TdxCollateral | undefined;
    if (dir !== undefined) {
      let isDir = false;
      try {
        isDir = statSync(dir).isDirectory();
      } catch (e) {
        throw new UsageError(
          `--collateral: cannot read ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        );
      }
      if (!isDir) throw new UsageError(`--collateral: expected a directory, got a file: ${dir}`);
      collateral = readCollateralDir(dir);
    }
    const ccelPath = extra.get('--ccel')?.[0];
    const ccel = ccelPath !== undefined ? readFileOrUsage(ccelPath, '--ccel') : undefined;
    const at = common.at ?? new Date();
    const r = verifyTdxQuote(
      {
        quote,
        ...(collateral !== undefined ? { collateral } : {}),
        ...(ccel !== undefined ? { ccel } : {}),
      },
      { crypto: nodeProvider, now: () => at },
      policy.tdx,
    );
    return emitReport(
      io,
      { ok: r.ok, kind: 'tdx', checks: r.checks, fields: r.fields, simulated: false },
      common.json,
      at,
    );
  });
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
  return { kind: 'tdx', ...tdxQuoteFields(parseTdxQuote(decodeInput(raw))) };
}
