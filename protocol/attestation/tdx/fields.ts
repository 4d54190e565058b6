/**
 * The decoded fields of a TDX quote: one list for the verifier's report (verify.ts) and
 * `teechat attest show` (client/cli/attest-tdx.ts), and one reading of the TD_ATTRIBUTES bits.
 */
import type { FieldValue } from '../types';
import { toHex } from './bytes';
import type { TdxQuote, TdxReportBody } from './quote';

/** TD_ATTRIBUTES bit 0 (byte 0, LSB): the TD is debuggable (TDX Module ABI spec, TDINFO). */
export const TD_ATTRIBUTES_DEBUG_BIT = 0;
/** TD_ATTRIBUTES bit 28: SEPT_VE_DISABLE (EPT-violation #VE not delivered to the TD). */
export const TD_ATTRIBUTES_SEPT_VE_DISABLE_BIT = 28;

/** Bit `bit` of the 64-bit little-endian TD_ATTRIBUTES. */
export function tdAttribute(body: TdxReportBody, bit: number): boolean {
  return (((body.tdAttributes[bit >> 3] ?? 0) >> (bit & 7)) & 1) === 1;
}

/** Every field of the quote's header, TD report body and QE report, hex for byte strings. */
export function tdxQuoteFields(quote: TdxQuote): Record<string, FieldValue> {
  const body = quote.body;
  const fields: Record<string, FieldValue> = {
    version: quote.header.version,
    body_type: quote.bodyType,
    tee_type: `0x${quote.header.teeType.toString(16)}`,
    qe_svn: quote.header.qeSvn,
    pce_svn: quote.header.pceSvn,
    qe_vendor_id: toHex(quote.header.qeVendorId),
    user_data: toHex(quote.header.userData),
    tee_tcb_svn: toHex(body.teeTcbSvn),
    mrseam: toHex(body.mrSeam),
    mrsignerseam: toHex(body.mrSignerSeam),
    seam_attributes: toHex(body.seamAttributes),
    td_attributes: toHex(body.tdAttributes),
    debug: tdAttribute(body, TD_ATTRIBUTES_DEBUG_BIT),
    sept_ve_disable: tdAttribute(body, TD_ATTRIBUTES_SEPT_VE_DISABLE_BIT),
    xfam: toHex(body.xfam),
    mrtd: toHex(body.mrTd),
    mrconfigid: toHex(body.mrConfigId),
    mrowner: toHex(body.mrOwner),
    mrownerconfig: toHex(body.mrOwnerConfig),
    rtmr0: toHex(body.rtmrs[0]),
    rtmr1: toHex(body.rtmrs[1]),
    rtmr2: toHex(body.rtmrs[2]),
    rtmr3: toHex(body.rtmrs[3]),
    report_data: toHex(body.reportData),
    attestation_key: toHex(quote.attestationKey),
    qe_mrenclave: toHex(quote.qeReport.mrEnclave),
    qe_mrsigner: toHex(quote.qeReport.mrSigner),
    qe_isvprodid: quote.qeReport.isvProdId,
    qe_isvsvn: quote.qeReport.isvSvn,
    trailing_bytes: quote.trailingBytes,
  };
  if (body.teeTcbSvn2 !== undefined) fields['tee_tcb_svn2'] = toHex(body.teeTcbSvn2);
  if (body.mrServiceTd !== undefined) fields['mr_servicetd'] = toHex(body.mrServiceTd);
  return fields;
}
