/**
 * "Explain a mismatch" section of the attestation report: for the session's SEV-SNP or TDX
 * evidence, the observed launch values, the expected ones (signed release manifest, or the user's
 * allowlist), and the exact `teechat measure …` / `teechat attest explain …` commands that
 * recompute them from the image files and name the input that differs. When the release manifest
 * gives the image inputs (command line, vCPU shape, file hashes), they are filled in.
 * Pure: no vscode.
 */
import type { ReleaseImageInputs } from '../protocol/attestation/types';
import type { AttestationView, TrustSettings } from './types';

export type ExplainVerdict = 'same' | 'DIFFERS' | 'no expected value';

export interface ExplainRow {
  /** e.g. "snp.measurement", "tdx.rtmr1". */
  readonly name: string;
  readonly observed: string;
  readonly expected: string | null;
  /** Where the expected value comes from. */
  readonly source: string | null;
  readonly verdict: ExplainVerdict;
}

export interface MeasurementExplain {
  readonly platform: 'SNP' | 'TDX';
  readonly rows: readonly ExplainRow[];
  /** The file hashes the inputs must have (from the release manifest), as `sha256sum` lines. */
  readonly fileChecks: readonly string[];
  /** Commands, in the order to run them, each with what it does. */
  readonly commands: readonly { readonly what: string; readonly command: string }[];
  readonly notes: readonly string[];
}

const HEX96 = /^[0-9a-f]{96}$/;

/** A POSIX shell single-quoted word. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function fieldHex(a: AttestationView, kind: 'sev-snp' | 'tdx', key: string): string {
  const r = a.reports.find((x) => x.kind === kind);
  const v = r?.fields[key];
  return typeof v === 'string' ? v.toLowerCase() : '';
}

function row(name: string, observed: string, expected: string | null, source: string | null): ExplainRow {
  return { name, observed, expected, source, verdict: expected === null ? 'no expected value' : expected === observed ? 'same' : 'DIFFERS' };
}

function vmmFlag(vmm: string): string {
  return vmm.toLowerCase() === 'qemu' ? 'QEMU' : vmm;
}

function fileChecks(img: ReleaseImageInputs | undefined): string[] {
  if (img === undefined) return [];
  return [`${img.ovmfSha256}  OVMF.fd`, `${img.kernelSha256}  bzImage`, `${img.initrdSha256}  initrd.img`];
}

function explainSnp(a: AttestationView, trust: TrustSettings, img: ReleaseImageInputs | undefined): MeasurementExplain {
  const observed = fieldHex(a, 'sev-snp', 'measurement') || a.measurement.toLowerCase();
  const rows: ExplainRow[] = [];
  const release = a.release ?? null;
  const shapes: string[] = [];
  if (release !== null) {
    for (const [name, want] of Object.entries(release.expected)) {
      const m = /^snp\.launch_digest\[(.+)\]$/.exec(name);
      if (m === null) continue;
      rows.push(row(`snp.measurement [${m[1]!}]`, observed, want.toLowerCase(), `release v${release.version}`));
      shapes.push(m[1]!);
    }
  }
  for (const x of trust.allowedMeasurements.map((s) => s.trim().toLowerCase().replace(/^0x/, ''))) {
    if (HEX96.test(x)) rows.push(row('snp.measurement', observed, x, 'teechat.trust.allowedMeasurements'));
  }
  if (rows.length === 0) rows.push(row('snp.measurement', observed, null, null));
  // The shape to reproduce: the one whose expected value the session matches, else the first.
  const matched = rows.find((r) => r.verdict === 'same' && r.name.startsWith('snp.measurement ['));
  const shapeName = matched !== undefined ? /\[(.+)\]$/.exec(matched.name)![1]! : shapes[0];
  const shape = img?.vcpuShapes.find((s) => s.name === shapeName);
  const inputs = [
    '--ovmf OVMF.fd --kernel bzImage --initrd initrd.img',
    `--append ${img !== undefined ? shellQuote(img.cmdline) : "'CMDLINE'"}`,
    shape !== undefined
      ? `--vcpus ${shape.vcpus} --vcpu-type ${shape.vcpuType} --vmm-type ${vmmFlag(shape.vmm)} --guest-features ${shape.guestFeatures}`
      : '--vcpus N --vcpu-type TYPE --vmm-type QEMU --guest-features 0x1',
  ].join(' ');
  const notes: string[] = [];
  if (img === undefined) notes.push('No release manifest gives the image inputs: replace CMDLINE, N and TYPE with the values the operator publishes for this deployment.');
  else if (shape === undefined) notes.push(`The release manifest names no vCPU shape for this value: replace N and TYPE.`);
  return {
    platform: 'SNP',
    rows,
    fileChecks: fileChecks(img),
    commands: [
      { what: 'recompute the expected launch digest from the image files', command: `teechat measure snp ${inputs}` },
      {
        what: 'compare with the observed MEASUREMENT and name the input that differs (vCPU count or type, VMM, guest features, kernel hashes; else the OVMF, kernel, initrd or command line bytes)',
        command: `teechat attest explain --measurement ${observed} ${inputs}`,
      },
    ],
    notes,
  };
}

function explainTdx(a: AttestationView, trust: TrustSettings, img: ReleaseImageInputs | undefined): MeasurementExplain {
  const obs = { mrtd: fieldHex(a, 'tdx', 'mrtd'), rtmr1: fieldHex(a, 'tdx', 'rtmr1'), rtmr2: fieldHex(a, 'tdx', 'rtmr2') };
  const rows: ExplainRow[] = [];
  const release = a.release ?? null;
  const expected: Partial<Record<'mrtd' | 'rtmr1' | 'rtmr2', string>> = {};
  if (release !== null) {
    for (const k of ['mrtd', 'rtmr1', 'rtmr2'] as const) {
      const want = release.expected[`tdx.${k}`];
      if (want !== undefined) {
        expected[k] = want.toLowerCase();
        rows.push(row(`tdx.${k}`, obs[k], want.toLowerCase(), `release v${release.version}`));
      }
    }
  }
  // An allowlisted TDX identity is MRTD ‖ RTMR1 ‖ RTMR2 (‖ MRCONFIGID ‖ MROWNER).
  for (const x of trust.allowedMeasurements.map((s) => s.trim().toLowerCase().replace(/^0x/, ''))) {
    if (!/^[0-9a-f]+$/.test(x) || x.length < 288 || x.length % 96 !== 0) continue;
    (['mrtd', 'rtmr1', 'rtmr2'] as const).forEach((k, i) => {
      const want = x.slice(96 * i, 96 * (i + 1));
      expected[k] ??= want;
      rows.push(row(`tdx.${k}`, obs[k], want, 'teechat.trust.allowedMeasurements'));
    });
  }
  if (rows.length === 0) for (const k of ['mrtd', 'rtmr1', 'rtmr2'] as const) rows.push(row(`tdx.${k}`, obs[k], null, null));
  const boot = `--kernel bzImage --initrd initrd.img --append ${img !== undefined ? shellQuote(img.cmdline) : "'CMDLINE'"} --memory RAM`;
  const expects = (['rtmr1', 'rtmr2'] as const)
    .filter((k) => expected[k] !== undefined)
    .map((k) => ` --expect-${k} ${expected[k]!}`)
    .join('');
  const hasCcel = a.evidence.some((e) => e.kind === 'tdx' && e.parts.has('ccel'));
  const commands = [
    { what: 'recompute MRTD, RTMR1 and RTMR2 from the image files', command: `teechat measure tdx --tdvf OVMF.fd ${boot}${expects}` },
  ];
  if (hasCcel) {
    commands.push(
      {
        what: 'save the TD event log and quote of this session from an evidence export (command "TEEChat: Export Attestation Evidence…" → evidence.json)',
        command: `jq -r '.items[] | select(.kind=="tdx") | .parts.ccel' evidence.json > ccel.b64 && jq -r '.items[] | select(.kind=="tdx") | .parts.quote' evidence.json > quote.b64`,
      },
      {
        what: 'compare MRTD with the TDVF and every RTMR1/RTMR2 event of the log with the inputs, and name the one that differs (TDVF, kernel, memory size or kernel load mode, command line, initrd, firmware boot path)',
        command: `teechat attest explain tdx --ccel ccel.b64 --quote quote.b64 --tdvf OVMF.fd ${boot}`,
      },
    );
  }
  const notes = [
    'RAM is the guest memory given to QEMU -m (e.g. 16G): QEMU patches the initrd address into the kernel header, so the kernel digest depends on it below 2.75 GiB. A firmware from edk2-stable202505 on measures the kernel unpatched: add --kernel-load raw and drop --memory.',
  ];
  if (img === undefined) notes.push('No release manifest gives the image inputs: replace CMDLINE with the command line the operator publishes for this deployment.');
  if (!hasCcel) notes.push('This session\'s TDX evidence carries no CCEL event log: only the recomputed values can be compared.');
  return { platform: 'TDX', rows, fileChecks: fileChecks(img), commands, notes };
}

/** The explanation for the session's CPU evidence, or null when it has no SEV-SNP or TDX report. */
export function explainMeasurements(a: AttestationView, trust: TrustSettings): MeasurementExplain | null {
  const img = a.release?.image;
  if (a.reports.some((r) => r.kind === 'sev-snp')) return explainSnp(a, trust, img);
  if (a.reports.some((r) => r.kind === 'tdx')) return explainTdx(a, trust, img);
  return null;
}

export function renderMeasurementExplain(a: AttestationView, trust: TrustSettings, out: string[]): void {
  const x = explainMeasurements(a, trust);
  if (x === null) return;
  out.push(`## Explain a mismatch (${x.platform})`, '');
  out.push('| value | observed | expected | from | |', '|---|---|---|---|---|');
  for (const r of x.rows) {
    out.push(`| ${r.name} | \`${r.observed || '—'}\` | ${r.expected === null ? '—' : `\`${r.expected}\``} | ${r.source ?? '—'} | ${r.verdict} |`);
  }
  out.push('');
  if (x.fileChecks.length > 0) {
    out.push('Check the image files first (`sha256sum -c` of these lines):', '', '```', ...x.fileChecks, '```', '');
  }
  x.commands.forEach((c, i) => out.push(`${i + 1}. ${c.what}:`, '', '   ```sh', `   ${c.command}`, '   ```', ''));
  for (const n of x.notes) out.push(`- ${n}`);
  if (x.notes.length > 0) out.push('');
}
