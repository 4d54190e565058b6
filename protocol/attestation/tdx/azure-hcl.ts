/**
 * The TDX variant of Azure's vTPM "HCL report": the paravisor puts a TDREPORT (not a quote) in the
 * HCL report, with TDREPORT.report_data[0:32] = SHA-256(var_data) (the runtime claims JSON that
 * carries the vTPM attestation key), and hands out a TD quote made from that TDREPORT. The TDREPORT
 * MAC cannot be checked off-platform, so it is trusted only through the quote: the quote must
 * verify (Intel chain, QE binding) and repeat the TDREPORT's report_data and MRTD.
 *
 * The HCL container itself (header, runtime-data header, var_data trimming) and the TPM quote are
 * parsed and checked in protocol/attestation/azure/; this module takes the pieces.
 */
import { okFromChecks } from '../verdict';
import { bytesEqual, toHex } from './bytes';
import { parseTdReport } from './tdreport';
import { verifyTdxQuote } from './verify';
import type { TdxCollateral, TdxVerifyContext, TdxVerifyResult } from './verify';
import type { TdxPolicy } from './policy';
import type { Check, FieldValue } from '../types';

export interface AzureTdxHclInput {
  /** The TDREPORT from the HCL report (1024 bytes; a longer, zero-padded slot is accepted). */
  readonly tdReport: Uint8Array;
  /** var_data exactly as hashed into report_data (the null padding already trimmed). */
  readonly varData: Uint8Array;
  /** The TD quote produced from that TDREPORT. */
  readonly quote: Uint8Array;
  readonly collateral?: TdxCollateral;
}

/**
 * Verifies the TDX side of an Azure HCL report. Check ids: everything `verifyTdxQuote` emits
 * (without a REPORTDATA binding: on Azure the session binding goes through the TPM quote's nonce),
 * plus `runtime_claims` (TDREPORT.report_data[0:32] = SHA-256(var_data)) and `tdreport`
 * (the quote's report_data and MRTD equal the TDREPORT's).
 */
export function verifyAzureTdxHcl(
  input: AzureTdxHclInput,
  ctx: TdxVerifyContext,
  policy: TdxPolicy,
): TdxVerifyResult {
  const checks: Check[] = [];
  let td;
  try {
    td = parseTdReport(input.tdReport, true);
  } catch (e) {
    checks.push({
      id: 'parse',
      ok: false,
      message: `tdreport: ${e instanceof Error ? e.message : String(e)}`,
    });
    return { ok: false, checks, fields: {} };
  }
  const q = verifyTdxQuote(
    { quote: input.quote, ...(input.collateral ? { collateral: input.collateral } : {}) },
    ctx,
    policy,
  );
  checks.push(...q.checks);

  const h = ctx.crypto.hash('SHA-256', input.varData);
  const rd = td.reportData.subarray(0, 32);
  checks.push(
    bytesEqual(h, rd)
      ? {
          id: 'runtime_claims',
          ok: true,
          message: `TDREPORT.report_data[0:32] = SHA-256(var_data, ${input.varData.length} bytes)`,
        }
      : {
          id: 'runtime_claims',
          ok: false,
          message: `tdreport.report_data[0:32]: expected SHA-256(var_data) = ${toHex(h)}, got ${toHex(rd)}`,
        },
  );

  if (q.quote !== undefined) {
    const body = q.quote.body;
    const problems: string[] = [];
    if (!bytesEqual(body.reportData, td.reportData)) {
      problems.push(
        `td_quote.report_data: expected ${toHex(td.reportData)} (TDREPORT), got ${toHex(body.reportData)}`,
      );
    }
    if (!bytesEqual(body.mrTd, td.mrTd))
      problems.push(
        `td_quote.mrtd: expected ${toHex(td.mrTd)} (TDREPORT), got ${toHex(body.mrTd)}`,
      );
    if (problems.length === 0)
      checks.push({
        id: 'tdreport',
        ok: true,
        message: 'the TD quote repeats the TDREPORT report_data and MRTD',
      });
    else for (const p of problems) checks.push({ id: 'tdreport', ok: false, message: p });
  }

  const fields: Record<string, FieldValue> = {
    ...q.fields,
    tdreport_report_data: toHex(td.reportData),
    tdreport_mrtd: toHex(td.mrTd),
    tdreport_rtmr0: toHex(td.rtmrs[0]),
    tdreport_rtmr1: toHex(td.rtmrs[1]),
    tdreport_rtmr2: toHex(td.rtmrs[2]),
    tdreport_rtmr3: toHex(td.rtmrs[3]),
  };
  return { ok: okFromChecks(checks), checks, fields, ...(q.quote ? { quote: q.quote } : {}) };
}
