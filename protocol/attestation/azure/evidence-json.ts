/**
 * Reads the JSON evidence formats that existing Azure CVM tooling writes (confidential-containers
 * trustee "az-snp-vtpm"/"az-tdx-vtpm" v0 (byte lists) and v1/v2 (hex / base64url), and the
 * `{platform, evidence}` wrapper of lunal attestation-rs) into evidence parts:
 * `hcl`, `vcek` (when embedded), `tpm_quote`, `tpm_signature`, `pcrs` (24 × 32 bytes), `td_quote`.
 * Throws only ProtocolError.
 */
import { ProtocolError } from '../../errors';
import { concatBytes, fromBase64, fromBase64url, fromHex, utf8Encode } from '../../encoding';

/** The tools write base64url; a text with '+' or '/' is standard base64 (never both alphabets). */
const base64Either = (v: string, field: string): Uint8Array =>
  /[+/]/.test(v) ? fromBase64(v, field) : fromBase64url(v, field);

type Json = { readonly [k: string]: unknown };
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function bytesOf(v: unknown, field: string, text: 'hex' | 'base64'): Uint8Array {
  if (Array.isArray(v)) {
    if (!v.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) {
      throw new ProtocolError(
        'malformed',
        `${field}: expected a list of bytes, got other values`,
        field,
      );
    }
    return Uint8Array.from(v as number[]);
  }
  if (typeof v === 'string') return text === 'hex' ? fromHex(v, field) : base64Either(v, field);
  throw new ProtocolError(
    'malformed',
    `${field}: expected bytes (list, hex or base64), got ${typeof v}`,
    field,
  );
}

/** Parts of an Azure evidence JSON document. */
export function azureEvidenceFromJson(doc: unknown): Map<string, Uint8Array> {
  let e: unknown = doc;
  if (isObj(e) && isObj(e['evidence'])) e = e['evidence'];
  if (!isObj(e))
    throw new ProtocolError(
      'malformed',
      'evidence: expected a JSON object, got something else',
      'evidence',
    );
  const parts = new Map<string, Uint8Array>();
  const hcl = e['hcl_report'] ?? e['report'];
  if (hcl === undefined)
    throw new ProtocolError(
      'malformed',
      'evidence.hcl_report: expected the HCL report, got none',
      'evidence.hcl_report',
    );
  parts.set('hcl', bytesOf(hcl, 'evidence.hcl_report', 'base64'));
  const q = e['tpm_quote'] ?? e['quote'];
  if (isObj(q)) {
    parts.set('tpm_quote', bytesOf(q['message'], 'evidence.tpm_quote.message', 'hex'));
    parts.set('tpm_signature', bytesOf(q['signature'], 'evidence.tpm_quote.signature', 'hex'));
    const pcrs = q['pcrs'];
    if (!Array.isArray(pcrs))
      throw new ProtocolError(
        'malformed',
        'evidence.tpm_quote.pcrs: expected a list, got none',
        'evidence.tpm_quote.pcrs',
      );
    parts.set(
      'pcrs',
      concatBytes(...pcrs.map((p, i) => bytesOf(p, `evidence.tpm_quote.pcrs[${i}]`, 'hex'))),
    );
  }
  const vcek = e['vcek'];
  if (typeof vcek === 'string')
    parts.set(
      'vcek',
      vcek.includes('-----BEGIN') ? utf8Encode(vcek) : base64Either(vcek, 'evidence.vcek'),
    );
  const td = e['td_quote'];
  if (td !== undefined) parts.set('td_quote', bytesOf(td, 'evidence.td_quote', 'base64'));
  return parts;
}
