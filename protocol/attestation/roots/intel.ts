/**
 * Pinned Intel trust anchor for SGX/TDX DCAP (a public certificate, compared by exact DER in
 * verifyChain), plus Intel's TCB Signing certificate as a *known intermediate*.
 *
 * - Intel SGX Root CA (ECDSA P-256; 2018-05-21 .. 2049-12-31): root of every PCK chain (PCK leaf →
 *   Intel SGX PCK Platform/Processor CA → this root) and of the TCB Signing chain.
 *   SHA-256 fingerprint 44:A0:19:6B:2B:99:F8:89:B8:E1:49:E9:5B:80:7A:35:0E:74:24:96:43:99:E8:85:A7:CB:B8:CC:FA:B6:74:D3
 *   (https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.pem).
 * - Intel SGX TCB Signing (ECDSA P-256; 2025-05-06 .. 2032-05-06), which signs PCS tcbInfo and
 *   enclave identity JSON. PCS serves it in the `TCB-Info-Issuer-Chain` header; when the evidence
 *   carries no issuer chain this copy is used. It is NOT a trust anchor: it is always verified
 *   against the pinned root at the verification time, so shipping it cannot widen trust.
 *   SHA-256 fingerprint C0:57:5E:76:D0:30:3B:61:D0:9C:DE:8C:BD:B7:0D:B3:4A:74:F3:83:18:30:0D:7C:0E:6B:A8:CF:4B:F4:5A:EA.
 *
 * Tests check both fingerprints.
 */

import { fromBase64 } from '../../encoding';

export const INTEL_SGX_ROOT_CA_DER = fromBase64(
  'MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIwaDEaMBgGA1UEAwwRSW50ZWwg' +
    'U0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkG' +
    'A1UECAwCQ0ExCzAJBgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgGA1UEAwwR' +
    'SW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFy' +
    'YTELMAkGA1UECAwCQ0ExCzAJBgNVBAYTAlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPW' +
    'sCzaEKi71OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOBuzCBuDAfBgNVHSME' +
    'GDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJMEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50' +
    'cnVzdGVkc2VydmljZXMuaW50ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV' +
    'Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYIKoZIzj0EAwIDSQAwRgIhAOW/' +
    '5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwgAiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=',
);

export const INTEL_SGX_TCB_SIGNING_DER = fromBase64(
  'MIICjTCCAjKgAwIBAgIUfjiC1ftVKUpASY5FhAPpFJG99FUwCgYIKoZIzj0EAwIwaDEaMBgGA1UEAwwRSW50ZWwg' +
    'U0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkG' +
    'A1UECAwCQ0ExCzAJBgNVBAYTAlVTMB4XDTI1MDUwNjA5MjUwMFoXDTMyMDUwNjA5MjUwMFowbDEeMBwGA1UEAwwV' +
    'SW50ZWwgU0dYIFRDQiBTaWduaW5nMRowGAYDVQQKDBFJbnRlbCBDb3Jwb3JhdGlvbjEUMBIGA1UEBwwLU2FudGEg' +
    'Q2xhcmExCzAJBgNVBAgMAkNBMQswCQYDVQQGEwJVUzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABENFG8xzydWR' +
    'fK92bmGvP+mAh91PEyV7Jh6FGJd5ndE9aBH7R3E4A7ubrlh/zN3C4xvpoouGlirMba+W2ljuypajgbUwgbIwHwYD' +
    'VR0jBBgwFoAUImUM1lqdNInzg7SVUr9QGzknBqwwUgYDVR0fBEswSTBHoEWgQ4ZBaHR0cHM6Ly9jZXJ0aWZpY2F0' +
    'ZXMudHJ1c3RlZHNlcnZpY2VzLmludGVsLmNvbS9JbnRlbFNHWFJvb3RDQS5kZXIwHQYDVR0OBBYEFH44gtX7VSlK' +
    'QEmORYQD6RSRvfRVMA4GA1UdDwEB/wQEAwIGwDAMBgNVHRMBAf8EAjAAMAoGCCqGSM49BAMCA0kAMEYCIQDdmmRu' +
    'Ao3qCO8TC1IoJMITAoOEw4dlgEBHzSz1TuMSTAIhAKVTqOkt59+co0O3m3hC+v5Fb00FjYWcgeu3EijOULo5',
);

export const INTEL_SGX_ROOT_CA_SHA256 =
  '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';
export const INTEL_SGX_TCB_SIGNING_SHA256 =
  'c0575e76d0303b61d09cde8cbdb70db34a74f38318300d7c0e6ba8cf4bf45aea';
