/**
 * snp/validate.ts on its own (parse → validate, no signature or chain): each small check on the
 * genuine go-sev-guest Milan report (policy 0xB0000: DEBUG allowed; TCB SNP SPL 5 < AMD-SB-3023's
 * 0x1b) passes or fails for the reason it names; validateSnpReport runs them in a fixed order.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseSnpReport } from '../../protocol/attestation/snp/report';
import {
  checkAbi,
  checkDebug,
  checkMeasurement,
  checkMinTcb,
  checkProduct,
  checkReservedPolicyBits,
  checkSigningKey,
  validateSnpReport,
} from '../../protocol/attestation/snp/validate';
import { DEFAULT_SNP_POLICY, type SnpPolicy } from '../../protocol/attestation/policy';
import { readShared, skipUnlessShared } from '../helpers/shared';

const skip = skipUnlessShared('vectors', 'sev-snp');
const report = () =>
  parseSnpReport(
    new Uint8Array(readShared('vectors', 'sev-snp', 'go-sev-guest', 'attestation.bin')),
  );
const MEAS =
  'b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01';

describe('SNP validate: small checks on a genuine report', { skip }, () => {
  test('debug: refused by default, accepted with allowDebug', () => {
    const r = report();
    assert.equal(checkDebug(r, DEFAULT_SNP_POLICY).ok, false);
    assert.match(checkDebug(r, DEFAULT_SNP_POLICY).message, /^policy\.DEBUG: expected 0/);
    assert.equal(checkDebug(r, { ...DEFAULT_SNP_POLICY, allowDebug: true }).ok, true);
  });

  test('min TCB: the AMD-SB-3023 floor refuses it, naming component and both values', () => {
    const r = report();
    const c = checkMinTcb(r, DEFAULT_SNP_POLICY, 'milan')!;
    assert.equal(c.ok, false);
    assert.match(c.message, /reported_tcb\.snp: expected >= 27, got \d+/);
    assert.equal(checkMinTcb(r, { ...DEFAULT_SNP_POLICY, minTcbByProduct: {} }, 'milan')!.ok, true);
    assert.equal(checkMinTcb(r, DEFAULT_SNP_POLICY, null), null);
  });

  test('measurement, product, signing key, reserved bits, ABI', () => {
    const r = report();
    assert.equal(checkMeasurement(r, [MEAS], 'measurement').ok, true);
    assert.equal(checkMeasurement(r, ['00'.repeat(48)], 'measurement').ok, false);
    assert.equal(checkProduct({ ...DEFAULT_SNP_POLICY, products: ['genoa'] }, 'milan')!.ok, false);
    assert.equal(
      checkSigningKey({ ...DEFAULT_SNP_POLICY, signingKeys: ['VLEK'] }, 'VCEK')!.ok,
      false,
    );
    assert.equal(checkSigningKey(DEFAULT_SNP_POLICY, 'none'), null);
    assert.equal(checkReservedPolicyBits(r).ok, true);
    assert.equal(r.version >= 3 ? checkAbi(r) !== null : checkAbi(r) === null, true);
  });

  test('validateSnpReport: fixed order, only the failures the policy implies', () => {
    const r = report();
    const sp: SnpPolicy = { ...DEFAULT_SNP_POLICY, minTcbByProduct: {} };
    const checks = validateSnpReport(r, sp, {
      product: 'milan',
      keyKind: 'VCEK',
      measurements: [],
      measurementLabel: 'measurement',
    });
    assert.deepEqual(
      checks.filter((c) => !c.ok).map((c) => c.id),
      ['policy.debug'],
    );
    const ids = checks.map((c) => c.id);
    assert.ok(ids.indexOf('policy.debug') < ids.indexOf('policy.min_tcb'));
    assert.ok(ids.indexOf('measurement') < ids.indexOf('policy.product'));
  });
});
