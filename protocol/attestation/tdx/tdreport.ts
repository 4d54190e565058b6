/**
 * TDREPORT_STRUCT (1024 bytes), as returned by TDG.MR.REPORT and embedded in Azure's HCL report.
 * Its MAC can only be checked on the platform that made it; off-platform it is trusted only through
 * a TD quote that repeats its fields (see azure-hcl.ts).
 *
 * Layout (Intel TDX Module ABI spec, TDREPORT_STRUCT):
 *   REPORTMACSTRUCT (256) ‖ TEE_TCB_INFO (239) ‖ reserved (17) ‖ TDINFO (512).
 */
import { fail } from '../../errors';
import { ByteReader } from './bytes';
import type { TdxReportBody } from './quote';

export const TDREPORT_SIZE = 1024;

export const TDREPORT = {
  // REPORTMACSTRUCT
  REPORT_TYPE: 0, // [4]: type 0x81 (TDX), subtype, version, reserved
  CPU_SVN: 16, // [16]
  TEE_TCB_INFO_HASH: 32, // [48]
  TEE_INFO_HASH: 80, // [48]
  REPORT_DATA: 128, // [64]
  MAC: 224, // [32]
  // TEE_TCB_INFO
  TEE_TCB_INFO: 256,
  TEE_TCB_SVN: 256 + 8, // [16] (after valid[8])
  MRSEAM: 256 + 24, // [48]
  MRSIGNERSEAM: 256 + 72, // [48]
  SEAM_ATTRIBUTES: 256 + 120, // [8]
  // TDINFO
  TD_ATTRIBUTES: 512, // [8]
  XFAM: 520, // [8]
  MRTD: 528, // [48]
  MRCONFIGID: 576, // [48]
  MROWNER: 624, // [48]
  MROWNERCONFIG: 672, // [48]
  RTMR0: 720, // 4 × [48]
  SERVTD_HASH: 912, // [48]
} as const;

export const TDREPORT_TYPE_TDX = 0x81;

/** The TD fields a TDREPORT shares with a quote body (same names, different offsets), plus its own. */
export interface TdReport extends Omit<TdxReportBody, 'teeTcbSvn2' | 'mrServiceTd'> {
  readonly reportType: number;
  readonly cpuSvn: Uint8Array;
  readonly servTdHash: Uint8Array;
}

/** Parses a TDREPORT. Accepts exactly 1024 bytes, or a longer buffer when `allowPadding`. */
export function parseTdReport(bytes: Uint8Array, allowPadding = false): TdReport {
  if (bytes.length < TDREPORT_SIZE)
    fail('truncated', 'tdreport', `${TDREPORT_SIZE} bytes`, `${bytes.length} bytes`);
  if (!allowPadding && bytes.length !== TDREPORT_SIZE) {
    fail('bad_length', 'tdreport', `${TDREPORT_SIZE} bytes`, `${bytes.length} bytes`);
  }
  const r = new ByteReader(bytes, 'tdreport');
  const reportType = r.u8(TDREPORT.REPORT_TYPE, 'report_type');
  if (reportType !== TDREPORT_TYPE_TDX)
    fail('unknown_type', 'tdreport.report_type', '0x81 (TDX)', `0x${reportType.toString(16)}`);
  const m = (off: number, name: string): Uint8Array => r.take(off, 48, name);
  return {
    reportType,
    cpuSvn: r.take(TDREPORT.CPU_SVN, 16, 'cpu_svn'),
    reportData: r.take(TDREPORT.REPORT_DATA, 64, 'report_data'),
    teeTcbSvn: r.take(TDREPORT.TEE_TCB_SVN, 16, 'tee_tcb_svn'),
    mrSeam: m(TDREPORT.MRSEAM, 'mrseam'),
    mrSignerSeam: m(TDREPORT.MRSIGNERSEAM, 'mrsignerseam'),
    seamAttributes: r.take(TDREPORT.SEAM_ATTRIBUTES, 8, 'seam_attributes'),
    tdAttributes: r.take(TDREPORT.TD_ATTRIBUTES, 8, 'td_attributes'),
    xfam: r.take(TDREPORT.XFAM, 8, 'xfam'),
    mrTd: m(TDREPORT.MRTD, 'mrtd'),
    mrConfigId: m(TDREPORT.MRCONFIGID, 'mrconfigid'),
    mrOwner: m(TDREPORT.MROWNER, 'mrowner'),
    mrOwnerConfig: m(TDREPORT.MROWNERCONFIG, 'mrownerconfig'),
    rtmrs: [
      m(TDREPORT.RTMR0, 'rtmr0'),
      m(TDREPORT.RTMR0 + 48, 'rtmr1'),
      m(TDREPORT.RTMR0 + 96, 'rtmr2'),
      m(TDREPORT.RTMR0 + 144, 'rtmr3'),
    ],
    servTdHash: m(TDREPORT.SERVTD_HASH, 'servtd_hash'),
  };
}
