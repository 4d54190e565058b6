/**
 * Intel TDX quote verification: parse → verify → validate, collecting every check.
 *
 * verify:   quote signature (P-256 over header‖body by the attestation key) · QE report signature
 *           (P-256 by the PCK leaf key) · QE report_data[0:32] = SHA-256(att_key‖qe_auth) and
 *           [32:64] zero · PCK chain to the pinned Intel SGX Root CA at `now` · collateral when
 *           supplied: tcbInfo / QE identity signatures (TCB Signing chain to the same root) over the
 *           exact JSON bytes, freshness, FMSPC / PCE-ID match, CRLs · CCEL replay to RTMR0..3.
 * validate: TCB status, QE identity, TD_ATTRIBUTES.DEBUG, MRTD / RTMR / MRCONFIGID / MROWNER /
 *           MROWNERCONFIG allowlists, minimum TEE_TCB_SVN, REPORTDATA = binding value.
 */
import { okFromChecks } from '../verdict';
import { chainChecks } from '../chain';
import type { CryptoProvider } from '../../crypto/provider';
import { ProtocolError } from '../../errors';
import { namesEqual, nameAttr, parseCertificate, verifyChain } from '../../x509/index';
import type { Certificate } from '../../x509/index';
import { findRevoked, parseCrl, verifyCrlSignedBy } from '../../x509/crl';
import type {
  BindingValues,
  Check,
  EvidenceItem,
  Fields,
  VerificationReport,
  VerifyContext,
} from '../types';
import { INTEL_SGX_ROOT_CA_DER, INTEL_SGX_TCB_SIGNING_DER } from '../roots/intel';
import { bytesEqual, concatBytes, fromHex, isAllZero, pemBlocks, toHex, utf8Decode } from './bytes';
import { parseCcel, replayRtmrs } from './ccel';
import type { CcelLog } from './ccel';
import { evaluateQeIdentity, evaluateTdxTcb, parseQeIdentity, parseTdxTcbInfo } from './collateral';
import type { QeIdentity, SignedCollateral, TdxTcbInfo } from './collateral';
import { parsePckExtension } from './pck';
import {
  TD_ATTRIBUTES_DEBUG_BIT,
  TD_ATTRIBUTES_SEPT_VE_DISABLE_BIT,
  tdAttribute,
  tdxQuoteFields,
} from './fields';
import { TDX_PART } from './parts';
import type { PckExtension } from './pck';
import { INTEL_QE_VENDOR_ID, parseTdxQuote } from './quote';
import type { TdxQuote } from './quote';
import type { TdxPolicy } from './policy';
import { relaxationChecks } from '../relax';

/** TCB statuses that a per-advisory allowlist may accept. */
const ADVISORY_STATUSES: ReadonlySet<string> = new Set([
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
]);
/** SGX ATTRIBUTES.FLAGS DEBUG (bit 1 of byte 0) in the QE's report. */
export const SGX_ATTRIBUTES_DEBUG = 0x02;

/** Collateral supplied with a quote (all optional; raw bytes as served by Intel PCS). */
export interface TdxCollateral {
  readonly tcbInfo?: Uint8Array;
  readonly qeIdentity?: Uint8Array;
  /** TCB-Info-Issuer-Chain PEM (TCB Signing cert [+ root]); defaults to the known Intel TCB Signing cert. */
  readonly tcbSigningChain?: Uint8Array;
  /** CRLs (DER or PEM) keyed by a free-form name, e.g. "pck_platform", "root". */
  readonly crls?: ReadonlyMap<string, Uint8Array>;
}

export interface TdxVerifyInput {
  readonly quote: Uint8Array;
  readonly collateral?: TdxCollateral;
  /** CCEL event log (the ACPI CCEL area); replayed to RTMR0..3 and compared with the quote's. */
  readonly ccel?: Uint8Array;
}

export interface TdxVerifyContext extends VerifyContext {
  readonly crypto: CryptoProvider;
  /** Trust anchors (default: the pinned Intel SGX Root CA). Tests and development setups may replace it. */
  readonly intelRoots?: readonly Certificate[];
}

export interface TdxVerifyResult {
  readonly ok: boolean;
  readonly checks: readonly Check[];
  readonly fields: Fields;
  /** The parsed quote (undefined when it did not parse). */
  readonly quote?: TdxQuote;
}

let pinnedRoots: Certificate[] | undefined;
let knownTcbSigning: Certificate[] | undefined;

/** The pinned Intel SGX Root CA (parsed once). */
export function intelRootCertificates(): readonly Certificate[] {
  pinnedRoots ??= [parseCertificate(INTEL_SGX_ROOT_CA_DER)];
  return pinnedRoots;
}

function tcbSigningChain(c: TdxCollateral | undefined): Certificate[] {
  if (c?.tcbSigningChain !== undefined) {
    return pemBlocks(
      utf8Decode(c.tcbSigningChain, 'collateral.tcb_signing_chain'),
      'CERTIFICATE',
      'collateral.tcb_signing_chain',
    ).map(parseCertificate);
  }
  knownTcbSigning ??= [parseCertificate(INTEL_SGX_TCB_SIGNING_DER)];
  return knownTcbSigning;
}

/** The subject CN Intel's PCS signs TCB info and QE identity with (Intel QVL, go-tdx-guest). */
export const INTEL_TCB_SIGNING_CN = 'Intel SGX TCB Signing';

/**
 * Problems with the collateral signer: its chain must verify to the pinned root at `now` AND its
 * subject must be the Intel SGX TCB Signing certificate (issued directly by the root). Any other
 * key chaining to the root (a PCK leaf, the PCK Platform CA) may not sign TCB info / QE identity.
 */
function tcbSignerProblems(
  crypto: CryptoProvider,
  sc: readonly Certificate[],
  roots: readonly Certificate[],
  now: Date,
): string[] {
  const problems: string[] = [];
  for (const p of verifyChain(crypto, sc, roots, now).problems)
    problems.push(`tcb_signing_chain: ${p}`);
  const signer = sc[0];
  const cn = signer !== undefined ? nameAttr(signer.subject) : undefined;
  if (cn !== INTEL_TCB_SIGNING_CN)
    problems.push(
      `tcb_signing_chain.subject: expected CN "${INTEL_TCB_SIGNING_CN}", got "${cn ?? 'none'}"`,
    );
  else if (signer !== undefined && !roots.some((r) => namesEqual(r.subject, signer.issuer)))
    problems.push(
      `tcb_signing_chain.issuer: expected the pinned root, got "${nameAttr(signer.issuer) ?? '?'}"`,
    );
  return problems;
}

/** "N days (issued ISO)" when `issued` is more than `maxDays` before `now` (0: no limit), else null. */
function tooOld(now: Date, issued: Date, maxDays: number): string | null {
  if (maxDays <= 0) return null;
  const days = (now.getTime() - issued.getTime()) / 86_400_000;
  return days > maxDays ? `${days.toFixed(1)} days (issued ${issued.toISOString()})` : null;
}

const errMsg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

class Checks {
  readonly list: Check[] = [];
  pass(id: string, message: string): void {
    this.list.push({ id, ok: true, message });
  }
  fail(id: string, message: string): void {
    this.list.push({ id, ok: false, message });
  }
  /** One passing check when `problems` is empty, else one failing check per problem. */
  all(id: string, problems: readonly string[], okMessage: string): void {
    if (problems.length === 0) this.pass(id, okMessage);
    else for (const p of problems) this.fail(id, p);
  }
}

function ecKeyFromXY(xy: Uint8Array) {
  return { kind: 'ec' as const, curve: 'P-256' as const, point: concatBytes(Uint8Array.of(4), xy) };
}

function parseCrlInput(b: Uint8Array, name: string): Uint8Array {
  if (b.length > 0 && b[0] === 0x30) return b;
  const blocks = pemBlocks(
    utf8Decode(b, `collateral.crl.${name}`),
    'X509 CRL',
    `collateral.crl.${name}`,
  );
  const first = blocks[0];
  if (blocks.length !== 1 || first === undefined) {
    throw new ProtocolError(
      'x509_parse',
      `collateral.crl.${name}: expected one DER or PEM CRL, got ${blocks.length} PEM blocks`,
      `collateral.crl.${name}`,
    );
  }
  return first;
}

function inWindow(now: Date, from: Date, to: Date): boolean {
  return now.getTime() >= from.getTime() && now.getTime() <= to.getTime();
}

/** Lower-case, prefix-free hex for comparisons with policy values. */
function normHex(h: string): string {
  return h.trim().toLowerCase().replace(/^0x/, '');
}

function allowlist(
  checks: Checks,
  id: string,
  name: string,
  actual: Uint8Array,
  allowed: readonly string[],
): void {
  const a = toHex(actual);
  if (allowed.length === 0) {
    checks.pass(id, `${name}: not pinned by policy (any value accepted), got ${a}`);
    return;
  }
  if (allowed.map(normHex).includes(a)) checks.pass(id, `${name}: ${a} is in the policy allowlist`);
  else checks.fail(id, `${name}: expected one of [${allowed.map(normHex).join(', ')}], got ${a}`);
}

/** Verifies and validates one TDX quote. Never throws for malformed input: a parse failure is a failed check. */
export function verifyTdxQuote(
  input: TdxVerifyInput,
  ctx: TdxVerifyContext,
  policy: TdxPolicy,
  binding?: BindingValues,
): TdxVerifyResult {
  const checks = new Checks();
  const now = ctx.now();
  const crypto = ctx.crypto;
  const roots = ctx.intelRoots ?? intelRootCertificates();

  // ---- parse ----
  let quote: TdxQuote;
  try {
    quote = parseTdxQuote(input.quote);
  } catch (e) {
    checks.fail('parse', `tdx_quote: ${errMsg(e)}`);
    return { ok: false, checks: checks.list, fields: {} };
  }
  const body = quote.body;
  const fields = tdxQuoteFields(quote);

  // ---- verify: quote signature ----
  if (
    crypto.ecdsaVerify(
      ecKeyFromXY(quote.attestationKey),
      'SHA-256',
      quote.signedBytes,
      quote.signature,
    )
  ) {
    checks.pass(
      'quote_signature',
      `ECDSA P-256 signature over header‖body (${quote.signedBytes.length} bytes) by the attestation key is valid`,
    );
  } else {
    checks.fail(
      'quote_signature',
      `quote signature: expected valid ECDSA P-256 over header‖body by attestation key ${toHex(quote.attestationKey).slice(0, 16)}…, got invalid`,
    );
  }

  // ---- verify: PCK chain ----
  let chain: Certificate[] = [];
  let leaf: Certificate | undefined;
  let pck: PckExtension | undefined;
  try {
    chain = pemBlocks(
      utf8Decode(
        quote.pckChainPem.filter((b) => b !== 0),
        'pck_chain',
      ),
      'CERTIFICATE',
      'pck_chain',
    ).map(parseCertificate);
    if (chain.length === 0)
      throw new ProtocolError(
        'attestation_parse',
        'pck_chain: expected PEM certificates, got none',
        'pck_chain',
      );
    leaf = chain[0];
    checks.list.push(
      ...chainChecks(verifyChain(crypto, chain, roots, now), now, { id: 'pck_chain' }),
    );
    if (leaf !== undefined) {
      pck = parsePckExtension(leaf);
      fields['pck_subject'] = nameAttr(leaf.subject) ?? leaf.subject.toString();
      fields['pck_issuer'] = nameAttr(leaf.issuer) ?? leaf.issuer.toString();
      fields['pck_not_after'] = leaf.notAfter.toISOString();
      fields['fmspc'] = toHex(pck.fmspc);
      fields['pce_id'] = toHex(pck.pceId);
      fields['pck_pcesvn'] = pck.pceSvn;
      fields['pck_cpusvn'] = toHex(pck.cpuSvn);
    }
  } catch (e) {
    checks.fail('pck_chain', `pck_chain: ${errMsg(e)}`);
  }

  // ---- verify: QE report ----
  {
    const problems: string[] = [];
    const vendor = toHex(quote.header.qeVendorId);
    if (vendor !== INTEL_QE_VENDOR_ID)
      problems.push(`header.qe_vendor_id: expected ${INTEL_QE_VENDOR_ID} (Intel), got ${vendor}`);
    if (leaf === undefined) {
      problems.push(
        'qe_report signature: expected a PCK leaf certificate to verify with, got none',
      );
    } else if (leaf.publicKey.kind !== 'ec' || leaf.publicKey.curve !== 'P-256') {
      problems.push(`pck leaf key: expected ECDSA P-256, got ${leaf.publicKey.kind}`);
    } else if (
      !crypto.ecdsaVerify(leaf.publicKey, 'SHA-256', quote.qeReport.raw, quote.qeReportSignature)
    ) {
      problems.push(
        'qe_report signature: expected valid ECDSA P-256 by the PCK leaf key, got invalid',
      );
    }
    const want = crypto.hash('SHA-256', concatBytes(quote.attestationKey, quote.qeAuthData));
    const got = quote.qeReport.reportData.subarray(0, 32);
    if (!bytesEqual(want, got)) {
      problems.push(
        `qe_report.report_data[0:32]: expected SHA-256(attestation_key‖qe_auth) = ${toHex(want)}, got ${toHex(got)}`,
      );
    }
    if (!isAllZero(quote.qeReport.reportData.subarray(32))) {
      problems.push(
        `qe_report.report_data[32:64]: expected zeros, got ${toHex(quote.qeReport.reportData.subarray(32))}`,
      );
    }
    // A debug-mode QE's memory (and so its attestation key) is readable by the host: never accept
    // one, with or without QE identity collateral. SGX ATTRIBUTES.FLAGS bit 1 = DEBUG.
    if (((quote.qeReport.attributes[0] ?? 0) & SGX_ATTRIBUTES_DEBUG) !== 0) {
      problems.push('qe_report.attributes.DEBUG: expected 0 (production QE), got 1');
    }
    checks.all(
      'qe_report',
      problems,
      'QE report signed by the PCK leaf; its report_data binds SHA-256(attestation_key‖qe_auth)',
    );
  }

  // ---- verify: collateral ----
  const col = input.collateral;
  let tcbInfo: SignedCollateral<TdxTcbInfo> | undefined;
  let qeId: SignedCollateral<QeIdentity> | undefined;
  const seenCrl: { pck?: string; root?: string } = {};
  const hasCollateral =
    col?.tcbInfo !== undefined || col?.qeIdentity !== undefined || (col?.crls?.size ?? 0) > 0;
  if (hasCollateral && col !== undefined) {
    const problems: string[] = [];
    const notes: string[] = [];
    let signer: Certificate | undefined;
    try {
      const sc = tcbSigningChain(col);
      signer = sc[0];
      problems.push(...tcbSignerProblems(crypto, sc, roots, now));
    } catch (e) {
      problems.push(`tcb_signing_chain: ${errMsg(e)}`);
    }
    const checkSigned = <T>(
      what: string,
      s: SignedCollateral<T>,
      issue: Date,
      next: Date,
    ): void => {
      if (signer === undefined || signer.publicKey.kind !== 'ec')
        problems.push(`${what}: no usable TCB Signing key`);
      else if (!crypto.ecdsaVerify(signer.publicKey, 'SHA-256', s.signedBytes, s.signature)) {
        problems.push(
          `${what}.signature: expected valid ECDSA P-256 by Intel SGX TCB Signing over the exact JSON bytes, got invalid`,
        );
      }
      if (!inWindow(now, issue, next)) {
        problems.push(
          `${what}: expected issueDate <= ${now.toISOString()} <= nextUpdate, got ${issue.toISOString()} .. ${next.toISOString()}`,
        );
      }
      const age = tooOld(now, issue, policy.maxCollateralAgeDays);
      if (age !== null)
        problems.push(
          `${what}: expected at most ${policy.maxCollateralAgeDays} days old, got ${age}`,
        );
    };
    if (col.tcbInfo !== undefined) {
      try {
        tcbInfo = parseTdxTcbInfo(col.tcbInfo);
        const b = tcbInfo.body;
        checkSigned('tcb_info', tcbInfo, b.issueDate, b.nextUpdate);
        if (pck !== undefined && !bytesEqual(b.fmspc, pck.fmspc))
          problems.push(
            `tcb_info.fmspc: expected ${toHex(pck.fmspc)} (PCK leaf), got ${toHex(b.fmspc)}`,
          );
        if (pck !== undefined && !bytesEqual(b.pceId, pck.pceId))
          problems.push(
            `tcb_info.pceId: expected ${toHex(pck.pceId)} (PCK leaf), got ${toHex(b.pceId)}`,
          );
        fields['tcb_info_issue_date'] = b.issueDate.toISOString();
        fields['tcb_info_next_update'] = b.nextUpdate.toISOString();
        fields['tcb_evaluation_data_number'] = b.tcbEvaluationDataNumber;
        notes.push(`tcbInfo ${toHex(b.fmspc)} #${b.tcbEvaluationDataNumber}`);
      } catch (e) {
        tcbInfo = undefined;
        problems.push(`tcb_info: ${errMsg(e)}`);
      }
    }
    if (col.qeIdentity !== undefined) {
      try {
        qeId = parseQeIdentity(col.qeIdentity);
        checkSigned('qe_identity', qeId, qeId.body.issueDate, qeId.body.nextUpdate);
        notes.push(`TD_QE identity #${qeId.body.tcbEvaluationDataNumber}`);
      } catch (e) {
        qeId = undefined;
        problems.push(`qe_identity: ${errMsg(e)}`);
      }
    }
    for (const [name, raw] of col.crls ?? new Map<string, Uint8Array>()) {
      try {
        const crl = parseCrl(parseCrlInput(raw, name));
        const all = [...chain, ...roots];
        const issuer = all.find((c) => namesEqual(c.subject, crl.issuer));
        if (issuer === undefined) {
          problems.push(
            `crl.${name}: expected an issuer in the PCK chain, got "${crl.issuer.toString()}"`,
          );
          continue;
        }
        const signedOk = verifyCrlSignedBy(crypto, crl, issuer);
        if (!signedOk)
          problems.push(
            `crl.${name}: signature: expected valid by ${nameAttr(issuer.subject) ?? '?'}, got invalid`,
          );
        if (
          now.getTime() < crl.thisUpdate.getTime() ||
          (crl.nextUpdate !== undefined && now.getTime() > crl.nextUpdate.getTime())
        ) {
          problems.push(
            `crl.${name}: expected thisUpdate <= ${now.toISOString()} <= nextUpdate, got ${crl.thisUpdate.toISOString()} .. ${crl.nextUpdate?.toISOString() ?? 'none'}`,
          );
        }
        // Which required CRL this is, by its (signature-checked) issuer: the PCK leaf's issuer
        // (Intel SGX PCK Platform/Processor CA) or a pinned root.
        if (signedOk && leaf !== undefined && namesEqual(crl.issuer, leaf.issuer)) {
          seenCrl.pck = name;
          const age = tooOld(now, crl.thisUpdate, policy.maxCollateralAgeDays);
          if (age !== null)
            problems.push(
              `crl.${name} (PCK CRL): expected at most ${policy.maxCollateralAgeDays} days old, got ${age}`,
            );
        }
        if (signedOk && roots.some((r) => namesEqual(r.subject, crl.issuer))) seenCrl.root = name;
        for (const c of chain) {
          if (namesEqual(c.issuer, crl.issuer) && findRevoked(crl, c) !== undefined) {
            checks.fail(
              'pck_chain',
              `pck_chain: ${nameAttr(c.subject) ?? '?'} serial ${toHex(c.serialNumber)}: expected not revoked, got revoked by crl.${name}`,
            );
          }
        }
        notes.push(`CRL ${name} (${nameAttr(crl.issuer) ?? '?'})`);
      } catch (e) {
        problems.push(`crl.${name}: ${errMsg(e)}`);
      }
    }
    checks.all(
      'collateral',
      problems,
      `collateral verified at ${now.toISOString()}: ${notes.join(', ')}`,
    );
  }
  // ---- fail closed: every collateral item is required unless its relaxation is on ----
  for (const r of relaxationChecks('tdx', policy)) checks.pass(r.id, r.message);
  const missing = (
    id: string,
    present: boolean,
    relaxed: boolean,
    what: string,
    key: string,
  ): void => {
    if (present || relaxed) return;
    checks.fail(
      id,
      `${id}: expected ${what} in the evidence (required; relaxation tdx.${key}), got none — refused because it is missing`,
    );
  };
  missing(
    'collateral.tcb_info',
    col?.tcbInfo !== undefined,
    policy.allowMissingTcbInfo,
    'the PCS TCB info for the FMSPC',
    'allowMissingTcbInfo',
  );
  missing(
    'collateral.qe_identity',
    col?.qeIdentity !== undefined,
    policy.allowMissingQeIdentity,
    'the PCS TD_QE identity',
    'allowMissingQeIdentity',
  );
  missing(
    'collateral.pck_crl',
    seenCrl.pck !== undefined,
    policy.allowMissingPckCrl,
    `a CRL issued by ${leaf !== undefined ? `"${nameAttr(leaf.issuer) ?? '?'}"` : 'the PCK CA'} (PCK CRL)`,
    'allowMissingPckCrl',
  );
  missing(
    'collateral.root_ca_crl',
    seenCrl.root !== undefined,
    policy.allowMissingRootCaCrl,
    'a CRL issued by the Intel SGX Root CA',
    'allowMissingRootCaCrl',
  );

  // ---- validate: TCB level ----
  if (tcbInfo !== undefined && pck !== undefined) {
    const ev = evaluateTdxTcb(
      tcbInfo.body,
      pck,
      body.teeTcbSvn,
      body.mrSignerSeam,
      body.seamAttributes,
    );
    fields['tcb_status'] = ev.status;
    if (ev.moduleStatus !== null) fields['tdx_module_tcb_status'] = ev.moduleStatus;
    if (ev.level !== null) {
      fields['tcb_date'] = ev.level.tcbDate;
      fields['advisory_ids'] = ev.level.advisoryIds;
    }
    const problems = [...ev.problems];
    const advisories = ev.level?.advisoryIds ?? [];
    const byAllowlist =
      ev.status !== null &&
      ADVISORY_STATUSES.has(ev.status) &&
      advisories.length > 0 &&
      advisories.every((a) => policy.allowedAdvisoryIds.includes(a));
    if (ev.status !== null && !policy.acceptedTcbStatuses.includes(ev.status) && !byAllowlist) {
      problems.push(
        `tcb status: expected one of [${policy.acceptedTcbStatuses.join(', ')}]${ADVISORY_STATUSES.has(ev.status) ? ` or every advisory in policy allowedAdvisoryIds (missing: ${advisories.filter((a) => !policy.allowedAdvisoryIds.includes(a)).join(', ') || 'the level lists none'})` : ''}, got ${ev.status}`,
      );
    }
    checks.all(
      'tcb',
      problems,
      `TCB status ${ev.status ?? '?'} (level ${ev.level?.tcbDate ?? '?'}) for FMSPC ${toHex(pck.fmspc)}${byAllowlist ? `, accepted for advisories ${advisories.join(', ')} (policy allowedAdvisoryIds)` : ''}`,
    );
  } else if (col?.tcbInfo !== undefined || !policy.allowMissingTcbInfo) {
    checks.fail('tcb', 'tcb: expected a TCB info evaluation, got no usable TCB info');
  }

  if (policy.minTeeTcbSvn !== '') {
    let min: Uint8Array = new Uint8Array(0);
    try {
      min = fromHex(normHex(policy.minTeeTcbSvn), 'policy.minTeeTcbSvn');
    } catch (e) {
      checks.fail('tcb', errMsg(e));
    }
    const low = Array.from(min).findIndex((m, i) => (body.teeTcbSvn[i] ?? 0) < m);
    if (low < 0)
      checks.pass('tcb', `tee_tcb_svn ${toHex(body.teeTcbSvn)} >= policy minimum ${toHex(min)}`);
    else
      checks.fail(
        'tcb',
        `tee_tcb_svn[${low}]: expected >= ${min[low]}, got ${body.teeTcbSvn[low]}`,
      );
  }

  // The QE's SVN is the ISVSVN of its (PCK-signed) report, and the PCE's SVN is the PCESVN of
  // the PCK certificate; the quote header's bytes 8..11 are zero on real quotes.
  for (const [name, have, min] of [
    ['qe_report.isv_svn', quote.qeReport.isvSvn, policy.minQeSvn],
    ['pck.pcesvn', pck?.pceSvn ?? -1, policy.minPceSvn],
  ] as const) {
    if (min <= 0) continue;
    if (have >= min) checks.pass('tcb', `${name} ${have} >= policy minimum ${min}`);
    else checks.fail('tcb', `${name}: expected >= ${min}, got ${have < 0 ? 'none' : have}`);
  }

  // ---- validate: QE identity ----
  if (qeId !== undefined) {
    const ev = evaluateQeIdentity(qeId.body, quote.qeReport);
    fields['qe_tcb_status'] = ev.status;
    const problems = [...ev.problems];
    if (ev.status !== null && !policy.acceptedTcbStatuses.includes(ev.status)) {
      problems.push(
        `qe identity tcb status: expected one of [${policy.acceptedTcbStatuses.join(', ')}], got ${ev.status}`,
      );
    }
    checks.all(
      'qe_identity',
      problems,
      `QE matches the TD_QE identity (isvsvn ${quote.qeReport.isvSvn}: ${ev.status ?? '?'})`,
    );
  } else if (col?.qeIdentity !== undefined || !policy.allowMissingQeIdentity) {
    checks.fail('qe_identity', 'qe_identity: expected a TD_QE identity evaluation, got none');
  }

  // ---- validate: TD attributes, measurements ----
  if (!tdAttribute(body, TD_ATTRIBUTES_DEBUG_BIT))
    checks.pass('policy.debug', 'TD_ATTRIBUTES.DEBUG is clear');
  else if (policy.allowDebug)
    checks.pass('policy.debug', 'TD_ATTRIBUTES.DEBUG is set, allowed by policy allowDebug');
  else
    checks.fail(
      'policy.debug',
      'TD_ATTRIBUTES.DEBUG: expected 0 (debug forbidden by policy), got 1',
    );

  const septVe = tdAttribute(body, TD_ATTRIBUTES_SEPT_VE_DISABLE_BIT) ? 1 : 0;
  if (policy.requireSeptVeDisable) {
    if (septVe === 1) checks.pass('policy.sept_ve_disable', 'TD_ATTRIBUTES.SEPT_VE_DISABLE is set');
    else
      checks.fail(
        'policy.sept_ve_disable',
        'TD_ATTRIBUTES.SEPT_VE_DISABLE: expected 1 (the host cannot inject #VE), got 0',
      );
  }
  if (policy.xfam.length > 0) allowlist(checks, 'xfam', 'xfam', body.xfam, policy.xfam);
  allowlist(checks, 'measurement', 'mrtd', body.mrTd, policy.mrtd);
  body.rtmrs.forEach((r, i) => {
    const allowed = policy.rtmr[i] ?? [];
    if (allowed.length > 0) allowlist(checks, 'rtmr', `rtmr${i}`, r, allowed);
  });
  if (policy.mrConfigId.length > 0)
    allowlist(checks, 'mrconfigid', 'mrconfigid', body.mrConfigId, policy.mrConfigId);
  if (policy.mrOwner.length > 0)
    allowlist(checks, 'mrowner', 'mrowner', body.mrOwner, policy.mrOwner);
  if (policy.mrSeam.length > 0) allowlist(checks, 'mrseam', 'mrseam', body.mrSeam, policy.mrSeam);
  if (policy.mrOwnerConfig.length > 0)
    allowlist(checks, 'mrownerconfig', 'mrownerconfig', body.mrOwnerConfig, policy.mrOwnerConfig);

  // ---- verify: CCEL replay ----
  if (input.ccel !== undefined) {
    let log: CcelLog | undefined;
    try {
      log = parseCcel(input.ccel);
      const replayed = replayRtmrs(crypto, log);
      fields['ccel_events'] = log.events.length;
      const problems: string[] = [];
      replayed.forEach((r, i) => {
        const q = body.rtmrs[i as 0 | 1 | 2 | 3];
        if (!bytesEqual(r, q))
          problems.push(`rtmr${i}: expected ${toHex(q)} (quote), got ${toHex(r)} (CCEL replay)`);
      });
      checks.all(
        'rtmr',
        problems,
        `CCEL replay of ${log.events.length} events reproduces RTMR0..3`,
      );
    } catch (e) {
      checks.fail('rtmr', `ccel: ${errMsg(e)}`);
    }
  }

  // ---- validate: REPORTDATA binding (the handshake's value, else the policy's expected value) ----
  let expected: Uint8Array | undefined = binding?.cpuReportData;
  let source = 'the session binding value';
  if (expected === undefined && policy.expectedReportData !== null) {
    try {
      expected = fromHex(normHex(policy.expectedReportData), 'policy.expectedReportData');
      source = 'the expected value';
    } catch (e) {
      checks.fail('report_data', errMsg(e));
    }
  }
  if (expected !== undefined) {
    if (bytesEqual(body.reportData, expected))
      checks.pass('report_data', `REPORTDATA equals ${source}`);
    else
      checks.fail(
        'report_data',
        `report_data: expected ${toHex(expected)}, got ${toHex(body.reportData)}`,
      );
  }

  return { ok: okFromChecks(checks.list), checks: checks.list, fields, quote };
}

/** Reads a TdxCollateral out of an EvidenceItem's parts. */
export function collateralFromParts(
  parts: ReadonlyMap<string, Uint8Array>,
): TdxCollateral | undefined {
  const crls = new Map<string, Uint8Array>();
  for (const [k, v] of parts)
    if (k.startsWith(TDX_PART.CRL_PREFIX)) crls.set(k.slice(TDX_PART.CRL_PREFIX.length), v);
  const tcbInfo = parts.get(TDX_PART.TCB_INFO);
  const qeIdentity = parts.get(TDX_PART.QE_IDENTITY);
  const tcbSigningChain = parts.get(TDX_PART.TCB_SIGNING_CHAIN);
  if (
    tcbInfo === undefined &&
    qeIdentity === undefined &&
    crls.size === 0 &&
    tcbSigningChain === undefined
  )
    return undefined;
  return {
    ...(tcbInfo !== undefined ? { tcbInfo } : {}),
    ...(qeIdentity !== undefined ? { qeIdentity } : {}),
    ...(tcbSigningChain !== undefined ? { tcbSigningChain } : {}),
    crls,
  };
}

/**
 * Verifies a `tdx` evidence item. Parts: `quote` (required), `collateral.tcb_info`,
 * `collateral.qe_identity`, `collateral.tcb_signing_chain`, `collateral.crl.<name>`, `ccel`.
 * `policy` is the attestation policy; its `tdx` section is used.
 */
export function verifyTdxEvidence(
  item: EvidenceItem,
  ctx: TdxVerifyContext,
  policy: { readonly tdx: TdxPolicy },
  binding?: BindingValues,
): VerificationReport {
  const tdx = policy.tdx;
  const quote = item.parts.get(TDX_PART.QUOTE);
  const base = {
    kind: item.kind,
    ...(item.label !== '' ? { label: item.label } : {}),
    simulated: false,
  };
  if (item.kind !== 'tdx') {
    return {
      ...base,
      ok: false,
      checks: [
        { id: 'parse', ok: false, message: `evidence kind: expected "tdx", got "${item.kind}"` },
      ],
      fields: {},
    };
  }
  if (quote === undefined) {
    return {
      ...base,
      ok: false,
      checks: [{ id: 'parse', ok: false, message: 'parts.quote: expected a TDX quote, got none' }],
      fields: {},
    };
  }
  const collateral = collateralFromParts(item.parts);
  const ccel = item.parts.get(TDX_PART.CCEL);
  const r = verifyTdxQuote(
    { quote, ...(collateral ? { collateral } : {}), ...(ccel ? { ccel } : {}) },
    ctx,
    tdx,
    binding,
  );
  return { ...base, ok: okFromChecks(r.checks), checks: r.checks, fields: r.fields };
}

export interface PcsDocumentResult {
  /** The ECDSA signature over the exact bytes of the signed member verifies with the TCB Signing key. */
  readonly signatureValid: boolean;
  /** The TCB Signing chain's checks at `at` (id `cert_chain`). */
  readonly chain: readonly Check[];
  readonly issueDate: Date;
  readonly nextUpdate: Date;
}

/**
 * Checks one PCS collateral document (tcbInfo or enclaveIdentity) on its own: its signature by the
 * TCB Signing key and that key's chain to the pinned root at `at`. Throws ProtocolError when the
 * document does not parse.
 */
export function verifyPcsDocument(
  ctx: TdxVerifyContext,
  doc: Uint8Array,
  kind: 'tcbInfo' | 'enclaveIdentity',
  signingChainPem?: Uint8Array,
  at: Date = ctx.now(),
): PcsDocumentResult {
  const parsed = kind === 'tcbInfo' ? parseTdxTcbInfo(doc) : parseQeIdentity(doc);
  const sc = tcbSigningChain(
    signingChainPem !== undefined ? { tcbSigningChain: signingChainPem } : undefined,
  );
  const signer = sc[0];
  const signatureValid =
    signer !== undefined &&
    signer.publicKey.kind === 'ec' &&
    ctx.crypto.ecdsaVerify(signer.publicKey, 'SHA-256', parsed.signedBytes, parsed.signature);
  const roots = ctx.intelRoots ?? intelRootCertificates();
  const identity = tcbSignerProblems(ctx.crypto, sc, roots, at).filter((m) =>
    m.startsWith('tcb_signing_chain.'),
  );
  return {
    signatureValid,
    chain: [
      ...chainChecks(verifyChain(ctx.crypto, sc, roots, at), at),
      ...identity.map((message) => ({ id: 'cert_chain', ok: false, message })),
    ],
    issueDate: parsed.body.issueDate,
    nextUpdate: parsed.body.nextUpdate,
  };
}
