/** Intel TDX attestation: DCAP quote v4/v5 parsing, verification and policy validation. */
export { parseTdxQuote, parseQeReport, TDX_QUOTE_LIMITS, INTEL_QE_VENDOR_ID } from './quote';
export type { TdxQuote, TdxQuoteHeader, TdxReportBody, QeReport } from './quote';
export { parseTdReport, TDREPORT_SIZE } from './tdreport';
export type { TdReport } from './tdreport';
export { parseCcel, replayRtmrs } from './ccel';
export type { CcelLog, CcelEvent } from './ccel';
export {
  parseTdxTcbInfo,
  parseQeIdentity,
  evaluateTdxTcb,
  evaluateQeIdentity,
  TCB_STATUSES,
} from './collateral';
export type { TcbStatus, TdxTcbInfo, QeIdentity } from './collateral';
export { parsePckExtension, SGX_EXTENSION_OID } from './pck';
export type { PckExtension } from './pck';
export { DEFAULT_TDX_POLICY, tdxPolicy } from './policy';
export type { TdxPolicy } from './policy';
export {
  verifyTdxQuote,
  verifyTdxEvidence,
  verifyPcsDocument,
  collateralFromParts,
  intelRootCertificates,
} from './verify';
export type { TdxCollateral, TdxVerifyContext, TdxVerifyInput, TdxVerifyResult } from './verify';
export { verifyAzureTdxHcl } from './azure-hcl';
export type { AzureTdxHclInput } from './azure-hcl';
export { TDX_PART, tdxCollateralPartName } from './parts';
