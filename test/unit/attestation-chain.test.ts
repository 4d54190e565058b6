// chainChecks: checks worded from verifyChain's data (path, root, problems), no text patching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { chainChecks } from '../../protocol/attestation/chain';
import { AMD_CA } from '../../protocol/attestation/roots/amd';
import { certLabel, parsePemOrDer, verifyChain } from '../../protocol/x509/index';

const [ark] = parsePemOrDer(AMD_CA.milan.ark);
const [ask] = parsePemOrDer(AMD_CA.milan.ask);
const [genoaArk] = parsePemOrDer(AMD_CA.genoa.ark);
const at = new Date('2030-01-01T00:00:00Z');

test('a valid chain is one passing check naming the path, the anchor and the time', () => {
  const r = verifyChain(nodeProvider, [ask!], [ark!], at);
  assert.deepEqual(chainChecks(r, at), [
    {
      id: 'cert_chain',
      ok: true,
      message:
        'SEV-Milan <- ARK-Milan (trusted root), 2 certificates valid at 2030-01-01T00:00:00.000Z',
    },
  ]);
  const named = chainChecks(r, at, {
    id: 'pck_chain',
    anchor: (root) => `pinned ${certLabel(root)}`,
    note: '[why]',
  });
  assert.equal(named[0]!.id, 'pck_chain');
  assert.match(named[0]!.message, /^SEV-Milan <- ARK-Milan \(pinned ARK-Milan\), 2 .* \[why\]$/);
});

test('every problem is one failed check, prefixed with the field, the note kept', () => {
  const r = verifyChain(nodeProvider, [ask!], [genoaArk!], at);
  assert.equal(r.root, undefined);
  const checks = chainChecks(r, at, { id: 'rim.driver.cert_chain', note: '[n]' });
  assert.equal(checks.length, r.problems.length);
  assert.ok(checks.length > 0);
  for (const [i, c] of checks.entries()) {
    assert.equal(c.ok, false);
    assert.equal(c.id, 'rim.driver.cert_chain');
    assert.equal(c.message, `rim.driver.cert_chain: ${r.problems[i]} [n]`);
  }
  const field = chainChecks(r, at, { field: 'tcb_signing_chain' });
  assert.equal(field[0]!.id, 'cert_chain');
  assert.match(
    field[0]!.message,
    /^tcb_signing_chain: root: expected a certificate issued by a pinned root/,
  );
});

test('a result without a root fails closed even with no problem listed', () => {
  const checks = chainChecks({ path: [ask!], root: undefined, problems: [] }, at);
  assert.deepEqual(checks, [
    { id: 'cert_chain', ok: false, message: 'cert_chain: root: expected a pinned root, got none' },
  ]);
});
