/**
 * SIMULATED NVIDIA GPU evidence for development and tests (never for production).
 *
 * At construction it generates, with fresh P-384 keys:
 *  - a 5-level device chain shaped like NVIDIA's (root "TEEChat SIMULATED NVIDIA Device Identity
 *    CA" → Identity → Provisioner ICA → GSP BROM → GSP FMC leaf); the leaf carries the TCG DICE
 *    extension 2.23.133.5.4.1 whose fwids[0] is the firmware FWID;
 *  - 64 SHA-384 measurement values of a pretend firmware;
 *  - driver and VBIOS RIMs (SWID XML, enveloped XML-DSig with C14N 1.1, ECDSA P-384 r‖s) over
 *    disjoint active index sets, signed by a generated RIM chain (signer → CA → SIMULATED CoRIM root).
 * Each `collect(binding)` produces a byte-exact SPDM 1.1 GET_MEASUREMENTS request (with the
 * session's 32-byte GPU nonce) ‖ MEASUREMENTS response (64 blocks, opaque data with CC-relevant
 * fields) signed by the leaf key. The roots travel as parts `sim.root` / `sim.rim_root`, which a
 * client honours only under its development setting (policy.allowSimulated).
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceProvider,
} from '../../protocol/attestation/types';
import { encodeCcStatus, type CcStatus } from '../../protocol/attestation/nvidia/cc-status';
import {
  FEATURE_PPCIE,
  FEATURE_SPT,
  STATUS_DISABLED,
  STATUS_ENABLED,
} from '../../protocol/attestation/nvidia/opaque';
import { SHA384_ATTR_NS, SWID_NS } from '../../protocol/attestation/nvidia/rim';
import { c14n11 } from '../../protocol/xml/c14n';
import { parseXml } from '../../protocol/xml/parser';
import { ALG_C14N11, ALG_ECDSA_SHA384, ALG_ENVELOPED, DSIG_NS } from '../../protocol/xml/dsig';
import { buildCertificate, buildOcspResponse, der, ext, type NameSpec } from './x509-writer';

export const SIM_DEVICE_ROOT_CN = 'TEEChat SIMULATED NVIDIA Device Identity CA';
export const SIM_RIM_ROOT_CN = 'TEEChat SIMULATED NVIDIA CoRIM signing Root CA';
const OID_DICE_TCB_INFO = '2.23.133.5.4.1';
const OID_DICE_TCB_INFO_BLACKWELL = '2.23.133.5.4.1.1';
const OID_SHA384 = '2.16.840.1.101.3.4.2.2';
const N_BLOCKS = 64;
/** RIM indexes (0-based) that the simulated driver / VBIOS RIMs mark active (disjoint, as NVIDIA's). */
export const SIM_DRIVER_ACTIVE = [7, 21, 22, 25, 26, 27, 29, 30, 31, 32, 34, 35, 36, 37, 39, 40];
export const SIM_VBIOS_ACTIVE = [1, 2, 3, 4, 5, 6, 9, 11, 12, 14, 15, 16];

/** The simulated GPU's default driver: R580 at bulletin 5861's fixed version (580.178.04). */
export const SIM_DRIVER_VERSION = '580.178.04';

export interface SimulatedNvidiaOptions {
  readonly gpuCount?: number;
  readonly driverVersion?: string;
  readonly vbiosVersion?: string;
  /** Report protected PCIe (multi-GPU PPCIe mode). */
  readonly ppcie?: boolean;
  /** NVDEC0 enabled (then RIM index 35 is compared). Default false, as on CC H100s. */
  readonly nvdec0Enabled?: boolean;
  /**
   * GH100 (Hopper, default): leaf DICE extension 2.23.133.5.4.1 with fwids last. GB100 (Blackwell):
   * extension 2.23.133.5.4.1.1 with a field after fwids (so only the structured parse finds the
   * FWID) and CHIP_INFO "GB100" in the opaque data.
   */
  readonly chip?: 'GH100' | 'GB100';
  /** Simulation of a firmware/certificate mismatch: the report carries this FWID instead of the leaf's. */
  readonly reportFwidOverride?: Uint8Array;
  /**
   * The NVML CC environment claimed (default 'simulation'). A server whose generated roots a test
   * pins (`--simulated-roots-out`) claims 'production', as a real CC GPU does, so that the test
   * runs the production environment check too (it is skipped only for simulated roots).
   */
  readonly ccEnvironment?: 'simulation' | 'production';
  readonly now?: () => Date;
}

interface Key {
  readonly priv: KeyObject;
  readonly spki: Uint8Array;
}

function p384(): Key {
  // Encodings requested at generation time (Node 20 JWK-export pitfall, see DESIGN.md §8).
  const kp = generateKeyPairSync('ec', {
    namedCurve: 'P-384',
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return {
    priv: createPrivateKey({ key: kp.privateKey, format: 'der', type: 'pkcs8' }),
    spki: new Uint8Array(kp.publicKey),
  };
}

const sha384 = (b: Uint8Array | string): Uint8Array =>
  new Uint8Array(createHash('sha384').update(b).digest());
const u16 = (n: number): number[] => [n & 255, (n >> 8) & 255];
const ascii = (s: string): Uint8Array => Uint8Array.from([...Buffer.from(s, 'latin1'), 0]);

/** Inverse of nvtrust format_vbios_version: "96.00.9F.00.01" → 8 bytes. */
export function encodeVbiosVersion(v: string): Uint8Array {
  const t = v.split('.').join('');
  if (!/^[0-9A-Fa-f]{10}$/.test(t))
    throw new RangeError(`VBIOS version ${v}: expected 5 hex pairs`);
  const h = '000000' + t.slice(8, 10) + t.slice(0, 8);
  return Uint8Array.from(Buffer.from(h, 'hex')).reverse();
}

function tlv(type: number, value: Uint8Array): number[] {
  return [...u16(type), ...u16(value.length), ...value];
}

function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

function escAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}

function issue(
  subject: NameSpec,
  issuer: NameSpec,
  key: Key,
  signer: Key,
  ca: boolean,
  notBefore: Date,
  serial: number,
  extra: ReturnType<typeof ext.raw>[] = [],
): Uint8Array {
  return buildCertificate({
    subject,
    issuer,
    serial: BigInt(serial) * 0x1000003n + BigInt(randomBytes(4).readUInt32BE(0)),
    notBefore,
    notAfter: new Date('9999-12-31T23:59:59Z'),
    publicKeyDer: key.spki,
    extensions: [ext.basicConstraints(ca), ext.keyUsage(ca ? [5, 6] : [0]), ...extra],
    signWith: { keyObject: signer.priv, alg: 'ecdsa-sha384' },
  });
}

export class SimulatedNvidiaProvider implements EvidenceProvider {
  readonly kind = 'nvidia-gpu' as const;
  readonly simulated = true;
  readonly description: string;
  readonly driverVersion: string;
  readonly vbiosVersion: string;
  private readonly gpus: {
    leaf: Key;
    chainDer: Uint8Array[];
    fwid: Uint8Array;
    /** Issuer keys of chainDer[1..3] (BROM ← ICA, ICA ← Identity, Identity ← root). */
    issuerKeys: Key[];
  }[] = [];
  /** RIM chain [signer, CA, root] and the keys of the signer's and the CA's issuers. */
  private readonly rimChain: { der: Uint8Array[]; issuerKeys: Key[] };
  private ocspCache: { readonly at: number; readonly parts: Map<string, Uint8Array>[] } | undefined;
  private readonly measurements: Uint8Array[];
  readonly deviceRootDer: Uint8Array;
  readonly rimRootDer: Uint8Array;
  readonly driverRim: Uint8Array;
  readonly vbiosRim: Uint8Array;
  private readonly opts: Required<Omit<SimulatedNvidiaOptions, 'now' | 'reportFwidOverride'>> & {
    now: () => Date;
    reportFwidOverride: Uint8Array | undefined;
  };

  constructor(options: SimulatedNvidiaOptions = {}) {
    this.opts = {
      gpuCount: options.gpuCount ?? 1,
      // A driver at or above every branch floor in NVIDIA_DRIVER_BULLETINS (nvidia/policy.ts), so
      // live sessions with the default policy pass `policy.driver_floor` today (R580, bulletin 5861).
      driverVersion: options.driverVersion ?? SIM_DRIVER_VERSION,
      vbiosVersion: options.vbiosVersion ?? '96.00.9F.00.01',
      ppcie: options.ppcie ?? false,
      nvdec0Enabled: options.nvdec0Enabled ?? false,
      chip: options.chip ?? 'GH100',
      reportFwidOverride: options.reportFwidOverride,
      ccEnvironment: options.ccEnvironment ?? 'simulation',
      now: options.now ?? ((): Date => new Date()),
    };
    this.driverVersion = this.opts.driverVersion;
    this.vbiosVersion = this.opts.vbiosVersion;
    const nb = new Date(this.opts.now().getTime() - 3600_000);
    const fw = randomBytes(16).toString('hex');
    this.measurements = Array.from({ length: N_BLOCKS }, (_, i) =>
      sha384(`teechat-simulated-gpu-firmware ${fw} block ${i + 1}`),
    );

    // Device chain (shared root/Identity/ICA; per-GPU BROM + leaf).
    const rootK = p384();
    const idK = p384();
    const icaK = p384();
    const rootN: NameSpec = [
      ['CN', SIM_DEVICE_ROOT_CN],
      ['O', 'TEEChat development'],
    ];
    const idN: NameSpec = [
      ['CN', `SIMULATED ${this.opts.chip} Identity`],
      ['O', 'TEEChat development'],
    ];
    const icaN: NameSpec = [
      ['CN', `SIMULATED ${this.opts.chip} Provisioner ICA 1`],
      ['O', 'TEEChat development'],
    ];
    this.deviceRootDer = issue(rootN, rootN, rootK, rootK, true, nb, 1);
    const idDer = issue(idN, rootN, idK, rootK, true, nb, 2);
    const icaDer = issue(icaN, idN, icaK, idK, true, nb, 3);
    for (let g = 0; g < this.opts.gpuCount; g++) {
      const bromK = p384();
      const leaf = p384();
      const fwid = sha384(`teechat-simulated-gsp-fmc ${fw} gpu ${g}`);
      const bromN: NameSpec = [
        ['CN', `SIMULATED ${this.opts.chip} A01 GSP BROM`],
        ['O', 'TEEChat development'],
        ['serialNumber', randomBytes(9).toString('hex').toUpperCase()],
      ];
      const leafN: NameSpec = [
        ['CN', `SIMULATED ${this.opts.chip} A01 GSP FMC LF`],
        ['O', 'TEEChat development'],
        ['serialNumber', randomBytes(20).toString('hex').toUpperCase()],
      ];
      // DiceTcbInfo ::= SEQUENCE { vendor [0], model [1], …, fwids [6] IMPLICIT SEQUENCE OF FWID, …}.
      // Hopper: fwids last, so the last 48 bytes are the digest. Blackwell: flags [7] follow.
      const blackwell = this.opts.chip === 'GB100';
      const dice = der.seq(
        der.tlv(0x80, Buffer.from('TEEChat SIMULATED')),
        der.tlv(0x81, Buffer.from(`${this.opts.chip} A01 GSP FMC`)),
        der.tlv(0xa6, der.seq(der.oid(OID_SHA384), der.octets(fwid))),
        ...(blackwell ? [der.tlv(0x87, Uint8Array.of(0x00, 0x80, 0x00, 0x00, 0x01))] : []),
      );
      const bromDer = issue(bromN, icaN, bromK, icaK, true, nb, 10 + g);
      const leafDer = issue(leafN, bromN, leaf, bromK, false, nb, 100 + g, [
        ext.raw(blackwell ? OID_DICE_TCB_INFO_BLACKWELL : OID_DICE_TCB_INFO, dice, true),
      ]);
      this.gpus.push({
        leaf,
        fwid,
        chainDer: [leafDer, bromDer, icaDer, idDer, this.deviceRootDer],
        issuerKeys: [icaK, idK, rootK],
      });
    }

    // RIM chain: signer → CA → root (KeyInfo carries all three, root last, as NVIDIA's carry theirs).
    const rimRootK = p384();
    const rimCaK = p384();
    const rimSignerK = p384();
    const rimRootN: NameSpec = [
      ['C', 'US'],
      ['O', 'TEEChat development'],
      ['CN', SIM_RIM_ROOT_CN],
    ];
    const rimCaN: NameSpec = [
      ['CN', 'SIMULATED Reference Value GH100 CA'],
      ['O', 'TEEChat development'],
    ];
    const rimSignerN: NameSpec = [
      ['CN', 'SIMULATED RIM Signer'],
      ['O', 'TEEChat development'],
    ];
    this.rimRootDer = issue(rimRootN, rimRootN, rimRootK, rimRootK, true, nb, 1000);
    const rimCaDer = issue(rimCaN, rimRootN, rimCaK, rimRootK, true, nb, 1001);
    const rimSignerDer = issue(rimSignerN, rimCaN, rimSignerK, rimCaK, false, nb, 1002);
    const rimChain = [rimSignerDer, rimCaDer, this.rimRootDer];
    this.rimChain = { der: rimChain, issuerKeys: [rimCaK, rimRootK] };
    this.driverRim = this.buildRim(
      'driver',
      this.opts.driverVersion,
      SIM_DRIVER_ACTIVE,
      rimSignerK,
      rimChain,
    );
    this.vbiosRim = this.buildRim(
      'vbios',
      this.opts.vbiosVersion,
      SIM_VBIOS_ACTIVE,
      rimSignerK,
      rimChain,
    );
    this.description = `SIMULATED NVIDIA ${this.opts.chip === 'GB100' ? 'B200' : 'H100'} ×${this.opts.gpuCount} (driver ${this.opts.driverVersion}, VBIOS ${this.opts.vbiosVersion}; generated P-384 roots, not trusted in production)`;
  }

  private buildRim(
    which: 'driver' | 'vbios',
    version: string,
    active: readonly number[],
    signer: Key,
    chain: readonly Uint8Array[],
  ): Uint8Array {
    const resources: string[] = [];
    for (let i = 0; i < N_BLOCKS; i++) {
      const on = active.includes(i);
      const value = Buffer.from(this.measurements[i]!).toString('hex');
      // One entry carries two alternatives (the first a decoy), exercising "any may match".
      const alts =
        on && i === active[0]
          ? [Buffer.from(sha384(`alternative ${i}`)).toString('hex'), value]
          : [on ? value : '0'.repeat(96)];
      const hashes = alts.map((h, k) => ` ns2:Hash${k}="${h}"`).join('');
      resources.push(
        `        <ns0:Resource type="Measurement" index="${i}" active="${on ? 'True' : 'False'}" alternatives="${alts.length}"${hashes} name="Measurement_${i}" size="48"/>`,
      );
    }
    const tagId = Buffer.from(sha384(`${which} ${version} ${b64(this.measurements[0]!)}`)).toString(
      'hex',
    );
    const product = which === 'driver' ? 'GH100' : 'GH100 VBIOS';
    const signatureTemplate = (digest: string, sig: string): string =>
      `<ds:Signature xmlns:ds="${DSIG_NS}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${ALG_C14N11}"/>` +
      `<ds:SignatureMethod Algorithm="${ALG_ECDSA_SHA384}"/><ds:Reference URI=""><ds:Transforms>` +
      `<ds:Transform Algorithm="${ALG_ENVELOPED}"/><ds:Transform Algorithm="${ALG_C14N11}"/></ds:Transforms>` +
      `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#sha384"/><ds:DigestValue>${digest}</ds:DigestValue>` +
      `</ds:Reference></ds:SignedInfo><ds:SignatureValue>${sig}</ds:SignatureValue><ds:KeyInfo><ds:X509Data>` +
      chain.map((c) => `<ds:X509Certificate>${b64(c)}</ds:X509Certificate>`).join('') +
      `</ds:X509Data></ds:KeyInfo></ds:Signature>`;
    const doc = (digest: string, sig: string): string =>
      `<SoftwareIdentity xmlns="${SWID_NS}" xmlns:ns0="${SWID_NS}" xmlns:ns2="${SHA384_ATTR_NS}" corpus="false" name="${product}" patch="false" supplemental="false" tagId="${tagId}" version="1.0" tagVersion="0">\n` +
      `    <ns0:Entity name="TEEChat SIMULATED" role="softwareCreator tagCreator"/>\n` +
      `    <ns0:Meta colloquialVersion="${escAttr(version)}" edition="${which === 'driver' ? 'GPU' : 'VBIOS'}" product="${product}" revision="sim" PayloadType="direct"/>\n` +
      `    <ns0:Payload>\n${resources.join('\n')}\n    </ns0:Payload>\n` +
      signatureTemplate(digest, sig) +
      `</SoftwareIdentity>`;
    // Digest over the canonical document without the Signature (independent of its contents).
    const draft = parseXml(doc('', ''));
    const sigEl = draft.root.children.find((c) => c.type === 'element' && c.local === 'Signature');
    if (sigEl === undefined || sigEl.type !== 'element')
      throw new Error('simulated RIM: no Signature element');
    const digest = b64(sha384(Buffer.from(c14n11(draft.root, { exclude: sigEl }), 'utf8')));
    const withDigest = parseXml(doc(digest, ''));
    const signedInfo = (
      withDigest.root.children.find(
        (c) => c.type === 'element' && c.local === 'Signature',
      ) as typeof sigEl
    ).children.find((c) => c.type === 'element' && c.local === 'SignedInfo');
    if (signedInfo === undefined || signedInfo.type !== 'element')
      throw new Error('simulated RIM: no SignedInfo');
    const sig = sign('sha384', Buffer.from(c14n11(signedInfo), 'utf8'), {
      key: signer.priv,
      dsaEncoding: 'ieee-p1363',
    });
    return new Uint8Array(Buffer.from(doc(digest, b64(sig)), 'utf8'));
  }

  /** Byte-exact SPDM GET_MEASUREMENTS request ‖ signed MEASUREMENTS response for GPU `g`. */
  buildReport(nonce: Uint8Array, g = 0): Uint8Array {
    if (nonce.length !== 32)
      throw new RangeError(`GPU nonce: expected 32 bytes, got ${nonce.length}`);
    const gpu = this.gpus[g];
    if (gpu === undefined) throw new RangeError(`GPU ${g}: expected < ${this.gpus.length}`);
    const request = [0x11, 0xe0, 0x01, 0xff, ...nonce, 0x00];
    const record: number[] = [];
    for (let i = 0; i < N_BLOCKS; i++)
      record.push(i + 1, 0x01, ...u16(51), 0x01, ...u16(48), ...this.measurements[i]!);
    const msrscnt: number[] = [];
    for (let i = 0; i < N_BLOCKS; i++) msrscnt.push(1, 0, 0, 0);
    const opaque = [
      ...tlv(6, encodeVbiosVersion(this.opts.vbiosVersion)),
      ...tlv(14, Uint8Array.from([0xb1, 0x03, 0x00, 0x00])),
      ...tlv(15, ascii('882')),
      ...tlv(16, ascii('0')),
      ...tlv(17, ascii('1010')),
      ...tlv(18, ascii('0200')),
      ...tlv(19, ascii('')),
      ...tlv(3, ascii(this.opts.driverVersion)),
      ...tlv(4, Uint8Array.from([0x80, 0x01, 0, 0, 0, 0, 0, 0])),
      ...tlv(12, Uint8Array.from(msrscnt)),
      ...tlv(13, Uint8Array.from([0x00, 0xc0, 0x01, 0x00])),
      ...tlv(11, Uint8Array.of(this.opts.nvdec0Enabled ? STATUS_ENABLED : STATUS_DISABLED)),
      ...tlv(20, this.opts.reportFwidOverride ?? gpu.fwid),
      ...tlv(21, Uint8Array.of(this.opts.ppcie ? STATUS_ENABLED : STATUS_DISABLED)),
      ...tlv(34, Uint8Array.from([0x01, 0x00])),
      ...(this.opts.chip === 'GB100' ? tlv(35, ascii('GB100')) : []),
      ...tlv(36, Uint8Array.from(u16(this.opts.ppcie ? FEATURE_PPCIE : FEATURE_SPT))),
    ];
    const len = record.length;
    const response = [
      0x11,
      0x60,
      0x00,
      0x00,
      N_BLOCKS,
      len & 255,
      (len >> 8) & 255,
      (len >> 16) & 255,
      ...record,
      ...randomBytes(32),
      ...u16(opaque.length),
      ...opaque,
    ];
    const signed = Uint8Array.from([...request, ...response]);
    const signature = sign('sha384', signed, { key: gpu.leaf.priv, dsaEncoding: 'ieee-p1363' });
    return Uint8Array.from([...signed, ...signature]);
  }

  ccStatus(): CcStatus {
    return {
      ccFeature: 'on',
      devToolsMode: 'off',
      environment: this.opts.ccEnvironment,
      multiGpuMode: this.opts.ppcie ? 'protected-pcie' : 'none',
      gpuCount: this.opts.gpuCount,
    };
  }

  /**
   * OCSP responses stapled per GPU (the client requires them): `ocsp.1..3` for the device chain
   * between the leaf and the root, `ocsp.rim.{driver,vbios}.0..1` for the RIM chain, each signed
   * by the certificate's issuer, valid 2 days and re-issued daily, as a server stapling NVIDIA's
   * OCSP answers would.
   */
  stapledOcsp(now = this.opts.now()): Map<string, Uint8Array>[] {
    if (this.ocspCache !== undefined && now.getTime() - this.ocspCache.at < 86_400_000)
      return this.ocspCache.parts;
    const thisUpdate = new Date(now.getTime() - 60_000);
    const nextUpdate = new Date(now.getTime() + 2 * 86_400_000);
    const resp = (cert: Uint8Array, issuer: Uint8Array, key: Key): Uint8Array =>
      buildOcspResponse({
        cert,
        issuer,
        status: 'good',
        thisUpdate,
        nextUpdate,
        signWith: { keyObject: key.priv, alg: 'ecdsa-sha384' },
      });
    const rim = new Map<string, Uint8Array>();
    const rc = this.rimChain;
    for (let n = 0; n < 2; n++) {
      const r = resp(rc.der[n]!, rc.der[n + 1]!, rc.issuerKeys[n]!);
      rim.set(`ocsp.rim.driver.${n}`, r);
      rim.set(`ocsp.rim.vbios.${n}`, r);
    }
    const parts = this.gpus.map((gpu) => {
      const m = new Map(rim);
      for (let n = 1; n <= 3; n++)
        m.set(`ocsp.${n}`, resp(gpu.chainDer[n]!, gpu.chainDer[n + 1]!, gpu.issuerKeys[n - 1]!));
      return m;
    });
    this.ocspCache = { at: now.getTime(), parts };
    return parts;
  }

  collect(binding: BindingValues): Promise<EvidenceItem[]> {
    const cc = encodeCcStatus(this.ccStatus());
    const ocsp = this.stapledOcsp();
    return Promise.resolve(
      this.gpus.map((gpu, g) => ({
        kind: 'nvidia-gpu' as const,
        label: `gpu${g}`,
        parts: new Map<string, Uint8Array>([
          ['report', this.buildReport(binding.gpuNonce, g)],
          ['chain', concatDer(gpu.chainDer)],
          ['rim.driver', this.driverRim],
          ['rim.vbios', this.vbiosRim],
          ['cc', cc],
          ['sim.root', this.deviceRootDer],
          ['sim.rim_root', this.rimRootDer],
          ...(ocsp[g] ?? new Map<string, Uint8Array>()),
        ]),
      })),
    );
  }
}

function concatDer(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
}
