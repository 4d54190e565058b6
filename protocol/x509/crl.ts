/**
 * X.509 CRLs (RFC 5280 §5): parse, verify the issuer's signature, look up a serial number.
 * Used for AMD's per-product CRL (signed by the ARK; lists revoked ASKs/ASVKs and VCEKs) and
 * Intel's PCK / root CRLs. Throws only ProtocolError('x509_parse').
 */
import { ProtocolError } from '../errors';
import type { CryptoProvider } from '../crypto/provider';
import {
  Tag,
  ctx,
  expectTag,
  parseDer,
  readBitString,
  readIntegerBytes,
  readSmallInteger,
  readTime,
  seq,
} from '../asn1/der';
import { bytesEqual } from '../asn1/encoding';
import { parseName, parseSignatureAlgorithm, verifySignature } from './index';
import type { Certificate, Name, SignatureAlgorithm } from './index';

export interface RevokedEntry {
  readonly serialNumber: Uint8Array;
  readonly revocationDate: Date;
}

export interface Crl {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly version: number;
  readonly issuer: Name;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly revoked: readonly RevokedEntry[];
  readonly sigAlg: SignatureAlgorithm;
  readonly signatureValue: Uint8Array;
}

export function parseCrl(der: Uint8Array): Crl {
  try {
    return parseCrlInner(der);
  } catch (e) {
    if (e instanceof ProtocolError && e.code === 'x509_parse') throw e;
    throw new ProtocolError(
      'x509_parse',
      `crl: ${e instanceof Error ? e.message : String(e)}`,
      'crl',
    );
  }
}

function parseCrlInner(der: Uint8Array): Crl {
  const [tbsT, algT, sigT, ...more] = seq(parseDer(der, 'crl'), 'crl');
  if (more.length > 0)
    throw new ProtocolError(
      'x509_parse',
      `crl: expected 3 elements, got ${3 + more.length}`,
      'crl',
    );
  const sigAlg = parseSignatureAlgorithm(algT, 'crl.signatureAlgorithm');
  const signatureValue = readBitString(sigT, 'crl.signatureValue').bytes;
  const parts = seq(tbsT, 'tbsCertList');
  let i = 0;
  let version = 1;
  if (parts[0]?.tag === Tag.INTEGER) {
    const v = readSmallInteger(parts[0], 'tbsCertList.version');
    if (v !== 1)
      throw new ProtocolError(
        'x509_parse',
        `tbsCertList.version: expected 1 (v2), got ${v}`,
        'tbsCertList.version',
      );
    version = 2;
    i = 1;
  }
  const inner = expectTag(parts[i++], Tag.SEQUENCE, 'tbsCertList.signature');
  if (!bytesEqual(inner.raw, algT!.raw)) {
    throw new ProtocolError(
      'x509_parse',
      'tbsCertList.signature: expected the outer signatureAlgorithm, got a different one',
      'tbsCertList.signature',
    );
  }
  const issuer = parseName(parts[i++], 'crl.issuer');
  const thisUpdate = readTime(parts[i++], 'tbsCertList.thisUpdate');
  let nextUpdate: Date | undefined;
  if (parts[i]?.tag === Tag.UTCTime || parts[i]?.tag === Tag.GeneralizedTime)
    nextUpdate = readTime(parts[i++], 'tbsCertList.nextUpdate');
  const revoked: RevokedEntry[] = [];
  if (parts[i]?.tag === Tag.SEQUENCE) {
    for (const entry of seq(parts[i++], 'tbsCertList.revokedCertificates')) {
      const [serial, date] = seq(entry, 'revokedCertificate');
      revoked.push({
        serialNumber: readIntegerBytes(serial, 'revokedCertificate.userCertificate'),
        revocationDate: readTime(date, 'revokedCertificate.revocationDate'),
      });
    }
  }
  if (parts[i]?.tag === ctx(0)) i++;
  if (i !== parts.length)
    throw new ProtocolError(
      'x509_parse',
      `tbsCertList: expected ${i} elements, got ${parts.length}`,
      'tbsCertList',
    );
  return {
    der,
    tbs: tbsT!.raw,
    version,
    issuer,
    thisUpdate,
    nextUpdate,
    revoked,
    sigAlg,
    signatureValue,
  };
}

export function verifyCrlSignedBy(crypto: CryptoProvider, crl: Crl, issuer: Certificate): boolean {
  return verifySignature(crypto, issuer.publicKey, crl.sigAlg, crl.tbs, crl.signatureValue);
}

/** The revocation entry for `cert` (matched by serial number), or undefined. */
export function findRevoked(crl: Crl, cert: Certificate): RevokedEntry | undefined {
  return crl.revoked.find((r) => bytesEqual(r.serialNumber, cert.serialNumber));
}
