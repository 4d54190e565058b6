/**
 * `teechat attest explain` / protocol/measure/explain.ts: name the input that makes a recomputed
 * SEV-SNP measurement differ. Expected values come from the published sev-snp-measure digests
 * (tests/test_guest.py @ 8f2b337e38bc83f87cd30f3253cdfe8e3e12cc3a) over ../shared/measure.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainSnpMeasurement } from '../../protocol/measure/explain';
import { vcpuTypeSignature } from '../../protocol/measure/vmsa';
import { SNP_REPORT_SIZE } from '../../protocol/attestation/snp/report';
import { nodeMeasureHash } from '../../client/cli/measure-common';
import { explainCommand } from '../../client/cli/measure-explain';
import { sharedPath, skipUnlessShared } from '../helpers/shared';

const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const skip = skipUnlessShared('measure', 'ovmf_AmdSev_suffix.bin');
// test_snp_with_multiple_vcpus_default: 4 vCPUs, EPYC-v4, features 0x21, kernel/initrd /dev/null, append ''
const D4_21 = '4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942';
// test_snp_gce_with_multiple_vcpus_default: 4 vCPUs, gce, features 0x1, kernel/initrd /dev/null
const GCE4 = '5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d';
// test_snp_without_kernel_feature_snp_only: 1 vCPU, EPYC-v4, features 0x1, no kernel
const NOK = '19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d';

describe('explain an SEV-SNP measurement mismatch', { skip: skip || skipUnlessShared('vectors', 'sev-snp', 'oak', 'turin_oc_report.bin') }, () => {
  if (skip) return;
  const f = sharedPath('measure', 'ovmf_AmdSev_suffix.bin')!;
  const ovmf = new Uint8Array(readFileSync(f));
  const E = new Uint8Array(0);
  const given = { hash: nodeMeasureHash, ovmf, kernel: E, initrd: E, append: '', vcpus: 4, vcpuSig: vcpuTypeSignature('EPYC-v4'), guestFeatures: 0x21n };
  test('the right inputs: match', () => {
    const r = explainSnpMeasurement(unhex(D4_21), given);
    assert.equal(r.match, true);
    assert.deepEqual(r.differences, []);
  });
  test('wrong vCPU count', () => {
    const r = explainSnpMeasurement(unhex(D4_21), { ...given, vcpus: 2 });
    assert.equal(r.match, false);
    assert.deepEqual(r.differences, [{ input: 'vcpus', given: '2', found: '4' }]);
  });
  test('wrong guest features (0x1 vs 0x21)', () => {
    const r = explainSnpMeasurement(unhex(D4_21), { ...given, guestFeatures: 0x1n });
    assert.deepEqual(r.differences, [{ input: 'guestFeatures', given: '0x1', found: '0x21' }]);
  });
  test('wrong vCPU type', () => {
    const r = explainSnpMeasurement(unhex(D4_21), { ...given, vcpuSig: vcpuTypeSignature('EPYC-Milan') });
    assert.deepEqual(r.differences, [{ input: 'vcpuSig', given: '0xa00f11 (EPYC-Milan)', found: '0x800f12 (EPYC)' }]);
  });
  test('wrong VMM type (QEMU given, gce launched) and features together', () => {
    const r = explainSnpMeasurement(unhex(GCE4), given);
    assert.deepEqual(
      r.differences?.map((d) => d.input).sort(),
      ['guestFeatures', 'vmmType'],
    );
    assert.ok(r.differences?.some((d) => d.input === 'vmmType' && d.found === 'gce'));
  });
  test('a kernel given but the launch had no kernel hashes', () => {
    const r = explainSnpMeasurement(unhex(NOK), { ...given, vcpus: 1, guestFeatures: 0x1n });
    assert.deepEqual(r.differences?.map((d) => d.input), ['kernelHashes']);
  });
  test('different kernel bytes: no candidate, says the kernel/initrd/cmdline or OVMF differ', () => {
    const r = explainSnpMeasurement(unhex(D4_21), { ...given, kernel: new Uint8Array([1]) }, { maxVcpus: 8 });
    assert.equal(r.differences, null);
    assert.match(r.verdict, /kernel, initrd or command line/);
  });

  const tmp = mkdtempSync(join(tmpdir(), 'teechat-explain-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const cli = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    assert.deepEqual(args.slice(0, 2), ['attest', 'explain']);
    const code = await explainCommand(args.slice(2), { out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  };
  test('CLI: teechat attest explain --report (measurement at 0x90) / --measurement', async () => {
    // A real report from the vectors with its MEASUREMENT (offset 0x90) replaced (explain does not
    // check the signature; attest verify does).
    const report = new Uint8Array(readFileSync(sharedPath('vectors', 'sev-snp', 'oak', 'turin_oc_report.bin')!));
    assert.equal(report.length, SNP_REPORT_SIZE);
    report.set(unhex(D4_21), 0x90);
    const rp = join(tmp, 'report.bin');
    writeFileSync(rp, report);
    const common = ['--ovmf', f, '--vcpu-type', 'EPYC-v4', '--kernel', '/dev/null', '--guest-features', '0x21'];
    let r = await cli(['attest', 'explain', '--report', rp, '--vcpus', '4', ...common]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /MATCH: the given inputs reproduce/);
    r = await cli(['attest', 'explain', '--measurement', D4_21, '--vcpus', '3', ...common, '--json']);
    assert.equal(r.code, 1, r.err);
    const j = JSON.parse(r.out) as { match: boolean; differences: unknown[] };
    assert.equal(j.match, false);
    assert.deepEqual(j.differences, [{ input: 'vcpus', given: '3', found: '4' }]);
    r = await cli(['attest', 'explain', '--vcpus', '3', ...common]);
    assert.equal(r.code, 2);
    r = await cli(['attest', 'explain', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /Usage: teechat attest explain/);
  });
});
