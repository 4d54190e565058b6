/**
 * Intel TDX DCAP quote parser, versions 4 and 5 (body types 2 = TDX 1.0 and 3 = TDX 1.5).
 *
 * Layout (Intel "TDX DCAP Quoting Library API", Appendix A, quote format v4 and v5):
 *   header (48) ‖ [v5: body_type u16 ‖ body_size u32] ‖ body (584 or 648)
 *   ‖ sig_data_len u32 ‖ sig_data[sig_data_len] ‖ (trailing bytes: real quotes carry zero padding
 *   from the configfs buffer, so bytes after sig_data are allowed and recorded)
 * sig_data = quote_signature[64] (P-256 r‖s over header‖[descriptor]‖body) ‖ attestation_key[64]
 *   ‖ certification data { type u16 = 6 (QE report), size u32, QE report[384],
 *     QE report signature[64], qe_auth_len u16, qe_auth[..], { type u16 = 5 (PCK chain), size u32, PEM } }.
 * All integers are little-endian. The parser checks structure only; signatures are checked in
 * verify.ts and values against policy in validate.ts.
 */
import { fail } from '../../errors';
import { ByteReader } from './bytes';

/** Header field offsets (48 bytes). */
export const HEADER = {
  VERSION: 0, // u16
  ATT_KEY_TYPE: 2, // u16, 2 = ECDSA-256-with-P-256
  TEE_TYPE: 4, // u32, 0x81 = TDX
  QE_SVN: 8, // u16
  PCE_SVN: 10, // u16
  QE_VENDOR_ID: 12, // [16]
  USER_DATA: 28, // [20]
  SIZE: 48,
} as const;

export const ATT_KEY_TYPE_ECDSA_P256 = 2;
export const TEE_TYPE_TDX = 0x81;
/** Intel's QE vendor id 939a7233-f79c-4ca9-940a-0db3957f0607. */
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';

/** v5 body descriptor at offset 48: body_type u16, body_size u32. */
export const V5_DESCRIPTOR = { BODY_TYPE: 48, BODY_SIZE: 50, SIZE: 6 } as const;
export const BODY_TYPE_TDX10 = 2;
export const BODY_TYPE_TDX15 = 3;
export const BODY_SIZE_TDX10 = 584;
export const BODY_SIZE_TDX15 = 648;

/** TD report body (TD quote body) field offsets, relative to the body's start. */
export const BODY = {
  TEE_TCB_SVN: 0, // [16]
  MRSEAM: 16, // [48]
  MRSIGNERSEAM: 64, // [48]
  SEAM_ATTRIBUTES: 112, // [8]
  TD_ATTRIBUTES: 120, // [8]
  XFAM: 128, // [8]
  MRTD: 136, // [48]
  MRCONFIGID: 184, // [48]
  MROWNER: 232, // [48]
  MROWNERCONFIG: 280, // [48]
  RTMR0: 328, // 4 × [48]
  REPORT_DATA: 520, // [64]
  // body type 3 only
  TEE_TCB_SVN2: 584, // [16]
  MRSERVICETD: 600, // [48]
} as const;

/** Signature data offsets, relative to the start of sig_data. */
export const SIG = {
  QUOTE_SIGNATURE: 0, // [64] r‖s
  ATTESTATION_KEY: 64, // [64] x‖y
  CERT_DATA_TYPE: 128, // u16
  CERT_DATA_SIZE: 130, // u32
  CERT_DATA: 134,
} as const;

export const CERT_DATA_TYPE_PCK_CHAIN = 5;
export const CERT_DATA_TYPE_QE_REPORT = 6;

/** QE report certification data offsets (relative to its start). */
export const QE_CERT = {
  REPORT: 0, // [384]
  REPORT_SIGNATURE: 384, // [64]
  AUTH_LEN: 448, // u16, then qe_auth[AUTH_LEN], then nested cert data
  AUTH: 450,
} as const;

/** SGX report body (the QE's report, 384 bytes) offsets. */
export const QE_REPORT = {
  CPU_SVN: 0, // [16]
  MISC_SELECT: 16, // u32
  ISV_EXT_PROD_ID: 32, // [16] (after reserved[12])
  ATTRIBUTES: 48, // [16]
  MR_ENCLAVE: 64, // [32]
  MR_SIGNER: 128, // [32] (after reserved[32])
  ISV_PROD_ID: 256, // u16
  ISV_SVN: 258, // u16
  REPORT_DATA: 320, // [64]
  SIZE: 384,
} as const;

/** Parser limits. */
export const TDX_QUOTE_LIMITS = {
  /** Largest quote accepted (configfs hands out up to a few KiB; 8000-byte buffers exist). */
  maxQuoteBytes: 64 * 1024,
  /** Largest QE authentication data. */
  maxQeAuthBytes: 1024,
} as const;

export interface TdxQuoteHeader {
  readonly version: number;
  readonly attKeyType: number;
  readonly teeType: number;
  readonly qeSvn: number;
  readonly pceSvn: number;
  readonly qeVendorId: Uint8Array;
  readonly userData: Uint8Array;
}

export interface TdxReportBody {
  readonly teeTcbSvn: Uint8Array;
  readonly mrSeam: Uint8Array;
  readonly mrSignerSeam: Uint8Array;
  readonly seamAttributes: Uint8Array;
  readonly tdAttributes: Uint8Array;
  readonly xfam: Uint8Array;
  readonly mrTd: Uint8Array;
  readonly mrConfigId: Uint8Array;
  readonly mrOwner: Uint8Array;
  readonly mrOwnerConfig: Uint8Array;
  readonly rtmrs: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  readonly reportData: Uint8Array;
  /** Body type 3 only. */
  readonly teeTcbSvn2?: Uint8Array;
  readonly mrServiceTd?: Uint8Array;
}

export interface QeReport {
  readonly raw: Uint8Array;
  readonly cpuSvn: Uint8Array;
  readonly miscSelect: number;
  readonly attributes: Uint8Array;
  readonly mrEnclave: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly reportData: Uint8Array;
}

export interface TdxQuote {
  readonly header: TdxQuoteHeader;
  readonly bodyType: 2 | 3;
  readonly body: TdxReportBody;
  /** The bytes the quote signature covers: header ‖ (v5 descriptor) ‖ body. */
  readonly signedBytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly attestationKey: Uint8Array;
  readonly qeReport: QeReport;
  readonly qeReportSignature: Uint8Array;
  readonly qeAuthData: Uint8Array;
  /** The PCK certification data (PEM text: leaf, Platform/Processor CA, Root CA). */
  readonly pckChainPem: Uint8Array;
  /** Length of the whole structure (up to the end of sig_data). */
  readonly length: number;
  /** Bytes after sig_data (zero padding in configfs buffers). */
  readonly trailingBytes: number;
}

/** Parses a TD report body (584 or 648 bytes) at `offset`. */
export function parseTdReportBody(r: ByteReader, offset: number, bodyType: 2 | 3): TdxReportBody {
  const f = (rel: number, len: number, name: string): Uint8Array =>
    r.take(offset + rel, len, `body.${name}`);
  const body: TdxReportBody = {
    teeTcbSvn: f(BODY.TEE_TCB_SVN, 16, 'tee_tcb_svn'),
    mrSeam: f(BODY.MRSEAM, 48, 'mrseam'),
    mrSignerSeam: f(BODY.MRSIGNERSEAM, 48, 'mrsignerseam'),
    seamAttributes: f(BODY.SEAM_ATTRIBUTES, 8, 'seam_attributes'),
    tdAttributes: f(BODY.TD_ATTRIBUTES, 8, 'td_attributes'),
    xfam: f(BODY.XFAM, 8, 'xfam'),
    mrTd: f(BODY.MRTD, 48, 'mrtd'),
    mrConfigId: f(BODY.MRCONFIGID, 48, 'mrconfigid'),
    mrOwner: f(BODY.MROWNER, 48, 'mrowner'),
    mrOwnerConfig: f(BODY.MROWNERCONFIG, 48, 'mrownerconfig'),
    rtmrs: [
      f(BODY.RTMR0, 48, 'rtmr0'),
      f(BODY.RTMR0 + 48, 48, 'rtmr1'),
      f(BODY.RTMR0 + 96, 48, 'rtmr2'),
      f(BODY.RTMR0 + 144, 48, 'rtmr3'),
    ],
    reportData: f(BODY.REPORT_DATA, 64, 'report_data'),
  };
  if (bodyType === BODY_TYPE_TDX15) {
    return {
      ...body,
      teeTcbSvn2: f(BODY.TEE_TCB_SVN2, 16, 'tee_tcb_svn2'),
      mrServiceTd: f(BODY.MRSERVICETD, 48, 'mr_servicetd'),
    };
  }
  return body;
}

export function parseQeReport(raw: Uint8Array): QeReport {
  const r = new ByteReader(raw, 'qe_report');
  r.need(0, QE_REPORT.SIZE, 'size');
  return {
    raw,
    cpuSvn: r.take(QE_REPORT.CPU_SVN, 16, 'cpu_svn'),
    miscSelect: r.u32(QE_REPORT.MISC_SELECT, 'misc_select'),
    attributes: r.take(QE_REPORT.ATTRIBUTES, 16, 'attributes'),
    mrEnclave: r.take(QE_REPORT.MR_ENCLAVE, 32, 'mr_enclave'),
    mrSigner: r.take(QE_REPORT.MR_SIGNER, 32, 'mr_signer'),
    isvProdId: r.u16(QE_REPORT.ISV_PROD_ID, 'isv_prod_id'),
    isvSvn: r.u16(QE_REPORT.ISV_SVN, 'isv_svn'),
    reportData: r.take(QE_REPORT.REPORT_DATA, 64, 'report_data'),
  };
}

/** Parses a DCAP TDX quote (v4 or v5). Throws ProtocolError on any structural problem. */
export function parseTdxQuote(bytes: Uint8Array): TdxQuote {
  if (bytes.length > TDX_QUOTE_LIMITS.maxQuoteBytes) {
    fail(
      'too_large',
      'tdx_quote',
      `at most ${TDX_QUOTE_LIMITS.maxQuoteBytes} bytes`,
      `${bytes.length} bytes`,
    );
  }
  const r = new ByteReader(bytes, 'tdx_quote');
  r.need(0, HEADER.SIZE, 'header');
  const header: TdxQuoteHeader = {
    version: r.u16(HEADER.VERSION, 'header.version'),
    attKeyType: r.u16(HEADER.ATT_KEY_TYPE, 'header.att_key_type'),
    teeType: r.u32(HEADER.TEE_TYPE, 'header.tee_type'),
    qeSvn: r.u16(HEADER.QE_SVN, 'header.qe_svn'),
    pceSvn: r.u16(HEADER.PCE_SVN, 'header.pce_svn'),
    qeVendorId: r.take(HEADER.QE_VENDOR_ID, 16, 'header.qe_vendor_id'),
    userData: r.take(HEADER.USER_DATA, 20, 'header.user_data'),
  };
  if (header.version !== 4 && header.version !== 5) {
    fail('unsupported_version', 'tdx_quote.header.version', '4 or 5', header.version);
  }
  if (header.attKeyType !== ATT_KEY_TYPE_ECDSA_P256) {
    fail(
      'unknown_type',
      'tdx_quote.header.att_key_type',
      `${ATT_KEY_TYPE_ECDSA_P256} (ECDSA P-256)`,
      header.attKeyType,
    );
  }
  if (header.teeType !== TEE_TYPE_TDX) {
    fail(
      'unknown_type',
      'tdx_quote.header.tee_type',
      '0x81 (TDX)',
      `0x${header.teeType.toString(16)}`,
    );
  }

  let bodyType: 2 | 3 = BODY_TYPE_TDX10;
  let bodyOffset: number = HEADER.SIZE;
  let bodySize: number = BODY_SIZE_TDX10;
  if (header.version === 5) {
    const t = r.u16(V5_DESCRIPTOR.BODY_TYPE, 'body_type');
    const size = r.u32(V5_DESCRIPTOR.BODY_SIZE, 'body_size');
    if (t === BODY_TYPE_TDX10) bodyType = BODY_TYPE_TDX10;
    else if (t === BODY_TYPE_TDX15) bodyType = BODY_TYPE_TDX15;
    else fail('unknown_type', 'tdx_quote.body_type', '2 (TDX 1.0) or 3 (TDX 1.5)', t);
    const want = bodyType === BODY_TYPE_TDX15 ? BODY_SIZE_TDX15 : BODY_SIZE_TDX10;
    if (size !== want) fail('bad_length', 'tdx_quote.body_size', want, size);
    bodyOffset = HEADER.SIZE + V5_DESCRIPTOR.SIZE;
    bodySize = size;
  }
  r.need(bodyOffset, bodySize, 'body');
  const body = parseTdReportBody(r, bodyOffset, bodyType);
  const signedEnd = bodyOffset + bodySize;

  const sigLen = r.u32(signedEnd, 'sig_data_len');
  const sigStart = signedEnd + 4;
  r.need(sigStart, sigLen, 'sig_data');
  const sigEnd = sigStart + sigLen;
  // Everything inside sig_data is read through a reader bounded by sig_data_len.
  const s = new ByteReader(bytes.subarray(sigStart, sigEnd), 'tdx_quote.sig_data');
  const signature = s.take(SIG.QUOTE_SIGNATURE, 64, 'quote_signature');
  const attestationKey = s.take(SIG.ATTESTATION_KEY, 64, 'attestation_key');
  const certType = s.u16(SIG.CERT_DATA_TYPE, 'cert_data_type');
  if (certType !== CERT_DATA_TYPE_QE_REPORT) {
    fail(
      'unknown_type',
      'tdx_quote.sig_data.cert_data_type',
      `${CERT_DATA_TYPE_QE_REPORT} (QE report certification data)`,
      certType,
    );
  }
  const certSize = s.u32(SIG.CERT_DATA_SIZE, 'cert_data_size');
  if (SIG.CERT_DATA + certSize !== sigLen) {
    fail('bad_length', 'tdx_quote.sig_data.cert_data_size', sigLen - SIG.CERT_DATA, certSize);
  }
  const c = new ByteReader(
    s.bytes.subarray(SIG.CERT_DATA, SIG.CERT_DATA + certSize),
    'tdx_quote.qe_cert_data',
  );
  const qeReportRaw = c.take(QE_CERT.REPORT, QE_REPORT.SIZE, 'qe_report');
  const qeReportSignature = c.take(QE_CERT.REPORT_SIGNATURE, 64, 'qe_report_signature');
  const authLen = c.u16(QE_CERT.AUTH_LEN, 'qe_auth_len');
  if (authLen > TDX_QUOTE_LIMITS.maxQeAuthBytes) {
    fail(
      'too_large',
      'tdx_quote.qe_cert_data.qe_auth_len',
      `at most ${TDX_QUOTE_LIMITS.maxQeAuthBytes}`,
      authLen,
    );
  }
  const qeAuthData = c.take(QE_CERT.AUTH, authLen, 'qe_auth');
  const innerAt = QE_CERT.AUTH + authLen;
  const innerType = c.u16(innerAt, 'pck_cert_data_type');
  if (innerType !== CERT_DATA_TYPE_PCK_CHAIN) {
    fail(
      'unknown_type',
      'tdx_quote.qe_cert_data.pck_cert_data_type',
      `${CERT_DATA_TYPE_PCK_CHAIN} (PCK chain, PEM)`,
      innerType,
    );
  }
  const innerSize = c.u32(innerAt + 2, 'pck_cert_data_size');
  if (innerAt + 6 + innerSize !== certSize) {
    fail(
      'bad_length',
      'tdx_quote.qe_cert_data.pck_cert_data_size',
      certSize - innerAt - 6,
      innerSize,
    );
  }
  const pckChainPem = c.take(innerAt + 6, innerSize, 'pck_chain');

  return {
    header,
    bodyType,
    body,
    signedBytes: bytes.slice(0, signedEnd),
    signature,
    attestationKey,
    qeReport: parseQeReport(qeReportRaw),
    qeReportSignature,
    qeAuthData,
    pckChainPem,
    length: sigEnd,
    trailingBytes: bytes.length - sigEnd,
  };
}
