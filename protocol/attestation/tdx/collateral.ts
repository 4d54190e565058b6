/**
 * Intel PCS collateral for TDX: TDX TCB info (v3) and the TD_QE enclave identity (v2), as served
 * by the PCS API (`{"tcbInfo": {...}, "signature": "<hex r‖s>"}` and
 * `{"enclaveIdentity": {...}, "signature": "<hex>"}`). The signature is ECDSA P-256/SHA-256 by the
 * Intel SGX TCB Signing key over the exact bytes of the `tcbInfo` / `enclaveIdentity` value.
 *
 * This module parses and evaluates (pure functions); signatures and chains are checked in verify.ts.
 */
import { fail } from '../../errors';
import { fromHex, toHex } from './bytes';
import { parseJsonBytes, topLevelSpans } from './json-span';

export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';

export const TCB_STATUSES: readonly TcbStatus[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
];

export interface SignedCollateral<T> {
  /** The exact bytes of the signed member's value. */
  readonly signedBytes: Uint8Array;
  /** Raw r‖s (64 bytes). */
  readonly signature: Uint8Array;
  readonly body: T;
}

export interface TdxTcbLevel {
  readonly sgxSvns: readonly number[]; // 16
  readonly pceSvn: number;
  readonly tdxSvns: readonly number[]; // 16
  readonly tcbDate: string;
  readonly tcbStatus: TcbStatus;
  readonly advisoryIds: readonly string[];
}

export interface TdxModuleIdentity {
  readonly id: string;
  readonly mrSigner: Uint8Array;
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly tcbLevels: readonly {
    readonly isvSvn: number;
    readonly tcbDate: string;
    readonly tcbStatus: TcbStatus;
  }[];
}

export interface TdxTcbInfo {
  readonly id: string;
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly fmspc: Uint8Array;
  readonly pceId: Uint8Array;
  readonly tcbEvaluationDataNumber: number;
  readonly tdxModule: {
    readonly mrSigner: Uint8Array;
    readonly attributes: Uint8Array;
    readonly attributesMask: Uint8Array;
  };
  readonly tdxModuleIdentities: readonly TdxModuleIdentity[];
  readonly tcbLevels: readonly TdxTcbLevel[];
}

export interface QeIdentity {
  readonly id: string;
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly tcbEvaluationDataNumber: number;
  /** MISCSELECT and its mask as the raw report bytes (little-endian u32), compared byte-wise. */
  readonly miscSelect: Uint8Array;
  readonly miscSelectMask: Uint8Array;
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly isvProdId: number;
  readonly tcbLevels: readonly {
    readonly isvSvn: number;
    readonly tcbDate: string;
    readonly tcbStatus: TcbStatus;
  }[];
}

// ---- small typed accessors over parsed JSON (every failure names the field) ----

type Obj = Record<string, unknown>;

function obj(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail('malformed', field, 'a JSON object', v === null ? 'null' : typeof v);
  return v as Obj;
}
function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) fail('malformed', field, 'a JSON array', typeof v);
  return v;
}
function str(o: Obj, k: string, field: string): string {
  const v = o[k];
  if (typeof v !== 'string') fail('malformed', `${field}.${k}`, 'a string', typeof v);
  return v;
}
function int(o: Obj, k: string, field: string, max = 0xffffffff): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    fail('malformed', `${field}.${k}`, `an integer 0..${max}`, String(v));
  return v;
}
function hex(o: Obj, k: string, field: string, len: number): Uint8Array {
  const b = fromHex(str(o, k, field), `${field}.${k}`);
  if (b.length !== len) fail('bad_length', `${field}.${k}`, `${len} bytes`, `${b.length} bytes`);
  return b;
}
function date(o: Obj, k: string, field: string): Date {
  const s = str(o, k, field);
  const d = new Date(s);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(s) || Number.isNaN(d.getTime())) {
    fail('malformed', `${field}.${k}`, 'an ISO 8601 UTC date', s);
  }
  return d;
}
function status(o: Obj, k: string, field: string): TcbStatus {
  const s = str(o, k, field);
  if (!(TCB_STATUSES as readonly string[]).includes(s))
    fail('malformed', `${field}.${k}`, `one of ${TCB_STATUSES.join(', ')}`, s);
  return s as TcbStatus;
}
function svns(v: unknown, field: string): number[] {
  const a = arr(v, field);
  if (a.length !== 16) fail('bad_length', field, '16 components', a.length);
  return a.map((c, i) => int(obj(c, `${field}[${i}]`), 'svn', `${field}[${i}]`, 255));
}
function isvLevels(
  v: unknown,
  field: string,
): { isvSvn: number; tcbDate: string; tcbStatus: TcbStatus }[] {
  return arr(v, field).map((l, i) => {
    const f = `${field}[${i}]`;
    const o = obj(l, f);
    return {
      isvSvn: int(obj(o['tcb'], `${f}.tcb`), 'isvsvn', `${f}.tcb`, 0xffff),
      tcbDate: str(o, 'tcbDate', f),
      tcbStatus: status(o, 'tcbStatus', f),
    };
  });
}

/** Splits a PCS response into the signed member's exact bytes, its parsed value and the signature. */
export function splitSigned(
  doc: Uint8Array,
  member: 'tcbInfo' | 'enclaveIdentity',
  field: string,
): SignedCollateral<Obj> {
  const spans = topLevelSpans(doc, field);
  const signed = spans.get(member);
  if (signed === undefined) fail('malformed', `${field}.${member}`, 'present', 'absent');
  const sigSpan = spans.get('signature');
  if (sigSpan === undefined) fail('malformed', `${field}.signature`, 'present', 'absent');
  const sigHex = parseJsonBytes(sigSpan, `${field}.signature`);
  if (typeof sigHex !== 'string')
    fail('malformed', `${field}.signature`, 'a hex string', typeof sigHex);
  const signature = fromHex(sigHex, `${field}.signature`);
  if (signature.length !== 64)
    fail('bad_length', `${field}.signature`, '64 bytes (r‖s)', `${signature.length} bytes`);
  return {
    signedBytes: signed,
    signature,
    body: obj(parseJsonBytes(signed, `${field}.${member}`), `${field}.${member}`),
  };
}

export function parseTdxTcbInfo(doc: Uint8Array): SignedCollateral<TdxTcbInfo> {
  const F = 'tcb_info.tcbInfo';
  const s = splitSigned(doc, 'tcbInfo', 'tcb_info');
  const o = s.body;
  const id = str(o, 'id', F);
  if (id !== 'TDX') fail('malformed', `${F}.id`, 'TDX', id);
  const version = int(o, 'version', F);
  if (version !== 3) fail('unsupported_version', `${F}.version`, 3, version);
  const mod = obj(o['tdxModule'], `${F}.tdxModule`);
  const ids =
    o['tdxModuleIdentities'] === undefined
      ? []
      : arr(o['tdxModuleIdentities'], `${F}.tdxModuleIdentities`);
  const body: TdxTcbInfo = {
    id,
    version,
    issueDate: date(o, 'issueDate', F),
    nextUpdate: date(o, 'nextUpdate', F),
    fmspc: hex(o, 'fmspc', F, 6),
    pceId: hex(o, 'pceId', F, 2),
    tcbEvaluationDataNumber: int(o, 'tcbEvaluationDataNumber', F),
    tdxModule: {
      mrSigner: hex(mod, 'mrsigner', `${F}.tdxModule`, 48),
      attributes: hex(mod, 'attributes', `${F}.tdxModule`, 8),
      attributesMask: hex(mod, 'attributesMask', `${F}.tdxModule`, 8),
    },
    tdxModuleIdentities: ids.map((v, i) => {
      const f = `${F}.tdxModuleIdentities[${i}]`;
      const m = obj(v, f);
      return {
        id: str(m, 'id', f),
        mrSigner: hex(m, 'mrsigner', f, 48),
        attributes: hex(m, 'attributes', f, 8),
        attributesMask: hex(m, 'attributesMask', f, 8),
        tcbLevels: isvLevels(m['tcbLevels'], `${f}.tcbLevels`),
      };
    }),
    tcbLevels: arr(o['tcbLevels'], `${F}.tcbLevels`).map((v, i) => {
      const f = `${F}.tcbLevels[${i}]`;
      const l = obj(v, f);
      const tcb = obj(l['tcb'], `${f}.tcb`);
      const adv = l['advisoryIDs'] === undefined ? [] : arr(l['advisoryIDs'], `${f}.advisoryIDs`);
      return {
        sgxSvns: svns(tcb['sgxtcbcomponents'], `${f}.tcb.sgxtcbcomponents`),
        pceSvn: int(tcb, 'pcesvn', `${f}.tcb`, 0xffff),
        tdxSvns: svns(tcb['tdxtcbcomponents'], `${f}.tcb.tdxtcbcomponents`),
        tcbDate: str(l, 'tcbDate', f),
        tcbStatus: status(l, 'tcbStatus', f),
        advisoryIds: adv.map((a, k) => {
          if (typeof a !== 'string')
            fail('malformed', `${f}.advisoryIDs[${k}]`, 'a string', typeof a);
          return a;
        }),
      };
    }),
  };
  return { signedBytes: s.signedBytes, signature: s.signature, body };
}

export function parseQeIdentity(doc: Uint8Array): SignedCollateral<QeIdentity> {
  const F = 'qe_identity.enclaveIdentity';
  const s = splitSigned(doc, 'enclaveIdentity', 'qe_identity');
  const o = s.body;
  const id = str(o, 'id', F);
  if (id !== 'TD_QE') fail('malformed', `${F}.id`, 'TD_QE', id);
  const version = int(o, 'version', F);
  if (version !== 2) fail('unsupported_version', `${F}.version`, 2, version);
  const body: QeIdentity = {
    id,
    version,
    issueDate: date(o, 'issueDate', F),
    nextUpdate: date(o, 'nextUpdate', F),
    tcbEvaluationDataNumber: int(o, 'tcbEvaluationDataNumber', F),
    miscSelect: hex(o, 'miscselect', F, 4),
    miscSelectMask: hex(o, 'miscselectMask', F, 4),
    attributes: hex(o, 'attributes', F, 16),
    attributesMask: hex(o, 'attributesMask', F, 16),
    mrSigner: hex(o, 'mrsigner', F, 32),
    isvProdId: int(o, 'isvprodid', F, 0xffff),
    tcbLevels: isvLevels(o['tcbLevels'], `${F}.tcbLevels`),
  };
  return { signedBytes: s.signedBytes, signature: s.signature, body };
}

// ---- evaluation (Intel DCAP QVL semantics) ----

/** The platform's TCB as certified in the PCK leaf (SGX extension 1.2.840.113741.1.13.1.2). */
export interface PckTcb {
  readonly sgxSvns: readonly number[]; // 16 components
  readonly pceSvn: number;
}

export interface TcbEvaluation {
  /** null when no TCB level matches (Intel: "TCB unrecognized"). */
  readonly status: TcbStatus | null;
  readonly level: TdxTcbLevel | null;
  /** TDX module identity status (TDX 1.5 modules, tee_tcb_svn[1] > 0), when evaluated. */
  readonly moduleStatus: TcbStatus | null;
  readonly problems: readonly string[];
}

const geq = (have: readonly number[], want: readonly number[]): boolean =>
  want.every((w, i) => (have[i] ?? 0) >= w);

/**
 * Selects the first TCB level (levels are ordered newest first) whose SGX components and PCE SVN
 * are ≤ the PCK certificate's and whose TDX components are ≤ the quote's TEE_TCB_SVN, then
 * converges it with the TDX module identity's status (QVL TdxModuleCheck).
 */
export function evaluateTdxTcb(
  info: TdxTcbInfo,
  pck: PckTcb,
  teeTcbSvn: Uint8Array,
  mrSignerSeam: Uint8Array,
  seamAttributes: Uint8Array,
): TcbEvaluation {
  const problems: string[] = [];
  const tee = Array.from(teeTcbSvn);
  let level: TdxTcbLevel | null = null;
  for (const l of info.tcbLevels) {
    if (geq(pck.sgxSvns, l.sgxSvns) && pck.pceSvn >= l.pceSvn && geq(tee, l.tdxSvns)) {
      level = l;
      break;
    }
  }
  if (level === null)
    problems.push('no TCB level matches the PCK TCB and TEE_TCB_SVN (TCB unrecognized)');

  // TDX module identity.
  const moduleVersion = tee[1] ?? 0;
  const moduleSvn = tee[0] ?? 0;
  let moduleStatus: TcbStatus | null = null;
  const masked = (v: Uint8Array, m: Uint8Array): string => toHex(v.map((x, i) => x & (m[i] ?? 0)));
  const hexOf = toHex;
  let expectSigner = info.tdxModule.mrSigner;
  let expectAttrs = info.tdxModule.attributes;
  let attrMask = info.tdxModule.attributesMask;
  if (moduleVersion > 0) {
    const wantId = `TDX_${moduleVersion.toString(16).padStart(2, '0')}`.toUpperCase();
    const ident = info.tdxModuleIdentities.find((m) => m.id.toUpperCase() === wantId);
    if (ident === undefined) {
      problems.push(`tdxModuleIdentities: expected an entry "${wantId}", got none`);
    } else {
      expectSigner = ident.mrSigner;
      expectAttrs = ident.attributes;
      attrMask = ident.attributesMask;
      const ml = ident.tcbLevels.find((x) => moduleSvn >= x.isvSvn);
      if (ml === undefined)
        problems.push(`${wantId}.tcbLevels: no level with isvsvn <= ${moduleSvn}`);
      else moduleStatus = ml.tcbStatus;
    }
  }
  if (hexOf(mrSignerSeam) !== hexOf(expectSigner)) {
    problems.push(`mrsignerseam: expected ${hexOf(expectSigner)}, got ${hexOf(mrSignerSeam)}`);
  }
  if (masked(seamAttributes, attrMask) !== masked(expectAttrs, attrMask)) {
    problems.push(
      `seam_attributes (masked): expected ${masked(expectAttrs, attrMask)}, got ${masked(seamAttributes, attrMask)}`,
    );
  }

  let status: TcbStatus | null = level?.tcbStatus ?? null;
  if (status !== null && moduleStatus !== null) status = convergeModuleStatus(status, moduleStatus);
  return { status, level, moduleStatus, problems };
}

/** QVL: an out-of-date or revoked TDX module downgrades the platform TCB status. */
export function convergeModuleStatus(platform: TcbStatus, module: TcbStatus): TcbStatus {
  if (module === 'Revoked') return 'Revoked';
  if (module === 'OutOfDate') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded')
      return 'OutOfDateConfigurationNeeded';
  }
  return platform;
}

export interface QeIdentityEvaluation {
  readonly status: TcbStatus | null;
  readonly problems: readonly string[];
}

/** Checks the QE report against the TD_QE identity (masked MISCSELECT/attributes, MRSIGNER, ISVPRODID, ISVSVN level). */
export function evaluateQeIdentity(
  id: QeIdentity,
  qe: {
    miscSelect: number;
    attributes: Uint8Array;
    mrSigner: Uint8Array;
    isvProdId: number;
    isvSvn: number;
  },
): QeIdentityEvaluation {
  const problems: string[] = [];
  const hexOf = toHex;
  // The JSON hex strings are the report's bytes (MISCSELECT is a little-endian u32 there), so
  // both MISCSELECT and ATTRIBUTES are masked and compared byte by byte, as Intel's QVL does.
  const qeMisc = Uint8Array.of(
    qe.miscSelect & 0xff,
    (qe.miscSelect >>> 8) & 0xff,
    (qe.miscSelect >>> 16) & 0xff,
    qe.miscSelect >>> 24,
  );
  const mm = (v: Uint8Array): string =>
    hexOf(Uint8Array.from(v, (x, i) => x & (id.miscSelectMask[i] ?? 0)));
  if (mm(qeMisc) !== mm(id.miscSelect)) {
    problems.push(
      `qe_report.misc_select (masked): expected ${mm(id.miscSelect)}, got ${mm(qeMisc)}`,
    );
  }
  const ma = (v: Uint8Array): string =>
    hexOf(Uint8Array.from(v, (x, i) => x & (id.attributesMask[i] ?? 0)));
  if (ma(qe.attributes) !== ma(id.attributes)) {
    problems.push(
      `qe_report.attributes (masked): expected ${ma(id.attributes)}, got ${ma(qe.attributes)}`,
    );
  }
  if (hexOf(qe.mrSigner) !== hexOf(id.mrSigner))
    problems.push(`qe_report.mr_signer: expected ${hexOf(id.mrSigner)}, got ${hexOf(qe.mrSigner)}`);
  if (qe.isvProdId !== id.isvProdId)
    problems.push(`qe_report.isv_prod_id: expected ${id.isvProdId}, got ${qe.isvProdId}`);
  const level = id.tcbLevels.find((l) => qe.isvSvn >= l.isvSvn);
  if (level === undefined)
    problems.push(`qe_report.isv_svn: no TD_QE TCB level with isvsvn <= ${qe.isvSvn}`);
  return { status: level?.tcbStatus ?? null, problems };
}
