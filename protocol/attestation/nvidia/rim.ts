/**
 * NVIDIA Reference Integrity Manifests (RIMs): ISO/IEC 19770-2 SWID tags (TCG RIM information
 * model) carrying the golden SPDM measurement values for one driver or one VBIOS, signed with an
 * enveloped XML-DSig (../../xml/dsig.ts) by a chain to the NVIDIA CoRIM signing Root CA.
 *
 * Layout (NVIDIA RIM service output):
 *   <SoftwareIdentity xmlns=SWID …>
 *     <Meta colloquialVersion="550.90.07" …/>
 *     <Payload>
 *       <Resource type="Measurement" index="7" active="True" alternatives="1" ns:Hash0="…" size="48"/>
 *     </Payload>
 *     <ds:Signature>…</ds:Signature>
 *   </SoftwareIdentity>
 * `Hash0..N-1` attributes live in the namespace http://www.w3.org/2001/04/xmlenc#sha384.
 */
import { ProtocolError } from '../../errors';
import type { CryptoProvider } from '../../crypto/provider';
import type { Check } from '../types';
import {
  childElements,
  getAttr,
  parseXmlBytes,
  type XmlDocument,
  type XmlElement,
} from '../../xml/parser';
import { checkEnvelopedSignature, parseEnvelopedSignature } from '../../xml/dsig';
import { nameAttr, parseCertificate, type Certificate } from '../../x509/index';
import { rimCache, verifyChainCached } from './cache';
import { chainChecks } from '../chain';
import { toHex as hex } from './bytes';

export const SWID_NS = 'http://standards.iso.org/iso/19770/-2/2015/schema.xsd';
export const SHA384_ATTR_NS = 'http://www.w3.org/2001/04/xmlenc#sha384';
/** Upper bounds that keep a hostile RIM small. */
export const MAX_RIM_RESOURCES = 256;
export const MAX_ALTERNATIVES = 32;
export const MAX_RIM_INDEX = 254;

export interface RimMeasurement {
  /** 0-based RIM index; corresponds to SPDM block index + 1. */
  readonly index: number;
  readonly active: boolean;
  readonly alternatives: number;
  /** Hash0..HashN-1 as written (lowercased). Validated as 48-byte hex when compared. */
  readonly hashes: readonly string[];
  readonly size: number;
  readonly name: string | undefined;
}

export interface Rim {
  readonly doc: XmlDocument;
  readonly colloquialVersion: string;
  readonly tagId: string | undefined;
  readonly product: string | undefined;
  readonly measurements: readonly RimMeasurement[];
}

function perr(field: string, msg: string): never {
  throw new ProtocolError('attestation_parse', `${field}: ${msg}`, field);
}

function intAttr(el: XmlElement, name: string, field: string, min: number, max: number): number {
  const v = getAttr(el, null, name);
  if (v === undefined) perr(`${field}.${name}`, 'missing');
  if (!/^[0-9]{1,6}$/.test(v))
    perr(`${field}.${name}`, `expected a decimal integer, got ${JSON.stringify(v.slice(0, 40))}`);
  const n = Number(v);
  if (n < min || n > max) perr(`${field}.${name}`, `expected ${min}..${max}, got ${n}`);
  return n;
}

/** Parses the Payload element's Resource entries (go-nvattest-tools `rim` rules). */
export function parseRimPayload(root: XmlElement): RimMeasurement[] {
  const payloads = childElements(root, SWID_NS, 'Payload');
  if (payloads.length !== 1)
    perr('rim.Payload', `expected exactly one Payload, got ${payloads.length}`);
  const resources = childElements(payloads[0]!, SWID_NS, 'Resource');
  if (resources.length === 0) perr('rim.Payload', 'expected at least one Resource, got none');
  if (resources.length > MAX_RIM_RESOURCES)
    perr('rim.Payload', `expected at most ${MAX_RIM_RESOURCES} Resources, got ${resources.length}`);
  const out: RimMeasurement[] = [];
  const seen = new Set<number>();
  for (const [k, r] of resources.entries()) {
    const f = `rim.Resource[${k}]`;
    const type = getAttr(r, null, 'type');
    if (type !== 'Measurement')
      perr(`${f}.type`, `expected "Measurement", got ${JSON.stringify(type)}`);
    const index = intAttr(r, 'index', f, 0, MAX_RIM_INDEX);
    if (seen.has(index)) perr(`${f}.index`, `duplicate index ${index}`);
    seen.add(index);
    const activeS = getAttr(r, null, 'active');
    if (activeS !== 'True' && activeS !== 'False')
      perr(`${f}.active`, `expected "True" or "False", got ${JSON.stringify(activeS)}`);
    const alternatives = intAttr(r, 'alternatives', f, 1, MAX_ALTERNATIVES);
    const size = intAttr(r, 'size', f, 0, 1 << 16);
    const hashes: string[] = [];
    for (let a = 0; a < alternatives; a++) {
      const h = getAttr(r, SHA384_ATTR_NS, `Hash${a}`);
      if (h === undefined)
        perr(`${f}.Hash${a}`, `missing (attribute in namespace ${SHA384_ATTR_NS})`);
      hashes.push(h.toLowerCase());
    }
    out.push({
      index,
      active: activeS === 'True',
      alternatives,
      hashes,
      size,
      name: getAttr(r, null, 'name'),
    });
  }
  return out;
}

/** Parses a RIM (SWID XML bytes): Meta/colloquialVersion and the payload. ProtocolError only. */
export function parseRim(bytes: Uint8Array): Rim {
  const doc = parseXmlBytes(bytes);
  const root = doc.root;
  if (root.ns !== SWID_NS || root.local !== 'SoftwareIdentity') {
    perr(
      'rim',
      `expected a SWID SoftwareIdentity document element, got {${root.ns ?? ''}}${root.local}`,
    );
  }
  const metas = childElements(root, SWID_NS, 'Meta');
  if (metas.length !== 1) perr('rim.Meta', `expected exactly one Meta, got ${metas.length}`);
  const colloquialVersion = getAttr(metas[0]!, null, 'colloquialVersion');
  if (colloquialVersion === undefined || colloquialVersion === '')
    perr('rim.Meta.colloquialVersion', 'missing');
  return {
    doc,
    colloquialVersion,
    tagId: getAttr(root, null, 'tagId'),
    product: getAttr(metas[0]!, null, 'product'),
    measurements: parseRimPayload(root),
  };
}

export interface RimTrust {
  /** Pinned roots (the NVIDIA CoRIM signing Root CA). */
  readonly roots: readonly Certificate[];
  /** Verification time. */
  readonly at: Date;
  /** How the passing chain check names the root (default `trusted root`; see chainChecks). */
  readonly anchor?: (root: Certificate) => string;
}

export interface RimVerification {
  readonly rim: Rim | null;
  readonly checks: Check[];
  readonly signer: Certificate | null;
  /** The chain as presented in KeyInfo (signer first). */
  readonly chain: readonly Certificate[];
}

/**
 * Parses and verifies one RIM: XML-DSig digest + signature with the KeyInfo signer key, and the
 * KeyInfo chain to a pinned root at `at`. Check ids are prefixed with `prefix` (e.g. `rim.driver`):
 * `<prefix>` (parse), `<prefix>.digest`, `<prefix>.signature`, `<prefix>.cert_chain`.
 * Never throws for malformed input: a parse problem becomes a failed `<prefix>` check.
 */
export function verifyRim(
  crypto: CryptoProvider,
  bytes: Uint8Array,
  trust: RimTrust,
  prefix: string,
): RimVerification {
  const core = rimCore(crypto, bytes);
  if ('error' in core) {
    return {
      rim: null,
      checks: [
        {
          id: prefix,
          ok: false,
          message: `${prefix}: expected a well-formed signed RIM, got ${core.error}`,
        },
      ],
      signer: null,
      chain: [],
    };
  }
  const { rim, chain, sig } = core;
  const checks: Check[] = [
    {
      id: prefix,
      ok: true,
      message: `${prefix}: signed SWID RIM "${rim.colloquialVersion}", ${rim.measurements.filter((m) => m.active).length} active of ${rim.measurements.length} measurements, ${chain.length} KeyInfo certificates`,
    },
  ];
  const signer = chain[0]!;
  const who = nameAttr(signer.subject) ?? '';
  if (sig === null) {
    checks.push({
      id: `${prefix}.signature`,
      ok: false,
      message: `${prefix}.signature: expected a P-384 signer key, got ${signer.publicKey.kind === 'ec' ? signer.publicKey.curve : signer.publicKey.kind}`,
    });
  } else {
    checks.push({
      id: `${prefix}.digest`,
      ok: sig.digestOk,
      message: sig.digestOk
        ? `${prefix}.digest: SHA-384 of the C14N 1.1 document (signature removed) equals DigestValue`
        : `${prefix}.digest: expected DigestValue ${sig.expected}, got ${sig.computed} (document modified)`,
    });
    checks.push({
      id: `${prefix}.signature`,
      ok: sig.signatureOk,
      message: sig.signatureOk
        ? `${prefix}.signature: ECDSA P-384 over C14N 1.1 SignedInfo verifies with "${who}"`
        : `${prefix}.signature: expected a valid ECDSA P-384 signature by "${who}", got invalid`,
    });
  }
  checks.push(
    ...chainChecks(verifyChainCached(crypto, chain, trust.roots, trust.at), trust.at, {
      id: `${prefix}.cert_chain`,
      ...(trust.anchor !== undefined ? { anchor: trust.anchor } : {}),
    }),
  );
  return { rim, checks, signer, chain };
}

type RimCore =
  | { readonly error: string }
  | {
      readonly rim: Rim;
      readonly chain: Certificate[];
      /** null when the signer key is not P-384. */
      readonly sig: {
        digestOk: boolean;
        signatureOk: boolean;
        expected: string;
        computed: string;
      } | null;
    };

/** Parse + XML-DSig of one RIM: a pure function of the bytes, memoised by their SHA-384. */
function rimCore(crypto: CryptoProvider, bytes: Uint8Array): RimCore {
  const key = hex(crypto.hash('SHA-384', bytes));
  const hit = rimCache.get(key) as RimCore | undefined;
  if (hit !== undefined) return hit;
  let core: RimCore;
  try {
    const rim = parseRim(bytes);
    const env = parseEnvelopedSignature(rim.doc);
    const chain = env.certificates.map((der) => parseCertificate(der));
    const signer = chain[0]!;
    let sig = null;
    if (signer.publicKey.kind === 'ec' && signer.publicKey.curve === 'P-384') {
      const r = checkEnvelopedSignature(crypto, env, signer.publicKey);
      sig = {
        digestOk: r.digestOk,
        signatureOk: r.signatureOk,
        expected: hex(env.digestValue),
        computed: hex(r.computedDigest),
      };
    }
    core = { rim, chain, sig };
  } catch (e) {
    core = { error: e instanceof ProtocolError ? e.message : String(e) };
  }
  rimCache.set(key, core);
  return core;
}
