/**
 * Cached OCSP responses (RFC 6960) for NVIDIA certificate chains, checked offline.
 *
 * Evidence parts `ocsp.<n>` hold the DER OCSPResponse for chain certificate n (0 = leaf; the root
 * needs none). A response counts when: responseStatus successful; BasicOCSPResponse signed either
 * by the issuer itself or by a delegated responder certificate (in `certs`) that the issuer signed,
 * which carries extendedKeyUsage id-kp-OCSPSigning and is valid at `at`; the SingleResponse CertID
 * (SHA-1/256/384 hashes of the issuer name and key, serial) names the certificate; certStatus good;
 * thisUpdate ≤ at ≤ nextUpdate.
 */
import { ProtocolError } from '../../errors';
import type { CryptoProvider, HashAlg } from '../../crypto/provider';
import type { Check } from '../types';
import {
  children,
  parseDer,
  readBitString,
  readIntegerBytes,
  readOctetString,
  readOid,
  readTime,
  Tag,
  type Tlv,
} from '../../asn1/der';
import {
  nameAttr,
  parseCertificate,
  parseSignatureAlgorithm,
  verifySignature,
  verifySignedBy,
  type Certificate,
  type SignatureAlgorithm,
} from '../../x509/index';
import { bytesEqual, toHex } from './bytes';

export const OID_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';
export const OID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
export const OID_EXT_KEY_USAGE = '2.5.29.37';
const HASHES: Readonly<Record<string, HashAlg>> = {
  '2.16.840.1.101.3.4.2.1': 'SHA-256',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
};

export type CertStatus = 'good' | 'revoked' | 'unknown';

export interface SingleResponse {
  readonly hashAlg: HashAlg;
  readonly issuerNameHash: Uint8Array;
  readonly issuerKeyHash: Uint8Array;
  readonly serialNumber: Uint8Array;
  readonly status: CertStatus;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
}

export interface OcspResponse {
  readonly tbs: Uint8Array;
  readonly sigAlg: SignatureAlgorithm;
  readonly signatureValue: Uint8Array;
  readonly responderByName: Uint8Array | undefined;
  readonly responderKeyHash: Uint8Array | undefined;
  readonly producedAt: Date;
  readonly responses: readonly SingleResponse[];
  readonly certs: readonly Certificate[];
}

const C = 'attestation_parse' as const;

function bad(field: string, msg: string): never {
  throw new ProtocolError(C, `ocsp.${field}: ${msg}`, `ocsp.${field}`);
}

function kids(t: Tlv | undefined, field: string): Tlv[] {
  if (t === undefined) bad(field, 'missing');
  return children(t, `ocsp.${field}`, C);
}

/** Parses a DER OCSPResponse. ProtocolError only. */
export function parseOcspResponse(der: Uint8Array): OcspResponse {
  try {
    return parseInner(der);
  } catch (e) {
    if (e instanceof ProtocolError) throw new ProtocolError(C, e.message, e.field);
    throw new ProtocolError(C, `ocsp: ${e instanceof Error ? e.message : String(e)}`, 'ocsp');
  }
}

function parseInner(der: Uint8Array): OcspResponse {
  const [status, rb] = kids(parseDer(der, 'ocsp', C), 'OCSPResponse');
  if (status?.tag !== Tag.ENUMERATED || status.value.length !== 1)
    bad('responseStatus', 'expected ENUMERATED');
  if (status.value[0] !== 0)
    bad('responseStatus', `expected successful (0), got ${status.value[0]}`);
  if (rb?.tag !== 0xa0) bad('responseBytes', 'missing');
  const [rbSeq] = kids(rb, 'responseBytes');
  const [typeT, respT] = kids(rbSeq, 'responseBytes');
  const type = readOid(typeT, 'ocsp.responseType', C);
  if (type !== OID_OCSP_BASIC) bad('responseType', `expected ${OID_OCSP_BASIC}, got ${type}`);
  const basic = parseDer(readOctetString(respT, 'ocsp.response', C), 'ocsp.BasicOCSPResponse', C);
  const [tbsT, algT, sigT, certsT] = kids(basic, 'BasicOCSPResponse');
  if (tbsT === undefined) bad('tbsResponseData', 'missing');
  const sigAlg = parseSignatureAlgorithm(algT, 'ocsp.signatureAlgorithm');
  const signatureValue = readBitString(sigT, 'ocsp.signature', C).bytes;
  const certs: Certificate[] = [];
  if (certsT !== undefined) {
    if (certsT.tag !== 0xa0) bad('certs', 'expected [0]');
    const [seqT] = kids(certsT, 'certs');
    for (const c of kids(seqT, 'certs')) certs.push(parseCertificate(c.raw));
  }
  const rd = kids(tbsT, 'tbsResponseData');
  let i = 0;
  if (rd[0]?.tag === 0xa0) i++; // version v1 (explicit, default)
  const rid = rd[i++];
  let responderByName: Uint8Array | undefined;
  let responderKeyHash: Uint8Array | undefined;
  if (rid?.tag === 0xa1) responderByName = kids(rid, 'responderID')[0]?.raw;
  else if (rid?.tag === 0xa2)
    responderKeyHash = readOctetString(kids(rid, 'responderID')[0], 'ocsp.responderID.byKey', C);
  else bad('responderID', 'expected [1] byName or [2] byKey');
  const producedAt = readTime(rd[i++], 'ocsp.producedAt', C);
  const responses: SingleResponse[] = [];
  for (const sr of kids(rd[i++], 'responses')) {
    const [certId, st, thisU, ...rest] = kids(sr, 'SingleResponse');
    const [algId, nameHash, keyHash, serial] = kids(certId, 'CertID');
    const hashOid = readOid(kids(algId, 'CertID.hashAlgorithm')[0], 'ocsp.CertID.hashAlgorithm', C);
    const hashAlg = HASHES[hashOid];
    if (hashAlg === undefined)
      bad('CertID.hashAlgorithm', `expected SHA-256/384/512, got ${hashOid}`);
    let status: CertStatus;
    if (st?.tag === 0x80) status = 'good';
    else if (st?.tag === 0xa1) status = 'revoked';
    else if (st?.tag === 0x82) status = 'unknown';
    else bad('certStatus', `unexpected tag 0x${(st?.tag ?? 0).toString(16)}`);
    let nextUpdate: Date | undefined;
    const nu = rest.find((t) => t.tag === 0xa0);
    if (nu !== undefined) nextUpdate = readTime(kids(nu, 'nextUpdate')[0], 'ocsp.nextUpdate', C);
    responses.push({
      hashAlg,
      issuerNameHash: readOctetString(nameHash, 'ocsp.CertID.issuerNameHash', C),
      issuerKeyHash: readOctetString(keyHash, 'ocsp.CertID.issuerKeyHash', C),
      serialNumber: readIntegerBytes(serial, 'ocsp.CertID.serialNumber', C),
      status,
      thisUpdate: readTime(thisU, 'ocsp.thisUpdate', C),
      nextUpdate,
    });
  }
  return {
    tbs: tbsT.raw,
    sigAlg,
    signatureValue,
    responderByName,
    responderKeyHash,
    producedAt,
    responses,
    certs,
  };
}

/** The subjectPublicKey BIT STRING contents of a certificate (what issuerKeyHash / byKey hash). */
export function publicKeyBits(cert: Certificate): Uint8Array {
  const [, bits] = children(parseDer(cert.spki, 'spki', C), 'spki', C);
  return readBitString(bits, 'spki.subjectPublicKey', C).bytes;
}

function hasOcspSigningEku(cert: Certificate): boolean {
  const ext = cert.extensions.get(OID_EXT_KEY_USAGE);
  if (ext === undefined) return false;
  try {
    return children(parseDer(ext.value, 'eku', C), 'eku', C).some(
      (t) => readOid(t, 'eku', C) === OID_KP_OCSP_SIGNING,
    );
  } catch {
    return false;
  }
}

/** Checks one OCSP response for `cert` issued by `issuer`. Returns a problem string, or null when good. */
export function checkOcsp(
  crypto: CryptoProvider,
  resp: OcspResponse,
  cert: Certificate,
  issuer: Certificate,
  at: Date,
  allowNoNextUpdate = false,
): string | null {
  const keyBits = publicKeyBits(issuer);
  const single = resp.responses.find(
    (r) =>
      bytesEqual(r.serialNumber, cert.serialNumber) &&
      bytesEqual(r.issuerNameHash, crypto.hash(r.hashAlg, issuer.subject.der)) &&
      bytesEqual(r.issuerKeyHash, crypto.hash(r.hashAlg, keyBits)),
  );
  if (single === undefined)
    return `expected a response for serial ${toHex(cert.serialNumber)} issued by "${nameAttr(issuer.subject) ?? ''}", got none`;
  // Who signed: the issuer itself, or a delegated responder certified by the issuer (RFC 6960
  // §4.2.2.2). The responderID is not trusted for this: the signature must verify with an
  // authorised key.
  if (!verifySignature(crypto, issuer.publicKey, resp.sigAlg, resp.tbs, resp.signatureValue)) {
    const delegated = resp.certs.find((c) =>
      verifySignature(crypto, c.publicKey, resp.sigAlg, resp.tbs, resp.signatureValue),
    );
    if (delegated === undefined)
      return 'expected a response signed by the issuer or an included responder certificate, got no valid signature';
    if (!verifySignedBy(crypto, delegated, issuer))
      return `expected the delegated responder "${nameAttr(delegated.subject) ?? ''}" signed by the issuer, got an invalid signature`;
    if (!hasOcspSigningEku(delegated))
      return `expected id-kp-OCSPSigning on "${nameAttr(delegated.subject) ?? ''}", got none`;
    if (at < delegated.notBefore || at > delegated.notAfter) {
      return `expected the responder certificate valid at ${at.toISOString()}, got ${delegated.notBefore.toISOString()}..${delegated.notAfter.toISOString()}`;
    }
  }
  if (single.status !== 'good') return `certStatus: expected good, got ${single.status}`;
  if (at < single.thisUpdate)
    return `thisUpdate: expected <= ${at.toISOString()}, got ${single.thisUpdate.toISOString()}`;
  if (single.nextUpdate === undefined && !allowNoNextUpdate)
    return 'nextUpdate: expected a date, got none (a response without one never expires; relaxation nvidia.allowOcspWithoutNextUpdate)';
  if (single.nextUpdate !== undefined && at > single.nextUpdate)
    return `nextUpdate: expected >= ${at.toISOString()}, got ${single.nextUpdate.toISOString()} (stale)`;
  return null;
}

export interface OcspChainOptions {
  /** Part name prefix (`ocsp` for the device chain, `ocsp.rim.<which>` for a RIM chain). */
  readonly prefix?: string;
  /**
   * First certificate that must have a response. The device chain starts at 1: its leaf (the
   * GSP/FSP FMC certificate) is made by the device at boot and is unknown to NVIDIA's OCSP
   * responder (nvtrust skips it too). A response supplied for an earlier certificate is checked.
   */
  readonly start?: number;
  /** Relaxation nvidia.allowOcspWithoutNextUpdate. Default false. */
  readonly allowNoNextUpdate?: boolean;
  /** The relaxation key named in a "missing" message. */
  readonly relaxKey?: string;
}

/**
 * Checks parts `<prefix>.<n>` for every non-root certificate of `chain` (from `start`). Missing
 * responses fail only when `required` (fail closed: the callers pass true unless a relaxation is
 * on). Never throws.
 */
export function checkOcspForChain(
  crypto: CryptoProvider,
  parts: ReadonlyMap<string, Uint8Array>,
  chain: readonly Certificate[],
  at: Date,
  required: boolean,
  o: OcspChainOptions | string = {},
): Check[] {
  const opts: OcspChainOptions = typeof o === 'string' ? { prefix: o } : o;
  const prefix = opts.prefix ?? 'ocsp';
  const start = opts.start ?? 0;
  const checks: Check[] = [];
  for (let n = 0; n + 1 < chain.length; n++) {
    const id = `${prefix}.${n}`;
    const der = parts.get(id);
    const who = nameAttr(chain[n]!.subject) ?? chain[n]!.subject.toString();
    if (der === undefined) {
      if (required && n >= start)
        checks.push({
          id,
          ok: false,
          message: `${id}: expected a cached OCSP response for "${who}"${opts.relaxKey !== undefined ? ` (required; relaxation nvidia.${opts.relaxKey})` : ''}, got none — refused because it is missing`,
        });
      continue;
    }
    let problem: string | null;
    try {
      problem = checkOcsp(
        crypto,
        parseOcspResponse(der),
        chain[n]!,
        chain[n + 1]!,
        at,
        opts.allowNoNextUpdate ?? false,
      );
    } catch (e) {
      problem = `expected a well-formed OCSP response, got ${e instanceof Error ? e.message : String(e)}`;
    }
    checks.push(
      problem === null
        ? { id, ok: true, message: `${id}: "${who}" good at ${at.toISOString()}` }
        : { id, ok: false, message: `${id}: "${who}": ${problem}` },
    );
  }
  return checks;
}
