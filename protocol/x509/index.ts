/**
 * X.509 v1/v3 certificates (RFC 5280): a strict parser on top of the DER reader, signature
 * verification through the `CryptoProvider`, and chain validation to pinned roots.
 *
 * What it tolerates on purpose (all seen in real attestation certificates):
 * - serial number 0 (AMD VCEKs; RFC 5280 says "positive", every verifier accepts it);
 * - RSASSA-PSS parameters (AMD: SHA-384, MGF1-SHA-384, salt 48, trailer 1);
 * - UTCTime and GeneralizedTime; ECDSA P-256/P-384 keys with SHA-256/384/512 signatures.
 * What it rejects: BER (indefinite or non-minimal lengths), trailing bytes, duplicate
 * extensions, a tbsCertificate signature algorithm that differs from the outer one,
 * unsupported key or signature algorithms. Errors: only ProtocolError('x509_parse').
 */
import { ProtocolError } from '../errors';
import type { CryptoProvider, EcCurve, EcPublicKey, HashAlg, PublicKey } from '../crypto/provider';
import {
  Tag,
  children,
  ctx,
  expectTag,
  parseDer,
  readBitString,
  readBoolean,
  readIntegerBytes,
  readOctetString,
  readOid,
  readSmallInteger,
  readString,
  readTime,
  readTlv,
  readUnsignedInteger,
  seq,
} from '../asn1/der';
import type { Tlv } from '../asn1/der';
import { bytesEqual, latin1Decode, pemBlocks, toHex } from '../encoding';

export { pemBlocks };

export const OID = {
  // public keys
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  ecPublicKey: '1.2.840.10045.2.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  // signatures
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  ecdsaSha512: '1.2.840.10045.4.3.4',
  // hashes
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  // extensions
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

const HASH_BY_OID: Readonly<Record<string, HashAlg>> = {
  [OID.sha256]: 'SHA-256',
  [OID.sha384]: 'SHA-384',
  [OID.sha512]: 'SHA-512',
};

const NAME_SHORT: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

export interface Name {
  readonly rdns: { readonly oid: string; readonly value: string }[];
  toString(): string;
  readonly der: Uint8Array;
}

export interface SignatureAlgorithm {
  readonly oid: string;
  readonly scheme: 'ecdsa' | 'rsa-pss' | 'rsa-pkcs1';
  readonly hash: HashAlg;
  /** RSASSA-PSS only. */
  readonly saltLength?: number;
}

export interface Extension {
  readonly critical: boolean;
  /** The contents of extnValue (the OCTET STRING's payload: the extension's own DER). */
  readonly value: Uint8Array;
}

export interface Certificate {
  readonly der: Uint8Array;
  /** The exact tbsCertificate bytes that the issuer signed. */
  readonly tbs: Uint8Array;
  /** 1, 2 or 3. */
  readonly version: number;
  /** Two's-complement contents of the serial INTEGER (AMD VCEKs: a single 0x00). */
  readonly serialNumber: Uint8Array;
  readonly issuer: Name;
  readonly subject: Name;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: PublicKey;
  /** The SubjectPublicKeyInfo DER (what key pinning and KDS comparisons use). */
  readonly spki: Uint8Array;
  readonly sigAlg: SignatureAlgorithm;
  /** ECDSA: raw r ‖ s (each half the hash size, or longer when an integer needs it). RSA: as is. */
  readonly signature: Uint8Array;
  /** The signatureValue BIT STRING payload exactly as encoded (ECDSA: the DER Ecdsa-Sig-Value). */
  readonly signatureValue: Uint8Array;
  readonly extensions: ReadonlyMap<string, Extension>;
}

/** Parse-time failure with the x509_parse code (the only error this module throws). */
function bad(field: string, expected: string, actual: string): never {
  throw new ProtocolError('x509_parse', `${field}: expected ${expected}, got ${actual}`, field);
}

export function parseName(t: Tlv | undefined, field: string): Name {
  const der = expectTag(t, Tag.SEQUENCE, field).raw;
  const rdns: { oid: string; value: string }[] = [];
  for (const set of seq(t, field)) {
    const atvs = seq(set, `${field}.rdn`, Tag.SET);
    if (atvs.length === 0) bad(`${field}.rdn`, 'at least one attribute', 'an empty SET');
    for (const atv of atvs) {
      const [o, v, ...more] = seq(atv, `${field}.attribute`);
      if (more.length > 0) bad(`${field}.attribute`, '2 elements', `${2 + more.length}`);
      const oid = readOid(o, `${field}.attribute.type`);
      let value: string;
      try {
        value = readString(v, `${field}.${NAME_SHORT[oid] ?? oid}`);
      } catch (e) {
        // Non-string attribute values are shown as RFC 4514 "#hex".
        if (v === undefined) throw e;
        value = `#${toHex(v.raw)}`;
      }
      rdns.push({ oid, value });
    }
  }
  const text = rdns.map((r) => `${NAME_SHORT[r.oid] ?? r.oid}=${r.value}`).join(', ');
  return { rdns, der, toString: () => text };
}

/** The first attribute of a name with the given OID (default CN), or undefined. */
export function nameAttr(name: Name, oid = '2.5.4.3'): string | undefined {
  return name.rdns.find((r) => r.oid === oid)?.value;
}

/** Names match when their DER is identical or their attribute lists are (RFC 5280 §7.1, simplified). */
export function namesEqual(a: Name, b: Name): boolean {
  if (a.der === b.der || bytesEqual(a.der, b.der)) return true;
  if (a.rdns.length !== b.rdns.length) return false;
  return a.rdns.every((r, i) => r.oid === b.rdns[i]!.oid && r.value === b.rdns[i]!.value);
}

function parseAlgId(t: Tlv | undefined, field: string): { oid: string; params: Tlv | undefined } {
  const [o, params, ...more] = seq(t, field);
  if (more.length > 0) bad(field, 'at most 2 elements', `${2 + more.length}`);
  return { oid: readOid(o, `${field}.algorithm`), params };
}

function hashFromAlgId(t: Tlv | undefined, field: string): HashAlg {
  const { oid, params } = parseAlgId(t, field);
  if (params !== undefined && params.tag !== Tag.NULL)
    bad(`${field}.parameters`, 'absent or NULL', `tag 0x${params.tag.toString(16)}`);
  const h = HASH_BY_OID[oid];
  if (h === undefined) bad(field, 'SHA-256, SHA-384 or SHA-512', oid);
  return h;
}

export function parseSignatureAlgorithm(t: Tlv | undefined, field: string): SignatureAlgorithm {
  const { oid, params } = parseAlgId(t, field);
  const noParams = (): void => {
    if (params !== undefined && params.tag !== Tag.NULL)
      bad(`${field}.parameters`, 'absent or NULL', `tag 0x${params.tag.toString(16)}`);
  };
  switch (oid) {
    case OID.ecdsaSha256:
    case OID.ecdsaSha384:
    case OID.ecdsaSha512:
      if (params !== undefined)
        bad(`${field}.parameters`, 'absent (RFC 5758)', `tag 0x${params.tag.toString(16)}`);
      return {
        oid,
        scheme: 'ecdsa',
        hash: oid === OID.ecdsaSha256 ? 'SHA-256' : oid === OID.ecdsaSha384 ? 'SHA-384' : 'SHA-512',
      };
    case OID.sha256WithRSA:
    case OID.sha384WithRSA:
    case OID.sha512WithRSA:
      noParams();
      return {
        oid,
        scheme: 'rsa-pkcs1',
        hash:
          oid === OID.sha256WithRSA ? 'SHA-256' : oid === OID.sha384WithRSA ? 'SHA-384' : 'SHA-512',
      };
    case OID.rsassaPss: {
      // RFC 4055 §3.1: RSASSA-PSS-params; SHA-1 defaults are not supported (nobody signs with them here).
      let hash: HashAlg | undefined;
      let mgfHash: HashAlg | undefined;
      let salt = 20;
      for (const p of seq(params, `${field}.pss`)) {
        const inner = children(p, `${field}.pss`);
        if (inner.length !== 1)
          bad(`${field}.pss`, 'one element per tagged field', `${inner.length}`);
        if (p.tag === ctx(0)) hash = hashFromAlgId(inner[0], `${field}.pss.hashAlgorithm`);
        else if (p.tag === ctx(1)) {
          const mgf = parseAlgId(inner[0], `${field}.pss.maskGenAlgorithm`);
          if (mgf.oid !== OID.mgf1)
            bad(`${field}.pss.maskGenAlgorithm`, `MGF1 (${OID.mgf1})`, mgf.oid);
          mgfHash = hashFromAlgId(mgf.params, `${field}.pss.maskGenAlgorithm.hash`);
        } else if (p.tag === ctx(2)) salt = readSmallInteger(inner[0], `${field}.pss.saltLength`);
        else if (p.tag === ctx(3)) {
          const tf = readSmallInteger(inner[0], `${field}.pss.trailerField`);
          if (tf !== 1) bad(`${field}.pss.trailerField`, '1', `${tf}`);
        } else bad(`${field}.pss`, 'tags [0]..[3]', `tag 0x${p.tag.toString(16)}`);
      }
      if (hash === undefined)
        return bad(
          `${field}.pss.hashAlgorithm`,
          'SHA-256/384/512 (SHA-1 default unsupported)',
          'absent',
        );
      if (mgfHash !== hash)
        bad(`${field}.pss.maskGenAlgorithm.hash`, hash, mgfHash ?? 'SHA-1 (default)');
      return { oid, scheme: 'rsa-pss', hash, saltLength: salt };
    }
    default:
      return bad(field, 'an ECDSA, RSASSA-PSS or RSA PKCS#1 v1.5 algorithm with SHA-2', oid);
  }
}

/** SubjectPublicKeyInfo → PublicKey (EC P-256/P-384 uncompressed, or RSA). */
export function parseSpki(t: Tlv | undefined, field = 'subjectPublicKeyInfo'): PublicKey {
  const [alg, bits, ...more] = seq(t, field);
  if (more.length > 0) bad(field, '2 elements', `${2 + more.length}`);
  const { oid, params } = parseAlgId(alg, `${field}.algorithm`);
  const key = readBitString(bits, `${field}.subjectPublicKey`).bytes;
  if (oid === OID.ecPublicKey) {
    const curveOid = readOid(params, `${field}.algorithm.namedCurve`);
    const curve: EcCurve | undefined =
      curveOid === OID.p256 ? 'P-256' : curveOid === OID.p384 ? 'P-384' : undefined;
    if (curve === undefined)
      return bad(`${field}.algorithm.namedCurve`, 'P-256 or P-384', curveOid);
    const size = curve === 'P-256' ? 32 : 48;
    if (key.length !== 1 + 2 * size || key[0] !== 0x04) {
      bad(
        `${field}.subjectPublicKey`,
        `an uncompressed ${curve} point (${1 + 2 * size} bytes, 0x04…)`,
        `${key.length} bytes 0x${(key[0] ?? 0).toString(16)}…`,
      );
    }
    return { kind: 'ec', curve, point: key };
  }
  if (oid === OID.rsaEncryption || oid === OID.rsassaPss) {
    const [n, e, ...rest] = seq(parseDer(key, `${field}.RSAPublicKey`), `${field}.RSAPublicKey`);
    if (rest.length > 0) bad(`${field}.RSAPublicKey`, '2 elements', `${2 + rest.length}`);
    const nb = readUnsignedInteger(n, `${field}.modulus`);
    const eb = readUnsignedInteger(e, `${field}.publicExponent`);
    if (nb.length < 128) bad(`${field}.modulus`, 'at least 1024 bits', `${nb.length * 8} bits`);
    return { kind: 'rsa', n: nb, e: eb };
  }
  return bad(`${field}.algorithm`, 'id-ecPublicKey, rsaEncryption or RSASSA-PSS', oid);
}

/** DER Ecdsa-Sig-Value → raw r ‖ s with each half `size` bytes; null if an integer does not fit. */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array | null {
  try {
    const [r, s, ...more] = seq(parseDer(der, 'Ecdsa-Sig-Value'), 'Ecdsa-Sig-Value');
    if (more.length > 0) return null;
    const rb = readUnsignedInteger(r, 'Ecdsa-Sig-Value.r');
    const sb = readUnsignedInteger(s, 'Ecdsa-Sig-Value.s');
    if (rb.length > size || sb.length > size) return null;
    const out = new Uint8Array(2 * size);
    out.set(rb, size - rb.length);
    out.set(sb, 2 * size - sb.length);
    return out;
  } catch {
    return null;
  }
}

const HASH_SIZE: Readonly<Record<HashAlg, number>> = {
  'SHA-256': 32,
  'SHA-384': 48,
  'SHA-512': 66,
};

function parseExtensions(t: Tlv | undefined): Map<string, Extension> {
  const out = new Map<string, Extension>();
  const [exts, ...more] = children(expectTag(t, ctx(3), 'extensions'), 'extensions');
  if (more.length > 0) bad('extensions', 'one SEQUENCE inside [3]', `${1 + more.length} elements`);
  const list = seq(exts, 'extensions');
  if (list.length === 0) bad('extensions', 'at least one extension', 'none');
  for (const e of list) {
    const parts = seq(e, 'extension');
    const oid = readOid(parts[0], 'extension.extnID');
    let critical = false;
    let i = 1;
    if (parts[i]?.tag === Tag.BOOLEAN) {
      critical = readBoolean(parts[i], `extension ${oid}.critical`);
      i++;
    }
    const value = readOctetString(parts[i], `extension ${oid}.extnValue`);
    if (parts.length !== i + 1) bad(`extension ${oid}`, `${i + 1} elements`, `${parts.length}`);
    if (out.has(oid)) bad('extensions', 'each extension once', `${oid} twice`);
    out.set(oid, { critical, value });
  }
  return out;
}

/** Parses one DER certificate. Throws only ProtocolError('x509_parse'). */
export function parseCertificate(der: Uint8Array): Certificate {
  try {
    return parseCertificateInner(der);
  } catch (e) {
    if (e instanceof ProtocolError && e.code === 'x509_parse') throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new ProtocolError('x509_parse', `certificate: ${msg}`, 'certificate');
  }
}

function parseCertificateInner(der: Uint8Array): Certificate {
  const top = parseDer(der, 'certificate');
  const [tbsT, sigAlgT, sigT, ...more] = seq(top, 'certificate');
  if (more.length > 0) bad('certificate', '3 elements', `${3 + more.length}`);
  const sigAlg = parseSignatureAlgorithm(sigAlgT, 'signatureAlgorithm');
  const signatureValue = readBitString(sigT, 'signatureValue').bytes;
  const tbsParts = seq(tbsT, 'tbsCertificate');
  let i = 0;
  let version = 1;
  if (tbsParts[0]?.tag === ctx(0)) {
    const [v, ...vm] = children(tbsParts[0], 'version');
    if (vm.length > 0) bad('version', 'one INTEGER', `${1 + vm.length} elements`);
    const n = readSmallInteger(v, 'version');
    if (n > 2) bad('version', 'v1, v2 or v3 (0..2)', `${n}`);
    if (n === 0) bad('version', 'v1 encoded by omission (DER)', 'an explicit 0');
    version = n + 1;
    i = 1;
  }
  const serialNumber = readIntegerBytes(tbsParts[i++], 'serialNumber');
  if (serialNumber.length > 20 + 1)
    bad('serialNumber', 'at most 20 octets (RFC 5280 §4.1.2.2)', `${serialNumber.length}`);
  const innerAlg = expectTag(tbsParts[i++], Tag.SEQUENCE, 'tbsCertificate.signature');
  if (!sigAlgT || !bytesEqual(innerAlg.raw, sigAlgT.raw)) {
    bad(
      'tbsCertificate.signature',
      `the outer signatureAlgorithm (${sigAlg.oid})`,
      'a different AlgorithmIdentifier',
    );
  }
  const issuer = parseName(tbsParts[i++], 'issuer');
  const [nb, na, ...vmore] = seq(tbsParts[i++], 'validity');
  if (vmore.length > 0) bad('validity', '2 elements', `${2 + vmore.length}`);
  const notBefore = readTime(nb, 'validity.notBefore');
  const notAfter = readTime(na, 'validity.notAfter');
  const subject = parseName(tbsParts[i++], 'subject');
  const spkiT = tbsParts[i++];
  const publicKey = parseSpki(spkiT);
  const spki = spkiT!.raw;
  let extensions = new Map<string, Extension>();
  for (; i < tbsParts.length; i++) {
    const p = tbsParts[i]!;
    if ((p.tag === 0x81 || p.tag === 0xa1 || p.tag === 0x82 || p.tag === 0xa2) && version >= 2)
      continue; // unique IDs
    if (p.tag === ctx(3) && version === 3 && i === tbsParts.length - 1) {
      extensions = parseExtensions(p);
      continue;
    }
    bad(
      'tbsCertificate',
      `no further fields for a v${version} certificate`,
      `tag 0x${p.tag.toString(16)}`,
    );
  }
  let signature = signatureValue;
  if (sigAlg.scheme === 'ecdsa') {
    let size = HASH_SIZE[sigAlg.hash];
    if (publicKey.kind === 'ec' && issuerLooksSelf(issuer, subject))
      size = publicKey.curve === 'P-256' ? 32 : 48;
    const raw = ecdsaDerToRaw(signatureValue, size) ?? ecdsaDerToRaw(signatureValue, 66);
    if (raw === null)
      bad('signatureValue', 'a DER Ecdsa-Sig-Value', `${signatureValue.length} bytes`);
    signature = raw;
  }
  return {
    der,
    tbs: tbsT!.raw,
    version,
    serialNumber,
    issuer,
    subject,
    notBefore,
    notAfter,
    publicKey,
    spki,
    sigAlg,
    signature,
    signatureValue,
    extensions,
  };
}

function issuerLooksSelf(issuer: Name, subject: Name): boolean {
  return issuer.der === subject.der || bytesEqual(issuer.der, subject.der);
}

/** A PEM bundle (any number of CERTIFICATE blocks) or one DER certificate. */
export function parsePemOrDer(input: Uint8Array | string): Certificate[] {
  let text: string | undefined;
  if (typeof input === 'string') text = input;
  else if (input.length > 0 && input[0] !== 0x30) text = latin1Decode(input);
  if (text === undefined) return [parseCertificate(input as Uint8Array)];
  const blocks = pemBlocks(text);
  if (blocks.length === 0) bad('certificate', 'PEM CERTIFICATE blocks or DER', 'neither');
  return blocks.map(parseCertificate);
}

/** A chain as PEM blocks or as DER certificates back to back. ProtocolError('x509_parse') only. */
export function parseCertChain(bytes: Uint8Array): Certificate[] {
  if (bytes.length > 0 && bytes[0] === 0x30) {
    const out: Certificate[] = [];
    let off = 0;
    while (off < bytes.length) {
      const t = readTlv(bytes, off, `chain[${out.length}]`);
      out.push(parseCertificate(t.raw));
      off += t.raw.length;
    }
    return out;
  }
  return parsePemOrDer(bytes);
}

/** True when `issuer`'s key verifies `cert`'s signature over its tbsCertificate. Never throws. */
export function verifySignedBy(
  crypto: CryptoProvider,
  cert: Certificate,
  issuer: Certificate,
): boolean {
  return verifySignature(crypto, issuer.publicKey, cert.sigAlg, cert.tbs, cert.signatureValue);
}

/** Verifies an X.509-style signature (DER ECDSA or RSA) over `message`. Never throws. */
export function verifySignature(
  crypto: CryptoProvider,
  key: PublicKey,
  alg: SignatureAlgorithm,
  message: Uint8Array,
  signatureValue: Uint8Array,
): boolean {
  try {
    if (alg.scheme === 'ecdsa') {
      if (key.kind !== 'ec') return false;
      const raw = ecdsaDerToRaw(signatureValue, key.curve === 'P-256' ? 32 : 48);
      return raw !== null && crypto.ecdsaVerify(key as EcPublicKey, alg.hash, message, raw);
    }
    if (key.kind !== 'rsa') return false;
    if (alg.scheme === 'rsa-pss') {
      return crypto.rsaVerify(
        key,
        { scheme: 'pss', hash: alg.hash, saltLength: alg.saltLength ?? 20 },
        message,
        signatureValue,
      );
    }
    return crypto.rsaVerify(key, { scheme: 'pkcs1v15', hash: alg.hash }, message, signatureValue);
  } catch {
    return false;
  }
}

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLen: number | undefined;
}

/** basicConstraints (2.5.29.19), or undefined when absent. */
export function basicConstraints(cert: Certificate): BasicConstraints | undefined {
  const ext = cert.extensions.get(OID.basicConstraints);
  if (ext === undefined) return undefined;
  const parts = seq(parseDer(ext.value, 'basicConstraints'), 'basicConstraints');
  let i = 0;
  let ca = false;
  if (parts[i]?.tag === Tag.BOOLEAN) ca = readBoolean(parts[i++], 'basicConstraints.cA');
  const pathLen =
    parts[i] !== undefined
      ? readSmallInteger(parts[i++], 'basicConstraints.pathLenConstraint')
      : undefined;
  if (i !== parts.length) bad('basicConstraints', `${i} elements`, `${parts.length}`);
  return { ca, pathLen };
}

/** keyUsage bits (2.5.29.15) as a number (bit 0 = digitalSignature … bit 8 = decipherOnly), or undefined. */
export function keyUsage(cert: Certificate): number | undefined {
  const ext = cert.extensions.get(OID.keyUsage);
  if (ext === undefined) return undefined;
  const { bytes } = readBitString(parseDer(ext.value, 'keyUsage'), 'keyUsage', 'x509_parse', true);
  let bits = 0;
  for (let k = 0; k < 9; k++) {
    const byte = bytes[k >> 3] ?? 0;
    if (byte & (0x80 >> (k & 7))) bits |= 1 << k;
  }
  return bits;
}
export const KEY_USAGE_KEY_CERT_SIGN = 1 << 5;
export const KEY_USAGE_CRL_SIGN = 1 << 6;

/** A certificate's short name in messages: its CN (or first name attribute), else the full subject. */
export function certLabel(c: Certificate): string {
  return nameAttr(c.subject) ?? c.subject.toString();
}
const label = certLabel;

/** Checks `cert` is usable as a CA at position `below` (number of CA certificates under it). */
function caChecks(cert: Certificate, below: number, role: string): string[] {
  const problems: string[] = [];
  try {
    const bc = basicConstraints(cert);
    if (bc === undefined) {
      if (cert.version >= 3)
        problems.push(
          `${role} ${label(cert)}: basicConstraints: expected cA=TRUE, got no extension`,
        );
    } else {
      if (!bc.ca)
        problems.push(`${role} ${label(cert)}: basicConstraints.cA: expected TRUE, got FALSE`);
      if (bc.pathLen !== undefined && below > bc.pathLen) {
        problems.push(
          `${role} ${label(cert)}: pathLenConstraint: expected at most ${bc.pathLen} CA certificates below, got ${below}`,
        );
      }
    }
    const ku = keyUsage(cert);
    if (ku !== undefined && (ku & KEY_USAGE_KEY_CERT_SIGN) === 0) {
      problems.push(
        `${role} ${label(cert)}: keyUsage: expected keyCertSign, got 0x${ku.toString(16)}`,
      );
    }
  } catch (e) {
    problems.push(`${role} ${label(cert)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return problems;
}

function validityProblem(c: Certificate, at: Date): string | undefined {
  if (at.getTime() < c.notBefore.getTime()) {
    return `${label(c)}: validity: expected notBefore <= ${at.toISOString()}, got notBefore ${c.notBefore.toISOString()}`;
  }
  if (at.getTime() > c.notAfter.getTime()) {
    return `${label(c)}: validity: expected notAfter >= ${at.toISOString()}, got notAfter ${c.notAfter.toISOString()} (expired)`;
  }
  return undefined;
}

/** What `verifyChain` found: data, so each caller words its own checks (ids, anchor names). */
export interface ChainVerification {
  /**
   * The path as checked, leaf first, ending at the pinned root (appended when the chain omitted
   * it and a pinned root issued its last certificate).
   */
  readonly path: readonly Certificate[];
  /** The pinned root the path ends at; undefined when no pinned root matched. */
  readonly root: Certificate | undefined;
  /** Every problem, each "<certificate>: <field>: expected X, got Y"; empty exactly when valid. */
  readonly problems: readonly string[];
}

/**
 * Validates a chain (leaf first; the root may be included or omitted) to one of `trustedRoots`,
 * which are pinned by exact DER. Checks issuer/subject linkage, every signature, validity of every
 * certificate (root included) at `at`, and CA basicConstraints / keyUsage / pathLen of every
 * issuer. Returns the path and every problem found (none when the chain is valid).
 */
export function verifyChain(
  crypto: CryptoProvider,
  chainLeafFirst: readonly Certificate[],
  trustedRoots: readonly Certificate[],
  at: Date,
): ChainVerification {
  if (chainLeafFirst.length === 0)
    return {
      path: [],
      root: undefined,
      problems: ['expected at least a leaf certificate, got none'],
    };
  const problems: string[] = [];
  const chain = [...chainLeafFirst];
  const last = chain[chain.length - 1]!;
  // Identity first: the pinned certificate itself is the usual `last` (no 1–2 KB byte compare).
  let root =
    trustedRoots.find((r) => r === last) ?? trustedRoots.find((r) => bytesEqual(r.der, last.der));
  if (root === undefined) {
    root = trustedRoots.find(
      (r) => namesEqual(r.subject, last.issuer) && verifySignedBy(crypto, last, r),
    );
    if (root !== undefined) chain.push(root);
  }
  if (root === undefined) {
    const names = trustedRoots.map(label).join(', ') || 'none';
    problems.push(
      `root: expected a certificate issued by a pinned root (${names}), got ${bytesEqual(last.issuer.der, last.subject.der) ? 'an unpinned self-signed root' : 'issuer'} "${last.issuer.toString()}"`,
    );
  }
  for (let k = 0; k + 1 < chain.length; k++) {
    const c = chain[k]!;
    const iss = chain[k + 1]!;
    if (!namesEqual(c.issuer, iss.subject)) {
      problems.push(
        `${label(c)}: issuer: expected "${iss.subject.toString()}", got "${c.issuer.toString()}"`,
      );
    }
    if (!verifySignedBy(crypto, c, iss)) {
      problems.push(
        `${label(c)}: signature: expected valid ${c.sigAlg.scheme}/${c.sigAlg.hash} by ${label(iss)}, got invalid`,
      );
    }
    for (const p of caChecks(
      iss,
      k,
      k + 1 === chain.length - 1 && root !== undefined ? 'root' : 'issuer',
    ))
      problems.push(p);
  }
  for (const c of chain) {
    const p = validityProblem(c, at);
    if (p !== undefined) problems.push(p);
  }
  return { path: chain, root, problems };
}
