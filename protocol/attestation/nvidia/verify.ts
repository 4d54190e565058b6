/**
 * NVIDIA GPU / NVSwitch evidence verification: parse → verify → validate (docs/attestation-nvidia.md).
 *
 * Evidence parts (EvidenceItem.parts):
 *   report      SPDM GET_MEASUREMENTS request ‖ MEASUREMENTS response (binary or hex text)
 *   chain       device certificate chain, leaf first (PEM bundle or concatenated DER)
 *   rim.driver  driver RIM (signed SWID XML)          — GPUs
 *   rim.vbios   VBIOS RIM (signed SWID XML)           — GPUs
 *   cc          NVML CC status JSON (cc-status.ts)    — optional
 *   ocsp.<n>    cached DER OCSP response for chain[n], n >= 1 (ocsp.ts) — required unless relaxed
 *   ocsp.rim.driver.<n> / ocsp.rim.vbios.<n>  the same for the RIM signing chains — required unless relaxed
 *   sim.root / sim.rim_root  simulated roots (DER), honoured only under policy.allowSimulated, or
 *                            ignored when equal to a pinned root (compiled-in or injected through
 *                            ctx.trustAnchors: tests and embedders only)
 *
 * Check ids: parse, cert_chain.length, cert_chain, signature, fwid, nonce, rim.driver(.digest|
 * .signature|.cert_chain|.version), rim.vbios(…), rim.overlap, measurements, ocsp.*, policy.*,
 * simulated. Every failure names the field and both values; verification never stops early.
 */
import { okFromChecks } from '../verdict';
import { ProtocolError } from '../../errors';
import type { CryptoProvider } from '../../crypto/provider';
import type {
  BindingValues,
  Check,
  EvidenceItem,
  FieldValue,
  VerificationReport,
  VerifyContext,
} from '../types';
import {
  nameAttr,
  parseCertChain,
  parseCertificate,
  parsePemOrDer,
  type Certificate,
} from '../../x509/index';

/** Moved to protocol/x509 (#17); re-exported for the importers of this module. */
export { parseCertChain };
import { verifyChainCached } from './cache';
import { chainChecks } from '../chain';
import { NVIDIA_CORIM_ROOT_DER, NVIDIA_DEVICE_IDENTITY_ROOT_DER } from '../roots/nvidia';
import { bytesEqual, toHex } from './bytes';
import { parseCcStatus, type CcStatus } from './cc-status';
import { compareMeasurements } from './compare';
import { leafFwid } from './fwid';
import { checkOcspForChain } from './ocsp';
import { FEATURE_MPT, FEATURE_PPCIE, FEATURE_SPT, STATUS_DISABLED, STATUS_ENABLED } from './opaque';
import {
  compareVbiosVersions,
  compareVersions,
  driverFloorAt,
  type NvidiaPolicy,
} from './policy';
import { verifyRim, type Rim } from './rim';
import { relaxationChecks } from '../relax';
import { parseNvidiaReport, reportBytesFromInput, type NvidiaReport } from './spdm';

/** Certificates in an NVIDIA device chain: leaf, BROM, Provisioner ICA, Identity, root. */
export const DEVICE_CHAIN_LEN = 5;

export interface NvidiaVerifyContext extends VerifyContext {
  readonly crypto: CryptoProvider;
}

let pinnedDevice: Certificate[] | undefined;
let pinnedRim: Certificate[] | undefined;
/** The pinned NVIDIA Device Identity CA (parsed once). */
export function nvidiaDeviceRoots(): Certificate[] {
  return (pinnedDevice ??= [parseCertificate(NVIDIA_DEVICE_IDENTITY_ROOT_DER)]);
}
/** The pinned NVIDIA CoRIM signing Root CA (parsed once). */
export function nvidiaRimRoots(): Certificate[] {
  return (pinnedRim ??= [parseCertificate(NVIDIA_CORIM_ROOT_DER)]);
}

function errMsg(e: unknown): string {
  return e instanceof ProtocolError ? e.message : e instanceof Error ? e.message : String(e);
}

function pass(id: string, message: string): Check {
  // Displays print the id beside the message; a passing message need not repeat it.
  return { id, ok: true, message };
}
function failCheck(id: string, message: string): Check {
  return { id, ok: false, message: `${id}: ${message}` };
}

/** Names the root a chain ends in: an injected trust anchor is pinned (not simulated) and said so. */
function anchorName(injected: readonly Certificate[]): (root: Certificate) => string {
  return (root) =>
    injected.some((r) => r === root || bytesEqual(r.der, root.der))
      ? `pinned test root "${root.subject.toString()}", injected trust anchor`
      : 'trusted root';
}

function featureName(f: number | undefined): string | null {
  if (f === undefined) return null;
  return f === FEATURE_SPT
    ? 'SPT'
    : f === FEATURE_MPT
      ? 'MPT'
      : f === FEATURE_PPCIE
        ? 'PPCIE'
        : `0x${f.toString(16)}`;
}

/** True when the signed report says protected PCIe is on (FEATURE_FLAG = PPCIE or PROTECTED_PCIE_STATUS = 0xAA). */
export function reportSaysPpcie(r: NvidiaReport): boolean {
  return r.opaque.featureFlag === FEATURE_PPCIE || r.opaque.protectedPcieStatus === STATUS_ENABLED;
}

/** Report fields shown to the user (also what `teechat attest show` prints, unverified). */
export function reportFields(r: NvidiaReport): Record<string, FieldValue> {
  const o = r.opaque;
  return {
    request_nonce: toHex(r.request.nonce),
    responder_nonce: toHex(r.responderNonce),
    spdm_version: '1.1',
    measurement_blocks: r.numberOfBlocks,
    opaque_length: r.opaqueLength,
    trailing_bytes: r.trailingBytes,
    driver_version: o.driverVersion ?? null,
    vbios_version: o.vbiosVersion ?? null,
    chip: o.chipInfo ?? null,
    project: o.project ?? null,
    project_sku: o.projectSku ?? null,
    chip_sku: o.chipSku ?? null,
    board_id: o.boardId ?? null,
    fwid: o.fwid ? toHex(o.fwid) : null,
    nvdec0:
      o.nvdec0Status === undefined
        ? null
        : o.nvdec0Status === STATUS_ENABLED
          ? 'enabled'
          : 'disabled',
    protected_pcie:
      o.protectedPcieStatus === undefined ? null : o.protectedPcieStatus === STATUS_ENABLED,
    feature_mode: featureName(o.featureFlag),
    ppcie: reportSaysPpcie(r),
    switch_pdis: o.switchPdis ? [...o.switchPdis] : null,
    opaque: { ...o.display },
  };
}

/**
 * Verifies one NVIDIA evidence item. `binding` (the session's GPU nonce) is required for a
 * session; without it (offline CLI inspection) no `nonce` check is made and `fields.nonce_checked`
 * is false. Never throws for malformed evidence: problems become failed checks.
 */
export function verifyNvidiaEvidence(
  item: EvidenceItem,
  ctx: NvidiaVerifyContext,
  policy: NvidiaPolicy,
  binding?: Pick<BindingValues, 'gpuNonce'>,
): VerificationReport {
  const checks: Check[] = [];
  const fields: Record<string, FieldValue> = { kind: item.kind };
  const crypto = ctx.crypto;
  const at = ctx.now();
  fields['verified_at'] = at.toISOString();
  let simulated = false;
  const done = (): VerificationReport => ({
    ok: okFromChecks(checks),
    kind: item.kind,
    label: item.label,
    checks,
    fields,
    simulated,
  });
  if (item.kind !== 'nvidia-gpu' && item.kind !== 'nvidia-switch') {
    checks.push(failCheck('parse', `expected kind nvidia-gpu or nvidia-switch, got ${item.kind}`));
    return done();
  }
  const isSwitch = item.kind === 'nvidia-switch';

  // ---- parse ----
  let report: NvidiaReport;
  const reportPart = item.parts.get('report');
  try {
    if (reportPart === undefined)
      throw new ProtocolError(
        'evidence_missing',
        'report: expected an SPDM report part, got none',
        'report',
      );
    report = parseNvidiaReport(reportBytesFromInput(reportPart));
  } catch (e) {
    checks.push(
      failCheck('parse', `expected a well-formed SPDM GET_MEASUREMENTS report, got ${errMsg(e)}`),
    );
    return done();
  }
  checks.push(
    pass(
      'parse',
      `SPDM 1.1 MEASUREMENTS, ${report.numberOfBlocks} blocks, ${report.opaqueFields.length} opaque fields`,
    ),
  );
  Object.assign(fields, reportFields(report));
  if (
    isSwitch !== (report.opaque.fwid === undefined && report.opaque.driverVersion === undefined)
  ) {
    checks.push(
      failCheck(
        'kind',
        `expected a ${isSwitch ? 'NVSwitch report (no FWID / driver fields)' : 'GPU report (FWID and driver fields)'}, got the other`,
      ),
    );
  }

  let chain: Certificate[] = [];
  const chainPart = item.parts.get('chain');
  try {
    if (chainPart === undefined)
      throw new ProtocolError(
        'evidence_missing',
        'chain: expected a certificate chain part, got none',
        'chain',
      );
    chain = parseCertChain(chainPart);
  } catch (e) {
    checks.push(
      failCheck('cert_chain', `expected a parseable certificate chain, got ${errMsg(e)}`),
    );
  }

  let cc: CcStatus | null = null;
  const ccPart = item.parts.get('cc');
  if (ccPart !== undefined) {
    try {
      cc = parseCcStatus(ccPart);
      fields['cc'] = { ...cc };
    } catch (e) {
      checks.push(failCheck('cc', `expected a valid NVML CC status, got ${errMsg(e)}`));
    }
  }

  // ---- pinned roots: compiled in, plus injected test roots (ctx.trustAnchors; never from
  // settings, config files or flags), treated the same; then simulated roots (development only) ----
  const injectedDevice = (ctx.trustAnchors?.nvidiaDevice ?? []).flatMap((a) => parsePemOrDer(a));
  const injectedRim = (ctx.trustAnchors?.nvidiaRim ?? []).flatMap((a) => parsePemOrDer(a));
  const deviceRoots = [...nvidiaDeviceRoots(), ...injectedDevice];
  const rimRoots = [...nvidiaRimRoots(), ...injectedRim];
  const injectedRoots = [...injectedDevice, ...injectedRim];
  const simRoots: Certificate[] = [];
  for (const [part, roots] of [
    ['sim.root', deviceRoots],
    ['sim.rim_root', rimRoots],
  ] as const) {
    const b = item.parts.get(part);
    if (b === undefined) continue;
    // The evidence's copy of a root that is pinned anyway adds nothing: not a simulated root.
    if (roots.some((r) => bytesEqual(r.der, b))) continue;
    if (!policy.allowSimulated) {
      checks.push(
        failCheck(
          'simulated',
          `expected vendor-rooted evidence or a pinned test root (policy.allowSimulated is false, no injected trust anchor equals it), got a simulated root in part ${part}`,
        ),
      );
      continue;
    }
    try {
      const c = parseCertificate(b);
      roots.push(c);
      simRoots.push(c);
    } catch (e) {
      checks.push(failCheck('simulated', `${part}: ${errMsg(e)}`));
    }
  }

  // ---- verify: chain ----
  if (chain.length > 0) {
    const leaf = chain[0]!;
    fields['leaf_subject'] = leaf.subject.toString();
    fields['chain'] = chain.map((c) => nameAttr(c.subject) ?? c.subject.toString());
    checks.push(
      chain.length === DEVICE_CHAIN_LEN
        ? pass(
            'cert_chain.length',
            `${DEVICE_CHAIN_LEN} certificates (leaf → BROM → Provisioner ICA → Identity → root)`,
          )
        : failCheck(
            'cert_chain.length',
            `expected ${DEVICE_CHAIN_LEN} certificates, got ${chain.length}`,
          ),
    );
    const top = chain[chain.length - 1]!;
    checks.push(
      ...chainChecks(verifyChainCached(crypto, chain, deviceRoots, at), at, {
        anchor: anchorName(injectedRoots),
      }),
    );
    if (
      simRoots.some((s) => bytesEqual(s.der, top.der) || bytesEqual(s.subject.der, top.issuer.der))
    )
      simulated = true;

    // ---- verify: report signature ----
    const key = leaf.publicKey;
    if (key.kind !== 'ec' || key.curve !== 'P-384') {
      checks.push(
        failCheck(
          'signature',
          `expected a P-384 leaf key, got ${key.kind === 'ec' ? key.curve : key.kind}`,
        ),
      );
    } else {
      const ok = crypto.ecdsaVerify(key, 'SHA-384', report.signedBytes, report.signature);
      checks.push(
        ok
          ? pass(
              'signature',
              `ECDSA P-384 over SHA-384(request ‖ response[0:${report.signedBytes.length - 37}]) verifies with "${nameAttr(leaf.subject) ?? ''}"`,
            )
          : failCheck(
              'signature',
              `expected a valid ECDSA P-384 signature by "${nameAttr(leaf.subject) ?? ''}", got invalid`,
            ),
      );
    }

    // ---- verify: FWID ----
    if (report.opaque.fwid === undefined) {
      checks.push(
        isSwitch
          ? pass('fwid', 'skipped: NVSwitch reports carry no FWID')
          : failCheck('fwid', 'expected a FWID opaque field in a GPU report, got none'),
      );
    } else {
      try {
        const lf = leafFwid(leaf);
        if (lf === null)
          checks.push(
            failCheck(
              'fwid',
              `expected a TCG DICE extension on leaf "${nameAttr(leaf.subject) ?? ''}", got none`,
            ),
          );
        else if (!bytesEqual(lf.fwid, report.opaque.fwid)) {
          checks.push(
            failCheck(
              'fwid',
              `expected the report FWID ${toHex(report.opaque.fwid)}, got ${toHex(lf.fwid)} in leaf extension ${lf.oid}`,
            ),
          );
        } else checks.push(pass('fwid', `report FWID equals the leaf's extension ${lf.oid}`));
      } catch (e) {
        checks.push(failCheck('fwid', `expected a well-formed DICE extension, got ${errMsg(e)}`));
      }
    }

    // ---- OCSP for the device chain (required unless relaxed; the leaf is not in OCSP) ----
    const ocspChecks = checkOcspForChain(
      crypto,
      item.parts,
      chain,
      at,
      !policy.allowMissingDeviceOcsp,
      {
        start: 1,
        allowNoNextUpdate: policy.allowOcspWithoutNextUpdate,
        relaxKey: 'allowMissingDeviceOcsp',
      },
    );
    checks.push(...ocspChecks);
  } else {
    checks.push(
      failCheck('signature', 'expected a leaf certificate to verify the report with, got none'),
    );
  }

  // ---- validate: nonce binding ----
  if (binding !== undefined) {
    checks.push(
      bytesEqual(report.request.nonce, binding.gpuNonce)
        ? pass('nonce', 'request nonce equals the session GPU binding value')
        : failCheck(
            'nonce',
            `expected ${toHex(binding.gpuNonce)}, got ${toHex(report.request.nonce)}`,
          ),
    );
  }
  fields['nonce_checked'] = binding !== undefined;

  // ---- verify + validate: RIMs ----
  const needRims = isSwitch ? policy.requireSwitchRims : !policy.allowMissingRims;
  for (const r of relaxationChecks('nvidia', policy)) checks.push(r);
  const rims: { driver: Rim | null; vbios: Rim | null } = { driver: null, vbios: null };
  const rimAbsent: string[] = [];
  for (const which of ['driver', 'vbios'] as const) {
    const id = `rim.${which}`;
    const bytes = item.parts.get(id);
    if (bytes === undefined) {
      rimAbsent.push(id);
      continue;
    }
    const v = verifyRim(
      crypto,
      bytes,
      { roots: rimRoots, at, anchor: anchorName(injectedRoots) },
      id,
    );
    checks.push(...v.checks);
    // Cached OCSP responses for the RIM signing chain: parts `ocsp.rim.<which>.<n>`.
    if (v.chain.length > 0)
      checks.push(
        ...checkOcspForChain(crypto, item.parts, v.chain, at, !policy.allowMissingRimOcsp, {
          prefix: `ocsp.${id}`,
          allowNoNextUpdate: policy.allowOcspWithoutNextUpdate,
          relaxKey: 'allowMissingRimOcsp',
        }),
      );
    rims[which] = v.rim;
    if (v.rim) fields[`${id}.version`] = v.rim.colloquialVersion;
    if (v.chain.length > 0) {
      const top = v.chain[v.chain.length - 1]!;
      if (
        simRoots.some(
          (s) => bytesEqual(s.der, top.der) || bytesEqual(s.subject.der, top.issuer.der),
        )
      )
        simulated = true;
    }
  }
  if (rimAbsent.length === 2) {
    if (needRims) {
      for (const id of rimAbsent)
        checks.push(
          failCheck(
            id,
            `expected a signed RIM part (required; relaxation nvidia.allowMissingRims), got none — refused because it is missing`,
          ),
        );
      checks.push(
        failCheck('measurements', 'expected a comparison with golden values, got no RIMs'),
      );
    }
    fields['measurements'] = 'not compared (no RIMs)';
  } else if (rimAbsent.length === 1) {
    checks.push(
      failCheck(
        rimAbsent[0]!,
        'expected a signed RIM part (driver and VBIOS come together), got none',
      ),
    );
  }
  if (rims.driver && rims.vbios) {
    const cmp = compareMeasurements(report, rims.driver, rims.vbios);
    checks.push(...cmp.checks);
    fields['measurements'] = {
      golden_active: cmp.goldenActive,
      matched: cmp.matched,
      skipped: [...cmp.skipped],
      mismatched: cmp.mismatches.map((m) => `${m.source}:${m.index}`),
    };
  }

  // ---- validate: policy ----
  const drv = report.opaque.driverVersion;
  const vb = report.opaque.vbiosVersion;
  if (policy.allowedDriverVersions.length > 0) {
    const ok = drv !== undefined && policy.allowedDriverVersions.includes(drv);
    checks.push(
      ok
        ? pass('policy.driver_version', `${drv} is allowed`)
        : failCheck(
            'policy.driver_version',
            `expected one of ${policy.allowedDriverVersions.join(', ')}, got ${drv ?? '(none)'}`,
          ),
    );
  }
  if (policy.minDriverVersion !== null && !isSwitch) {
    const cmp = drv === undefined ? null : compareVersions(drv, policy.minDriverVersion);
    const ok = cmp !== null && cmp >= 0;
    checks.push(
      ok
        ? pass('policy.min_driver_version', `${drv} >= ${policy.minDriverVersion}`)
        : failCheck(
            'policy.min_driver_version',
            `expected >= ${policy.minDriverVersion}, got ${drv ?? '(none)'}`,
          ),
    );
  }
  if (!isSwitch) checks.push(driverFloorCheck(policy, drv, at));
  if (policy.minVbiosVersion !== null && !isSwitch) {
    const cmp = vb === undefined ? null : compareVbiosVersions(vb, policy.minVbiosVersion);
    const ok = cmp !== null && cmp >= 0;
    checks.push(
      ok
        ? pass('policy.min_vbios_version', `${vb} >= ${policy.minVbiosVersion}`)
        : failCheck(
            'policy.min_vbios_version',
            `expected >= ${policy.minVbiosVersion}, got ${vb ?? '(none)'}`,
          ),
    );
  }
  if (policy.allowedVbiosVersions.length > 0) {
    const ok =
      vb !== undefined &&
      policy.allowedVbiosVersions.some((v) => v.toLowerCase() === vb.toLowerCase());
    checks.push(
      ok
        ? pass('policy.vbios_version', `${vb} is allowed`)
        : failCheck(
            'policy.vbios_version',
            `expected one of ${policy.allowedVbiosVersions.join(', ')}, got ${vb ?? '(none)'}`,
          ),
    );
  }
  // The SPDM report has no CC-mode or devtools bit: these come from the unsigned NVML status made
  // by the measured server inside the attested CVM. They can only refuse a session (a missing or
  // "off" claim fails), never make one pass: every signed check must pass on its own.
  const UNSIGNED =
    ' [UNSIGNED NVML claim: the signed report has no CC/devtools bit; it can only refuse]';
  if (policy.requireCcMode) {
    checks.push(
      cc === null
        ? failCheck(
            'policy.cc_mode',
            'expected the NVML CC status (part cc) with ccFeature on, got no status',
          )
        : cc.ccFeature === 'on'
          ? pass('policy.cc_mode', `CC feature on${UNSIGNED}`)
          : failCheck('policy.cc_mode', `expected ccFeature on, got ${cc.ccFeature}${UNSIGNED}`),
    );
  }
  if (policy.rejectDevtools && cc === null && policy.requireCcMode) {
    checks.push(
      failCheck(
        'policy.devtools',
        'expected the NVML CC status (part cc) with devToolsMode off, got no status',
      ),
    );
  }
  if (policy.rejectDevtools && cc !== null) {
    checks.push(
      cc.devToolsMode === 'off'
        ? pass('policy.devtools', `developer-tools (debug) mode off${UNSIGNED}`)
        : failCheck(
            'policy.devtools',
            `expected devToolsMode off, got ${cc.devToolsMode}${UNSIGNED}`,
          ),
    );
    if (!simulated) {
      checks.push(
        cc.environment === 'production'
          ? pass('policy.cc_environment', `CC environment production${UNSIGNED}`)
          : failCheck(
              'policy.cc_environment',
              `expected production, got ${cc.environment}${UNSIGNED}`,
            ),
      );
    }
  }
  if (policy.requirePpcieForMultiGpu && !isSwitch && cc !== null && cc.gpuCount > 1) {
    checks.push(
      reportSaysPpcie(report)
        ? pass('policy.ppcie', `protected PCIe on (${cc.gpuCount} GPUs)`)
        : failCheck(
            'policy.ppcie',
            `expected protected PCIe with ${cc.gpuCount} GPUs, got PROTECTED_PCIE_STATUS ${report.opaque.protectedPcieStatus === STATUS_DISABLED ? '0x55' : 'absent'} / FEATURE_FLAG ${featureName(report.opaque.featureFlag) ?? 'absent'}`,
          ),
    );
  }
  fields['simulated'] = simulated;
  if (simulated)
    checks.push(
      pass('simulated', 'chain ends in a SIMULATED development root (policy.allowSimulated)'),
    );
  return done();
}

/**
 * Cross-item rule for the aggregate verdict: with more than one GPU and
 * `policy.requirePpcieForMultiGpu`, every GPU report must say PPCIe is on.
 */
export function checkMultiGpuPpcie(
  reports: readonly VerificationReport[],
  policy: NvidiaPolicy,
): Check | null {
  const gpus = reports.filter((r) => r.kind === 'nvidia-gpu');
  if (!policy.requirePpcieForMultiGpu || gpus.length < 2) return null;
  const off = gpus.filter((r) => r.fields['ppcie'] !== true).map((r) => r.label ?? '?');
  return off.length === 0
    ? {
        id: 'policy.ppcie',
        ok: true,
        message: `policy.ppcie: all ${gpus.length} GPUs report protected PCIe`,
      }
    : {
        id: 'policy.ppcie',
        ok: false,
        message: `policy.ppcie: expected protected PCIe on all ${gpus.length} GPUs, got off on ${off.join(', ')}`,
      };
}

/**
 * `policy.driver_floor`: the signed driver version against NVIDIA's bulletins in force at the
 * verification time (nvidia/policy.ts `driverBulletins`). Refused below the branch floor, on an
 * unfixed or unlisted branch, or without a driver version; passes (saying so) before the first
 * bulletin. Under the relaxation `allowDriverBelowFloor` a refusal becomes a passing check whose
 * message starts with RELAXED and still says what would have been refused.
 */
export function driverFloorCheck(policy: NvidiaPolicy, drv: string | undefined, at: Date): Check {
  const ID = 'policy.driver_floor';
  let refusal: string;
  // No version: judged like a version that does not parse (refused once a bulletin is in force).
  const v = driverFloorAt(policy.driverBulletins, drv ?? '', at);
  if (drv === undefined && v.kind !== 'no-bulletin') {
    refusal = 'expected a signed driver version in the report, got none';
  } else {
    switch (v.kind) {
      case 'no-bulletin':
        return pass(
          ID,
          `${drv ?? '(no driver version)'}: no NVIDIA driver bulletin in the policy is dated on or before ${v.at}: no floor applies`,
        );
      case 'ok':
        return pass(
          ID,
          `branch ${v.branch}: ${drv} >= ${v.floor} (NVIDIA bulletin ${v.floorFrom}; in force: ${v.bulletin.id} of ${v.bulletin.effectiveFrom})`,
        );
      case 'bad-version':
        refusal = `expected a dotted numeric driver version, got ${JSON.stringify(v.version)}`;
        break;
      case 'below':
        refusal = `branch ${v.branch}: expected >= ${v.floor} (NVIDIA bulletin ${v.floorFrom}), got ${drv ?? ''}`;
        break;
      case 'unfixed':
        refusal = `branch ${v.branch}: expected a branch with a fixed release (NVIDIA bulletin ${v.bulletin.id} of ${v.bulletin.effectiveFrom} gives ${v.branch} none), got ${drv ?? ''}`;
        break;
      case 'unlisted':
        refusal = `branch ${v.branch}: expected one of ${v.listed.filter((b) => v.bulletin.floors[b] !== 'unfixed').join(', ')} (NVIDIA bulletin ${v.bulletin.id} of ${v.bulletin.effectiveFrom}), got ${drv ?? ''}`;
        break;
    }
  }
  return policy.allowDriverBelowFloor
    ? pass(ID, `RELAXED nvidia.allowDriverBelowFloor: would refuse: ${refusal}`)
    : failCheck(ID, refusal);
}
