/**
 * The attestation report's "Explain a mismatch" section (extension/report-explain.ts): observed vs
 * expected launch values for SEV-SNP and TDX, and recompute / explain commands that the real CLI
 * accepts (each generated command is run through `teechat measure` / `teechat attest explain`
 * with absent files: it must fail reading a file, never with a usage error).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { explainMeasurements, renderMeasurementExplain, shellQuote } from '../../extension/report-explain';
import { renderAttestationDocument } from '../../extension/attestation-report';
import { verifiedStatus } from '../../extension/status-format';
import type { AttestationView, TrustSettings } from '../../extension/types';
import type { ReleaseSummary } from '../../protocol/attestation/types';
import { measureCommand } from '../../client/cli/measure';
import { measureCommand as releaseMeasureCommand } from '../../extension/attestation-report';
import { explainCommand } from '../../client/cli/measure-explain';
import { MEASUREMENT, fakeView } from '../helpers/fake-session';

const TRUST: TrustSettings = { allowedMeasurements: [], minimumTcb: {}, requireGpuEvidence: true, allowDebug: false, allowSimulated: false };
const CMDLINE = "console=ttyS0 root=/dev/vda1 teechat.model='q4'";
const IMAGE = {
  ovmfSha256: '01'.repeat(32),
  kernelSha256: '02'.repeat(32),
  initrdSha256: '03'.repeat(32),
  cmdline: CMDLINE,
  vcpuShapes: [
    { name: 'qemu-8', vcpus: 8, vcpuType: 'EPYC-v4', vmm: 'qemu', guestFeatures: '0x1' },
    { name: 'gce-4', vcpus: 4, vcpuType: 'EPYC-Milan', vmm: 'gce', guestFeatures: '0x1' },
  ],
};

function release(expected: Record<string, string>, image: ReleaseSummary['image'] = IMAGE): ReleaseSummary {
  return {
    version: '1.4.2',
    manifestSha256: 'ee'.repeat(32),
    source: 'server',
    repository: 'github.com/teechat/teechat',
    commit: 'f'.repeat(40),
    identity: 'https://github.com/teechat/teechat/.github/workflows/release.yml@refs/tags/v1.4.2',
    issuer: 'https://token.actions.githubusercontent.com',
    logIndex: '1',
    signedAt: '2026-12-01T10:00:00.000Z',
    freshAt: '2026-12-01T10:00:00.000Z',
    rollback: 'new',
    previousVersion: null,
    relaxations: [],
    modelSha256: 'ab'.repeat(32),
    modelRef: 'org/model@' + 'a'.repeat(40) + '/m.gguf',
    expected,
    ...(image !== undefined ? { image } : {}),
  };
}

const MRTD = 'a1'.repeat(48);
const R1 = 'b2'.repeat(48);
const R2 = 'c3'.repeat(48);
function tdxView(over: Partial<AttestationView> = {}, ccel = true): AttestationView {
  return fakeView({
    cpuKind: 'TDX',
    measurement: MRTD,
    reports: [{ ok: true, kind: 'tdx', checks: [], fields: { mrtd: MRTD, rtmr1: R1, rtmr2: R2 }, simulated: false }],
    evidence: [{ kind: 'tdx', label: '', parts: new Map(ccel ? [['quote', new Uint8Array(4)], ['ccel', new Uint8Array(4)]] : [['quote', new Uint8Array(4)]]) }],
    ...over,
  });
}

/** POSIX-shell words of a command line made of plain words and single-quoted strings. */
function words(cmd: string): string[] {
  const out: string[] = [];
  const re = /\s*((?:'(?:[^']|'\\'')*'|[^\s'])+)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(cmd)) !== null) {
    out.push(m[1]!.split("'\\''").map((p) => p.replace(/'/g, '')).join("'"));
  }
  return out;
}

async function runCli(cmd: string): Promise<{ code: number; err: string }> {
  const w = words(cmd.replace(/\bRAM\b/, '2G'));
  assert.equal(w[0], 'teechat');
  let err = '';
  const io = { out: (): void => {}, err: (s: string): void => void (err += s) };
  const code = w[1] === 'measure' ? await measureCommand(w.slice(2), io) : await explainCommand(w.slice(3), io);
  return { code, err };
}

describe('report: explain a mismatch', () => {
  test('shell quoting keeps a single quote', () => {
    assert.equal(shellQuote("a'b c"), `'a'\\''b c'`);
    assert.deepEqual(words(`x --append ${shellQuote(CMDLINE)} y`), ['x', '--append', CMDLINE, 'y']);
  });

  test('SNP without any expected value: says so, commands with placeholders', () => {
    const x = explainMeasurements(fakeView(), TRUST)!;
    assert.equal(x.platform, 'SNP');
    assert.deepEqual(x.rows, [{ name: 'snp.measurement', observed: MEASUREMENT, expected: null, source: null, verdict: 'no expected value' }]);
    assert.match(x.commands[0]!.command, /^teechat measure snp --ovmf OVMF\.fd .* --append 'CMDLINE' --vcpus N --vcpu-type TYPE/);
    assert.match(x.notes.join(' '), /No release manifest gives the image inputs/);
  });

  test('SNP with a release: the matching shape fills the vCPU count, type, VMM and command line', async () => {
    const x = explainMeasurements(fakeView({ release: release({ 'snp.launch_digest[qemu-8]': 'dd'.repeat(48), 'snp.launch_digest[gce-4]': MEASUREMENT }) }), TRUST)!;
    assert.deepEqual(x.rows.map((r) => [r.name, r.verdict, r.source]), [
      ['snp.measurement [qemu-8]', 'DIFFERS', 'release v1.4.2'],
      ['snp.measurement [gce-4]', 'same', 'release v1.4.2'],
    ]);
    assert.equal(
      x.commands[0]!.command,
      `teechat measure snp --ovmf OVMF.fd --kernel bzImage --initrd initrd.img --append ${shellQuote(CMDLINE)} --vcpus 4 --vcpu-type EPYC-Milan --vmm-type gce --guest-features 0x1`,
    );
    assert.match(x.commands[1]!.command, new RegExp(`^teechat attest explain --measurement ${MEASUREMENT} --ovmf OVMF\\.fd`));
    assert.deepEqual(x.fileChecks, [`${'01'.repeat(32)}  OVMF.fd`, `${'02'.repeat(32)}  bzImage`, `${'03'.repeat(32)}  initrd.img`]);
    for (const c of x.commands) {
      const r = await runCli(c.command);
      assert.equal(r.code, 1, `${c.command}\n${r.err}`);
      assert.match(r.err, /--ovmf: cannot read "OVMF\.fd"/);
    }
  });

  test('SNP with an allowlisted value that differs: DIFFERS, explain command with the observed value', () => {
    const other = 'ef'.repeat(48);
    const x = explainMeasurements(fakeView(), { ...TRUST, allowedMeasurements: [`0x${other.toUpperCase()}`] })!;
    assert.deepEqual(x.rows, [{ name: 'snp.measurement', observed: MEASUREMENT, expected: other, source: 'teechat.trust.allowedMeasurements', verdict: 'DIFFERS' }]);
  });

  test('TDX with a release: MRTD/RTMR1/RTMR2 rows, expectations on the measure command, the log commands', async () => {
    const v = tdxView({ release: release({ 'tdx.mrtd': MRTD, 'tdx.rtmr1': R1, 'tdx.rtmr2': 'dd'.repeat(48) }) });
    const x = explainMeasurements(v, TRUST)!;
    assert.equal(x.platform, 'TDX');
    assert.deepEqual(x.rows.map((r) => [r.name, r.verdict]), [['tdx.mrtd', 'same'], ['tdx.rtmr1', 'same'], ['tdx.rtmr2', 'DIFFERS']]);
    assert.equal(
      x.commands[0]!.command,
      `teechat measure tdx --tdvf OVMF.fd --kernel bzImage --initrd initrd.img --append ${shellQuote(CMDLINE)} --memory RAM --expect-rtmr1 ${R1} --expect-rtmr2 ${'dd'.repeat(48)}`,
    );
    assert.match(x.commands[1]!.command, /jq -r '\.items\[\] \| select\(\.kind=="tdx"\) \| \.parts\.ccel' evidence\.json > ccel\.b64/);
    assert.equal(x.commands[2]!.command, `teechat attest explain tdx --ccel ccel.b64 --quote quote.b64 --tdvf OVMF.fd --kernel bzImage --initrd initrd.img --append ${shellQuote(CMDLINE)} --memory RAM`);
    for (const c of [x.commands[0]!, x.commands[2]!]) {
      const r = await runCli(c.command);
      assert.equal(r.code, 1, `${c.command}\n${r.err}`);
      assert.match(r.err, /cannot read "(bzImage|OVMF\.fd)"/);
    }
  });

  test('TDX allowlist identity (MRTD ‖ RTMR1 ‖ RTMR2) is split; no CCEL: no log commands, and it says so', () => {
    const x = explainMeasurements(tdxView({}, false), { ...TRUST, allowedMeasurements: [MRTD + 'ff'.repeat(48) + R2] })!;
    assert.deepEqual(x.rows.map((r) => [r.name, r.verdict, r.source]), [
      ['tdx.mrtd', 'same', 'teechat.trust.allowedMeasurements'],
      ['tdx.rtmr1', 'DIFFERS', 'teechat.trust.allowedMeasurements'],
      ['tdx.rtmr2', 'same', 'teechat.trust.allowedMeasurements'],
    ]);
    assert.equal(x.commands.length, 1);
    assert.match(x.commands[0]!.command, /--append 'CMDLINE' --memory RAM --expect-rtmr1 (ff){48} --expect-rtmr2 /);
    assert.match(x.notes.join(' '), /carries no CCEL event log/);
  });

  test('no SNP or TDX report: no section', () => {
    const v = fakeView({ reports: [{ ok: true, kind: 'azure-hcl', checks: [], fields: {}, simulated: false }] });
    assert.equal(explainMeasurements(v, TRUST), null);
    const out: string[] = [];
    renderMeasurementExplain(v, TRUST, out);
    assert.deepEqual(out, []);
  });

  test('the attestation document carries the section after the release section', () => {
    const view = tdxView({ release: release({ 'tdx.mrtd': MRTD, 'tdx.rtmr1': R1, 'tdx.rtmr2': R2 }) });
    const doc = renderAttestationDocument({ status: verifiedStatus(view, [], false), attestation: view, serverUrl: 'ws://h:1', lastError: null }, TRUST, new Date('2026-12-01T12:00:00Z'));
    const at = doc.indexOf('## Explain a mismatch (TDX)');
    assert.ok(at > doc.indexOf('## Release'), doc);
    assert.match(doc, new RegExp(`\\| tdx\\.rtmr1 \\| \`${R1}\` \\| \`${R1}\` \\| release v1\\.4\\.2 \\| same \\|`));
    assert.match(doc, /1\. recompute MRTD, RTMR1 and RTMR2 from the image files:\n\n {3}```sh\n {3}teechat measure tdx --tdvf OVMF\.fd/);
    assert.match(doc, /`sha256sum -c`/);
  });
});

describe("report: the release table's reproduce commands", () => {
  test('every command it offers exists and gets past usage; values no file recomputes get none', async () => {
    const names = ['snp.launch_digest[qemu-8]', 'tdx.mrtd', 'tdx.rtmr1', 'tdx.rtmr2', 'model.sha256', 'azure.pcr4'];
    for (const name of names) {
      const cmd = releaseMeasureCommand(name);
      if (name.startsWith('azure.')) {
        assert.equal(cmd, '', 'vTPM PCRs come from a reference VM: no command is offered');
        continue;
      }
      if (name === 'model.sha256') {
        assert.equal(cmd, 'sha256sum MODEL.gguf');
        continue;
      }
      const r = await runCli(cmd.replace("'…'", "'console=ttyS0'").replace('--vcpus N --vcpu-type T', '--vcpus 1 --vcpu-type EPYC-v4'));
      assert.equal(r.code, 1, `${cmd}\n${r.err}`);
      assert.match(r.err, /cannot read "(OVMF\.fd|bzImage)"/, cmd);
    }
  });
});

