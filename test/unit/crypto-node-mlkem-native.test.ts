/**
 * Native ML-KEM-768 in the Node provider (Node ≥ 24 with OpenSSL ≥ 3.5) must agree with noble byte
 * for byte and verdict for verdict. Under Node 20 the checks run in a child on the Node 24 that the
 * e2e setup installs (scripts/node-versions.json "e2e"); when neither exists the test is skipped
 * visibly. The Node matrix (scripts/test-matrix.sh) also runs it natively on Node 24.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mlkemNativeCalls, nodeKem, nodeProvider } from '../../protocol-node/crypto-node';
import { nobleProvider } from '../../protocol/crypto/noble';
import { ProtocolError } from '../../protocol/errors';
import { NODE_VERSIONS, installedNodePath } from '../helpers/node-versions';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const outcome = (f: () => Uint8Array): string => {
  try {
    return hex(f());
  } catch (e) {
    return e instanceof ProtocolError ? `error ${e.code}` : `non-ProtocolError ${String(e)}`;
  }
};
const here = fileURLToPath(import.meta.url);
const root = join(here, '..', '..', '..');
const node24 = installedNodePath(NODE_VERSIONS.e2e);

if (nodeKem() !== null) {
  const a = nodeProvider.mlkem768;
  const b = nobleProvider.mlkem768;

  test('native ML-KEM-768: encapsulate/decapsulate agree with noble both ways', () => {
    const before = { ...mlkemNativeCalls };
    for (let i = 0; i < 20; i++) {
      const kp = b.keygen();
      const x = a.encapsulate(kp.publicKey); // native
      assert.equal(x.cipherText.length, 1088);
      assert.equal(hex(b.decapsulate(x.cipherText, kp.secretKey)), hex(x.sharedSecret));
      const y = b.encapsulate(kp.publicKey);
      assert.equal(hex(a.decapsulate(y.cipherText, kp.secretKey)), hex(y.sharedSecret)); // native
      // Implicit rejection: a modified ciphertext gives noble's pseudo-random key, not an error.
      const bad = y.cipherText.slice();
      bad[i] = bad[i]! ^ 1;
      assert.equal(hex(a.decapsulate(bad, kp.secretKey)), hex(b.decapsulate(bad, kp.secretKey)));
      assert.notEqual(hex(a.decapsulate(bad, kp.secretKey)), hex(y.sharedSecret));
    }
    // The native path really ran (not a silent fallback to noble).
    assert.equal(mlkemNativeCalls.encapsulate - before.encapsulate, 20);
    assert.equal(mlkemNativeCalls.decapsulate - before.decapsulate, 60);
  });

  test('native ML-KEM-768: seeded (vector) calls and malformed keys give noble’s bytes and errors', () => {
    const kp = b.keygen(new Uint8Array(64).fill(7));
    const seed = new Uint8Array(32).fill(9);
    assert.equal(
      hex(a.encapsulate(kp.publicKey, seed).cipherText),
      hex(b.encapsulate(kp.publicKey, seed).cipherText),
    );
    // Encapsulation key failing the FIPS 203 modulus check (a coefficient 0xfff ≥ q).
    const badEk = kp.publicKey.slice();
    badEk[0] = 0xff;
    badEk[1] = badEk[1]! | 0x0f;
    const enc = (p: typeof a) => () => p.encapsulate(badEk).sharedSecret;
    assert.equal(outcome(enc(a)), outcome(enc(b)));
    assert.match(outcome(enc(a)), /^error bad_key$/);
    // Decapsulation key whose H(ek) does not match (FIPS 203 §7.3 check).
    const badDk = kp.secretKey.slice();
    badDk[2400 - 64] = badDk[2400 - 64]! ^ 1;
    const ct = b.encapsulate(kp.publicKey).cipherText;
    assert.equal(
      outcome(() => a.decapsulate(ct, badDk)),
      outcome(() => b.decapsulate(ct, badDk)),
    );
    // Wrong lengths.
    for (const [f, g] of [
      [
        () => a.encapsulate(kp.publicKey.subarray(1)).sharedSecret,
        () => b.encapsulate(kp.publicKey.subarray(1)).sharedSecret,
      ],
      [
        () => a.decapsulate(ct.subarray(1), kp.secretKey),
        () => b.decapsulate(ct.subarray(1), kp.secretKey),
      ],
      [
        () => a.decapsulate(ct, kp.secretKey.subarray(1)),
        () => b.decapsulate(ct, kp.secretKey.subarray(1)),
      ],
    ] as const)
      assert.equal(outcome(f), outcome(g));
  });
} else if (existsSync(node24) && process.env.TEECHAT_MLKEM_CHILD !== '1') {
  test('native ML-KEM-768 checks under the e2e Node 24 (child process)', () => {
    const r = spawnSync(node24, ['--import', 'tsx', '--test', '--test-reporter=tap', here], {
      cwd: root,
      // Without NODE_TEST_CONTEXT: the child reports as a standalone run (TAP on stdout).
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, TEECHAT_MLKEM_CHILD: '1' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `Node 24 child failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /# pass 2/);
  });
} else {
  test('native ML-KEM-768', (t) => {
    t.skip(
      process.env.TEECHAT_MLKEM_CHILD === '1'
        ? 'this Node has no native ML-KEM-768'
        : `no native ML-KEM-768 here (Node ${process.versions.node}) and no ${node24} (scripts/e2e-setup.sh installs it)`,
    );
  });
}
