/**
 * `ok` is computed from the checks by one function (protocol/attestation/verdict.ts) for every
 * evidence kind; the client never trusts a stored `ok`: a report with a failing check and
 * `ok: true` is refused, so is one with no checks, and one that says `ok: false` without a failing
 * check gets a failing `verifier.ok` check.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeReport, okFromChecks } from '../../protocol/attestation/verdict';
import type {
  Check,
  EvidenceItem,
  EvidenceKind,
  VerificationReport,
} from '../../protocol/attestation/types';
import { createVerifier, DEFAULT_CLIENT_POLICY, verdictOf } from '../../client/verifier';
import { nodeProvider } from '../../protocol-node/crypto-node';

const pass = (id: string): Check => ({ id, ok: true, message: `${id}: ok` });
const fail = (id: string): Check => ({ id, ok: false, message: `${id}: expected X, got Y` });
const report = (kind: EvidenceKind, ok: boolean, checks: Check[]): VerificationReport => ({
  ok,
  kind,
  label: '',
  checks,
  fields: {},
  simulated: false,
});
const REQ = { cpu: ['sev-snp', 'tdx', 'azure-hcl'] as EvidenceKind[], gpu: false };
const KINDS: EvidenceKind[] = ['sev-snp', 'tdx', 'azure-hcl', 'nvidia-gpu'];

describe('okFromChecks / normalizeReport', () => {
  test('no checks is not ok; one failing check is not ok; all passing is ok', () => {
    assert.equal(okFromChecks([]), false);
    assert.equal(okFromChecks([pass('a'), fail('b')]), false);
    assert.equal(okFromChecks([pass('a'), pass('b')]), true);
  });
  test('a stored ok: true with a failing check, or with no checks, is recomputed as false', () => {
    assert.equal(normalizeReport(report('tdx', true, [pass('sig'), fail('tcb')])).ok, false);
    const empty = normalizeReport(report('tdx', true, []));
    assert.equal(empty.ok, false);
    assert.deepEqual(
      empty.checks.map((c) => c.id),
      ['verifier.checks'],
    );
  });
  test('a stored ok: false with every check passing gets a failing verifier.ok check', () => {
    const r = normalizeReport(report('sev-snp', false, [pass('signature')]));
    assert.equal(r.ok, false);
    assert.match(r.checks.at(-1)!.message, /verifier\.ok: expected ok: true .* got ok: false/);
  });
  test('property: normalizeReport(r).ok is okFromChecks(r.checks) && (r.ok || checks fail)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.boolean(), { maxLength: 6 }), (ok, oks) => {
        const checks = oks.map((o, i) => (o ? pass(`c${i}`) : fail(`c${i}`)));
        const n = normalizeReport(report('tdx', ok, checks));
        assert.equal(n.ok, ok && okFromChecks(checks));
        assert.equal(n.ok, okFromChecks(n.checks));
      }),
    );
  });
});

describe('the client refuses a report with a failing check and ok: true (every evidence kind)', () => {
  test('verdictOf: refused, naming the failing check', () => {
    for (const kind of KINDS) {
      const v = verdictOf(
        [report(kind, true, [pass('signature'), fail('policy.tcb')])],
        { ...REQ, gpu: kind === 'nvidia-gpu' },
        false,
      );
      assert.equal(v.ok, false, kind);
      assert.match(
        v.summary,
        new RegExp(`${kind} rejected \\(policy\\.tcb: policy\\.tcb: expected X, got Y\\)`),
      );
      assert.equal(
        v.reports[0]!.ok,
        false,
        `${kind}: the verdict's report carries the recomputed ok`,
      );
    }
    // The same reports with every check passing are accepted.
    const good = verdictOf([report('tdx', true, [pass('signature')])], REQ, false);
    assert.equal(good.ok, true);
  });
  test('createVerifier: a verifier that returns ok: true with a failing check is refused', async () => {
    for (const kind of KINDS) {
      const lying = (): VerificationReport => report(kind, true, [pass('signature'), fail('tcb')]);
      const verify = createVerifier({
        policy: { ...DEFAULT_CLIENT_POLICY, require: { ...REQ, gpu: false } },
        crypto: nodeProvider,
        allowSimulated: false,
        extra: { [kind]: lying },
      });
      const item: EvidenceItem = { kind, label: '', parts: new Map() };
      const v = await verify([item], {
        cpuReportData: new Uint8Array(64),
        gpuNonce: new Uint8Array(32),
      });
      assert.equal(v.ok, false, kind);
      assert.equal(v.reports[0]!.ok, false, kind);
      assert.match(v.summary, /tcb: tcb: expected X, got Y/);
    }
  });
});
