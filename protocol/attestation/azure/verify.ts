/**
 * Azure confidential VM (vTPM) evidence: HCL report + TPM quote.
 *
 * Chain of trust: the hardware report (SNP: signed by the VCEK → ASK → pinned ARK; TDX: through
 * the TD quote → Intel root) binds SHA-256(runtime claims) in REPORT_DATA[0:32]; the runtime
 * claims carry the vTPM attestation key HCLAkPub; HCLAkPub signs the TPM quote (RSASSA-PKCS1-v1_5,
 * SHA-256) over the caller's nonce (extraData = the session binding) and the PCR digest.
 *
 * IMPORTANT: on Azure the SNP MEASUREMENT covers Microsoft's paravisor (HCL) firmware, not the
 * guest OS. Binding to our code goes through the vTPM PCRs (policy.azure.pcrs); the measurement is
 * checked against policy.azure.paravisorMeasurements.
 *
 * Evidence parts: `hcl` (required), `vcek` (+ `ask`/`ark`/`cert_chain`) for SNP, `td_quote`
 * (+ TDX collateral parts) for TDX, `tpm_quote` (TPMS_ATTEST), `tpm_signature` (raw or
 * TPMT_SIGNATURE), `pcrs` (SHA-256 bank, 24 × 32 bytes).
 * Check ids: `parse`, the SNP (or TDX) ids, `runtime_claims`, `tpm_quote`, `report_data` (the quote
 * nonce), `policy.pcrs`.
 */
import { okFromChecks } from '../verdict';
import type {
  BindingValues,
  Check,
  EvidenceItem,
  FieldValue,
  Fields,
  VerificationReport,
} from '../types';
import type { AttestationPolicy } from '../policy';
import { bytesEqual, fromHex, toHex } from '../../asn1/encoding';
import { parseSnpReport } from '../snp/report';
import { collectSnpCertificates, verifySnpCore } from '../snp/verify';
import type { SnpVerifyContext } from '../snp/verify';
import { verifyAzureTdxHcl } from '../tdx/azure-hcl';
import { collateralFromParts } from '../tdx/verify';
import { HCL, parseHclReport } from './hcl';
import type { HclReport } from './hcl';
import {
  computePcrDigest,
  formatSelection,
  parseTpmQuote,
  rsaSignatureBytes,
  splitPcrs,
} from './tpm';

const ok = (id: string, message: string): Check => ({ id, ok: true, message });
const bad = (id: string, message: string): Check => ({ id, ok: false, message });
const errMsg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export const AZURE_MEASUREMENT_NOTE =
  'On Azure the SNP measurement covers the Azure paravisor (HCL) firmware, not the guest OS; the guest is bound through the vTPM PCRs.';

function hclFields(h: HclReport): Record<string, FieldValue> {
  return {
    version: h.version,
    report_type: h.reportType === HCL.REPORT_TYPE_SNP ? 'snp' : 'tdx',
    request_type: h.requestType,
    var_data_size: h.varData.length,
    user_data: h.claims.userData ?? null,
    vm_configuration:
      h.claims.vmConfiguration === undefined
        ? null
        : (JSON.parse(JSON.stringify(h.claims.vmConfiguration)) as FieldValue),
    ak_pub_modulus_bits: h.claims.akPub === undefined ? null : h.claims.akPub.n.length * 8,
  };
}

/** Verifies an `azure-hcl` evidence item. Never throws for attacker-controlled input. */
export function verifyAzureHclEvidence(
  item: EvidenceItem,
  ctx: SnpVerifyContext,
  policy: AttestationPolicy,
  binding?: BindingValues,
): VerificationReport {
  const base = { kind: item.kind, ...(item.label !== '' ? { label: item.label } : {}) };
  const checks: Check[] = [];
  const fields: Record<string, FieldValue> = { note: AZURE_MEASUREMENT_NOTE };
  let simulated = false;
  const hclBytes = item.parts.get('hcl');
  let hcl: HclReport;
  try {
    if (hclBytes === undefined) throw new Error('hcl: expected an HCL report part, got none');
    hcl = parseHclReport(hclBytes);
  } catch (e) {
    return { ...base, ok: false, checks: [bad('parse', errMsg(e))], fields, simulated: false };
  }
  fields['hcl'] = hclFields(hcl);

  // Hardware report and runtime claims.
  let hwReportData: Uint8Array | undefined;
  if (hcl.reportType === HCL.REPORT_TYPE_SNP) {
    try {
      const report = parseSnpReport(hcl.hwReport);
      hwReportData = report.reportData;
      const certs = collectSnpCertificates(item.parts);
      const res = verifySnpCore(report, certs, ctx, policy, {
        expectedReportData: null,
        checkReportData: false,
        measurements: policy.azure.paravisorMeasurements,
        measurementLabel: 'paravisor measurement (Azure HCL firmware, not the guest)',
      });
      checks.push(...res.checks);
      simulated = res.simulated;
      fields['snp'] = res.fields;
    } catch (e) {
      checks.push(bad('parse', `hcl.snp_report: ${errMsg(e)}`));
    }
  } else {
    const quote = item.parts.get('td_quote');
    if (quote === undefined) {
      checks.push(
        bad(
          'parse',
          'td_quote: expected the TD quote made from the HCL TDREPORT (TDX variant), got none',
        ),
      );
    } else {
      const collateral = collateralFromParts(item.parts);
      const res = verifyAzureTdxHcl(
        {
          tdReport: hcl.hwReport,
          varData: hcl.varData,
          quote,
          ...(collateral ? { collateral } : {}),
        },
        ctx,
        policy.tdx,
      );
      checks.push(...res.checks);
      fields['tdx'] = res.fields;
    }
  }
  if (hwReportData !== undefined) {
    const h = ctx.crypto.hash('SHA-256', hcl.varData);
    checks.push(
      bytesEqual(h, hwReportData.subarray(0, 32))
        ? ok(
            'runtime_claims',
            `REPORT_DATA[0:32] = SHA-256(runtime claims, ${hcl.varData.length} bytes)`,
          )
        : bad(
            'runtime_claims',
            `report_data[0:32]: expected SHA-256(var_data) = ${toHex(h)}, got ${toHex(hwReportData.subarray(0, 32))}`,
          ),
    );
  }
  const ak = hcl.claims.akPub;
  if (ak === undefined)
    checks.push(bad('runtime_claims', 'runtime claims: expected an HCLAkPub RSA key, got none'));

  // TPM quote: signature by HCLAkPub, PCR digest, nonce.
  const qb = item.parts.get('tpm_quote');
  const sb = item.parts.get('tpm_signature');
  const pb = item.parts.get('pcrs');
  if (qb === undefined || sb === undefined) {
    checks.push(
      bad(
        'tpm_quote',
        'tpm_quote: expected a TPM quote and its signature (they bind the session nonce and the PCRs), got none',
      ),
    );
  } else {
    try {
      const q = parseTpmQuote(qb);
      const problems: string[] = [];
      if (ak !== undefined) {
        const { signature, hash } = rsaSignatureBytes(sb, ak.n.length - (ak.n[0] === 0 ? 1 : 0));
        if (!ctx.crypto.rsaVerify(ak, { scheme: 'pkcs1v15', hash }, qb, signature))
          problems.push('signature: expected valid RSASSA-PKCS1-v1_5 by HCLAkPub, got invalid');
      }
      const pcrFields: Record<string, FieldValue> = {};
      if (pb === undefined)
        problems.push('pcrs: expected the PCR values the quote covers, got none');
      else {
        const pcrs = splitPcrs(pb);
        const digest = computePcrDigest(ctx.crypto, q, pcrs);
        if (!bytesEqual(digest, q.pcrDigest))
          problems.push(
            `pcrDigest: expected SHA-256 of the supplied PCRs ${toHex(digest)}, got ${toHex(q.pcrDigest)}`,
          );
        for (const sel of q.pcrSelections)
          for (const i of sel.pcrs) pcrFields[String(i)] = toHex(pcrs[i]!);
        // Policy on PCR values (only meaningful once the digest matched).
        const want = policy.azure.pcrs;
        const pcrProblems: string[] = [];
        for (const [idx, allowed] of Object.entries(want)) {
          const i = Number(idx);
          const v = pcrs[i];
          const covered = q.pcrSelections.some((s) => s.pcrs.includes(i));
          if (v === undefined || !covered)
            pcrProblems.push(`PCR ${idx}: expected a quoted value, got none`);
          else if (!allowed.some((a) => toHex(v) === a.toLowerCase()))
            pcrProblems.push(
              `PCR ${idx}: expected one of ${allowed.map((a) => a.slice(0, 12) + '…').join(', ')}, got ${toHex(v)}`,
            );
        }
        checks.push(
          pcrProblems.length === 0
            ? ok(
                'policy.pcrs',
                Object.keys(want).length === 0
                  ? 'no PCR values configured (guest code not constrained)'
                  : `PCRs ${Object.keys(want).join(', ')} as expected`,
              )
            : bad('policy.pcrs', pcrProblems.join('; ')),
        );
      }
      checks.push(
        problems.length === 0
          ? ok('tpm_quote', `TPM quote signed by HCLAkPub over PCRs ${formatSelection(q)}`)
          : bad('tpm_quote', `tpm_quote: ${problems.join('; ')}`),
      );
      // The quote nonce is the session binding.
      let want: Uint8Array | null = null;
      if (binding !== undefined) want = binding.cpuReportData;
      else if (policy.azure.expectedNonce !== null)
        // the policy grammar allows a 0x prefix (policy.ts); the decoder is strict hex
        want = fromHex(policy.azure.expectedNonce.replace(/^0x/, ''), 'policy.azure.expectedNonce');
      if (want === null)
        checks.push(
          ok(
            'report_data',
            `TPM quote nonce ${toHex(q.extraData)} (not checked: no expected value given)`,
          ),
        );
      else
        checks.push(
          bytesEqual(q.extraData, want)
            ? ok('report_data', 'TPM quote nonce equals the expected binding value')
            : bad(
                'report_data',
                `tpm_quote.extraData: expected ${toHex(want)}, got ${toHex(q.extraData)}`,
              ),
        );
      fields['tpm_quote'] = {
        extra_data: toHex(q.extraData),
        pcr_selection: formatSelection(q),
        pcr_digest: toHex(q.pcrDigest),
        clock: q.clock.toString(),
        reset_count: q.resetCount,
        restart_count: q.restartCount,
        firmware_version: `0x${q.firmwareVersion.toString(16)}`,
      };
      fields['pcrs'] = pcrFields;
    } catch (e) {
      checks.push(bad('tpm_quote', `tpm_quote: ${errMsg(e)}`));
    }
  }
  return {
    ...base,
    ok: okFromChecks(checks),
    checks,
    fields: fields as Fields,
    simulated,
  };
}
