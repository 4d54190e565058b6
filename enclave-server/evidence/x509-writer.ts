/**
 * A minimal DER encoder and X.509 v3 certificate / CRL writer for the SIMULATED evidence providers
 * (SEV-SNP ARK→ASK→VCEK, NVIDIA device chains). It signs with Node's crypto. Production evidence
 * never goes through this file: real certificates come from the hardware vendors.
 *
 * Usage:
 *   const der = buildCertificate({
 *     subject: [['CN', 'SEV-VCEK'], ['O', 'Advanced Micro Devices']],
 *     issuer: [['CN', 'SEV-Genoa']],
 *     serial: 0,
 *     notBefore, notAfter,
 *     publicKeyDer,                           // SPKI DER (KeyObject.export({type:'spki', format:'der'}))
 *     extensions: [ext.basicConstraints(false), ext.integer('1.3.6.1.4.1.3704.1.3.1', 4)],
 *     signWith: { keyObject: issuerPrivateKey, alg: 'rsa-pss-sha384' },
 *   });
 */
import { constants, createHash, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { concat } from '../../protocol/wire/bytes';
import { parseCertificate } from '../../protocol/x509/index';
import { publicKeyBits } from '../../protocol/attestation/nvidia/ocsp';

// ---------- DER encoding (X.690) ----------

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

/** Primitive DER encoders. Each returns one complete TLV. */
/** MMDDHHMMSSZ of a time (UTC), the part UTCTime and GeneralizedTime share. */
function timeBody(d: Date): string {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  return (
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19) +
    'Z'
  );
}

export const der = {
  tlv(tag: number, value: Uint8Array): Uint8Array {
    return concat(Uint8Array.from([tag, ...lengthBytes(value.length)]), value);
  },
  seq(...items: readonly Uint8Array[]): Uint8Array {
    return der.tlv(0x30, concat(...items));
  },
  set(...items: readonly Uint8Array[]): Uint8Array {
    return der.tlv(0x31, concat(...items));
  },
  /** Context-specific constructed [n] (EXPLICIT). */
  explicit(n: number, inner: Uint8Array): Uint8Array {
    return der.tlv(0xa0 | n, inner);
  },
  /** Non-negative INTEGER from a bigint, number or big-endian magnitude. */
  int(v: bigint | number | Uint8Array): Uint8Array {
    let mag: number[];
    if (v instanceof Uint8Array) mag = [...v];
    else {
      let x = BigInt(v);
      if (x < 0n) throw new RangeError('der.int: negative values are not supported');
      mag = [];
      do {
        mag.unshift(Number(x & 0xffn));
        x >>= 8n;
      } while (x > 0n);
    }
    while (mag.length > 1 && mag[0] === 0) mag.shift();
    if (mag.length === 0) mag = [0];
    if (mag[0]! & 0x80) mag.unshift(0);
    return der.tlv(0x02, Uint8Array.from(mag));
  },
  bool(v: boolean): Uint8Array {
    return der.tlv(0x01, Uint8Array.of(v ? 0xff : 0));
  },
  null(): Uint8Array {
    return Uint8Array.of(0x05, 0x00);
  },
  oid(dotted: string): Uint8Array {
    const arcs = dotted.split('.').map((a) => BigInt(a));
    if (arcs.length < 2) throw new RangeError(`der.oid: ${dotted}`);
    const body: number[] = [];
    const push = (x: bigint): void => {
      const tmp = [Number(x & 0x7fn)];
      for (x >>= 7n; x > 0n; x >>= 7n) tmp.unshift(Number(x & 0x7fn) | 0x80);
      body.push(...tmp);
    };
    push(arcs[0]! * 40n + arcs[1]!);
    for (const a of arcs.slice(2)) push(a);
    return der.tlv(0x06, Uint8Array.from(body));
  },
  octets(v: Uint8Array): Uint8Array {
    return der.tlv(0x04, v);
  },
  bitString(v: Uint8Array, unusedBits = 0): Uint8Array {
    return der.tlv(0x03, concat(Uint8Array.of(unusedBits), v));
  },
  utf8(s: string): Uint8Array {
    return der.tlv(0x0c, new TextEncoder().encode(s));
  },
  printable(s: string): Uint8Array {
    return der.tlv(0x13, new TextEncoder().encode(s));
  },
  ia5(s: string): Uint8Array {
    return der.tlv(0x16, new TextEncoder().encode(s));
  },
  /** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
  time(d: Date): Uint8Array {
    const y = d.getUTCFullYear();
    if (y >= 1950 && y < 2050)
      return der.tlv(0x17, new TextEncoder().encode(String(y).slice(2) + timeBody(d)));
    return der.generalizedTime(d);
  },
  /** GeneralizedTime YYYYMMDDHHMMSSZ (OCSP, RFC 6960, always uses it). */
  generalizedTime(d: Date): Uint8Array {
    const y = String(d.getUTCFullYear()).padStart(4, '0');
    return der.tlv(0x18, new TextEncoder().encode(y + timeBody(d)));
  },
};

// ---------- X.509 ----------

const NAME_OID: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  serialNumber: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
};

/** A distinguished name as ordered [attribute, value] pairs; attribute = short name (CN, O, …) or dotted OID. */
export type NameSpec = readonly (readonly [string, string])[];

export function encodeName(name: NameSpec): Uint8Array {
  return der.seq(
    ...name.map(([k, v]) => {
      const oid = NAME_OID[k] ?? k;
      const value =
        oid === NAME_OID['C'] || oid === NAME_OID['serialNumber'] ? der.printable(v) : der.utf8(v);
      return der.set(der.seq(der.oid(oid), value));
    }),
  );
}

export interface ExtensionSpec {
  readonly oid: string;
  readonly critical?: boolean;
  /** The DER that goes inside extnValue's OCTET STRING (or raw bytes, for vendor extensions). */
  readonly value: Uint8Array;
}

/** Common extension builders. */
export const ext = {
  basicConstraints(ca: boolean, pathLen?: number): ExtensionSpec {
    const inner = ca ? [der.bool(true), ...(pathLen !== undefined ? [der.int(pathLen)] : [])] : [];
    return { oid: '2.5.29.19', critical: true, value: der.seq(...inner) };
  },
  /** keyUsage from bit numbers (0 digitalSignature, 5 keyCertSign, 6 cRLSign, …). */
  keyUsage(bits: readonly number[]): ExtensionSpec {
    const max = Math.max(...bits);
    const nbytes = Math.floor(max / 8) + 1;
    const b = new Uint8Array(nbytes);
    for (const k of bits) b[k >> 3]! |= 0x80 >> (k & 7);
    let unused = 0;
    const last = b[nbytes - 1]!;
    while (unused < 7 && (last & (1 << unused)) === 0) unused++;
    return { oid: '2.5.29.15', critical: true, value: der.bitString(b, unused) };
  },
  subjectKeyIdentifier(id: Uint8Array): ExtensionSpec {
    return { oid: '2.5.29.14', value: der.octets(id) };
  },
  authorityKeyIdentifier(id: Uint8Array): ExtensionSpec {
    return { oid: '2.5.29.35', value: der.seq(der.tlv(0x80, id)) };
  },
  /** A vendor extension whose value is a DER INTEGER (e.g. AMD TCB SPLs). */
  integer(oid: string, v: number | bigint): ExtensionSpec {
    return { oid, value: der.int(v) };
  },
  /** A vendor extension whose value is an IA5String (e.g. AMD product name). */
  ia5(oid: string, s: string): ExtensionSpec {
    return { oid, value: der.ia5(s) };
  },
  /** A vendor extension with raw bytes as its value (e.g. AMD hwID). */
  raw(oid: string, value: Uint8Array, critical = false): ExtensionSpec {
    return { oid, critical, value };
  },
};

export type SigningAlg = 'rsa-pss-sha384' | 'ecdsa-sha384' | 'ecdsa-sha256';

export interface SignWith {
  readonly keyObject: KeyObject;
  readonly alg: SigningAlg;
}

/** The AlgorithmIdentifier for a signing algorithm (RSA-PSS: SHA-384, MGF1-SHA-384, salt 48, as AMD). */
export function algorithmIdentifier(alg: SigningAlg): Uint8Array {
  switch (alg) {
    case 'ecdsa-sha256':
      return der.seq(der.oid('1.2.840.10045.4.3.2'));
    case 'ecdsa-sha384':
      return der.seq(der.oid('1.2.840.10045.4.3.3'));
    case 'rsa-pss-sha384': {
      const sha384 = der.seq(der.oid('2.16.840.1.101.3.4.2.2'), der.null());
      return der.seq(
        der.oid('1.2.840.113549.1.1.10'),
        der.seq(
          der.explicit(0, sha384),
          der.explicit(1, der.seq(der.oid('1.2.840.113549.1.1.8'), sha384)),
          der.explicit(2, der.int(48)),
          der.explicit(3, der.int(1)),
        ),
      );
    }
  }
}

/** Signs `data` as the algorithm says; ECDSA signatures are DER (as X.509 wants). */
export function signBytes(data: Uint8Array, w: SignWith): Uint8Array {
  if (w.alg === 'rsa-pss-sha384') {
    return new Uint8Array(
      sign('sha384', data, {
        key: w.keyObject,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 48,
      }),
    );
  }
  return new Uint8Array(
    sign(w.alg === 'ecdsa-sha256' ? 'sha256' : 'sha384', data, {
      key: w.keyObject,
      dsaEncoding: 'der',
    }),
  );
}

export interface CertificateSpec {
  readonly subject: NameSpec;
  readonly issuer: NameSpec;
  /** 0 is allowed (AMD VCEKs use serial 0). */
  readonly serial: bigint | number | Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo DER of the subject's key. */
  readonly publicKeyDer: Uint8Array;
  readonly extensions?: readonly ExtensionSpec[];
  readonly signWith: SignWith;
}

/** Builds and signs an X.509 v3 certificate; returns its DER. */
export function buildCertificate(spec: CertificateSpec): Uint8Array {
  const alg = algorithmIdentifier(spec.signWith.alg);
  const exts = spec.extensions ?? [];
  const tbs = der.seq(
    der.explicit(0, der.int(2)),
    der.int(spec.serial),
    alg,
    encodeName(spec.issuer),
    der.seq(der.time(spec.notBefore), der.time(spec.notAfter)),
    encodeName(spec.subject),
    spec.publicKeyDer,
    ...(exts.length > 0
      ? [
          der.explicit(
            3,
            der.seq(
              ...exts.map((e) =>
                der.seq(
                  der.oid(e.oid),
                  ...(e.critical ? [der.bool(true)] : []),
                  der.octets(e.value),
                ),
              ),
            ),
          ),
        ]
      : []),
  );
  return der.seq(tbs, alg, der.bitString(signBytes(tbs, spec.signWith)));
}

export interface CrlSpec {
  readonly issuer: NameSpec;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  readonly revoked?: readonly {
    readonly serial: bigint | number | Uint8Array;
    readonly date: Date;
  }[];
  readonly signWith: SignWith;
}

/** Builds and signs an X.509 v2 CRL; returns its DER. */
export function buildCrl(spec: CrlSpec): Uint8Array {
  const alg = algorithmIdentifier(spec.signWith.alg);
  const revoked = spec.revoked ?? [];
  const tbs = der.seq(
    der.int(1),
    alg,
    encodeName(spec.issuer),
    der.time(spec.thisUpdate),
    ...(spec.nextUpdate !== undefined ? [der.time(spec.nextUpdate)] : []),
    ...(revoked.length > 0
      ? [der.seq(...revoked.map((r) => der.seq(der.int(r.serial), der.time(r.date))))]
      : []),
  );
  return der.seq(tbs, alg, der.bitString(signBytes(tbs, spec.signWith)));
}

export interface OcspSpec {
  /** The certificate the response is about, and its issuer (which signs the response). */
  readonly cert: Uint8Array;
  readonly issuer: Uint8Array;
  readonly status: 'good' | 'revoked';
  readonly thisUpdate: Date;
  /** Omit to build a response that never expires (the verifier refuses those by default). */
  readonly nextUpdate?: Date;
  readonly signWith: SignWith;
}

/**
 * Builds an OCSPResponse (RFC 6960: successful, id-pkix-ocsp-basic, responder byKey, CertID with
 * SHA-256) signed directly by the certificate's issuer; returns its DER. Used by the simulated
 * NVIDIA provider to staple responses as a real server staples NVIDIA's.
 */
export function buildOcspResponse(spec: OcspSpec): Uint8Array {
  const cert = parseCertificate(spec.cert);
  const issuer = parseCertificate(spec.issuer);
  const keyBits = publicKeyBits(issuer);
  const sha256 = (b: Uint8Array): Uint8Array =>
    new Uint8Array(createHash('sha256').update(b).digest());
  const certId = der.seq(
    der.seq(der.oid('2.16.840.1.101.3.4.2.1'), der.null()),
    der.octets(sha256(issuer.subject.der)),
    der.octets(sha256(keyBits)),
    der.int(cert.serialNumber),
  );
  const status =
    spec.status === 'good'
      ? Uint8Array.of(0x80, 0x00)
      : der.tlv(0xa1, der.generalizedTime(new Date(spec.thisUpdate.getTime() - 60_000)));
  const single = der.seq(
    certId,
    status,
    der.generalizedTime(spec.thisUpdate),
    ...(spec.nextUpdate !== undefined
      ? [der.explicit(0, der.generalizedTime(spec.nextUpdate))]
      : []),
  );
  const tbs = der.seq(
    der.tlv(0xa2, der.octets(new Uint8Array(createHash('sha1').update(keyBits).digest()))),
    der.generalizedTime(spec.thisUpdate),
    der.seq(single),
  );
  const alg = algorithmIdentifier(spec.signWith.alg);
  const basic = der.seq(tbs, alg, der.bitString(signBytes(tbs, spec.signWith)));
  return der.seq(
    der.tlv(0x0a, Uint8Array.of(0)),
    der.explicit(0, der.seq(der.oid('1.3.6.1.5.5.7.48.1.1'), der.octets(basic))),
  );
}

/** PEM armour for a DER blob. */
export function toPem(derBytes: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(derBytes).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}
