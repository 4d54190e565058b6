/**
 * The identity that names the code (protocol/attestation/identity.ts): TDX = MRTD ‖ RTMR1 ‖ RTMR2
 * (‖ MRCONFIGID ‖ MROWNER when set), Azure = vTPM PCRs (never the paravisor measurement), and the
 * extension's trust decision compares that identity, so a TD with the same firmware but another
 * kernel is not "known".
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { codeIdentity, unpinnedBy } from '../../protocol/attestation/identity';
import type { VerificationReport } from '../../protocol/attestation/types';
import { DEFAULT_POLICY } from '../../protocol/attestation/policy';
import { verifyTdxEvidence } from '../../protocol/attestation/tdx/verify';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { decideTrust, MemoryMeasurementStore } from '../../extension/trust';
import { fakeView } from '../helpers/fake-session';
import { sharedPath, skipUnlessShared } from '../helpers/shared';
import { STRICT_TRUST } from '../helpers/fake-session';

const rep = (kind: string, fields: Record<string, unknown>): VerificationReport =>
  ({ ok: true, kind, label: '', checks: [], simulated: false, fields }) as VerificationReport;
const H = (b: string): string => b.repeat(48);
const Z = H('00');

describe('codeIdentity', () => {
  test('SEV-SNP: the MEASUREMENT', () => {
    assert.deepEqual(codeIdentity(rep('sev-snp', { measurement: H('AB') })), {
      kind: 'sev-snp',
      id: H('ab'),
      names: ['MEASUREMENT'],
    });
  });
  test('TDX: MRTD ‖ RTMR1 ‖ RTMR2; MRCONFIGID ‖ MROWNER only when either is set', () => {
    const f = {
      mrtd: H('a1'),
      rtmr1: H('b1'),
      rtmr2: H('c1'),
      rtmr0: H('ff'),
      mrconfigid: Z,
      mrowner: Z,
    };
    const i = codeIdentity(rep('tdx', f));
    assert.equal(i.id, H('a1') + H('b1') + H('c1'));
    assert.deepEqual(i.names, ['MRTD', 'RTMR1', 'RTMR2']);
    const j = codeIdentity(rep('tdx', { ...f, mrowner: H('d1') }));
    assert.equal(j.id, H('a1') + H('b1') + H('c1') + Z + H('d1'));
    assert.deepEqual(j.names, ['MRTD', 'RTMR1', 'RTMR2', 'MRCONFIGID', 'MROWNER']);
    // Another kernel (RTMR1) under the same firmware (MRTD) is another identity.
    assert.notEqual(codeIdentity(rep('tdx', { ...f, rtmr1: H('b2') })).id, i.id);
    assert.equal(codeIdentity(rep('tdx', { mrtd: H('a1') })).id, null);
  });
  test('Azure: the quoted vTPM PCRs (policy-named ones when given), never the paravisor measurement', () => {
    const f = {
      snp: { measurement: H('ee') },
      pcrs: { '11': '0b'.repeat(32), '4': '04'.repeat(32), '7': '07'.repeat(32) },
    };
    const all = codeIdentity(rep('azure-hcl', f));
    assert.equal(all.id, '04'.repeat(32) + '07'.repeat(32) + '0b'.repeat(32));
    assert.deepEqual(all.names, ['PCR4', 'PCR7', 'PCR11']);
    assert.ok(!all.id!.includes(H('ee')));
    assert.equal(codeIdentity(rep('azure-hcl', f), ['11']).id, '0b'.repeat(32));
    assert.equal(codeIdentity(rep('azure-hcl', f), ['12']).id, null, 'a named PCR not quoted');
    assert.equal(codeIdentity(rep('azure-hcl', { snp: { measurement: H('ee') } })).id, null);
  });
  test('property: the TDX identity is the exact concatenation, so any changed byte changes it', () => {
    const h48 = fc
      .uint8Array({ minLength: 48, maxLength: 48 })
      .map((b) => Buffer.from(b).toString('hex'));
    fc.assert(
      fc.property(h48, h48, h48, h48, (a, b, c, d) => {
        const id = codeIdentity(
          rep('tdx', { mrtd: a, rtmr1: b, rtmr2: c, mrconfigid: Z, mrowner: Z }),
        ).id;
        assert.equal(id, a + b + c);
        if (d !== b)
          assert.notEqual(codeIdentity(rep('tdx', { mrtd: a, rtmr1: d, rtmr2: c })).id, id);
      }),
    );
  });
});

describe('unpinnedBy (real TDX quote)', { skip: skipUnlessShared() }, () => {
  test('the identity of a genuine quote is its MRTD ‖ RTMR1 ‖ RTMR2; pinning MRTD alone is not enough', () => {
    const q = new Uint8Array(
      readFileSync(sharedPath('vectors', 'tdx/go-tdx-guest/quote_v5_sample.dat')!),
    );
    const r = verifyTdxEvidence(
      { kind: 'tdx', label: '', parts: new Map([['quote', q]]) },
      { crypto: nodeProvider, now: () => new Date('2026-03-20T00:00:00Z') },
      DEFAULT_POLICY,
    );
    const f = r.fields as Record<string, string>;
    const id = codeIdentity(r);
    assert.equal(id.id, f['mrtd']! + f['rtmr1']! + f['rtmr2']!);
    const mrtdOnly = { ...DEFAULT_POLICY, tdx: { ...DEFAULT_POLICY.tdx, mrtd: [f['mrtd']!] } };
    assert.match(unpinnedBy(r, mrtdOnly) ?? '', /"tdx\.rtmr"\[1\], "tdx\.rtmr"\[2\]/);
    const full = {
      ...mrtdOnly,
      tdx: { ...mrtdOnly.tdx, rtmr: [[], [f['rtmr1']!], [f['rtmr2']!]] },
    };
    assert.equal(unpinnedBy(r, full), null);
  });
});

describe('extension trust decision compares the identity', () => {
  const TRUST = STRICT_TRUST;
  test('TDX: same MRTD, another RTMR1 → asked again, not "known"; Azure without PCRs → refused', async () => {
    const store = new MemoryMeasurementStore();
    const mrtd = H('a1');
    const tdx = (r1: string) =>
      fakeView({ cpuKind: 'TDX', measurement: mrtd, identity: mrtd + r1 + H('c1') });
    assert.deepEqual(await decideTrust('s', tdx(H('b1')), TRUST, store, async () => 'always'), {
      trusted: true,
      how: 'always',
    });
    assert.deepEqual(await decideTrust('s', tdx(H('b1')), TRUST, store, async () => 'cancel'), {
      trusted: true,
      how: 'known',
    });
    let asked = 0;
    const d = await decideTrust('s', tdx(H('b2')), TRUST, store, async () => (asked++, 'cancel'));
    assert.deepEqual(d, { trusted: false });
    assert.equal(asked, 1);
    // Azure: the paravisor's measurement is allowlisted, but the guest identity (PCRs) is empty.
    const az = fakeView({ cpuKind: 'SNP/Azure', measurement: H('ee'), identity: '' });
    assert.deepEqual(
      await decideTrust(
        's',
        az,
        { ...TRUST, allowedMeasurements: [H('ee')] },
        store,
        async () => 'always',
      ),
      { trusted: false },
    );
  });
});
