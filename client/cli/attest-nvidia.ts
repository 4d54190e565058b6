/**
 * `teechat attest verify nvidia` and the NVIDIA part of `teechat attest show`.
 *
 *   teechat attest verify nvidia --report FILE --chain FILE [--driver-rim FILE --vbios-rim FILE]
 *       [--nonce HEX] [--at ISO_TIME] [--cc FILE] [--ocsp N=FILE]... [policy flags] [--json]
 *
 * Output contract (shared by every `attest verify` kind): with --json one object
 * {"ok", "kind", "checks": [{"id", "ok", "message"}], "fields"} on stdout; otherwise a table.
 * Exit 0 accepted, 1 rejected (including malformed or truncated input), 2 usage error.
 * Diagnostics go to stderr.
 */
import { nodeProvider } from '../../protocol-node/crypto-node';
import { reportFields, verifyNvidiaEvidence } from '../../protocol/attestation/nvidia/verify';
import { DEFAULT_NVIDIA_POLICY, type NvidiaPolicy } from '../../protocol/attestation/nvidia/policy';
import {
  parseNvidiaReport,
  reportBytesFromInput,
  GET_MEASUREMENTS,
  SPDM_VERSION_1_1,
} from '../../protocol/attestation/nvidia/spdm';
import { fromHex, toHex } from '../../protocol/wire/bytes';
import { mergePolicy } from '../../protocol/attestation/policy';
import { ProtocolError } from '../../protocol/errors';
import { relaxationFromFlags } from '../../protocol/attestation/relax';
import type { EvidenceKind, Fields } from '../../protocol/attestation/types';
import {
  COMMON_HELP,
  UsageError,
  checkRelaxFlags,
  decodeInput,
  emitReport,
  parseJsonOrUsage,
  readFileOrUsage,
  verifyCommand,
} from './attest-common';
import type { CliIo } from './attest-common';

export const NVIDIA_VERIFY_HELP = `Usage: teechat attest verify nvidia --report FILE --chain FILE [options]

Verifies an NVIDIA GPU (H100, Blackwell) or NVSwitch attestation report offline: the SPDM 1.1
GET_MEASUREMENTS report signature (ECDSA P-384) with the leaf key, the 5-certificate chain to the
pinned NVIDIA Device Identity CA, the FWID in the leaf's DICE extension, the request nonce, and —
with RIMs — the signed driver and VBIOS RIMs (XML-DSig, C14N 1.1, chain to the pinned NVIDIA
CoRIM signing Root CA) and every active golden measurement.

Options:
  --report FILE          SPDM request ‖ response (binary, hex or base64 text)
  --chain FILE           device certificate chain, leaf first (PEM bundle or concatenated DER)
  --driver-rim FILE      driver RIM (SWID XML); give it together with --vbios-rim
  --vbios-rim FILE       VBIOS RIM (SWID XML)
  --nonce HEX            expected request nonce (32 bytes; also --expect-report-data); without
                         it the nonce is not checked (a note goes to stderr)
  --switch               the report is from an NVSwitch (default: detected from the report)
  --cc FILE              NVML CC status JSON (the evidence part "cc"); enables the CC checks
  --ocsp N=FILE          cached OCSP response (DER or base64) for chain certificate N (0 = leaf);
                         rim.driver.N=FILE / rim.vbios.N=FILE for the RIM chains; repeatable
  --allow-driver VER     allowed driver version (repeatable)
  --allow-vbios VER      allowed VBIOS version (repeatable)
  --min-driver VER       minimum driver version
  --require-cc           reject without a CC status showing CC on
  --require-switch-rims  NVSwitch: reject when RIMs are not given (NVIDIA publishes none yet)
RIMs (GPUs) and OCSP responses for the device chain (certificates 1..3; the leaf is made by the
device and is not in OCSP) and both RIM chains are REQUIRED; see the relaxations below.
  --sim-root FILE        simulated device root (DER or PEM); needs --allow-simulated
  --sim-rim-root FILE    simulated RIM root (DER or PEM); needs --allow-simulated
  (--policy FILE: its "nvidia" section is merged over the defaults; --allow-debug accepts CC
   devtools mode; --measurement does not apply to GPUs: use RIMs)
${COMMON_HELP}
`;

const SPECIFIC = {
  '--report': 'value',
  '--chain': 'value',
  '--driver-rim': 'value',
  '--vbios-rim': 'value',
  '--nonce': 'value',
  '--switch': 'bool',
  '--cc': 'value',
  '--ocsp': 'multi',
  '--allow-driver': 'multi',
  '--allow-vbios': 'multi',
  '--min-driver': 'value',
  '--require-cc': 'bool',
  '--require-switch-rims': 'bool',
  '--sim-root': 'value',
  '--sim-rim-root': 'value',
} as const;

/** A PEM certificate file → DER (the evidence parts carry DER roots). */
function derOf(b: Uint8Array): Uint8Array {
  const text = Buffer.from(b).toString('latin1');
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
  return m ? new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')) : b;
}

/** True when the bytes look like an NVIDIA SPDM report (binary or hex text). */
export function looksLikeNvidiaReport(b: Uint8Array): boolean {
  if (b.length >= 2 && b[0] === SPDM_VERSION_1_1 && b[1] === GET_MEASUREMENTS) return true;
  const head = Buffer.from(b.subarray(0, 4)).toString('latin1').toLowerCase();
  return head === '11e0';
}

/** Decoded, unverified fields of a report for `teechat attest show`. Throws ProtocolError on malformed input. */
export function showNvidiaReport(raw: Uint8Array): Fields {
  const r = parseNvidiaReport(reportBytesFromInput(raw));
  const o = r.opaque;
  return {
    kind: o.fwid === undefined && o.driverVersion === undefined ? 'nvidia-switch' : 'nvidia-gpu',
    verified: false,
    ...reportFields(r),
    measurements: Object.fromEntries(r.blocks.map((b) => [String(b.index), toHex(b.value)])),
  };
}

/** `teechat attest verify nvidia`. Returns the exit status. */
export function attestVerifyNvidia(argv: readonly string[], io: CliIo): Promise<number> {
  return verifyCommand(io, 'nvidia', NVIDIA_VERIFY_HELP, SPECIFIC, argv, (common, extra) => {
    const one = (f: keyof typeof SPECIFIC): string | undefined => extra.get(f)?.[0];
    const many = (f: keyof typeof SPECIFIC): string[] => extra.get(f) ?? [];
    const reportFile = one('--report');
    const chainFile = one('--chain');
    if (reportFile === undefined) throw new UsageError('--report: required');
    if (chainFile === undefined) throw new UsageError('--chain: required');
    if ((one('--driver-rim') === undefined) !== (one('--vbios-rim') === undefined)) {
      throw new UsageError('--driver-rim and --vbios-rim: give both or neither');
    }
    if (
      (one('--sim-root') !== undefined || one('--sim-rim-root') !== undefined) &&
      !common.allowSimulated
    ) {
      throw new UsageError(
        '--sim-root / --sim-rim-root: need --allow-simulated (development only)',
      );
    }
    if (common.measurements.length > 0)
      throw new UsageError('--measurement: not used for NVIDIA evidence (give the RIMs)');
    const nonceHex = one('--nonce') ?? common.expectReportData;
    if (nonceHex !== undefined && !/^(0x)?[0-9a-fA-F]{64}$/.test(nonceHex)) {
      throw new UsageError(
        `--nonce: expected 64 hex digits (32 bytes), got ${nonceHex.length} characters`,
      );
    }
    const nonce =
      nonceHex === undefined
        ? undefined
        : fromHex(nonceHex.toLowerCase().replace(/^0x/, ''), '--nonce');

    const parts = new Map<string, Uint8Array>([
      ['report', decodeInput(readFileOrUsage(reportFile, '--report'))],
      ['chain', readFileOrUsage(chainFile, '--chain')],
    ]);
    const drv = one('--driver-rim');
    const vb = one('--vbios-rim');
    if (drv !== undefined) parts.set('rim.driver', readFileOrUsage(drv, '--driver-rim'));
    if (vb !== undefined) parts.set('rim.vbios', readFileOrUsage(vb, '--vbios-rim'));
    const cc = one('--cc');
    if (cc !== undefined) parts.set('cc', readFileOrUsage(cc, '--cc'));
    for (const spec of many('--ocsp')) {
      const m = /^((?:rim\.(?:driver|vbios)\.)?[0-9])=(.+)$/.exec(spec);
      if (m === null)
        throw new UsageError(
          `--ocsp: expected N=FILE or rim.driver.N=FILE / rim.vbios.N=FILE, got ${spec}`,
        );
      parts.set(`ocsp.${m[1]!}`, decodeInput(readFileOrUsage(m[2]!, '--ocsp')));
    }
    const simRoot = one('--sim-root');
    const simRimRoot = one('--sim-rim-root');
    if (simRoot !== undefined) parts.set('sim.root', derOf(readFileOrUsage(simRoot, '--sim-root')));
    if (simRimRoot !== undefined)
      parts.set('sim.rim_root', derOf(readFileOrUsage(simRimRoot, '--sim-rim-root')));

    let kind: EvidenceKind = extra.has('--switch') ? 'nvidia-switch' : 'nvidia-gpu';
    if (kind === 'nvidia-gpu') {
      try {
        if (showNvidiaReport(parts.get('report')!)['kind'] === 'nvidia-switch')
          kind = 'nvidia-switch';
      } catch {
        // malformed: the verifier reports it as a failed `parse` check
      }
    }
    // Policy: defaults → --policy's "nvidia" section → flags (flags only add what the user typed).
    let base: NvidiaPolicy = DEFAULT_NVIDIA_POLICY;
    if (common.policyFile !== undefined) {
      const json = parseJsonOrUsage(readFileOrUsage(common.policyFile, '--policy'), '--policy');
      const section =
        typeof json === 'object' && json !== null
          ? (json as Record<string, unknown>)['nvidia']
          : undefined;
      if (section !== undefined) {
        try {
          base = mergePolicy(DEFAULT_NVIDIA_POLICY, section, 'policy.nvidia');
        } catch (e) {
          if (e instanceof ProtocolError) throw new UsageError(`--policy: ${e.message}`);
          throw e;
        }
      }
    }
    checkRelaxFlags(common, ['nvidia']);
    const relax = relaxationFromFlags(common.relax, 'nvidia');
    const policy: NvidiaPolicy = {
      ...base,
      allowedDriverVersions: [...base.allowedDriverVersions, ...many('--allow-driver')],
      allowedVbiosVersions: [...base.allowedVbiosVersions, ...many('--allow-vbios')],
      minDriverVersion: one('--min-driver') ?? base.minDriverVersion,
      // RIMs and OCSP are required (fail closed) unless a relaxation flag or the policy file
      // relaxes them; the CC status is checked when given, required when asked.
      ...relax,
      requireSwitchRims: base.requireSwitchRims || extra.has('--require-switch-rims'),
      requireCcMode:
        extra.has('--require-cc') ||
        cc !== undefined ||
        (common.policyFile !== undefined && base.requireCcMode),
      rejectDevtools: base.rejectDevtools && !common.allowDebug,
      allowSimulated: base.allowSimulated || common.allowSimulated,
    };
    const at = common.at ?? new Date();
    const report = verifyNvidiaEvidence(
      { kind, label: '', parts },
      { crypto: nodeProvider, now: () => at },
      policy,
      nonce !== undefined ? { gpuNonce: nonce } : undefined,
    );
    if (nonce === undefined)
      io.err('note: no --nonce given; the report is not checked for freshness\n');
    return emitReport(io, report, common.json, at);
  });
}
