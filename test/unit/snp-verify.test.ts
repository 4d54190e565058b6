import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { nodeProvider } from '../../protocol-node/crypto-node';
import {
  parseSnpReport,
  decodeTcb,
  OFF,
  SNP_SIGNED_LEN,
} from '../../protocol/attestation/snp/report';
import { verifySnpEvidence } from '../../protocol/attestation/snp/verify';
import { AMD_CA, AMD_PRODUCTS } from '../../protocol/attestation/roots/amd';
import {
  DEFAULT_POLICY as STRICT_DEFAULT_POLICY,
  mergePolicy,
} from '../../protocol/attestation/policy';
import { withoutSnpBulletinFloors } from '../helpers/vector-policy';
import type { AttestationPolicy } from '../../protocol/attestation/policy';
import type { BindingValues, VerificationReport } from '../../protocol/attestation/types';
import { ProtocolError } from '../../protocol/errors';
import { parsePemOrDer, verifyChain } from '../../protocol/x509/index';
import { expectedJson, readShared, skipUnlessShared } from '../helpers/shared';

/** The default policy without the AMD-SB-3023 SNP floors the real vectors predate (helpers/vector-policy.ts). */
const DEFAULT_POLICY = withoutSnpBulletinFloors(STRICT_DEFAULT_POLICY);

const skip = skipUnlessShared('vectors', 'EXPECTED.json');

interface SnpItem {
  report: string;
  cert: string;
  note: string;
  version: number;
  product: string | null;
  signing_key: string | null;
  policy: string;
  vmpl: number;
  guest_svn: number;
  cpuid: (string | null)[];
  reported_tcb: string;
  current_tcb: string;
  committed_tcb: string;
  launch_tcb: string;
  measurement: string;
  report_data: string;
  host_data: string;
  chip_id: string;
  id_key_digest: string;
  author_key_digest: string;
  family_id: string;
  image_id: string;
  firmware: string;
  cert_hwid: string;
  cert_not_before: string;
  cert_not_after: string;
  expected: { report_signature_valid: boolean; cert_chain_valid: boolean };
}

const items = (): SnpItem[] =>
  skip ? [] : ((expectedJson() as { sev_snp: SnpItem[] }).sev_snp ?? []);
const vec = (p: string): Uint8Array => new Uint8Array(readShared('vectors', ...p.split('/')));

/** The report bytes of an item: hex text decoded; a mutation named in the note ("byte 0x90 … XOR 0x01") applied. */
function reportBytes(it: SnpItem): Uint8Array {
  let b = vec(it.report);
  if (it.report.endsWith('.hex'))
    b = new Uint8Array(Buffer.from(Buffer.from(b).toString('latin1').trim(), 'hex'));
  const m = /byte 0x([0-9a-f]+)\b.*XOR 0x([0-9a-f]+)/i.exec(it.note);
  if (m) {
    b = Uint8Array.from(b);
    b[parseInt(m[1]!, 16)]! ^= parseInt(m[2]!, 16);
  }
  return b;
}

/** A time inside the certificate's window (midpoint). */
function pinnedTime(it: { cert_not_before: string; cert_not_after: string }): Date {
  const a = Date.parse(it.cert_not_before.replace(' ', 'T'));
  const b = Date.parse(it.cert_not_after.replace(' ', 'T'));
  return new Date(Math.floor((a + b) / 2));
}

function verify(
  parts: [string, Uint8Array][],
  at: Date,
  policy: AttestationPolicy = DEFAULT_POLICY,
  binding?: BindingValues,
): VerificationReport {
  return verifySnpEvidence(
    { kind: 'sev-snp', label: '', parts: new Map(parts) },
    { crypto: nodeProvider, now: () => at },
    policy,
    binding,
  );
}

const checkOk = (r: VerificationReport, id: string): boolean => {
  const cs = r.checks.filter((c) => c.id === id);
  assert.ok(cs.length > 0, `no check ${id} in ${r.checks.map((c) => c.id).join(',')}`);
  return cs.every((c) => c.ok);
};
const failed = (r: VerificationReport): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);

const itemBy = (report: string, cert: string): SnpItem => {
  const it = items().find(
    (i) => i.report.endsWith(report) && i.cert.endsWith(cert) && !/XOR/.test(i.note),
  );
  assert.ok(it, `${report} + ${cert} in EXPECTED.json`);
  return it;
};
const partsOf = (it: SnpItem): [string, Uint8Array][] => [
  ['report', reportBytes(it)],
  [it.signing_key === 'VLEK' ? 'vlek' : 'vcek', vec(it.cert)],
];
/**
 * Relaxes what the real vectors cannot satisfy: debug guests, provisional firmware, and — the
 * vector set has no AMD ARK-signed CRL (KDS CRLs were not captured) — the CRL, explicitly
 * (`snp.allowMissingCrl`; the default refuses: test/unit/attest-fail-closed.test.ts).
 */
const permissive = (extra: object = {}): AttestationPolicy =>
  mergePolicy(DEFAULT_POLICY, {
    snp: { allowDebug: true, permitProvisionalFirmware: true, allowMissingCrl: true, ...extra },
  });

describe('SEV-SNP: every EXPECTED.json item gives its recorded outcome', { skip }, () => {
  test('at least the 16 items are present', () => assert.ok(items().length >= 16));
  for (const it of items()) {
    test(`${it.report} + ${it.cert}${/NEGATIVE/.test(it.note) ? ' (negative)' : ''}`, () => {
      const r = verify(partsOf(it), pinnedTime(it));
      assert.equal(
        checkOk(r, 'signature'),
        it.expected.report_signature_valid,
        JSON.stringify(r.checks),
      );
      assert.equal(
        checkOk(r, 'cert_chain'),
        it.expected.cert_chain_valid,
        JSON.stringify(r.checks),
      );
      if (!it.expected.report_signature_valid || !it.expected.cert_chain_valid)
        assert.equal(r.ok, false);
      // Decoded fields agree with the independently decoded values in EXPECTED.json.
      const rep = parseSnpReport(reportBytes(it));
      const f = r.fields;
      assert.equal(f['version'], it.version);
      assert.equal(rep.version, it.version);
      assert.equal(`0x${rep.policy.toString(16)}`, it.policy);
      assert.equal(rep.vmpl, it.vmpl);
      assert.equal(rep.guestSvn, it.guest_svn);
      for (const k of ['reported_tcb', 'current_tcb', 'committed_tcb', 'launch_tcb'] as const) {
        assert.equal(
          (f[k] as { raw: string }).raw,
          `0x${BigInt(it[k]).toString(16).padStart(16, '0')}`,
          k,
        );
      }
      if (!/XOR/.test(it.note)) assert.equal(f['measurement'], it.measurement);
      for (const k of [
        'report_data',
        'host_data',
        'chip_id',
        'id_key_digest',
        'author_key_digest',
        'family_id',
        'image_id',
      ] as const) {
        assert.equal(f[k], it[k], k);
      }
      assert.equal(f['current_firmware'], it.firmware);
      if (it.signing_key !== null) assert.equal(f['signing_key'], it.signing_key);
      if (it.product !== null) assert.equal(f['product'], it.product);
      if (it.cpuid[0] !== null) {
        assert.deepEqual(f['cpuid'], {
          family: Number(it.cpuid[0]),
          model: Number(it.cpuid[1]),
          stepping: Number(it.cpuid[2]),
        });
      } else assert.equal(f['cpuid'], null);
      if (it.cert_hwid) assert.equal(f['cert_hwid'], it.cert_hwid);
      // A positive item with a permissive policy is accepted as a whole.
      if (it.expected.report_signature_valid && it.expected.cert_chain_valid) {
        const p = verify(partsOf(it), pinnedTime(it), permissive());
        assert.deepEqual(failed(p), [], JSON.stringify(p.checks.filter((c) => !c.ok)));
        assert.equal(p.ok, true);
        assert.equal(p.simulated, false);
      }
    });
  }
  test('sev_snp_cert_only: certificate chains to its product root', () => {
    const only = (
      expectedJson() as {
        sev_snp_cert_only: {
          cert: string;
          product: 'milan' | 'genoa' | 'turin';
          expected: { cert_chain_valid: boolean };
        }[];
      }
    ).sev_snp_cert_only;
    for (const it of only) {
      const [leaf] = parsePemOrDer(vec(it.cert));
      const ca = AMD_CA[it.product];
      const [ask] = parsePemOrDer(ca.ask);
      const [ark] = parsePemOrDer(ca.ark);
      const at = new Date((leaf!.notBefore.getTime() + leaf!.notAfter.getTime()) / 2);
      const r = verifyChain(nodeProvider, [leaf!, ask!], [ark!], at);
      assert.equal(r.problems.length === 0, it.expected.cert_chain_valid, r.problems.join('; '));
    }
  });
});

describe('SEV-SNP: the pure-JS provider (browser path) gives the same verdicts', { skip }, () => {
  test('every EXPECTED.json item, noble vs Node', async () => {
    const { nobleProvider } = await import('../../protocol/crypto/noble');
    for (const it of items()) {
      const at = pinnedTime(it);
      const item = { kind: 'sev-snp' as const, label: '', parts: new Map(partsOf(it)) };
      const a = verifySnpEvidence(item, { crypto: nodeProvider, now: () => at }, DEFAULT_POLICY);
      const b = verifySnpEvidence(item, { crypto: nobleProvider, now: () => at }, DEFAULT_POLICY);
      assert.deepEqual(b.checks, a.checks, it.report);
    }
  });
});

describe('SEV-SNP: pinned AMD roots', { skip }, () => {
  test('fingerprints match the constants and the public KDS files', () => {
    for (const p of AMD_PRODUCTS) {
      for (const k of ['ark', 'ask', 'asvk'] as const) {
        const der = AMD_CA[p][k];
        assert.equal(
          createHash('sha256').update(der).digest('hex'),
          AMD_CA[p].sha256[k],
          `${p} ${k}`,
        );
      }
      const kds = parsePemOrDer(vec(`sev-snp/amd-ca/kds_cert_chain_${p}_vcek.pem`));
      assert.deepEqual(kds[0]!.der, AMD_CA[p].ask);
      assert.deepEqual(kds[1]!.der, AMD_CA[p].ark);
      const vlek = parsePemOrDer(vec(`sev-snp/amd-ca/kds_cert_chain_${p}_vlek.pem`));
      assert.deepEqual(vlek[0]!.der, AMD_CA[p].asvk);
    }
  });
});

describe('SEV-SNP: pinned intermediates are anchors only because the pinned ARK signs them', () => {
  test('ASK and ASVK of every product verify under that product ARK, valid now and in 2040', () => {
    for (const p of AMD_PRODUCTS) {
      const [ark] = parsePemOrDer(AMD_CA[p].ark);
      for (const k of ['ask', 'asvk'] as const) {
        const [c] = parsePemOrDer(AMD_CA[p][k]);
        for (const at of [new Date(), new Date('2040-01-01T00:00:00Z')]) {
          const r = verifyChain(nodeProvider, [c!], [ark!], at);
          assert.deepEqual(r.problems, [], `${p} ${k}`);
          assert.equal(r.root, ark);
        }
      }
    }
  });
});

describe('SEV-SNP: each check fails when it should', { skip }, () => {
  const gsg = () => itemBy('attestation.bin', 'vcek.testcer');
  const turin = () => itemBy('turin_oc_report.bin', 'turin_oc_vcek.der');
  const genoa = () => itemBy('genoa_oc_report.bin', 'genoa_oc_vcek.der');
  const trustee = () => itemBy('test-report.bin', 'test-vcek.der');
  const vlek = () => itemBy('test-vlek-report.bin', 'test-vlek.der');

  test('flipping any signed byte breaks the signature (or the parse)', () => {
    const it = turin();
    const good = reportBytes(it);
    const at = pinnedTime(it);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: SNP_SIGNED_LEN - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (off, x) => {
          const b = Uint8Array.from(good);
          b[off]! ^= x;
          const r = verify(
            [
              ['report', b],
              ['vcek', vec(it.cert)],
            ],
            at,
            permissive(),
          );
          assert.equal(r.ok, false);
          assert.ok(
            failed(r).includes('signature') || failed(r).includes('parse'),
            `offset 0x${off.toString(16)}: ${failed(r)}`,
          );
        },
      ),
      { numRuns: 150 },
    );
  });
  test('flipping the signature breaks it', () => {
    const it = genoa();
    const b = Uint8Array.from(reportBytes(it));
    b[OFF.SIG_S + 3]! ^= 0x40;
    assert.deepEqual(
      failed(
        verify(
          [
            ['report', b],
            ['vcek', vec(it.cert)],
          ],
          pinnedTime(it),
          permissive(),
        ),
      ),
      ['signature'],
    );
  });
  test('wrong VCEK: signature, chip_id and tcb fail; chain still fine', () => {
    const it = gsg();
    const r = verify(
      [
        ['report', reportBytes(it)],
        ['vcek', vec('sev-snp/virtee-sev/vcek_milan.der')],
      ],
      new Date('2026-01-01'),
      permissive(),
    );
    assert.deepEqual(failed(r).sort(), ['chip_id', 'signature', 'tcb']);
  });
  test('wrong product: a Turin report with a Genoa VCEK', () => {
    const r = verify(
      [
        ['report', reportBytes(turin())],
        ['vcek', vec(genoa().cert)],
      ],
      new Date('2026-01-01'),
      permissive(),
    );
    assert.ok(failed(r).includes('product'));
    assert.ok(failed(r).includes('cert_chain'), 'the Genoa VCEK does not chain to the Turin root');
    assert.ok(failed(r).includes('signature'));
  });
  test('wrong product root supplied in the evidence is refused (not pinned)', () => {
    const it = genoa();
    const r = verify(
      [...partsOf(it), ['cert_chain', vec('sev-snp/amd-ca/kds_cert_chain_milan_vcek.pem')]],
      pinnedTime(it),
      permissive(),
    );
    assert.ok(failed(r).includes('cert_chain'));
    assert.ok(r.checks.some((c) => /pinned ARK-genoa/.test(c.message)));
    assert.equal(r.simulated, false);
  });
  test('the supplied KDS chain of the right product is accepted', () => {
    const it = genoa();
    const r = verify(
      [...partsOf(it), ['cert_chain', vec('sev-snp/amd-ca/kds_cert_chain_genoa_vcek.pem')]],
      pinnedTime(it),
      permissive(),
    );
    assert.deepEqual(failed(r), []);
  });
  test('VLEK through the ASVK; a VCEK chain intermediate does not fit', () => {
    const it = vlek();
    assert.deepEqual(failed(verify(partsOf(it), pinnedTime(it), permissive())), []);
    const r = verify(
      [...partsOf(it), ['ask', vec('sev-snp/amd-ca/milan_ask.pem')]],
      pinnedTime(it),
      permissive(),
    );
    assert.ok(failed(r).includes('cert_chain'));
  });
  test('expired certificate at the given time', () => {
    const it = vlek();
    const r = verify(partsOf(it), new Date('2026-01-01T00:00:00Z'), permissive());
    assert.deepEqual(failed(r), ['cert_chain']);
    assert.match(r.checks.find((c) => !c.ok)!.message, /SEV-VLEK: validity: .*2025-12-10.*expired/);
    const early = verify(partsOf(gsg()), new Date('2022-01-01T00:00:00Z'), permissive());
    assert.deepEqual(failed(early), ['cert_chain']);
  });
  test('truncated, oversize, wrong version, missing parts → typed parse failure', () => {
    const it = gsg();
    const b = reportBytes(it);
    for (const bad of [b.subarray(0, 1183), new Uint8Array(0), new Uint8Array([...b, 0])]) {
      const r = verify(
        [
          ['report', bad],
          ['vcek', vec(it.cert)],
        ],
        pinnedTime(it),
      );
      assert.deepEqual(failed(r), ['parse']);
      assert.equal(r.ok, false);
    }
    const v4 = Uint8Array.from(b);
    v4[0] = 4;
    assert.match(
      verify([['report', v4]], pinnedTime(it)).checks[0]!.message,
      /version: expected 2, 3, 5, got 4/,
    );
    assert.deepEqual(failed(verify([['vcek', vec(it.cert)]], pinnedTime(it))), ['parse']);
    const noCert = verify([['report', b]], pinnedTime(it), permissive());
    assert.ok(failed(noCert).includes('cert_chain') && failed(noCert).includes('signature'));
    const junkCert = verify(
      [
        ['report', b],
        ['vcek', new Uint8Array([0x30, 0x03, 1, 2, 3])],
      ],
      pinnedTime(it),
    );
    assert.deepEqual(failed(junkCert), ['cert_chain']);
  });
  test('a v2 report with a certificate of no known product: product and cert_chain fail', () => {
    const it = gsg();
    const r = verify(
      [
        ['report', reportBytes(it)],
        ['vcek', vec('nvidia/trustee/hopper_signing_cert.pem')],
      ],
      pinnedTime(it),
      permissive(),
    );
    assert.ok(
      ['product', 'cert_chain', 'signature'].every((id) => failed(r).includes(id)),
      JSON.stringify(failed(r)),
    );
    assert.match(r.checks.find((c) => c.id === 'cert_chain')!.message, /known product/);
  });
  test('policy.debug: refused by default, accepted with allowDebug', () => {
    const it = gsg();
    // Default policy: debug refused, and (no ARK-signed CRL in the vector set) the missing CRL.
    assert.deepEqual(failed(verify(partsOf(it), pinnedTime(it))), ['crl', 'policy.debug']);
    assert.deepEqual(failed(verify(partsOf(it), pinnedTime(it), permissive())), []);
  });
  test('report_data: binding value and --expect-report-data', () => {
    const it = gsg();
    const rd = new Uint8Array(64);
    rd.set([1, 2, 3, 4, 5]);
    const good: BindingValues = { cpuReportData: rd, gpuNonce: new Uint8Array(32) };
    assert.deepEqual(failed(verify(partsOf(it), pinnedTime(it), permissive(), good)), []);
    const wrong = Uint8Array.from(rd);
    wrong[63] = 1;
    const r = verify(partsOf(it), pinnedTime(it), permissive(), {
      cpuReportData: wrong,
      gpuNonce: new Uint8Array(32),
    });
    assert.deepEqual(failed(r), ['report_data']);
    assert.match(
      r.checks.find((c) => c.id === 'report_data')!.message,
      /expected 0102030405.*01, got 0102030405/,
    );
    assert.deepEqual(
      failed(verify(partsOf(it), pinnedTime(it), permissive({ expectedReportData: '0102030405' }))),
      [],
    );
    assert.deepEqual(
      failed(verify(partsOf(it), pinnedTime(it), permissive({ expectedReportData: '0102030406' }))),
      ['report_data'],
    );
    // the policy grammar's 0x prefix is accepted (the hex decoder itself is strict)
    assert.deepEqual(
      failed(
        verify(partsOf(it), pinnedTime(it), permissive({ expectedReportData: '0x0102030405' })),
      ),
      [],
    );
  });
  test('measurement allowlist', () => {
    const it = gsg();
    assert.deepEqual(
      failed(
        verify(
          partsOf(it),
          pinnedTime(it),
          permissive({ measurements: [it.measurement.toUpperCase()] }),
        ),
      ),
      [],
    );
    const r = verify(partsOf(it), pinnedTime(it), permissive({ measurements: ['00'.repeat(48)] }));
    assert.deepEqual(failed(r), ['measurement']);
    assert.match(
      r.checks.find((c) => c.id === 'measurement')!.message,
      new RegExp(`got ${it.measurement}`),
    );
  });
  test('every other policy check fails on its own', () => {
    const t = trustee(); // guest_svn 4, id block, provisional firmware, Milan, VCEK, SMT on
    const at = pinnedTime(t);
    const cases: [object, string][] = [
      [{ allowSmt: false }, 'policy.smt'],
      [{ requireSingleSocket: true }, 'policy.single_socket'],
      [{ vmpl: 1 }, 'policy.vmpl'],
      [{ minGuestSvn: 5 }, 'policy.guest_svn'],
      [{ minTcb: { snp: 200 } }, 'policy.min_tcb'],
      [{ minTcb: { microcode: 116 } }, 'policy.min_tcb'],
      [{ minFirmware: '1.53' }, 'policy.min_firmware'],
      [{ hostData: '11'.repeat(32) }, 'policy.host_data'],
      [{ idKeyDigests: ['22'.repeat(48)] }, 'policy.id_key_digest'],
      [{ authorKeyDigests: ['33'.repeat(48)] }, 'policy.author_key_digest'],
      [{ familyId: '44'.repeat(16) }, 'policy.family_id'],
      [{ imageId: '55'.repeat(16) }, 'policy.image_id'],
      [{ signingKeys: ['VLEK'] }, 'policy.signing_key'],
      [{ products: ['genoa', 'turin'] }, 'policy.product'],
      [{ allowMissingCrl: false }, 'crl'],
    ];
    for (const [extra, id] of cases) {
      const r = verify(partsOf(t), at, permissive(extra));
      assert.deepEqual(
        failed(r),
        [id],
        `${JSON.stringify(extra)} → ${JSON.stringify(r.checks.filter((c) => !c.ok))}`,
      );
    }
    // ... and the matching values pass.
    const pass = permissive({
      minGuestSvn: 4,
      minTcb: { bl: 3, tee: 0, snp: 8, microcode: 115 },
      minFirmware: '1.52',
      hostData: t.host_data,
      idKeyDigests: [t.id_key_digest],
      familyId: t.family_id,
      imageId: t.image_id,
      vmpl: 0,
      signingKeys: ['VCEK'],
      products: ['milan'],
    });
    assert.deepEqual(failed(verify(partsOf(t), at, pass)), []);
    // Provisional firmware is refused by default.
    const strict = mergePolicy(DEFAULT_POLICY, { snp: { allowDebug: true } });
    assert.deepEqual(failed(verify(partsOf(t), at, strict)), [
      'crl',
      'policy.provisional_firmware',
    ]);
  });
  test('migration agent bit is refused by default (policy check runs even though the signature then fails)', () => {
    const it = turin();
    const b = Uint8Array.from(reportBytes(it));
    b[OFF.POLICY + 2]! |= 1 << 2; // bit 18 MIGRATE_MA
    const r = verify(
      [
        ['report', b],
        ['vcek', vec(it.cert)],
      ],
      pinnedTime(it),
      permissive(),
    );
    assert.deepEqual(failed(r).sort(), ['policy.migration_agent', 'signature']);
    assert.ok(
      !failed(
        verify(
          [
            ['report', b],
            ['vcek', vec(it.cert)],
          ],
          pinnedTime(it),
          permissive({ allowMigrationAgent: true }),
        ),
      ).includes('policy.migration_agent'),
    );
  });
  test('VCEK TCB: Turin layout (fmc/bl/tee/snp/../ucode) decoded and compared', () => {
    const it = turin();
    const rep = parseSnpReport(reportBytes(it));
    const t = decodeTcb(rep.reportedTcb, 'turin');
    assert.equal(t.fmc, 0);
    assert.equal(t.bl, 1);
    assert.equal(t.snp, 2);
    assert.equal(t.microcode, 0x47);
    const r = verify(partsOf(it), pinnedTime(it), permissive());
    assert.match(r.checks.find((c) => c.id === 'tcb')!.message, /fmc=0 bl=1 tee=0 snp=2 ucode=71/);
    assert.match(r.checks.find((c) => c.id === 'chip_id')!.message, /8 bytes/);
  });
  test('the mis-encoded trustee VCEKs report every problem at once', () => {
    const it = items().find((i) => i.cert.endsWith('test-vcek-invalid-new.der'))!;
    const r = verify(partsOf(it), pinnedTime(it), permissive());
    assert.deepEqual(failed(r).sort(), ['cert_chain', 'chip_id', 'signature', 'tcb']);
  });
});

describe('SEV-SNP: the report parser only throws ProtocolError', { skip }, () => {
  const onlyTyped = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `not a ProtocolError: ${String(e)}`);
    }
  };
  test('random and mutated reports', () => {
    const seeds = items()
      .slice(0, 12)
      .map((i) => reportBytes(i));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1300 }), (b) =>
        onlyTyped(() => parseSnpReport(b)),
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1183 }), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (si, flips) => {
          const b = Uint8Array.from(seeds[si]!);
          for (const [o, x] of flips) b[o]! ^= x;
          onlyTyped(() => parseSnpReport(b));
          // The full verifier never throws for any report bytes.
          const r = verify([['report', b]], new Date('2026-01-01'));
          assert.equal(r.ok, false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('SEV-SNP: default floors (AMD-SB-3023 SNP SPL per product)', { skip }, () => {
  if (skip) return;
  test('the strict default refuses every real vector for policy.min_tcb, naming the floor; pinning it away accepts', () => {
    const genuine = items().filter(
      (it) => it.expected.report_signature_valid && it.expected.cert_chain_valid,
    );
    assert.ok(genuine.length >= 4);
    for (const it of genuine) {
      const parts: [string, Uint8Array][] = [
        ['report', reportBytes(it)],
        ['vcek', vec(it.cert)],
      ];
      const strict = verify(parts, pinnedTime(it), {
        ...STRICT_DEFAULT_POLICY,
        snp: { ...STRICT_DEFAULT_POLICY.snp, allowDebug: true, allowMissingCrl: true },
      });
      const floor = it.product === 'turin' ? 4 : 27;
      const minTcb = strict.checks.filter((c) => c.id === 'policy.min_tcb');
      assert.equal(minTcb.length, 1, it.report);
      if (minTcb[0]!.ok) continue; // a vector at or above the floor (none today)
      assert.match(minTcb[0]!.message, new RegExp(`_tcb\\.snp: expected >= ${floor}, got \\d+`));
      assert.equal(strict.ok, false, it.report);
      const pinned = verify(parts, pinnedTime(it), {
        ...DEFAULT_POLICY,
        snp: { ...DEFAULT_POLICY.snp, allowDebug: true, allowMissingCrl: true },
      });
      assert.ok(
        pinned.checks.some((c) => c.id === 'policy.min_tcb' && c.ok),
        it.report,
      );
    }
  });
  test('minTcb and the product floor combine per component (the higher wins)', () => {
    const it = items().find((x) => x.product === 'milan' && x.expected.report_signature_valid)!;
    const parts: [string, Uint8Array][] = [
      ['report', reportBytes(it)],
      ['vcek', vec(it.cert)],
    ];
    const p = (minTcb: Record<string, number>, byProduct: Record<string, Record<string, number>>) =>
      verify(parts, pinnedTime(it), {
        ...STRICT_DEFAULT_POLICY,
        snp: {
          ...STRICT_DEFAULT_POLICY.snp,
          allowDebug: true,
          allowMissingCrl: true,
          minTcb,
          minTcbByProduct: byProduct,
        },
      }).checks.find((c) => c.id === 'policy.min_tcb')!;
    assert.equal(p({}, {}).ok, true);
    assert.equal(p({ snp: 1 }, { milan: { snp: 200 } }).ok, false);
    assert.equal(p({ snp: 200 }, { milan: { snp: 1 } }).ok, false);
    assert.equal(p({}, { genoa: { snp: 200 } }).ok, true, 'another product’s floor does not apply');
    assert.throws(
      () =>
        mergePolicy(STRICT_DEFAULT_POLICY, { snp: { minTcbByProduct: { naples: { snp: 1 } } } }),
      /minTcbByProduct/,
    );
  });
});
