/**
 * SIMULATED AMD SEV-SNP evidence for development and tests. At start it generates an
 * ARK → ASK → VCEK chain with AMD's algorithms (RSA-4096 RSASSA-PSS SHA-384 for ARK/ASK, ECDSA
 * P-384 VCEK) and AMD's VCEK extensions (product name, TCB SPLs, hwID), then signs byte-exact
 * version-5 ATTESTATION_REPORTs whose REPORT_DATA is the real handshake binding value.
 *
 * The root is generated here, so it proves nothing about hardware: a client accepts it only with
 * the explicitly named development setting (`allowSimulated` / `--allow-simulated`), and then
 * reports `simulated: true` (the status bar says SIMULATED). Certificate names say SIMULATED too.
 */
import { createHash, generateKeyPair, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceProvider,
} from '../../protocol/attestation/types';
import {
  OFF,
  SNP_REPORT_SIZE,
  SNP_SIGNED_LEN,
  encodeTcb,
} from '../../protocol/attestation/snp/report';
import type { SnpProduct, SnpReport, Tcb } from '../../protocol/attestation/snp/report';
import { toHex } from '../../protocol/wire/bytes';
import { AMD_OID } from '../../protocol/attestation/snp/vcek';
import { buildCertificate, buildCrl, ext } from './x509-writer';
import type { NameSpec } from './x509-writer';

const genKeyPair = promisify(generateKeyPair);

/**
 * Everything that goes into a report (the simulated provider and tests build reports from this):
 * the protocol's parsed-report fields, except those derived from others (signing-key bits, the
 * signed bytes, the signature), with the version-dependent ones always present.
 */
export type SnpReportFields = Pick<
  SnpReport,
  | 'guestSvn'
  | 'policy'
  | 'familyId'
  | 'imageId'
  | 'vmpl'
  | 'currentTcb'
  | 'platformInfo'
  | 'reportData'
  | 'measurement'
  | 'hostData'
  | 'idKeyDigest'
  | 'authorKeyDigest'
  | 'reportId'
  | 'reportIdMa'
  | 'reportedTcb'
  | 'chipId'
  | 'committedTcb'
  | 'currentVersion'
  | 'committedVersion'
  | 'launchTcb'
> & {
  readonly version: 2 | 3 | 5;
  /** Bits 0 AUTHOR_KEY_EN, 1 MASK_CHIP_KEY, 4:2 SIGNING_KEY. */
  readonly flags: number;
  readonly cpuid: NonNullable<SnpReport['cpuid']>;
  readonly launchMitVector: bigint;
  readonly currentMitVector: bigint;
};

/** Serialises the report body and signs bytes 0x000..0x29F with the VCEK (r, s little-endian). */
export function buildSnpReport(f: SnpReportFields, vcekPrivateKey: KeyObject): Uint8Array {
  const b = new Uint8Array(SNP_REPORT_SIZE);
  const dv = new DataView(b.buffer);
  const put = (off: number, v: Uint8Array, len: number): void => {
    if (v.length !== len)
      throw new RangeError(
        `report field at 0x${off.toString(16)}: expected ${len} bytes, got ${v.length}`,
      );
    b.set(v, off);
  };
  dv.setUint32(OFF.VERSION, f.version, true);
  dv.setUint32(OFF.GUEST_SVN, f.guestSvn, true);
  dv.setBigUint64(OFF.POLICY, f.policy, true);
  put(OFF.FAMILY_ID, f.familyId, 16);
  put(OFF.IMAGE_ID, f.imageId, 16);
  dv.setUint32(OFF.VMPL, f.vmpl, true);
  dv.setUint32(OFF.SIGNATURE_ALGO, 1, true);
  dv.setBigUint64(OFF.CURRENT_TCB, f.currentTcb, true);
  dv.setBigUint64(OFF.PLATFORM_INFO, f.platformInfo, true);
  dv.setUint32(OFF.FLAGS, f.flags, true);
  put(OFF.REPORT_DATA, f.reportData, 64);
  put(OFF.MEASUREMENT, f.measurement, 48);
  put(OFF.HOST_DATA, f.hostData, 32);
  put(OFF.ID_KEY_DIGEST, f.idKeyDigest, 48);
  put(OFF.AUTHOR_KEY_DIGEST, f.authorKeyDigest, 48);
  put(OFF.REPORT_ID, f.reportId, 32);
  put(OFF.REPORT_ID_MA, f.reportIdMa, 32);
  dv.setBigUint64(OFF.REPORTED_TCB, f.reportedTcb, true);
  if (f.version >= 3) {
    b[OFF.CPUID_FAM_ID] = f.cpuid.family;
    b[OFF.CPUID_MOD_ID] = f.cpuid.model;
    b[OFF.CPUID_STEP] = f.cpuid.stepping;
  }
  put(OFF.CHIP_ID, f.chipId, 64);
  dv.setBigUint64(OFF.COMMITTED_TCB, f.committedTcb, true);
  b[OFF.CURRENT_BUILD] = f.currentVersion.build;
  b[OFF.CURRENT_MINOR] = f.currentVersion.minor;
  b[OFF.CURRENT_MAJOR] = f.currentVersion.major;
  b[OFF.COMMITTED_BUILD] = f.committedVersion.build;
  b[OFF.COMMITTED_MINOR] = f.committedVersion.minor;
  b[OFF.COMMITTED_MAJOR] = f.committedVersion.major;
  dv.setBigUint64(OFF.LAUNCH_TCB, f.launchTcb, true);
  if (f.version >= 5) {
    dv.setBigUint64(OFF.LAUNCH_MIT_VECTOR, f.launchMitVector, true);
    dv.setBigUint64(OFF.CURRENT_MIT_VECTOR, f.currentMitVector, true);
  }
  signSnpReport(b, vcekPrivateKey);
  return b;
}

/** (Re-)signs a report in place: ECDSA P-384/SHA-384 over 0x000..0x29F, r and s little-endian in 72-byte fields. */
export function signSnpReport(report: Uint8Array, vcekPrivateKey: KeyObject): void {
  const sig = sign('sha384', report.subarray(0, SNP_SIGNED_LEN), {
    key: vcekPrivateKey,
    dsaEncoding: 'ieee-p1363',
  });
  report.fill(0, OFF.SIGNATURE, SNP_REPORT_SIZE);
  for (let i = 0; i < 48; i++) {
    report[OFF.SIG_R + i] = sig[47 - i]!;
    report[OFF.SIG_S + i] = sig[95 - i]!;
  }
}

const CPUID: Readonly<Record<SnpProduct, { family: number; model: number; stepping: number }>> = {
  milan: { family: 0x19, model: 0x01, stepping: 0x01 },
  genoa: { family: 0x19, model: 0x11, stepping: 0x01 },
  turin: { family: 0x1a, model: 0x02, stepping: 0x01 },
};
const PRODUCT_NAME: Readonly<Record<SnpProduct, string>> = {
  milan: 'Milan-B0',
  genoa: 'Genoa',
  turin: 'Turin',
};
const TITLE: Readonly<Record<SnpProduct, string>> = {
  milan: 'Milan',
  genoa: 'Genoa',
  turin: 'Turin',
};

export interface SimulatedSnpOptions {
  /** Default 'genoa'. */
  readonly product?: SnpProduct;
  /** Launch measurement (48 bytes). Default: SHA-384("teechat simulated guest"). */
  readonly measurement?: Uint8Array;
  readonly hostData?: Uint8Array;
  /** Guest policy. Default 0x30000 (SMT allowed, bit 17, no debug, no migration agent). */
  readonly policy?: bigint;
  readonly vmpl?: number;
  readonly guestSvn?: number;
  /** TCB SPLs (also written into the VCEK). Default bl 9, tee 0, snp 23, microcode 72 (fmc 0 on Turin). */
  readonly tcb?: Omit<Tcb, 'raw'>;
  /** RSA modulus for ARK/ASK. Default 4096 (as AMD). Tests may use 2048 to start faster. */
  readonly rsaBits?: number;
  readonly now?: () => Date;
}

export interface SimulatedSnpChain {
  readonly product: SnpProduct;
  readonly ark: Uint8Array;
  readonly ask: Uint8Array;
  readonly vcek: Uint8Array;
  readonly arkKey: KeyObject;
  readonly askKey: KeyObject;
  readonly vcekKey: KeyObject;
  readonly chipId: Uint8Array;
  readonly arkName: NameSpec;
}

/** The default TCB SPLs (also written into the VCEK). */
const defaultTcb = (product: SnpProduct): Omit<Tcb, 'raw'> => ({
  bl: 9,
  tee: 0,
  // At the default floors (AMD-SB-3023: SNP SPL 0x1b on Milan/Genoa, 0x04 on Turin).
  snp: 27,
  microcode: 72,
  ...(product === 'turin' ? { fmc: 0 } : {}),
});

const amdName = (cn: string): NameSpec => [
  ['OU', 'Engineering'],
  ['C', 'US'],
  ['L', 'Santa Clara'],
  ['ST', 'CA'],
  ['O', 'TEEChat development (SIMULATED, not AMD)'],
  ['CN', cn],
];

/** Generates the simulated ARK → ASK → VCEK chain. */
export async function generateSimulatedSnpChain(
  opts: SimulatedSnpOptions = {},
): Promise<SimulatedSnpChain> {
  const product = opts.product ?? 'genoa';
  const now = (opts.now ?? (() => new Date()))();
  const bits = opts.rsaBits ?? 4096;
  const tcb = opts.tcb ?? defaultTcb(product);
  const [ark, ask, vcek] = await Promise.all([
    genKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 }),
    genKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 }),
    genKeyPair('ec', { namedCurve: 'P-384' }),
  ]);
  const spki = (k: KeyObject): Uint8Array =>
    new Uint8Array(k.export({ type: 'spki', format: 'der' }));
  const skid = (k: KeyObject): Uint8Array =>
    new Uint8Array(createHash('sha1').update(spki(k)).digest());
  const arkName = amdName(`SIMULATED ARK-${TITLE[product]}`);
  const askName = amdName(`SIMULATED SEV-${TITLE[product]}`);
  const day = 86_400_000;
  /** A CA certificate as AMD's ARK / ASK: 25 years, keyCertSign + cRLSign, signed by the ARK. */
  const caCert = (subject: NameSpec, serial: number, key: KeyObject): Uint8Array =>
    buildCertificate({
      subject,
      issuer: arkName,
      serial,
      notBefore: new Date(now.getTime() - day),
      notAfter: new Date(now.getTime() + 25 * 365 * day),
      publicKeyDer: spki(key),
      extensions: [
        ext.keyUsage([5, 6]),
        ext.subjectKeyIdentifier(skid(key)),
        ext.basicConstraints(true),
      ],
      signWith: { keyObject: ark.privateKey, alg: 'rsa-pss-sha384' },
    });
  const arkDer = caCert(arkName, 0x10000, ark.publicKey);
  const askDer = caCert(askName, 0x10001, ask.publicKey);
  const chipId = new Uint8Array(64);
  const hwidLen = product === 'turin' ? 8 : 64;
  chipId.set(randomBytes(hwidLen));
  const vcekDer = buildCertificate({
    subject: amdName('SEV-VCEK'),
    issuer: askName,
    serial: 0, // as AMD's VCEKs
    notBefore: new Date(now.getTime() - day),
    notAfter: new Date(now.getTime() + 7 * 365 * day),
    publicKeyDer: spki(vcek.publicKey),
    extensions: [
      ext.integer(AMD_OID.structVersion, 1),
      ext.ia5(AMD_OID.productName, PRODUCT_NAME[product]),
      ext.integer(AMD_OID.blSpl, tcb.bl),
      ext.integer(AMD_OID.teeSpl, tcb.tee),
      ext.integer(AMD_OID.snpSpl, tcb.snp),
      ext.integer('1.3.6.1.4.1.3704.1.3.4', 0),
      ext.integer('1.3.6.1.4.1.3704.1.3.5', 0),
      ext.integer('1.3.6.1.4.1.3704.1.3.6', 0),
      ext.integer('1.3.6.1.4.1.3704.1.3.7', 0),
      ext.integer(AMD_OID.ucodeSpl, tcb.microcode),
      ...(product === 'turin' ? [ext.integer(AMD_OID.fmcSpl, tcb.fmc ?? 0)] : []),
      ext.raw(AMD_OID.hwid, chipId.subarray(0, hwidLen)),
    ],
    signWith: { keyObject: ask.privateKey, alg: 'rsa-pss-sha384' },
  });
  return {
    product,
    ark: arkDer,
    ask: askDer,
    vcek: vcekDer,
    arkKey: ark.privateKey,
    askKey: ask.privateKey,
    vcekKey: vcek.privateKey,
    chipId,
    arkName,
  };
}

/** A CRL signed by the simulated ARK (for CRL tests). */
export function simulatedArkCrl(
  chain: SimulatedSnpChain,
  revokedSerials: readonly (number | bigint)[],
  now: Date,
): Uint8Array {
  return buildCrl({
    issuer: chain.arkName,
    thisUpdate: new Date(now.getTime() - 3_600_000),
    nextUpdate: new Date(now.getTime() + 7 * 86_400_000),
    revoked: revokedSerials.map((serial) => ({ serial, date: new Date(now.getTime() - 60_000) })),
    signWith: { keyObject: chain.arkKey, alg: 'rsa-pss-sha384' },
  });
}

export class SimulatedSnpProvider implements EvidenceProvider {
  readonly kind = 'sev-snp' as const;
  readonly simulated = true;
  readonly description: string;
  private readonly fields: Omit<SnpReportFields, 'reportData' | 'reportId'>;

  constructor(
    readonly chain: SimulatedSnpChain,
    opts: SimulatedSnpOptions = {},
  ) {
    const p = chain.product;
    const tcb = encodeTcb(opts.tcb ?? defaultTcb(p), p);
    const version = { major: 1, minor: 55, build: 0 };
    this.fields = {
      version: 5,
      guestSvn: opts.guestSvn ?? 0,
      policy: opts.policy ?? 0x30000n,
      familyId: new Uint8Array(16),
      imageId: new Uint8Array(16),
      vmpl: opts.vmpl ?? 0,
      currentTcb: tcb,
      platformInfo: 0x1n,
      flags: 0, // VCEK
      measurement:
        opts.measurement ??
        new Uint8Array(createHash('sha384').update('teechat simulated guest').digest()),
      hostData: opts.hostData ?? new Uint8Array(32),
      idKeyDigest: new Uint8Array(48),
      authorKeyDigest: new Uint8Array(48),
      reportIdMa: new Uint8Array(32).fill(0xff),
      reportedTcb: tcb,
      cpuid: CPUID[p],
      chipId: chain.chipId,
      committedTcb: tcb,
      currentVersion: version,
      committedVersion: version,
      launchTcb: tcb,
      launchMitVector: 0n,
      currentMitVector: 0n,
    };
    this.description = `SIMULATED AMD SEV-SNP (${p}, generated root; development only), measurement ${toHex(this.fields.measurement).slice(0, 16)}…`;
  }

  /** Creates a provider with a freshly generated chain. */
  static async create(opts: SimulatedSnpOptions = {}): Promise<SimulatedSnpProvider> {
    return new SimulatedSnpProvider(await generateSimulatedSnpChain(opts), opts);
  }

  /** The report the "firmware" would produce for this REPORT_DATA. */
  report(reportData: Uint8Array): Uint8Array {
    return buildSnpReport(
      { ...this.fields, reportData, reportId: new Uint8Array(randomBytes(32)) },
      this.chain.vcekKey,
    );
  }

  private crl: { readonly der: Uint8Array; readonly at: number } | undefined;

  /**
   * The ARK-signed CRL stapled to every report (the client requires one): an empty CRL from the
   * simulated ARK, valid 7 days, re-issued daily, as a server stapling AMD KDS's CRL would.
   */
  stapledCrl(now = new Date()): Uint8Array {
    if (this.crl === undefined || now.getTime() - this.crl.at > 86_400_000)
      this.crl = { der: simulatedArkCrl(this.chain, [], now), at: now.getTime() };
    return this.crl.der;
  }

  async collect(binding: BindingValues): Promise<EvidenceItem[]> {
    const parts = new Map<string, Uint8Array>([
      ['report', this.report(binding.cpuReportData)],
      ['vcek', this.chain.vcek],
      ['ask', this.chain.ask],
      ['ark', this.chain.ark],
      ['crl', this.stapledCrl()],
    ]);
    return [{ kind: 'sev-snp', label: '', parts }];
  }
}
