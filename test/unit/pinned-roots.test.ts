// The pinned vendor roots ship as DER bytes (protocol/attestation/roots/): each hashes to its
// documented SHA-256 pin, is exactly one certificate that node:crypto reads the same, and the
// protocol parser takes it as-is (no PEM step). Needs nothing from ../shared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { AMD_CA, AMD_PRODUCTS } from '../../protocol/attestation/roots/amd';
import {
  INTEL_SGX_ROOT_CA_DER,
  INTEL_SGX_ROOT_CA_SHA256,
  INTEL_SGX_TCB_SIGNING_DER,
  INTEL_SGX_TCB_SIGNING_SHA256,
} from '../../protocol/attestation/roots/intel';
import {
  NVIDIA_CORIM_ROOT_DER,
  NVIDIA_CORIM_ROOT_SHA256,
  NVIDIA_DEVICE_IDENTITY_ROOT_DER,
  NVIDIA_DEVICE_IDENTITY_ROOT_SHA256,
} from '../../protocol/attestation/roots/nvidia';
import { parseCertificate } from '../../protocol/x509/index';

const roots: [string, Uint8Array, string][] = [
  ...AMD_PRODUCTS.flatMap((p) =>
    (['ark', 'ask', 'asvk'] as const).map((k): [string, Uint8Array, string] => [
      `${p}.${k}`,
      AMD_CA[p][k],
      AMD_CA[p].sha256[k],
    ]),
  ),
  ['intel.root', INTEL_SGX_ROOT_CA_DER, INTEL_SGX_ROOT_CA_SHA256],
  ['intel.tcb_signing', INTEL_SGX_TCB_SIGNING_DER, INTEL_SGX_TCB_SIGNING_SHA256],
  ['nvidia.device', NVIDIA_DEVICE_IDENTITY_ROOT_DER, NVIDIA_DEVICE_IDENTITY_ROOT_SHA256],
  ['nvidia.corim', NVIDIA_CORIM_ROOT_DER, NVIDIA_CORIM_ROOT_SHA256],
];

test('every pinned root is DER that hashes to its documented pin', () => {
  assert.equal(roots.length, 13);
  for (const [name, der, pin] of roots) {
    assert.ok(der instanceof Uint8Array, name);
    assert.equal(der[0], 0x30, `${name}: a DER SEQUENCE`);
    assert.equal(createHash('sha256').update(der).digest('hex'), pin, name);
  }
});

test('node:crypto and the protocol parser read each one as one certificate, byte for byte', () => {
  for (const [name, der] of roots) {
    const node = new X509Certificate(der);
    assert.deepEqual(new Uint8Array(node.raw), der, name);
    const c = parseCertificate(der);
    assert.deepEqual(c.der, der, name);
    assert.equal(c.subject.toString().length > 0, true, name);
  }
});

test('a changed byte breaks the pin (the test can fail)', () => {
  const [, der, pin] = roots[0]!;
  const bad = der.slice();
  bad[bad.length - 1]! ^= 1;
  assert.notEqual(createHash('sha256').update(bad).digest('hex'), pin);
});
