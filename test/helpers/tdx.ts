/** Shared helpers for the TDX tests: vector loading, pinned times, and re-signing tampered quotes. */
import { generateKeyPairSync, sign } from 'node:crypto';
import { nodeProvider } from '../../protocol-node/crypto-node';
import type { TdxVerifyContext } from '../../protocol/attestation/tdx/verify';
import { expectedJson, readShared } from './shared';

export interface ExpectedTdxQuote {
  quote: string;
  version: number;
  body_type: number;
  tee_type: string;
  qe_vendor_id: string;
  fmspc: string;
  trailing_bytes_after_sig_data: number;
  qe_mrsigner: string;
  qe_isvprodid: number;
  qe_isvsvn: number;
  pck_chain_valid_window: [string, string];
  expected: {
    quote_signature_valid: boolean;
    qe_report_signature_valid: boolean;
    qe_report_data_binds_attestation_key: boolean;
    pck_chain_valid_to_intel_root: boolean;
  };
  [field: string]: unknown;
}

export interface ExpectedTdxCollateral {
  file: string;
  kind: 'tcbInfo' | 'enclaveIdentity';
  id: string;
  fmspc: string | null;
  issueDate: string;
  nextUpdate: string;
  tcbEvaluationDataNumber: number;
  signing_chain: string;
  expected: { signature_valid: boolean; signing_chain_valid: boolean };
}

export interface ExpectedTdxCcel {
  ccel: string;
  against: string;
  events: number;
  expected: Record<'rtmr0_matches' | 'rtmr1_matches' | 'rtmr2_matches' | 'rtmr3_matches', boolean>;
}

export interface ExpectedAzureHclTdx {
  source: string;
  hcl_version: number;
  report_type: number;
  hash_type: number;
  var_data_len: number;
  expected: Record<string, boolean>;
  tdreport_report_data: string;
  tdreport_mrtd: string;
}

type Expected = {
  tdx_quotes: ExpectedTdxQuote[];
  tdx_collateral: ExpectedTdxCollateral[];
  tdx_ccel: ExpectedTdxCcel[];
  azure_hcl_tdx: ExpectedAzureHclTdx[];
};

/** The checks a genuine TDX quote fails when it comes with no collateral at all (sorted ids). */
export const TDX_COLLATERAL_MISSING = [
  'collateral.pck_crl',
  'collateral.qe_identity',
  'collateral.root_ca_crl',
  'collateral.tcb_info',
  'qe_identity',
  'tcb',
] as const;

export function tdxExpected(): Expected {
  return expectedJson() as Expected;
}

export function vec(path: string): Uint8Array {
  return new Uint8Array(readShared('vectors', path));
}

/** "2022-09-20 13:20:31+00:00" → Date. */
export function pyDate(s: string): Date {
  return new Date(s.replace(' ', 'T'));
}

/** A time one day inside the start of a window (and before its end). */
export function inside(window: readonly [string, string] | readonly [Date, Date]): Date {
  const a = typeof window[0] === 'string' ? pyDate(window[0]) : window[0];
  const b = typeof window[1] === 'string' ? pyDate(window[1]) : window[1];
  return new Date(Math.min(a.getTime() + 86_400_000, (a.getTime() + b.getTime()) / 2));
}

export function ctxAt(at: Date, extra: Partial<TdxVerifyContext> = {}): TdxVerifyContext {
  return { crypto: nodeProvider, now: () => at, ...extra };
}

/** A fresh P-256 key: raw x‖y and a signer producing raw r‖s over SHA-256. */
export function p256Signer(): { xy: Uint8Array; sign(msg: Uint8Array): Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const xy = new Uint8Array(publicKey.subarray(publicKey.length - 64));
  return {
    xy,
    sign: (msg) =>
      new Uint8Array(
        sign('sha256', msg, {
          key: privateKey,
          format: 'der',
          type: 'pkcs8',
          dsaEncoding: 'ieee-p1363',
        }),
      ),
  };
}
