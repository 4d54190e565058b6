/**
 * AMD SEV-SNP verification (signature, certificate chain to the pinned per-product ARK, chip id,
 * TCB, CRL, REPORT_DATA binding); the policy checks are in validate.ts (parse: report.ts). Every check is collected; nothing stops at the first
 * failure. Evidence parts (docs/PROTOCOL.md): `report` (1184 bytes), `vcek` or `vlek` (DER or PEM;
 * a PEM bundle may also carry the ASK/ARK), optionally `ask` / `asvk`, `ark`, `cert_chain` (KDS
 * cert_chain: ASK/ASVK then ARK, PEM), `crl` (the ARK-signed CRL, DER or PEM).
 */
import { okFromChecks } from '../verdict';
import { chainChecks } from '../chain';
import { ProtocolError } from '../../errors';
import type { CryptoProvider } from '../../crypto/provider';
import type {
  BindingValues,
  Check,
  EvidenceItem,
  FieldValue,
  Fields,
  VerificationReport,
  TrustAnchors,
  VerifyContext,
} from '../types';
import type { AttestationPolicy, SnpPolicy } from '../policy';
import {
  bytesEqual,
  fromBase64,
  fromHex,
  isAllZero,
  latin1Decode,
  toHex,
} from '../../asn1/encoding';
import {
  nameAttr,
  parseCertificate,
  parsePemOrDer,
  pemBlocks,
  verifyChain,
} from '../../x509/index';
import type { Certificate } from '../../x509/index';
import { findRevoked, parseCrl, verifyCrlSignedBy } from '../../x509/crl';
import type { Crl } from '../../x509/crl';
import { relaxationChecks } from '../relax';
import { AMD_CA } from '../roots/amd';
import type { AmdProduct } from '../roots/amd';
import {
  PLATFORM_INFO_BIT,
  POLICY_BIT,
  decodeTcb,
  formatTcb,
  parseSnpReport,
  policyBit,
  productFromCpuid,
} from './report';
import type { SnpProduct, SnpReport, Tcb } from './report';
import { amdCertInfo } from './vcek';
import { validateSnpReport } from './validate';
import type { AmdCertInfo } from './vcek';

export interface SnpVerifyContext extends VerifyContext {
  readonly crypto: CryptoProvider;
}

/** Certificates that came with the evidence, sorted by role. */
export interface SnpCertificates {
  readonly leaf?: Certificate;
  readonly intermediate?: Certificate;
  readonly root?: Certificate;
  readonly crl?: Crl;
}

export interface SnpCoreOptions {
  /** Expected REPORT_DATA; null: not checked here (the caller checks it, e.g. Azure runtime claims). */
  readonly expectedReportData: Uint8Array | null;
  /** Whether to emit the `report_data` check (false when the caller owns REPORT_DATA). */
  readonly checkReportData: boolean;
  /** Allowed measurements (hex); overrides policy.snp.measurements (Azure: paravisor list). */
  readonly measurements?: readonly string[];
  /** Field label for the measurement (Azure: "paravisor measurement"). */
  readonly measurementLabel?: string;
}

export interface SnpCoreResult {
  readonly checks: Check[];
  readonly fields: Record<string, FieldValue>;
  readonly simulated: boolean;
  readonly report: SnpReport | null;
}

type Pinned = { readonly ark: Certificate; readonly ask: Certificate; readonly asvk: Certificate };
const pinnedCache = new Map<string, Certificate>();
/**
 * The pinned AMD certificates of a product. Each is parsed on first use only (a cold verification
 * of a VCEK-signed report parses just the ASK), then cached.
 */
export function pinnedAmd(product: AmdProduct): Pinned {
  const get = (k: 'ark' | 'ask' | 'asvk'): Certificate => {
    const key = `${product}.${k}`;
    let c = pinnedCache.get(key);
    if (c === undefined) {
      c = parseCertificate(AMD_CA[product][k]);
      pinnedCache.set(key, c);
    }
    return c;
  };
  return {
    get ark() {
      return get('ark');
    },
    get ask() {
      return get('ask');
    },
    get asvk() {
      return get('asvk');
    },
  };
}

/**
 * The ARKs of a product injected through `VerifyContext.trustAnchors` (tests and embedders only;
 * never from settings, config files or flags). They are pinned roots like the compiled-in ARK.
 */
export function injectedAmdArks(
  anchors: TrustAnchors | undefined,
  product: AmdProduct,
): Certificate[] {
  return (anchors?.amdArk?.[product] ?? []).flatMap((a) => parsePemOrDer(a));
}

/**
 * Chain [leaf, intermediate] to the compiled-in ARK or, failing that, to an injected one (named as
 * a pinned test root in the message; `anchor` is set to it).
 */
function chainToArk(
  crypto: CryptoProvider,
  chain: Certificate[],
  ark: Certificate,
  injected: readonly Certificate[],
  at: Date,
  product: AmdProduct,
): Check[] & { anchor?: Certificate } {
  const res = verifyChain(crypto, chain, [ark], at);
  if (injected.length === 0 || res.problems.length === 0)
    return chainChecks(res, at, { anchor: `pinned ARK-${product}` });
  for (const a of injected) {
    const r = verifyChain(crypto, chain, [a], at);
    if (r.problems.length === 0)
      return Object.assign(
        chainChecks(r, at, {
          anchor: `pinned test root "${a.subject.toString()}" for ARK-${product}, injected trust anchor`,
        }),
        { anchor: a },
      );
  }
  // Neither: report against every pinned root, compiled-in and injected.
  return chainChecks(verifyChain(crypto, chain, [ark, ...injected], at), at);
}

const ok = (id: string, message: string): Check => ({ id, ok: true, message });
const bad = (id: string, message: string): Check => ({ id, ok: false, message });

/** Bytes of a certificate part: DER, PEM, or base64 text. */
function certsOf(part: Uint8Array, name: string): Certificate[] {
  if (part.length > 0 && part[0] === 0x30) return [parseCertificate(part)];
  const text = latin1Decode(part);
  if (text.includes('-----BEGIN')) return parsePemOrDer(text);
  try {
    return [parseCertificate(fromBase64(text, name))];
  } catch {
    throw new ProtocolError(
      'x509_parse',
      `${name}: expected a DER, PEM or base64 certificate, got ${part.length} bytes of something else`,
      name,
    );
  }
}

const isSelfIssued = (c: Certificate): boolean => bytesEqual(c.issuer.der, c.subject.der);

/** Sorts the certificate parts of an SNP evidence item by role. Throws ProtocolError. */
export function collectSnpCertificates(parts: ReadonlyMap<string, Uint8Array>): SnpCertificates {
  let leaf: Certificate | undefined;
  let intermediate: Certificate | undefined;
  let root: Certificate | undefined;
  const extra: Certificate[] = [];
  for (const name of ['vcek', 'vlek']) {
    const p = parts.get(name);
    if (p === undefined) continue;
    const [first, ...rest] = certsOf(p, name);
    leaf ??= first;
    extra.push(...rest);
  }
  for (const name of ['ask', 'asvk', 'ark', 'cert_chain']) {
    const p = parts.get(name);
    if (p !== undefined) extra.push(...certsOf(p, name));
  }
  for (const c of extra) {
    if (isSelfIssued(c)) root ??= c;
    else intermediate ??= c;
  }
  let crl: Crl | undefined;
  const crlPart = parts.get('crl');
  if (crlPart !== undefined) {
    const der =
      crlPart[0] === 0x30
        ? crlPart
        : (pemBlocks(latin1Decode(crlPart), 'X509 CRL')[0] ??
          fromBase64(latin1Decode(crlPart), 'crl'));
    crl = parseCrl(der);
  }
  return {
    ...(leaf !== undefined ? { leaf } : {}),
    ...(intermediate !== undefined ? { intermediate } : {}),
    ...(root !== undefined ? { root } : {}),
    ...(crl !== undefined ? { crl } : {}),
  };
}

function tcbFields(t: Tcb): FieldValue {
  const o: Record<string, FieldValue> = {
    raw: `0x${t.raw.toString(16).padStart(16, '0')}`,
    bl: t.bl,
    tee: t.tee,
    snp: t.snp,
    microcode: t.microcode,
  };
  if (t.fmc !== undefined) o['fmc'] = t.fmc;
  return o;
}

/** The decoded fields of a report (shown by the CLI and the attestation document). */
export function snpReportFields(
  r: SnpReport,
  product: SnpProduct | null,
): Record<string, FieldValue> {
  const p = product ?? 'milan';
  const flag = (bit: number): boolean => policyBit(r.policy, bit);
  return {
    version: r.version,
    product: product ?? 'unknown',
    signing_key: r.signingKey,
    guest_svn: r.guestSvn,
    policy: {
      raw: `0x${r.policy.toString(16)}`,
      abi: `${Number((r.policy >> 8n) & 0xffn)}.${Number(r.policy & 0xffn)}`,
      smt_allowed: flag(POLICY_BIT.SMT),
      migrate_ma: flag(POLICY_BIT.MIGRATE_MA),
      debug: flag(POLICY_BIT.DEBUG),
      single_socket: flag(POLICY_BIT.SINGLE_SOCKET),
    },
    family_id: toHex(r.familyId),
    image_id: toHex(r.imageId),
    vmpl: r.vmpl,
    signature_algo: r.signatureAlgo,
    platform_info: {
      raw: `0x${r.platformInfo.toString(16)}`,
      smt_enabled: ((r.platformInfo >> BigInt(PLATFORM_INFO_BIT.SMT_EN)) & 1n) === 1n,
      tsme_enabled: ((r.platformInfo >> BigInt(PLATFORM_INFO_BIT.TSME_EN)) & 1n) === 1n,
    },
    author_key_en: r.authorKeyEn,
    mask_chip_key: r.maskChipKey,
    report_data: toHex(r.reportData),
    measurement: toHex(r.measurement),
    host_data: toHex(r.hostData),
    id_key_digest: toHex(r.idKeyDigest),
    author_key_digest: toHex(r.authorKeyDigest),
    report_id: toHex(r.reportId),
    report_id_ma: toHex(r.reportIdMa),
    chip_id: toHex(r.chipId),
    cpuid:
      r.cpuid === null
        ? null
        : { family: r.cpuid.family, model: r.cpuid.model, stepping: r.cpuid.stepping },
    current_tcb: tcbFields(decodeTcb(r.currentTcb, p)),
    reported_tcb: tcbFields(decodeTcb(r.reportedTcb, p)),
    committed_tcb: tcbFields(decodeTcb(r.committedTcb, p)),
    launch_tcb: tcbFields(decodeTcb(r.launchTcb, p)),
    current_firmware: `${r.currentVersion.major}.${r.currentVersion.minor}.${r.currentVersion.build}`,
    committed_firmware: `${r.committedVersion.major}.${r.committedVersion.minor}.${r.committedVersion.build}`,
    ...(r.launchMitVector !== null
      ? { launch_mit_vector: `0x${r.launchMitVector.toString(16)}` }
      : {}),
    ...(r.currentMitVector !== null
      ? { current_mit_vector: `0x${r.currentMitVector.toString(16)}` }
      : {}),
  };
}

function certField(c: Certificate): FieldValue {
  return {
    subject: c.subject.toString(),
    issuer: c.issuer.toString(),
    serial: toHex(c.serialNumber),
    not_before: c.notBefore.toISOString(),
    not_after: c.notAfter.toISOString(),
  };
}

const TCB_KEYS = ['bl', 'tee', 'snp', 'microcode', 'fmc'] as const;

/**
 * Verifies and validates one parsed SNP report with its certificates. Used by `verifySnpEvidence`
 * and by the Azure HCL verifier (which owns REPORT_DATA and the measurement meaning).
 */
export function verifySnpCore(
  report: SnpReport,
  certs: SnpCertificates,
  ctx: SnpVerifyContext,
  policy: AttestationPolicy,
  opts: SnpCoreOptions,
): SnpCoreResult {
  const checks: Check[] = [];
  const at = ctx.now();
  const sp: SnpPolicy = policy.snp;
  const leaf = certs.leaf;
  let info: AmdCertInfo | undefined;
  if (leaf !== undefined) {
    try {
      info = amdCertInfo(leaf);
    } catch (e) {
      checks.push(bad('tcb', `VCEK extensions: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  // Product: CPUID (v3+) and the certificate must agree; v2 reports rely on the certificate.
  const cpuProduct = productFromCpuid(report);
  const certProduct = info?.product ?? null;
  let product: SnpProduct | null = cpuProduct ?? certProduct;
  if (cpuProduct !== null && certProduct !== null && cpuProduct !== certProduct) {
    checks.push(
      bad(
        'product',
        `product: expected the certificate's product ${certProduct} to match the report's CPUID product ${cpuProduct}`,
      ),
    );
    product = cpuProduct;
  } else if (product === null) {
    checks.push(
      bad(
        'product',
        `product: expected Milan, Genoa or Turin (CPUID or certificate), got ${report.cpuid === null ? 'no CPUID (v2) and no usable certificate' : `CPUID family 0x${report.cpuid.family.toString(16)} model 0x${report.cpuid.model.toString(16)}`}`,
      ),
    );
  } else {
    checks.push(
      ok(
        'product',
        `product ${product} (${cpuProduct !== null ? 'from CPUID' : 'from the certificate'})`,
      ),
    );
  }

  // Certificate chain: leaf → ASK/ASVK → pinned ARK of the product (compiled in, or injected through
  // ctx.trustAnchors), or a supplied root when simulated roots are allowed.
  let simulated = false;
  /** The pinned ARK the chain ends in when it is an injected one (it then signs the CRL). */
  let injectedArk: Certificate | undefined;
  const keyKind = report.signingKey;
  if (leaf === undefined) {
    checks.push(
      bad(
        'cert_chain',
        `cert_chain: expected a ${keyKind === 'VLEK' ? 'VLEK' : 'VCEK'} certificate in the evidence, got none`,
      ),
    );
  } else if (product !== null) {
    const pinned = pinnedAmd(product);
    const injected = injectedAmdArks(ctx.trustAnchors, product);
    // The evidence's own root is trusted only when it equals a pinned (compiled-in or injected) ARK.
    const suppliedRootUnpinned =
      certs.root !== undefined &&
      certs.root.der !== pinned.ark.der &&
      !bytesEqual(certs.root.der, pinned.ark.der) &&
      !injected.some((a) => bytesEqual(a.der, certs.root!.der));
    if (suppliedRootUnpinned && policy.allowSimulated) {
      simulated = true;
      const chain = certs.intermediate !== undefined ? [leaf, certs.intermediate] : [leaf];
      checks.push(
        ...chainChecks(verifyChain(ctx.crypto, chain, [certs.root!], at), at, {
          anchor: 'SIMULATED root',
          note: '[root supplied by the server, trusted because allowSimulated is set]',
        }),
      );
    } else {
      const pinnedIntermediate = keyKind === 'VLEK' ? pinned.asvk : pinned.ask;
      const intermediate = certs.intermediate ?? pinnedIntermediate;
      // The ASK/ASVK shipped in the code is a trust anchor in its own right (exact DER; its ARK
      // signature is checked by the unit tests), so the chain stops there and saves one RSA-4096
      // verification. Any other intermediate must chain to the pinned ARK.
      const res: Check[] & { anchor?: Certificate } =
        intermediate === pinnedIntermediate || bytesEqual(intermediate.der, pinnedIntermediate.der)
          ? chainChecks(
              verifyChain(ctx.crypto, [leaf, intermediate], [pinnedIntermediate], at),
              at,
              {
                anchor: `pinned ${keyKind === 'VLEK' ? 'ASVK' : 'ASK'}, issued by the pinned ARK-${product}`,
              },
            )
          : chainToArk(ctx.crypto, [leaf, intermediate], pinned.ark, injected, at, product);
      injectedArk = res.anchor;
      if (suppliedRootUnpinned) {
        res.push(
          bad(
            'cert_chain',
            `cert_chain: expected the evidence's root to be the pinned ARK-${product} (sha256 ${AMD_CA[product].sha256.ark.slice(0, 16)}…), got "${certs.root!.subject.toString()}" (simulated roots need allowSimulated, test roots an injected trust anchor)`,
          ),
        );
      }
      checks.push(...res);
    }
    if (
      info !== undefined &&
      keyKind !== 'none' &&
      info.keyType !== 'unknown' &&
      info.keyType !== keyKind
    ) {
      checks.push(
        bad(
          'signature',
          `signing key: expected a ${keyKind} certificate (report SIGNING_KEY), got a ${info.keyType}`,
        ),
      );
    }
  } else {
    checks.push(
      bad(
        'cert_chain',
        'cert_chain: expected a known product to pick the pinned AMD root, got none (see the product check)',
      ),
    );
  }
  // Report signature: ECDSA P-384 / SHA-384 over bytes 0x000..0x29F.
  if (report.signingKey === 'none') {
    checks.push(
      bad('signature', 'signature: expected SIGNING_KEY VCEK or VLEK, got 7 (report not signed)'),
    );
  } else if (report.signatureAlgo !== 1) {
    checks.push(
      bad(
        'signature',
        `signature_algo: expected 1 (ECDSA P-384 with SHA-384), got ${report.signatureAlgo}`,
      ),
    );
  } else if (leaf === undefined) {
    checks.push(bad('signature', 'signature: expected a VCEK/VLEK to verify with, got none'));
  } else if (leaf.publicKey.kind !== 'ec' || leaf.publicKey.curve !== 'P-384') {
    checks.push(
      bad(
        'signature',
        `signature: expected a P-384 ${keyKind} key, got ${leaf.publicKey.kind === 'ec' ? leaf.publicKey.curve : 'RSA'}`,
      ),
    );
  } else {
    const good = ctx.crypto.ecdsaVerify(leaf.publicKey, 'SHA-384', report.signed, report.signature);
    checks.push(
      good
        ? ok('signature', `report signature valid (ECDSA P-384/SHA-384 by the ${keyKind})`)
        : bad(
            'signature',
            `signature: expected a valid ECDSA P-384 signature by the ${keyKind} "${leaf.subject.toString()}", got invalid`,
          ),
    );
  }

  // Chip id vs the VCEK hwID (Turin: 8 bytes = CHIP_ID[0..8], rest zero).
  if (info !== undefined && keyKind === 'VCEK') {
    if (report.maskChipKey) {
      checks.push(
        isAllZero(report.chipId)
          ? ok('chip_id', 'CHIP_ID masked by the guest (MASK_CHIP_ID=1); not compared')
          : bad(
              'chip_id',
              `chip_id: expected zero (MASK_CHIP_ID=1), got ${toHex(report.chipId).slice(0, 32)}…`,
            ),
      );
    } else if (info.hwid === undefined) {
      checks.push(
        bad(
          'chip_id',
          'chip_id: expected the VCEK hwID extension (1.3.6.1.4.1.3704.1.4), got none',
        ),
      );
    } else {
      const n = info.hwid.length;
      const match =
        (n === 64 || n === 8) &&
        bytesEqual(report.chipId.subarray(0, n), info.hwid) &&
        isAllZero(report.chipId.subarray(n));
      checks.push(
        match
          ? ok('chip_id', `CHIP_ID equals the VCEK hwID (${n} bytes)`)
          : bad(
              'chip_id',
              `chip_id: expected the VCEK hwID ${toHex(info.hwid).slice(0, 32)}… (${n} bytes), got ${toHex(report.chipId).slice(0, 32)}…`,
            ),
      );
    }
  } else if (keyKind === 'VLEK') {
    checks.push(ok('chip_id', 'not applicable: VLEK-signed reports are not tied to a chip'));
  }

  // Reported TCB vs the certificate's TCB extensions.
  if (info !== undefined && product !== null) {
    const t = decodeTcb(report.reportedTcb, product);
    const diffs: string[] = [];
    for (const k of TCB_KEYS) {
      const want = info.tcb[k];
      const got = t[k];
      if (want !== undefined && got !== undefined && want !== got)
        diffs.push(`reported_tcb.${k}: expected ${want} (certificate), got ${got}`);
      if (want === undefined && got !== undefined && k !== 'fmc')
        diffs.push(`certificate TCB ${k}: expected an extension, got none`);
    }
    if (product === 'turin' && info.tcb.fmc === undefined)
      diffs.push('certificate TCB fmc: expected an extension (Turin), got none');
    checks.push(
      diffs.length === 0
        ? ok('tcb', `reported TCB ${formatTcb(t)} equals the certificate's`)
        : bad('tcb', diffs.join('; ')),
    );
  }

  // CRL (ARK-signed): required unless policy snp.allowMissingCrl (relax.ts).
  if (certs.crl !== undefined && product !== null) {
    const ark =
      simulated && certs.root !== undefined ? certs.root : (injectedArk ?? pinnedAmd(product).ark);
    const problems: string[] = [];
    if (!verifyCrlSignedBy(ctx.crypto, certs.crl, ark))
      problems.push(
        `crl signature: expected valid by ${nameAttr(ark.subject) ?? 'ARK'}, got invalid`,
      );
    if (certs.crl.thisUpdate.getTime() > at.getTime())
      problems.push(
        `crl thisUpdate: expected <= ${at.toISOString()}, got ${certs.crl.thisUpdate.toISOString()}`,
      );
    if (certs.crl.nextUpdate === undefined)
      problems.push('crl nextUpdate: expected a date, got none (a CRL without one never expires)');
    else if (certs.crl.nextUpdate.getTime() < at.getTime()) {
      problems.push(
        `crl nextUpdate: expected >= ${at.toISOString()}, got ${certs.crl.nextUpdate.toISOString()} (stale)`,
      );
    }
    for (const c of [
      leaf,
      certs.intermediate ?? pinnedAmd(product)[keyKind === 'VLEK' ? 'asvk' : 'ask'],
    ]) {
      if (c === undefined) continue;
      const r = findRevoked(certs.crl, c);
      if (r !== undefined)
        problems.push(
          `${nameAttr(c.subject) ?? 'certificate'} serial ${toHex(c.serialNumber)}: expected not revoked, got revoked on ${r.revocationDate.toISOString()}`,
        );
    }
    checks.push(
      problems.length === 0
        ? ok(
            'crl',
            `CRL signed by the ARK, ${certs.crl.revoked.length} entries, none for this chain`,
          )
        : bad('crl', problems.join('; ')),
    );
  } else if (!sp.allowMissingCrl) {
    checks.push(
      bad(
        'crl',
        'crl: expected an ARK-signed CRL in the evidence (required; relaxation snp.allowMissingCrl), got none — refused because it is missing',
      ),
    );
  }
  for (const r of relaxationChecks('snp', sp)) checks.push(r);

  // ----- validation against the policy (validate.ts) -----
  checks.push(
    ...validateSnpReport(report, sp, {
      product,
      keyKind,
      measurements: opts.measurements ?? sp.measurements,
      measurementLabel: opts.measurementLabel ?? 'measurement',
    }),
  );
  if (opts.checkReportData) {
    const want = opts.expectedReportData;
    if (want === null)
      checks.push(
        ok(
          'report_data',
          `REPORT_DATA ${toHex(report.reportData).slice(0, 32)}… (not checked: no expected value given)`,
        ),
      );
    else
      checks.push(
        bytesEqual(report.reportData, want)
          ? ok('report_data', 'REPORT_DATA equals the expected binding value')
          : bad(
              'report_data',
              `report_data: expected ${toHex(want)}, got ${toHex(report.reportData)}`,
            ),
      );
  }

  const fields: Record<string, FieldValue> = snpReportFields(report, product);
  if (leaf !== undefined) fields['certificate'] = certField(leaf);
  if (info?.hwid !== undefined) fields['cert_hwid'] = toHex(info.hwid);
  if (info?.productName !== undefined) fields['cert_product_name'] = info.productName;
  if (simulated) fields['simulated'] = true;
  return { checks, fields, simulated, report };
}

/** The expected REPORT_DATA: the handshake binding, else the policy's expectedReportData. */
function expectedReportData(
  policy: AttestationPolicy,
  binding: BindingValues | undefined,
): Uint8Array | null {
  if (binding !== undefined) return binding.cpuReportData;
  if (policy.snp.expectedReportData !== null) {
    // the policy grammar allows a 0x prefix (policy.ts); the decoder is strict hex
    const v = fromHex(
      policy.snp.expectedReportData.replace(/^0x/, ''),
      'policy.snp.expectedReportData',
    );
    if (v.length > 64)
      throw new ProtocolError(
        'usage',
        `policy.snp.expectedReportData: expected at most 64 bytes, got ${v.length}`,
        'policy.snp.expectedReportData',
      );
    const out = new Uint8Array(64);
    out.set(v);
    return out;
  }
  return null;
}

/**
 * Verifies an `sev-snp` evidence item for the handshake (or the CLI). Never throws for
 * attacker-controlled input: malformed evidence becomes a failed `parse` check.
 */
export function verifySnpEvidence(
  item: EvidenceItem,
  ctx: SnpVerifyContext,
  policy: AttestationPolicy,
  binding?: BindingValues,
): VerificationReport {
  const base = { kind: item.kind, ...(item.label !== '' ? { label: item.label } : {}) };
  const reportBytes = item.parts.get('report');
  if (reportBytes === undefined) {
    return {
      ...base,
      ok: false,
      checks: [bad('parse', 'report: expected an SNP ATTESTATION_REPORT part, got none')],
      fields: {},
      simulated: false,
    };
  }
  let report: SnpReport;
  let certs: SnpCertificates;
  try {
    report = parseSnpReport(reportBytes);
  } catch (e) {
    return {
      ...base,
      ok: false,
      checks: [bad('parse', e instanceof Error ? e.message : String(e))],
      fields: {},
      simulated: false,
    };
  }
  try {
    certs = collectSnpCertificates(item.parts);
  } catch (e) {
    const fields = snpReportFields(report, productFromCpuid(report));
    return {
      ...base,
      ok: false,
      checks: [bad('cert_chain', `certificates: ${e instanceof Error ? e.message : String(e)}`)],
      fields,
      simulated: false,
    };
  }
  const res = verifySnpCore(report, certs, ctx, policy, {
    expectedReportData: expectedReportData(policy, binding),
    checkReportData: true,
  });
  return {
    ...base,
    ok: okFromChecks(res.checks),
    checks: res.checks,
    fields: res.fields as Fields,
    simulated: res.simulated,
  };
}
