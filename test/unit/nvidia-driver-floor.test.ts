/**
 * NVIDIA driver floors per branch, as data (nvidia/policy.ts NVIDIA_DRIVER_BULLETINS): the
 * bulletin in force at the verification time decides; refusals name the branch and both values;
 * the relaxation passes with RELAXED; policy-file values are validated; the genuine vector is
 * judged by what was known at its time; the simulated GPU passes today's floors.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { ProtocolError } from '../../protocol/errors';
import {
  DEFAULT_NVIDIA_POLICY,
  NVIDIA_DRIVER_BULLETINS,
  compareVbiosVersions,
  compareVersions,
  driverBranch,
  driverFloorAt,
  isDriverBulletins,
  type DriverBulletin,
  type NvidiaPolicy,
} from '../../protocol/attestation/nvidia/policy';
import { driverFloorCheck, verifyNvidiaEvidence } from '../../protocol/attestation/nvidia/verify';
import { encodeCcStatus } from '../../protocol/attestation/nvidia/cc-status';
import { reportBytesFromInput } from '../../protocol/attestation/nvidia/spdm';
import { fromHex } from '../../protocol/attestation/nvidia/bytes';
import { mergePolicy } from '../../protocol/attestation/policy';
import { RELAXATIONS } from '../../protocol/attestation/relax';
import type { EvidenceItem, VerificationReport } from '../../protocol/attestation/types';
import {
  SIM_DRIVER_VERSION,
  SimulatedNvidiaProvider,
} from '../../enclave-server/evidence/simulated-nvidia';
import { sharedPath, skipUnlessShared } from '../helpers/shared';

const d = (s: string): Date => new Date(s);
const B = NVIDIA_DRIVER_BULLETINS;
const failed = (r: VerificationReport): string[] =>
  [...new Set(r.checks.filter((c) => !c.ok).map((c) => c.id))].sort();
const floorCheck = (r: VerificationReport) => r.checks.find((c) => c.id === 'policy.driver_floor');

describe('driverFloorAt: the bulletin in force at the verification time', () => {
  test('before the first bulletin no floor applies', () => {
    assert.equal(driverFloorAt(B, '550.90.07', d('2025-08-21T12:00:00Z')).kind, 'no-bulletin');
    assert.equal(driverFloorAt(B, '1.0', d('2026-01-27T23:59:59Z')).kind, 'no-bulletin');
  });

  test('R580 floors rise with each bulletin (5747 → 5821 → 5861)', () => {
    const at5747 = d('2026-02-01T00:00:00Z');
    const at5821 = d('2026-06-01T00:00:00Z');
    const at5861 = d('2026-10-01T00:00:00Z');
    assert.deepEqual(
      [at5747, at5821, at5861].map((t) => {
        const v = driverFloorAt(B, '580.159.03', t);
        return v.kind === 'ok' || v.kind === 'below' ? [v.kind, v.floor, v.floorFrom] : [v.kind];
      }),
      [
        ['ok', '580.126.09', '5747'],
        ['ok', '580.159.03', '5821'],
        ['below', '580.178.04', '5861'],
      ],
    );
  });

  test('the date boundary: a bulletin applies from 00:00 UTC of its date', () => {
    const v1 = driverFloorAt(B, '580.159.03', d('2026-09-29T23:59:59.999Z'));
    const v2 = driverFloorAt(B, '580.159.03', d('2026-09-30T00:00:00Z'));
    assert.equal(v1.kind, 'ok');
    assert.equal(v2.kind, 'below');
  });

  test('a branch with no fix is refused after the bulletin that says so (R535 after 5861)', () => {
    assert.equal(driverFloorAt(B, '535.309.01', d('2026-06-01T00:00:00Z')).kind, 'ok');
    const v = driverFloorAt(B, '535.309.01', d('2026-10-01T00:00:00Z'));
    assert.equal(v.kind, 'unfixed');
    assert.equal(v.kind === 'unfixed' && v.bulletin.id, '5861');
    assert.equal(driverFloorAt(B, '550.90.07', d('2026-02-01T00:00:00Z')).kind, 'unfixed');
  });

  test('a branch the bulletin does not list is refused; a non-version is refused', () => {
    const v = driverFloorAt(B, '999.1.2', d('2026-10-01T00:00:00Z'));
    assert.equal(v.kind, 'unlisted');
    assert.equal(v.kind === 'unlisted' && v.branch, 'R999');
    assert.equal(driverFloorAt(B, '580.x', d('2026-10-01T00:00:00Z')).kind, 'bad-version');
    assert.equal(driverFloorAt(B, '', d('2026-10-01T00:00:00Z')).kind, 'bad-version');
  });

  test('a later bulletin never lowers a floor; bulletin order in the list does not matter', () => {
    const custom: DriverBulletin[] = [
      { id: 'late', effectiveFrom: '2026-03-01', floors: { R580: '580.100.01' } },
      { id: 'early', effectiveFrom: '2026-01-01', floors: { R580: '580.120.01' } },
    ];
    const v = driverFloorAt(custom, '580.110.00', d('2026-04-01T00:00:00Z'));
    assert.equal(v.kind, 'below');
    assert.equal(v.kind === 'below' && v.floor, '580.120.01');
    assert.equal(v.kind === 'below' && v.floorFrom, 'early');
    assert.equal(v.kind === 'below' && v.bulletin.id, 'late');
  });

  test('property: ok ⇔ version >= floor; the branch is the major version', () => {
    const ver = fc
      .tuple(
        fc.constantFrom(535, 550, 570, 575, 580, 590, 595, 610, 615, 700),
        fc.nat(400),
        fc.nat(99),
      )
      .map(([a, b, c]) => `${a}.${b}.${String(c).padStart(2, '0')}`);
    const at = fc
      .integer({ min: Date.parse('2025-01-01'), max: Date.parse('2027-12-31') })
      .map((t) => new Date(t));
    fc.assert(
      fc.property(ver, at, (v, t) => {
        const r = driverFloorAt(B, v, t);
        if (r.kind === 'ok') assert.ok(compareVersions(v, r.floor)! >= 0);
        if (r.kind === 'below') assert.ok(compareVersions(v, r.floor)! < 0);
        if (r.kind !== 'no-bulletin' && r.kind !== 'bad-version')
          assert.equal(r.branch, `R${v.split('.')[0]!}`);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        const b = driverBranch(s);
        assert.ok(b === null || (/^R\d+$/.test(b) && s.startsWith(b.slice(1))));
      }),
    );
  });
});

describe('driverFloorCheck: messages and the relaxation', () => {
  const at = d('2026-10-01T00:00:00Z');
  test('a refusal names the check, the branch and both values', () => {
    const c = driverFloorCheck(DEFAULT_NVIDIA_POLICY, '580.159.03', at);
    assert.equal(c.ok, false);
    assert.equal(
      c.message,
      'policy.driver_floor: branch R580: expected >= 580.178.04 (NVIDIA bulletin 5861), got 580.159.03',
    );
    const u = driverFloorCheck(DEFAULT_NVIDIA_POLICY, '550.90.07', at);
    assert.equal(u.ok, false);
    assert.match(
      u.message,
      /^policy\.driver_floor: branch R550: expected a branch with a fixed release .*5861.*got 550\.90\.07$/,
    );
    const l = driverFloorCheck(DEFAULT_NVIDIA_POLICY, '999.1.2', at);
    assert.match(
      l.message,
      /^policy\.driver_floor: branch R999: expected one of R580, R595, R610, R615 .*got 999\.1\.2$/,
    );
    const m = driverFloorCheck(DEFAULT_NVIDIA_POLICY, undefined, at);
    assert.equal(m.ok, false);
    assert.match(m.message, /expected a signed driver version in the report, got none/);
    const early = driverFloorCheck(DEFAULT_NVIDIA_POLICY, undefined, d('2025-01-01T00:00:00Z'));
    assert.equal(early.ok, true, 'before any bulletin the verdict does not depend on the version');
  });

  test('passing messages say which bulletin, or that none applies yet', () => {
    assert.match(driverFloorCheck(DEFAULT_NVIDIA_POLICY, SIM_DRIVER_VERSION, at).message, /5861/);
    const early = driverFloorCheck(DEFAULT_NVIDIA_POLICY, '550.90.07', d('2025-01-01T00:00:00Z'));
    assert.equal(early.ok, true);
    assert.match(early.message, /no floor applies/);
  });

  test('allowDriverBelowFloor: passes, marked RELAXED, still saying what it would refuse', () => {
    const p: NvidiaPolicy = { ...DEFAULT_NVIDIA_POLICY, allowDriverBelowFloor: true };
    const c = driverFloorCheck(p, '580.159.03', at);
    assert.equal(c.ok, true);
    assert.match(c.message, /^RELAXED nvidia\.allowDriverBelowFloor: would refuse: branch R580/);
    const r = RELAXATIONS.find((x) => x.key === 'allowDriverBelowFloor');
    assert.equal(r?.flag, '--allow-driver-below-floor');
    assert.equal(DEFAULT_NVIDIA_POLICY.allowDriverBelowFloor, false);
  });
});

describe('driver bulletins in a policy file are validated', () => {
  const merge = (v: unknown): NvidiaPolicy =>
    mergePolicy(DEFAULT_NVIDIA_POLICY, { driverBulletins: v }, 'policy.nvidia');
  test('the shipped table is well formed and the simulated driver passes every bulletin', () => {
    assert.equal(isDriverBulletins(NVIDIA_DRIVER_BULLETINS), true);
    for (const b of B) {
      const v = driverFloorAt(B, SIM_DRIVER_VERSION, d(`${b.effectiveFrom}T00:00:00Z`));
      assert.equal(v.kind, 'ok', b.id);
    }
  });
  test('a valid override replaces the table', () => {
    const p = merge([{ id: 'x', effectiveFrom: '2026-01-01', floors: { R580: '580.1.1' } }]);
    assert.equal(p.driverBulletins.length, 1);
  });
  for (const [name, bad] of [
    ['bad date', [{ id: 'x', effectiveFrom: '2026-13-01x', floors: {} }]],
    [
      'version on another branch',
      [{ id: 'x', effectiveFrom: '2026-01-01', floors: { R580: '570.1.1' } }],
    ],
    ['bad branch name', [{ id: 'x', effectiveFrom: '2026-01-01', floors: { '580': '580.1.1' } }]],
    ['unknown key', [{ id: 'x', effectiveFrom: '2026-01-01', floors: {}, note: 1 }]],
    ['empty id', [{ id: '', effectiveFrom: '2026-01-01', floors: {} }]],
    ['not an array', { id: 'x' }],
  ] as const) {
    test(`refused: ${name}`, () => {
      assert.throws(
        () => merge(bad),
        (e: unknown) =>
          e instanceof ProtocolError && e.code === 'usage' && /driverBulletins/.test(e.message),
      );
    });
  }
  test('minVbiosVersion: format checked; VBIOS versions compare as hex groups', () => {
    assert.throws(
      () => mergePolicy(DEFAULT_NVIDIA_POLICY, { minVbiosVersion: '96.0' }, 'policy.nvidia'),
      (e: unknown) => e instanceof ProtocolError && e.code === 'usage',
    );
    assert.equal(compareVbiosVersions('96.00.9F.00.01', '96.00.A0.00.00'), -1);
    assert.equal(compareVbiosVersions('96.00.9f.00.01', '96.00.9F.00.01'), 0);
    assert.equal(compareVbiosVersions('96.00.A0.00.00', '96.00.9F.00.01'), 1);
    // a version that does not parse is not comparable (refused by the check), never read as 0
    for (const bad of ['', 'zz.00.9F.00.01', '96.00.9F.00.01 ', '96', '96..00', '0x96.00'])
      assert.equal(compareVbiosVersions(bad, '96.00.9F.00.01'), null, JSON.stringify(bad));
  });
});

describe('simulated GPU: today floors, an old driver refused for that reason', () => {
  const binding = (): { cpuReportData: Uint8Array; gpuNonce: Uint8Array } => ({
    cpuReportData: new Uint8Array(64),
    gpuNonce: new Uint8Array(randomBytes(32)),
  });
  const dev: NvidiaPolicy = { ...DEFAULT_NVIDIA_POLICY, allowSimulated: true };
  const verify = (item: EvidenceItem, p: NvidiaPolicy, nonce: Uint8Array): VerificationReport =>
    verifyNvidiaEvidence(item, { crypto: nodeProvider, now: () => new Date() }, p, {
      gpuNonce: nonce,
    });

  test('the default simulated driver passes policy.driver_floor now', async () => {
    const b = binding();
    const [item] = await new SimulatedNvidiaProvider().collect(b);
    const r = verify(item!, dev, b.gpuNonce);
    assert.deepEqual(failed(r), []);
    assert.equal(floorCheck(r)?.ok, true);
  });

  test('a simulated R550 driver is refused only by policy.driver_floor; relaxed, accepted', async () => {
    const b = binding();
    const [item] = await new SimulatedNvidiaProvider({ driverVersion: '550.90.07' }).collect(b);
    const r = verify(item!, dev, b.gpuNonce);
    assert.deepEqual(failed(r), ['policy.driver_floor']);
    const rr = verify(item!, { ...dev, allowDriverBelowFloor: true }, b.gpuNonce);
    assert.equal(rr.ok, true);
    assert.ok(rr.checks.some((c) => c.id === 'relaxed.allowDriverBelowFloor' && c.ok));
  });

  test('minDriverVersion: a driver version that is not dotted-numeric is refused, not read as 0', async () => {
    const b = binding();
    const [item] = await new SimulatedNvidiaProvider({ driverVersion: '999rc.1' }).collect(b);
    const r = verify(item!, { ...dev, minDriverVersion: '1.0' }, b.gpuNonce);
    assert.ok(failed(r).includes('policy.min_driver_version'), failed(r).join(', '));
    assert.ok(failed(r).includes('policy.driver_floor'), failed(r).join(', '));
  });

  test('minVbiosVersion above the simulated VBIOS refuses it', async () => {
    const b = binding();
    const [item] = await new SimulatedNvidiaProvider().collect(b);
    const r = verify(item!, { ...dev, minVbiosVersion: '97.00.00.00.00' }, b.gpuNonce);
    assert.deepEqual(failed(r), ['policy.min_vbios_version']);
    assert.match(
      r.checks.find((c) => c.id === 'policy.min_vbios_version')!.message,
      /^policy\.min_vbios_version: expected >= 97\.00\.00\.00\.00, got 96\.00\.9F\.00\.01$/,
    );
  });
});

const skip = skipUnlessShared('vectors', 'nvidia');
describe(
  'genuine vector (driver 550.90.07): judged by what was known at its time',
  { skip },
  () => {
    const vec = (p: string): Buffer => readFileSync(sharedPath('vectors', p)!);
    const item = (): EvidenceItem => ({
      kind: 'nvidia-gpu',
      label: 'gpu0',
      parts: new Map<string, Uint8Array>([
        ['report', reportBytesFromInput(vec('nvidia/nvtrust/hopperAttestationReport.txt'))],
        ['chain', vec('nvidia/nvtrust/hopperCertChain.txt')],
        ['rim.driver', vec('nvidia/go-nvattest-tools/rim/NV_GPU_DRIVER_GH100_550.90.07.xml')],
        [
          'rim.vbios',
          vec('nvidia/go-nvattest-tools/rim/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml'),
        ],
        [
          'cc',
          encodeCcStatus({
            ccFeature: 'on',
            devToolsMode: 'off',
            environment: 'production',
            multiGpuMode: 'none',
            gpuCount: 1,
          }),
        ],
      ]),
    });
    const run = (at: Date): VerificationReport =>
      verifyNvidiaEvidence(
        item(),
        { crypto: nodeProvider, now: () => at },
        { ...DEFAULT_NVIDIA_POLICY, allowMissingDeviceOcsp: true, allowMissingRimOcsp: true },
        {
          gpuNonce: fromHex(
            '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb',
            'n',
          ),
        },
      );

    test('at its time (2025-08-21) no bulletin applies: the floor check passes', () => {
      const r = run(d('2025-08-21T12:00:00Z'));
      assert.equal(floorCheck(r)?.ok, true);
      assert.equal(failed(r).includes('policy.driver_floor'), false);
    });

    test('after bulletin 5747 (R550 without a fix) the same evidence is refused for that reason', () => {
      const r = run(d('2026-02-15T00:00:00Z'));
      const c = floorCheck(r)!;
      assert.equal(c.ok, false);
      assert.match(c.message, /^policy\.driver_floor: branch R550: .*5747.*got 550\.90\.07$/);
    });
  },
);
