import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, mergePolicy } from '../../protocol/attestation/policy';
import { ProtocolError } from '../../protocol/errors';

const usage = (f: () => unknown, re: RegExp): void =>
  assert.throws(
    f,
    (e: unknown) => e instanceof ProtocolError && e.code === 'usage' && re.test(e.message),
  );

describe('attestation policy object', () => {
  test('strict defaults', () => {
    assert.equal(DEFAULT_POLICY.allowSimulated, false);
    assert.equal(DEFAULT_POLICY.snp.allowDebug, false);
    assert.equal(DEFAULT_POLICY.snp.allowMigrationAgent, false);
    assert.equal(DEFAULT_POLICY.snp.permitProvisionalFirmware, false);
    assert.deepEqual(JSON.parse(JSON.stringify(DEFAULT_POLICY)), DEFAULT_POLICY, 'plain JSON data');
  });
  test('merges key by key; lists and records replace; the base is not modified', () => {
    const p = mergePolicy(DEFAULT_POLICY, {
      snp: { allowDebug: true, minTcb: { snp: 8 }, measurements: ['AB'.repeat(48)], vmpl: 0 },
      azure: { pcrs: { '7': ['00'.repeat(32)] } },
    });
    assert.equal(p.snp.allowDebug, true);
    assert.equal(p.snp.allowSmt, true);
    assert.deepEqual(p.snp.minTcb, { snp: 8 });
    assert.equal(p.snp.vmpl, 0);
    assert.deepEqual(p.azure.pcrs, { '7': ['00'.repeat(32)] });
    assert.equal(DEFAULT_POLICY.snp.allowDebug, false);
    assert.deepEqual(p.tdx, DEFAULT_POLICY.tdx, 'other sections untouched');
    assert.equal(mergePolicy(DEFAULT_POLICY, undefined), DEFAULT_POLICY);
  });
  test('typos and malformed values are errors, never silently ignored', () => {
    usage(
      () => mergePolicy(DEFAULT_POLICY, { snp: { allowDebugg: true } }),
      /policy\.snp\.allowDebugg: expected one of/,
    );
    usage(
      () => mergePolicy(DEFAULT_POLICY, { snp: { allowDebug: 'yes' } }),
      /expected boolean, got string/,
    );
    usage(
      () => mergePolicy(DEFAULT_POLICY, { snp: { minTcb: { snp: '8' } } }),
      /minTcb: expected an object with bl\/tee/,
    );
    usage(() => mergePolicy(DEFAULT_POLICY, { snp: { minTcb: { sn: 8 } } }), /minTcb/);
    usage(() => mergePolicy(DEFAULT_POLICY, { snp: { minTcb: { snp: 256 } } }), /minTcb/);
    usage(() => mergePolicy(DEFAULT_POLICY, { snp: { measurements: ['abcd'] } }), /48-byte hex/);
    usage(() => mergePolicy(DEFAULT_POLICY, { snp: { vmpl: 4 } }), /null or 0\.\.3/);
    usage(() => mergePolicy(DEFAULT_POLICY, { snp: { hostData: 'zz' } }), /32-byte hex/);
    usage(() => mergePolicy(DEFAULT_POLICY, { snp: { signingKeys: ['VCEK', 'ASK'] } }), /VCEK/);
    usage(() => mergePolicy(DEFAULT_POLICY, { snp: { products: ['rome'] } }), /milan/);
    usage(() => mergePolicy(DEFAULT_POLICY, { snp: { minFirmware: 'latest' } }), /major\.minor/);
    usage(
      () => mergePolicy(DEFAULT_POLICY, { azure: { pcrs: { '24': ['00'.repeat(32)] } } }),
      /"0"\.\."23"/,
    );
    usage(() => mergePolicy(DEFAULT_POLICY, { azure: { pcrs: { '1': '00' } } }), /"0"\.\."23"/);
    usage(
      () => mergePolicy(DEFAULT_POLICY, { azure: { expectedNonce: 'abc' } }),
      /hex of at most 64 bytes/,
    );
    usage(() => mergePolicy(DEFAULT_POLICY, { snp: 3 }), /expected an object/);
    usage(() => mergePolicy(DEFAULT_POLICY, []), /expected an object/);
  });
});
