/**
 * XML-DSig (https://www.w3.org/TR/xmldsig-core1/) enveloped signatures as NVIDIA signs RIMs:
 * exactly one `ds:Signature`, a child of the document element; one `ds:Reference` with URI=""
 * and the transforms [enveloped-signature, C14N 1.1]; DigestMethod SHA-384; SignatureMethod
 * ECDSA-SHA384 whose SignatureValue is raw r ‖ s (RFC 4051 §3.4.1); KeyInfo/X509Data holding the
 * signer certificate first, then its issuers.
 *
 * `parseEnvelopedSignature` only decodes (ProtocolError on a malformed structure);
 * `checkEnvelopedSignature` computes the digest and verifies the signature with a given key.
 */
import { ProtocolError } from '../errors';
import type { CryptoProvider, EcPublicKey } from '../crypto/provider';
import { utf8Encode } from '../wire/bytes';
import { c14n11 } from './c14n';
import { childElements, textContent, getAttr, type XmlDocument, type XmlElement } from './parser';

export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const ALG_C14N11 = 'http://www.w3.org/2006/12/xml-c14n11';
export const ALG_ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
export const ALG_ECDSA_SHA384 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384';
/** Both identifiers for SHA-384 seen in the wild (RFC 6931 §2.1.3 and XML Encryption). */
export const ALG_SHA384 = [
  'http://www.w3.org/2001/04/xmldsig-more#sha384',
  'http://www.w3.org/2001/04/xmlenc#sha384',
];

export interface EnvelopedSignature {
  readonly signature: XmlElement;
  readonly signedInfo: XmlElement;
  /** Canonical SignedInfo (what the signature covers). */
  readonly signedInfoC14n: string;
  /** Canonical document without the Signature element (what the digest covers). */
  readonly documentC14n: string;
  readonly digestValue: Uint8Array;
  /** Raw r ‖ s. */
  readonly signatureValue: Uint8Array;
  /** DER certificates from KeyInfo/X509Data, in document order (signer first). */
  readonly certificates: readonly Uint8Array[];
}

function perr(msg: string, field: string): never {
  throw new ProtocolError('xml_parse', `${field}: ${msg}`, field);
}

function one(el: XmlElement, local: string, field: string): XmlElement {
  const c = childElements(el, DSIG_NS, local);
  if (c.length !== 1) perr(`expected exactly one ds:${local}, got ${c.length}`, field);
  return c[0]!;
}

function algorithm(el: XmlElement, field: string): string {
  const a = getAttr(el, null, 'Algorithm');
  if (a === undefined) perr('missing Algorithm', field);
  return a;
}

function expectAlg(el: XmlElement, allowed: readonly string[], field: string): void {
  const a = algorithm(el, field);
  if (!allowed.includes(a))
    perr(`expected Algorithm ${allowed.join(' or ')}, got ${JSON.stringify(a)}`, field);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** base64Binary with XML whitespace allowed anywhere. */
export function decodeBase64Xml(text: string, field: string): Uint8Array {
  const clean = text.replace(/[ \t\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0)
    perr('not valid base64', field);
  const body = clean.replace(/=+$/, '');
  if (body.length % 4 === 1) perr('not valid base64', field);
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < body.length; i += 4) {
    const v = [0, 1, 2, 3].map((k) => (i + k < body.length ? B64.indexOf(body[i + k]!) : 0));
    const n = (v[0]! << 18) | (v[1]! << 12) | (v[2]! << 6) | v[3]!;
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

/** Finds and decodes the enveloped signature. Throws ProtocolError('xml_parse') when malformed. */
export function parseEnvelopedSignature(doc: XmlDocument): EnvelopedSignature {
  const root = doc.root;
  // Exactly one Signature element anywhere, and it must be a child of the document element
  // (signature-wrapping defence: the reference covers the whole document, URI="").
  const all: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    if (e.ns === DSIG_NS && e.local === 'Signature') all.push(e);
    for (const c of e.children) if (c.type === 'element') walk(c);
  };
  walk(root);
  if (all.length !== 1) perr(`expected exactly one ds:Signature, got ${all.length}`, 'Signature');
  const signature = all[0]!;
  if (signature.parent !== root)
    perr('ds:Signature must be a child of the document element', 'Signature');
  const signedInfo = one(signature, 'SignedInfo', 'SignedInfo');
  expectAlg(
    one(signedInfo, 'CanonicalizationMethod', 'SignedInfo.CanonicalizationMethod'),
    [ALG_C14N11],
    'SignedInfo.CanonicalizationMethod',
  );
  expectAlg(
    one(signedInfo, 'SignatureMethod', 'SignedInfo.SignatureMethod'),
    [ALG_ECDSA_SHA384],
    'SignedInfo.SignatureMethod',
  );
  const reference = one(signedInfo, 'Reference', 'SignedInfo.Reference');
  if (getAttr(reference, null, 'URI') !== '')
    perr('expected URI="" (the whole document)', 'Reference.URI');
  const transforms = childElements(
    one(reference, 'Transforms', 'Reference.Transforms'),
    DSIG_NS,
    'Transform',
  );
  if (transforms.length !== 2)
    perr(
      `expected 2 transforms (enveloped-signature, C14N 1.1), got ${transforms.length}`,
      'Reference.Transforms',
    );
  expectAlg(transforms[0]!, [ALG_ENVELOPED], 'Reference.Transforms[0]');
  expectAlg(transforms[1]!, [ALG_C14N11], 'Reference.Transforms[1]');
  expectAlg(
    one(reference, 'DigestMethod', 'Reference.DigestMethod'),
    ALG_SHA384,
    'Reference.DigestMethod',
  );
  const digestValue = decodeBase64Xml(
    textContent(one(reference, 'DigestValue', 'Reference.DigestValue')),
    'Reference.DigestValue',
  );
  if (digestValue.length !== 48)
    perr(`expected 48 bytes, got ${digestValue.length}`, 'Reference.DigestValue');
  const signatureValue = decodeBase64Xml(
    textContent(one(signature, 'SignatureValue', 'SignatureValue')),
    'SignatureValue',
  );
  if (signatureValue.length !== 96)
    perr(`expected 96 bytes (raw r||s, P-384), got ${signatureValue.length}`, 'SignatureValue');
  const keyInfo = one(signature, 'KeyInfo', 'KeyInfo');
  const x509Data = one(keyInfo, 'X509Data', 'KeyInfo.X509Data');
  const certEls = childElements(x509Data, DSIG_NS, 'X509Certificate');
  if (certEls.length === 0) perr('no ds:X509Certificate', 'KeyInfo.X509Data');
  const certificates = certEls.map((c, i) =>
    decodeBase64Xml(textContent(c), `KeyInfo.X509Certificate[${i}]`),
  );
  return {
    signature,
    signedInfo,
    signedInfoC14n: c14n11(signedInfo),
    documentC14n: c14n11(root, { exclude: signature }),
    digestValue,
    signatureValue,
    certificates,
  };
}

export interface DsigResult {
  readonly digestOk: boolean;
  readonly signatureOk: boolean;
  readonly computedDigest: Uint8Array;
}

/** Recomputes the reference digest and verifies SignatureValue with the signer key. */
export function checkEnvelopedSignature(
  crypto: CryptoProvider,
  sig: EnvelopedSignature,
  signerKey: EcPublicKey,
): DsigResult {
  const computedDigest = crypto.hash('SHA-384', utf8Encode(sig.documentC14n));
  let d = computedDigest.length === sig.digestValue.length ? 0 : 1;
  for (let i = 0; i < computedDigest.length && d === 0; i++)
    d |= computedDigest[i]! ^ sig.digestValue[i]!;
  const signatureOk =
    signerKey.curve === 'P-384' &&
    crypto.ecdsaVerify(signerKey, 'SHA-384', utf8Encode(sig.signedInfoC14n), sig.signatureValue);
  return { digestOk: d === 0, signatureOk, computedDigest };
}
