/**
 * NVIDIA GPU / NVSwitch attestation (docs/attestation-nvidia.md): parse → verify → validate.
 * Entry point: `verifyNvidiaEvidence(item, ctx, policy, binding)`; policy: `NvidiaPolicy`.
 */
export {
  verifyNvidiaEvidence,
  checkMultiGpuPpcie,
  parseCertChain,
  reportSaysPpcie,
  DEVICE_CHAIN_LEN,
} from './verify';
export type { NvidiaVerifyContext } from './verify';
export { DEFAULT_NVIDIA_POLICY, compareVersions } from './policy';
export type { NvidiaPolicy } from './policy';
export { parseNvidiaReport, reportBytesFromInput } from './spdm';
export type { NvidiaReport, MeasurementBlock, SpdmRequest } from './spdm';
export { decodeOpaque, formatVbiosVersion, OPAQUE_TYPES } from './opaque';
export type { NvidiaOpaque, OpaqueField } from './opaque';
export { parseRim, parseRimPayload, verifyRim } from './rim';
export type { Rim, RimMeasurement, RimVerification } from './rim';
export { compareMeasurements } from './compare';
export { leafFwid } from './fwid';
export { parseOcspResponse, checkOcsp, checkOcspForChain } from './ocsp';
export { parseCcStatus, encodeCcStatus } from './cc-status';
export type { CcStatus } from './cc-status';
export { clearNvidiaCaches } from './cache';
