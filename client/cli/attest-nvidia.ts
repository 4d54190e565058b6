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
import { readFileSync } from 'node:fs';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { verifyNvidiaEvidence } from '../../protocol/attestation/nvidia/verify';
import { DEFAULT_NVIDIA_POLICY, type NvidiaPolicy } from '../../protocol/attestation/nvidia/policy';
import {
  parseNvidiaReport,
  reportBytesFromInput,
  GET_MEASUREMENTS,
  SPDM_VERSION_1_1,
} from '../../protocol/attestation/nvidia/spdm';
import { STATUS_ENABLED } from '../../protocol/attestation/nvidia/opaque';
import { fromHex, toHex } from '../../protocol/attestation/nvidia/bytes';
import type { Check, EvidenceKind, Fields, FieldValue } from '../../protocol/attestation/types';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const EXIT_ACCEPT = 0;
export const EXIT_REJECT = 1;
export const EXIT_USAGE = 2;

export const NVIDIA_VERIFY_HELP = `Usage: teechat attest verify nvidia --report FILE --chain FILE [options]

Verifies an NVIDIA GPU (H100, Blackwell) or NVSwitch attestation report offline: the SPDM 1.1
GET_MEASUREMENTS report signature (ECDSA P-384) with the leaf key, the 5-certificate chain to the
pinned NVIDIA Device Identity CA, the FWID in the leaf's DICE extension, the request nonce, and —
with RIMs — the signed driver and VBIOS RIMs (XML-DSig, C14N 1.1, chain to the pinned NVIDIA
CoRIM signing Root CA) and every active golden measurement.

Options:
  --report FILE          SPDM request ‖ response (binary or hex text)
  --chain FILE           device certificate chain, leaf first (PEM bundle or concatenated DER)
  --driver-rim FILE      driver RIM (SWID XML); give it together with --vbios-rim
  --vbios-rim FILE       VBIOS RIM (SWID XML)
  --nonce HEX            expected request nonce (32 bytes); without it the nonce is not checked
  --at ISO_TIME          verification time (default: now); pin it for old evidence
  --switch               the report is from an NVSwitch (default: detected from the report)
  --cc FILE              NVML CC status JSON (the evidence part "cc"); enables the CC checks
  --ocsp N=FILE          cached OCSP response (DER or base64) for chain certificate N (0 = leaf);
                         rim.driver.N=FILE / rim.vbios.N=FILE for the RIM chains; repeatable
  --allow-driver VER     allowed driver version (repeatable)
  --allow-vbios VER      allowed VBIOS version (repeatable)
  --min-driver VER       minimum driver version
  --require-rims         reject when RIMs are not given
  --require-cc           reject without a CC status showing CC on
  --require-ocsp         reject without OCSP responses for the chain
  --allow-simulated      accept the simulated roots given with --sim-root / --sim-rim-root
  --sim-root FILE        simulated device root (DER or PEM); development only
  --sim-rim-root FILE    simulated RIM root (DER or PEM); development only
  --json                 print one JSON object
  -h, --help             this help

Exit status: 0 accepted, 1 rejected (also malformed input), 2 usage error.
`;

class UsageError extends Error {}

interface NvidiaArgs {
  report?: string;
  chain?: string;
  driverRim?: string;
  vbiosRim?: string;
  nonce?: Uint8Array;
  at?: Date;
  switch: boolean;
  cc?: string;
  ocsp: [string, string][];
  allowDriver: string[];
  allowVbios: string[];
  minDriver?: string;
  requireRims: boolean;
  requireCc: boolean;
  requireOcsp: boolean;
  allowSimulated: boolean;
  simRoot?: string;
  simRimRoot?: string;
  json: boolean;
  help: boolean;
}

function parseArgs(argv: readonly string[]): NvidiaArgs {
  const a: NvidiaArgs = {
    switch: false,
    ocsp: [],
    allowDriver: [],
    allowVbios: [],
    requireRims: false,
    requireCc: false,
    requireOcsp: false,
    allowSimulated: false,
    json: false,
    help: false,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--'))
      throw new UsageError(`${flag}: expected a value, got ${v === undefined ? 'nothing' : v}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i] ?? '';
    switch (f) {
      case '--report':
        a.report = value(i++, f);
        break;
      case '--chain':
        a.chain = value(i++, f);
        break;
      case '--driver-rim':
        a.driverRim = value(i++, f);
        break;
      case '--vbios-rim':
        a.vbiosRim = value(i++, f);
        break;
      case '--nonce': {
        const v = value(i++, f);
        if (!/^[0-9a-fA-F]{64}$/.test(v))
          throw new UsageError(
            `--nonce: expected 64 hex digits (32 bytes), got ${v.length} characters`,
          );
        a.nonce = fromHex(v.toLowerCase(), '--nonce');
        break;
      }
      case '--at': {
        const v = value(i++, f);
        const d = new Date(v);
        if (Number.isNaN(d.getTime()))
          throw new UsageError(`--at: expected an ISO 8601 time, got ${v}`);
        a.at = d;
        break;
      }
      case '--switch':
        a.switch = true;
        break;
      case '--cc':
        a.cc = value(i++, f);
        break;
      case '--ocsp': {
        const v = value(i++, f);
        const m = /^((?:rim\.(?:driver|vbios)\.)?[0-9])=(.+)$/.exec(v);
        if (m === null)
          throw new UsageError(
            `--ocsp: expected N=FILE or rim.driver.N=FILE / rim.vbios.N=FILE, got ${v}`,
          );
        a.ocsp.push([m[1]!, m[2]!]);
        break;
      }
      case '--allow-driver':
        a.allowDriver.push(value(i++, f));
        break;
      case '--allow-vbios':
        a.allowVbios.push(value(i++, f));
        break;
      case '--min-driver':
        a.minDriver = value(i++, f);
        break;
      case '--require-rims':
        a.requireRims = true;
        break;
      case '--require-cc':
        a.requireCc = true;
        break;
      case '--require-ocsp':
        a.requireOcsp = true;
        break;
      case '--allow-simulated':
        a.allowSimulated = true;
        break;
      case '--sim-root':
        a.simRoot = value(i++, f);
        break;
      case '--sim-rim-root':
        a.simRimRoot = value(i++, f);
        break;
      case '--json':
        a.json = true;
        break;
      case '-h':
      case '--help':
        a.help = true;
        break;
      default:
        throw new UsageError(`unknown option ${f}`);
    }
  }
  if (!a.help) {
    if (a.report === undefined) throw new UsageError('--report: required');
    if (a.chain === undefined) throw new UsageError('--chain: required');
    if ((a.driverRim === undefined) !== (a.vbiosRim === undefined))
      throw new UsageError('--driver-rim and --vbios-rim: give both or neither');
    if ((a.simRoot !== undefined || a.simRimRoot !== undefined) && !a.allowSimulated) {
      throw new UsageError(
        '--sim-root / --sim-rim-root: need --allow-simulated (development only)',
      );
    }
  }
  return a;
}

function readFileOrUsage(path: string, flag: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(
      `${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
}

/** A PEM certificate file → DER (the evidence parts carry DER roots). */
function derOf(b: Uint8Array): Uint8Array {
  const text = Buffer.from(b).toString('latin1');
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
  return m ? new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')) : b;
}

/** DER as is; base64 text (as NVIDIA's OCSP samples are stored) decoded. */
function derOrBase64(b: Uint8Array): Uint8Array {
  if (b.length > 0 && b[0] === 0x30) return b;
  const text = Buffer.from(b).toString('latin1').trim();
  return /^[A-Za-z0-9+/=\s]+$/.test(text) ? new Uint8Array(Buffer.from(text, 'base64')) : b;
}

function renderValue(v: FieldValue): string {
  if (v === null) return '—';
  if (Array.isArray(v)) return v.map((x) => renderValue(x as FieldValue)).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function renderTable(kind: string, ok: boolean, checks: readonly Check[], fields: Fields): string {
  const lines = [`${kind}: ${ok ? 'ACCEPTED' : 'REJECTED'}`, ''];
  for (const c of checks)
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.id.padEnd(24)} ${c.message}`);
  lines.push('');
  for (const [k, v] of Object.entries(fields))
    if (k !== 'opaque') lines.push(`  ${k.padEnd(18)} ${renderValue(v)}`);
  return lines.join('\n') + '\n';
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
    request_nonce: toHex(r.request.nonce),
    responder_nonce: toHex(r.responderNonce),
    measurement_blocks: r.numberOfBlocks,
    trailing_bytes: r.trailingBytes,
    driver_version: o.driverVersion ?? null,
    vbios_version: o.vbiosVersion ?? null,
    chip: o.chipInfo ?? null,
    project: o.project ?? null,
    project_sku: o.projectSku ?? null,
    chip_sku: o.chipSku ?? null,
    fwid: o.fwid ? toHex(o.fwid) : null,
    nvdec0:
      o.nvdec0Status === undefined
        ? null
        : o.nvdec0Status === STATUS_ENABLED
          ? 'enabled'
          : 'disabled',
    protected_pcie:
      o.protectedPcieStatus === undefined ? null : o.protectedPcieStatus === STATUS_ENABLED,
    measurements: Object.fromEntries(r.blocks.map((b) => [String(b.index), toHex(b.value)])),
    opaque: { ...o.display },
  };
}

/** `teechat attest verify nvidia`. Returns the exit status. */
export function attestVerifyNvidia(argv: readonly string[], io: CliIo): number {
  let a: NvidiaArgs;
  try {
    a = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`teechat attest verify nvidia: ${e.message}\n\n${NVIDIA_VERIFY_HELP}`);
      return EXIT_USAGE;
    }
    throw e;
  }
  if (a.help) {
    io.out(NVIDIA_VERIFY_HELP);
    return EXIT_ACCEPT;
  }
  let parts: Map<string, Uint8Array>;
  try {
    parts = new Map<string, Uint8Array>([
      ['report', readFileOrUsage(a.report!, '--report')],
      ['chain', readFileOrUsage(a.chain!, '--chain')],
    ]);
    if (a.driverRim !== undefined)
      parts.set('rim.driver', readFileOrUsage(a.driverRim, '--driver-rim'));
    if (a.vbiosRim !== undefined)
      parts.set('rim.vbios', readFileOrUsage(a.vbiosRim, '--vbios-rim'));
    if (a.cc !== undefined) parts.set('cc', readFileOrUsage(a.cc, '--cc'));
    for (const [n, f] of a.ocsp) parts.set(`ocsp.${n}`, derOrBase64(readFileOrUsage(f, '--ocsp')));
    if (a.simRoot !== undefined)
      parts.set('sim.root', derOf(readFileOrUsage(a.simRoot, '--sim-root')));
    if (a.simRimRoot !== undefined)
      parts.set('sim.rim_root', derOf(readFileOrUsage(a.simRimRoot, '--sim-rim-root')));
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`teechat attest verify nvidia: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  let kind: EvidenceKind = a.switch ? 'nvidia-switch' : 'nvidia-gpu';
  if (!a.switch) {
    try {
      if (showNvidiaReport(parts.get('report')!)['kind'] === 'nvidia-switch')
        kind = 'nvidia-switch';
    } catch {
      // malformed: the verifier reports it as a failed `parse` check
    }
  }
  const policy: NvidiaPolicy = {
    ...DEFAULT_NVIDIA_POLICY,
    allowedDriverVersions: a.allowDriver,
    allowedVbiosVersions: a.allowVbios,
    minDriverVersion: a.minDriver ?? null,
    requireRims: a.requireRims,
    requireSwitchRims: a.requireRims && kind === 'nvidia-switch',
    requireCcMode: a.requireCc || a.cc !== undefined,
    requireOcsp: a.requireOcsp,
    allowSimulated: a.allowSimulated,
  };
  const at = a.at ?? new Date();
  const report = verifyNvidiaEvidence(
    { kind, label: '', parts },
    { crypto: nodeProvider, now: () => at },
    policy,
    a.nonce !== undefined ? { gpuNonce: a.nonce } : undefined,
  );
  if (a.nonce === undefined)
    io.err('note: no --nonce given; the report is not checked for freshness\n');
  if (a.json) {
    io.out(
      JSON.stringify({
        ok: report.ok,
        kind: report.kind,
        checks: report.checks,
        fields: report.fields,
      }) + '\n',
    );
  } else {
    io.out(
      renderTable(
        report.simulated ? `${report.kind} (SIMULATED)` : report.kind,
        report.ok,
        report.checks,
        report.fields,
      ),
    );
  }
  return report.ok ? EXIT_ACCEPT : EXIT_REJECT;
}
