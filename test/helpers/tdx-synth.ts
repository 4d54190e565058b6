/**
 * A synthetic Intel-shaped TDX PKI and quote builder for tests that real vectors cannot cover
 * (a CRL that revokes the PCK leaf, TCB levels chosen by the test, collateral signed by a key the
 * test controls). Everything here chains to a TEST root that is trusted only when a test passes
 * it as `intelRoots`; the pinned Intel root never accepts it.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  buildCertificate,
  buildCrl,
  der,
  ext,
  toPem,
} from '../../enclave-server/evidence/x509-writer';
import type { NameSpec } from '../../enclave-server/evidence/x509-writer';
import { BODY, INTEL_QE_VENDOR_ID, QE_REPORT } from '../../protocol/attestation/tdx/quote';
import { SGX_EXT, SGX_EXTENSION_OID } from '../../protocol/attestation/tdx/pck';

interface Key {
  priv: KeyObject;
  spki: Uint8Array;
  /** Raw x‖y. */
  xy: Uint8Array;
}

function p256(): Key {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const spki = new Uint8Array(publicKey);
  const priv = createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
  return { priv, spki, xy: spki.subarray(spki.length - 64) };
}

const rawSign = (k: Key, msg: Uint8Array): Uint8Array =>
  new Uint8Array(sign('sha256', msg, { key: k.priv, dsaEncoding: 'ieee-p1363' }));

const ROOT: NameSpec = [['CN', 'TEST SGX Root CA']];
const PCK_CA: NameSpec = [['CN', 'TEST SGX PCK Platform CA']];
const LEAF: NameSpec = [['CN', 'TEST SGX PCK Certificate']];
/** The CN Intel's PCS collateral signer has (the verifier requires it); the root is the test one. */
const TCB_SIGNER: NameSpec = [['CN', 'Intel SGX TCB Signing']];

export interface SynthOptions {
  fmspc?: string; // 12 hex
  pceId?: string; // 4 hex
  sgxSvns?: number[]; // 16
  pceSvn?: number;
  teeTcbSvn?: number[]; // 16
  mrtd?: Uint8Array;
  reportData?: Uint8Array;
  tdAttributes?: Uint8Array;
  qeMrSigner?: Uint8Array; // 32
  qeIsvProdId?: number;
  qeIsvSvn?: number;
  /** QE report ATTRIBUTES (16 bytes); default INIT | MODE64BIT | PROVISIONKEY, no DEBUG. */
  qeAttributes?: Uint8Array;
  notBefore?: Date;
  notAfter?: Date;
  leafSerial?: number;
}

export interface SynthTdx {
  quote: Uint8Array;
  rootDer: Uint8Array;
  tcbSigningPem: Uint8Array;
  /** A CRL issued by the PCK CA (or by another key when `forgedBy` is given). */
  pckCrl(revokedSerials: number[], at: Date, forged?: boolean): Uint8Array;
  /** `{"<member>": <json>, "signature": "<hex>"}` signed over the exact member bytes. */
  signedCollateral(member: 'tcbInfo' | 'enclaveIdentity', json: string): Uint8Array;
  /** The same, signed by the PCK leaf key (which chains to the root but is not the TCB signer). */
  signedByPckLeaf(member: 'tcbInfo' | 'enclaveIdentity', json: string): Uint8Array;
  /** The PCK chain (leaf, CA, root) as PEM, to present as a "TCB signing chain". */
  pckChainPem: Uint8Array;
  /** A CRL issued by the root (the root CA CRL). */
  rootCrl(at: Date): Uint8Array;
  leafSerial: number;
}

const u16 = (v: number) => Uint8Array.of(v & 0xff, (v >> 8) & 0xff);
const u32 = (v: number) =>
  Uint8Array.of(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
const cat = (...p: Uint8Array[]) => {
  const o = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
  let i = 0;
  for (const x of p) {
    o.set(x, i);
    i += x.length;
  }
  return o;
};
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

export function buildSyntheticTdx(o: SynthOptions = {}): SynthTdx {
  const notBefore = o.notBefore ?? new Date('2025-01-01T00:00:00Z');
  const notAfter = o.notAfter ?? new Date('2035-01-01T00:00:00Z');
  const root = p256();
  const ca = p256();
  const leaf = p256();
  const tcb = p256();
  const att = p256();
  const rogue = p256();
  const sw = (k: Key) => ({ keyObject: k.priv, alg: 'ecdsa-sha256' as const });

  const rootDer = buildCertificate({
    subject: ROOT,
    issuer: ROOT,
    serial: 1,
    notBefore,
    notAfter,
    publicKeyDer: root.spki,
    extensions: [ext.basicConstraints(true, 1), ext.keyUsage([5, 6])],
    signWith: sw(root),
  });
  const caDer = buildCertificate({
    subject: PCK_CA,
    issuer: ROOT,
    serial: 2,
    notBefore,
    notAfter,
    publicKeyDer: ca.spki,
    extensions: [ext.basicConstraints(true, 0), ext.keyUsage([5, 6])],
    signWith: sw(root),
  });
  const sgxSvns = o.sgxSvns ?? [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
  const pceSvn = o.pceSvn ?? 13;
  const tcbSeq = der.seq(
    ...sgxSvns.map((v, i) => der.seq(der.oid(`${SGX_EXT.TCB}.${i + 1}`), der.int(v))),
    der.seq(der.oid(`${SGX_EXT.TCB}.17`), der.int(pceSvn)),
    der.seq(der.oid(`${SGX_EXT.TCB}.18`), der.octets(Uint8Array.from(sgxSvns))),
  );
  const sgxExt = der.seq(
    der.seq(der.oid(SGX_EXT.PPID), der.octets(new Uint8Array(16).fill(0xab))),
    der.seq(der.oid(SGX_EXT.TCB), tcbSeq),
    der.seq(der.oid(SGX_EXT.PCE_ID), der.octets(hex(o.pceId ?? '0000'))),
    der.seq(der.oid(SGX_EXT.FMSPC), der.octets(hex(o.fmspc ?? '90c06f000000'))),
    der.seq(der.oid(SGX_EXT.SGX_TYPE), der.tlv(0x0a, Uint8Array.of(0))),
  );
  const leafSerial = o.leafSerial ?? 0x4242;
  const leafDer = buildCertificate({
    subject: LEAF,
    issuer: PCK_CA,
    serial: leafSerial,
    notBefore,
    notAfter,
    publicKeyDer: leaf.spki,
    extensions: [
      ext.basicConstraints(false),
      ext.keyUsage([0, 1]),
      ext.raw(SGX_EXTENSION_OID, sgxExt),
    ],
    signWith: sw(ca),
  });
  const tcbDer = buildCertificate({
    subject: TCB_SIGNER,
    issuer: ROOT,
    serial: 3,
    notBefore,
    notAfter,
    publicKeyDer: tcb.spki,
    extensions: [ext.basicConstraints(false), ext.keyUsage([0, 1])],
    signWith: sw(root),
  });

  // Header ‖ body (v4).
  const header = cat(
    u16(4),
    u16(2),
    u32(0x81),
    u16(0),
    u16(pceSvn),
    hex(INTEL_QE_VENDOR_ID),
    new Uint8Array(20),
  );
  const body = new Uint8Array(584);
  body.set(
    Uint8Array.from(o.teeTcbSvn ?? [5, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    BODY.TEE_TCB_SVN,
  );
  // Default: SEPT_VE_DISABLE (bit 28) set, DEBUG clear, as a production Linux TD.
  body.set(o.tdAttributes ?? Uint8Array.of(0, 0, 0, 0x10, 0, 0, 0, 0), BODY.TD_ATTRIBUTES);
  body.set(o.mrtd ?? new Uint8Array(48).fill(0x11), BODY.MRTD);
  body.set(o.reportData ?? new Uint8Array(64).fill(0x22), BODY.REPORT_DATA);
  const signed = cat(header, body);
  const quoteSig = rawSign(att, signed);

  // QE report binding the attestation key.
  const qeAuth = new Uint8Array(32).map((_, i) => i);
  const qe = new Uint8Array(QE_REPORT.SIZE);
  qe.set(o.qeMrSigner ?? new Uint8Array(32).fill(0xdc), QE_REPORT.MR_SIGNER);
  qe.set(
    o.qeAttributes ?? Uint8Array.of(0x15, 0, 0, 0, 0, 0, 0, 0, 0xe7, 0, 0, 0, 0, 0, 0, 0),
    QE_REPORT.ATTRIBUTES,
  );
  qe.set(u16(o.qeIsvProdId ?? 2), QE_REPORT.ISV_PROD_ID);
  qe.set(u16(o.qeIsvSvn ?? 7), QE_REPORT.ISV_SVN);
  qe.set(
    new Uint8Array(createHash('sha256').update(cat(att.xy, qeAuth)).digest()),
    QE_REPORT.REPORT_DATA,
  );
  const qeSig = rawSign(leaf, qe);
  const pem = new TextEncoder().encode(toPem(leafDer) + toPem(caDer) + toPem(rootDer));
  const inner = cat(u16(5), u32(pem.length), pem);
  const certData = cat(qe, qeSig, u16(qeAuth.length), qeAuth, inner);
  const sigData = cat(quoteSig, att.xy, u16(6), u32(certData.length), certData);
  const quote = cat(signed, u32(sigData.length), sigData);

  return {
    quote,
    rootDer,
    tcbSigningPem: new TextEncoder().encode(toPem(tcbDer) + toPem(rootDer)),
    leafSerial,
    pckCrl(revokedSerials, at, forged = false) {
      return buildCrl({
        issuer: PCK_CA,
        thisUpdate: new Date(at.getTime() - 86_400_000),
        nextUpdate: new Date(at.getTime() + 30 * 86_400_000),
        revoked: revokedSerials.map((serial) => ({
          serial,
          date: new Date(at.getTime() - 3_600_000),
        })),
        signWith: sw(forged ? rogue : ca),
      });
    },
    signedCollateral(member, json) {
      const sig = Buffer.from(rawSign(tcb, new TextEncoder().encode(json))).toString('hex');
      return new TextEncoder().encode(`{"${member}":${json},"signature":"${sig}"}`);
    },
    signedByPckLeaf(member, json) {
      const sig = Buffer.from(rawSign(leaf, new TextEncoder().encode(json))).toString('hex');
      return new TextEncoder().encode(`{"${member}":${json},"signature":"${sig}"}`);
    },
    pckChainPem: pem,
    rootCrl(at) {
      return buildCrl({
        issuer: ROOT,
        thisUpdate: new Date(at.getTime() - 86_400_000),
        nextUpdate: new Date(at.getTime() + 365 * 86_400_000),
        signWith: sw(root),
      });
    },
  };
}

/** A TDX TCB info body (v3) with the given levels; dates bracket `at`. */
export function synthTcbInfoJson(
  at: Date,
  fmspc: string,
  levels: { sgx: number[]; pce: number; tdx: number[]; status: string; advisories?: string[] }[],
): string {
  const day = 86_400_000;
  const iso = (d: Date) => d.toISOString().replace('.000', '');
  const comps = (xs: number[]) => JSON.stringify(xs.map((svn) => ({ svn })));
  const lv = levels
    .map(
      (l) =>
        `{"tcb":{"sgxtcbcomponents":${comps(l.sgx)},"pcesvn":${l.pce},"tdxtcbcomponents":${comps(l.tdx)}},"tcbDate":"2024-01-01T00:00:00Z","tcbStatus":"${l.status}"${l.advisories !== undefined ? `,"advisoryIDs":${JSON.stringify(l.advisories)}` : ''}}`,
    )
    .join(',');
  const z48 = '00'.repeat(48);
  return `{"id":"TDX","version":3,"issueDate":"${iso(new Date(at.getTime() - day))}","nextUpdate":"${iso(new Date(at.getTime() + 29 * day))}","fmspc":"${fmspc.toUpperCase()}","pceId":"0000","tcbType":0,"tcbEvaluationDataNumber":18,"tdxModule":{"mrsigner":"${z48}","attributes":"0000000000000000","attributesMask":"FFFFFFFFFFFFFFFF"},"tdxModuleIdentities":[],"tcbLevels":[${lv}]}`;
}

/** A TD_QE identity body (v2) matching the synthetic QE (MRSIGNER 0xdc…, ISVPRODID 2). */
export function synthQeIdentityJson(at: Date, mrsigner = 'dc'.repeat(32)): string {
  const day = 86_400_000;
  const iso = (d: Date) => d.toISOString().replace('.000', '');
  return `{"id":"TD_QE","version":2,"issueDate":"${iso(new Date(at.getTime() - day))}","nextUpdate":"${iso(new Date(at.getTime() + 29 * day))}","tcbEvaluationDataNumber":18,"miscselect":"00000000","miscselectMask":"FFFFFFFF","attributes":"11000000000000000000000000000000","attributesMask":"FBFFFFFFFFFFFFFF0000000000000000","mrsigner":"${mrsigner.toUpperCase()}","isvprodid":2,"tcbLevels":[{"tcb":{"isvsvn":4},"tcbDate":"2024-01-01T00:00:00Z","tcbStatus":"UpToDate"}]}`;
}
