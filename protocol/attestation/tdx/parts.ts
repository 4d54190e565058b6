/**
 * Evidence part names for `tdx` items, and the classification of collateral files by content
 * (shared by the CLI's --collateral DIR and the server's cached collateral directory).
 *
 * Parts: `quote` · `collateral.tcb_info` (PCS TDX TCB info JSON) · `collateral.qe_identity`
 * (PCS TD_QE identity JSON) · `collateral.tcb_signing_chain` (TCB-Info-Issuer-Chain PEM) ·
 * `collateral.crl.<name>` (DER or PEM CRLs) · `ccel` (CCEL event log).
 */
export const TDX_PART = {
  QUOTE: 'quote',
  TCB_INFO: 'collateral.tcb_info',
  QE_IDENTITY: 'collateral.qe_identity',
  TCB_SIGNING_CHAIN: 'collateral.tcb_signing_chain',
  CRL_PREFIX: 'collateral.crl.',
  CCEL: 'ccel',
} as const;

function head(b: Uint8Array, n: number): string {
  let s = '';
  for (let i = 0; i < Math.min(n, b.length); i++) s += String.fromCharCode(b[i] ?? 0);
  return s;
}

/**
 * The part name a collateral file belongs to, judged by its content (and, for a bare DER CRL, a
 * file name containing "crl"), or null for files that are not collateral (READMEs, checksums).
 */
export function tdxCollateralPartName(fileName: string, bytes: Uint8Array): string | null {
  const h = head(bytes, 4096);
  if (/^\s*\{\s*"tcbInfo"/.test(h)) return TDX_PART.TCB_INFO;
  if (/^\s*\{\s*"enclaveIdentity"/.test(h)) return TDX_PART.QE_IDENTITY;
  if (h.includes('-----BEGIN CERTIFICATE-----')) return TDX_PART.TCB_SIGNING_CHAIN;
  if (h.includes('-----BEGIN X509 CRL-----') || (bytes[0] === 0x30 && /crl/i.test(fileName))) {
    return `${TDX_PART.CRL_PREFIX}${fileName.replace(/\.[^.]*$/, '')}`;
  }
  return null;
}
