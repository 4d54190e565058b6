import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { verifyAzureHclEvidence } from '../../protocol/attestation/azure/verify';
import { azureEvidenceFromJson } from '../../protocol/attestation/azure/evidence-json';
import { HCL, parseHclReport } from '../../protocol/attestation/azure/hcl';
import { parseTpmQuote, rsaSignatureBytes } from '../../protocol/attestation/azure/tpm';
import {
  DEFAULT_POLICY as STRICT_DEFAULT_POLICY,
  mergePolicy,
} from '../../protocol/attestation/policy';
import { withoutSnpBulletinFloors } from '../helpers/vector-policy';

/**
 * The Azure vectors carry no ARK-signed CRL (the vector set has none), so these suites relax it,
 * explicitly; the strict default refuses them for that reason alone (last test of this file).
 */
/** The default policy without the AMD-SB-3023 SNP floors the real vectors predate (helpers/vector-policy.ts). */
const DEFAULT_POLICY = withoutSnpBulletinFloors(STRICT_DEFAULT_POLICY);
const NO_CRL = mergePolicy(DEFAULT_POLICY, { snp: { allowMissingCrl: true } });
import type { AttestationPolicy } from '../../protocol/attestation/policy';
import type { BindingValues, VerificationReport } from '../../protocol/attestation/types';
import { ProtocolError } from '../../protocol/errors';
import { parsePemOrDer } from '../../protocol/x509/index';
import { collectSnpCertificates } from '../../protocol/attestation/snp/verify';
import { expectedJson, readShared, skipUnlessShared } from '../helpers/shared';

const skip = skipUnlessShared('vectors', 'EXPECTED.json');

interface AzureItem {
  source: string;
  hcl_version: number;
  report_type: number;
  var_data_len: number;
  snp_version: number;
  measurement: string;
  report_data: string;
  cpuid: (string | null)[];
  vcek: string;
  tpm_quote_extra_data_hex: string;
  expected: {
    report_data_is_sha256_of_var_data: boolean;
    snp_signature_valid: boolean;
    vcek_chain_valid: boolean;
    tpm_quote_signature_valid_with_HCLAkPub: boolean;
    tpm_pcr_digest_matches_pcrs: boolean;
  };
}
const items = (): AzureItem[] =>
  skip ? [] : (expectedJson() as { azure_hcl_snp: AzureItem[] }).azure_hcl_snp;
const text = (p: string): string => readShared('vectors', ...p.split('/')).toString('utf8');
const bytes = (p: string): Uint8Array => new Uint8Array(readShared('vectors', ...p.split('/')));

/** Evidence parts of an item: a JSON evidence file, or "a.bin + vcek.pem + tpm-quote.json" (same directory). */
function partsOf(it: AzureItem): Map<string, Uint8Array> {
  const files = it.source.split('+').map((s) => s.trim());
  if (files.length === 1) return azureEvidenceFromJson(JSON.parse(text(files[0]!)));
  const dir = dirname(files[0]!);
  const parts = new Map<string, Uint8Array>([['hcl', bytes(files[0]!)]]);
  for (const f of files.slice(1)) {
    const p = join(dir, f);
    if (f.endsWith('.json')) {
      for (const [k, v] of azureEvidenceFromJson({
        hcl_report: [],
        tpm_quote: JSON.parse(text(p)),
      }))
        if (k !== 'hcl') parts.set(k, v);
    } else parts.set('vcek', bytes(p));
  }
  return parts;
}

/** A time inside the VCEK's validity window (midpoint); the ARK/ASK run to 2045+. */
function pinnedTime(parts: Map<string, Uint8Array>): Date {
  const leaf = collectSnpCertificates(parts).leaf!;
  return new Date((leaf.notBefore.getTime() + leaf.notAfter.getTime()) / 2);
}

const verify = (
  parts: Map<string, Uint8Array>,
  policy: AttestationPolicy = NO_CRL,
  binding?: BindingValues,
  at = pinnedTime(parts),
): VerificationReport =>
  verifyAzureHclEvidence(
    { kind: 'azure-hcl', label: '', parts },
    { crypto: nodeProvider, now: () => at },
    policy,
    binding,
  );
const failed = (r: VerificationReport): string[] => [
  ...new Set(r.checks.filter((c) => !c.ok).map((c) => c.id)),
];
const checkOk = (r: VerificationReport, id: string): boolean => {
  const cs = r.checks.filter((c) => c.id === id);
  assert.ok(cs.length > 0, `no ${id} check`);
  return cs.every((c) => c.ok);
};
/** The default policy, except that one capture (hcl-report.bin) ran on provisional (uncommitted) firmware. */
const policy = mergePolicy(NO_CRL, { snp: { permitProvisionalFirmware: true } });

describe('Azure HCL (SNP): every EXPECTED.json item gives its recorded outcome', { skip }, () => {
  test('six items', () => assert.ok(items().length >= 6));
  for (const it of items()) {
    test(it.source, () => {
      const parts = partsOf(it);
      const r = verify(parts, policy);
      assert.equal(checkOk(r, 'runtime_claims'), it.expected.report_data_is_sha256_of_var_data);
      assert.equal(checkOk(r, 'signature'), it.expected.snp_signature_valid);
      assert.equal(checkOk(r, 'cert_chain'), it.expected.vcek_chain_valid);
      assert.equal(
        checkOk(r, 'tpm_quote'),
        it.expected.tpm_quote_signature_valid_with_HCLAkPub &&
          it.expected.tpm_pcr_digest_matches_pcrs,
      );
      assert.deepEqual(failed(r), [], JSON.stringify(r.checks.filter((c) => !c.ok)));
      assert.equal(r.ok, true);
      const hcl = parseHclReport(parts.get('hcl')!);
      assert.equal(hcl.version, it.hcl_version);
      assert.equal(hcl.reportType, it.report_type);
      assert.equal(hcl.varData.length, it.var_data_len);
      const snp = r.fields['snp'] as { [k: string]: unknown };
      assert.equal(snp['version'], it.snp_version);
      assert.equal(snp['measurement'], it.measurement);
      assert.equal(snp['report_data'], it.report_data);
      assert.equal(
        (r.fields['tpm_quote'] as { extra_data: string }).extra_data,
        it.tpm_quote_extra_data_hex,
      );
      assert.match(String(r.fields['note']), /paravisor/);
      // The nonce as the session binding: right value accepted, another refused.
      const nonce = Uint8Array.from(Buffer.from(it.tpm_quote_extra_data_hex, 'hex'));
      assert.deepEqual(
        failed(verify(parts, policy, { cpuReportData: nonce, gpuNonce: new Uint8Array(32) })),
        [],
      );
      const other = Uint8Array.from(nonce);
      other[0]! ^= 1;
      assert.deepEqual(
        failed(verify(parts, policy, { cpuReportData: other, gpuNonce: new Uint8Array(32) })),
        ['report_data'],
      );
    });
  }
});

describe('Azure HCL: each check fails when it should', { skip }, () => {
  const v1 = (): Map<string, Uint8Array> =>
    partsOf(items().find((i) => i.source.endsWith('evidence-v1.json'))!);
  const mutate = (
    parts: Map<string, Uint8Array>,
    name: string,
    f: (b: Uint8Array) => void,
  ): Map<string, Uint8Array> => {
    const b = Uint8Array.from(parts.get(name)!);
    f(b);
    return new Map([...parts, [name, b]]);
  };
  test('runtime claims changed (AK swapped in the JSON) → runtime_claims', () => {
    const p = v1();
    const hcl = parseHclReport(p.get('hcl')!);
    const at = HCL.OFF_VAR_DATA + Buffer.from(hcl.varData).indexOf('"vmUniqueId":"') + 15;
    const r = verify(mutate(p, 'hcl', (b) => void (b[at] = b[at] === 0x41 ? 0x42 : 0x41)));
    assert.deepEqual(failed(r), ['runtime_claims']);
  });
  test('quote tampered → tpm_quote (and the nonce differs)', () => {
    const p = v1();
    const q = parseTpmQuote(p.get('tpm_quote')!);
    const off = q.extraData.byteOffset - p.get('tpm_quote')!.byteOffset;
    const r = verify(
      mutate(p, 'tpm_quote', (b) => void (b[off]! ^= 1)),
      policy,
      undefined,
    );
    assert.deepEqual(failed(r), ['tpm_quote']);
    assert.match(
      r.checks.find((c) => c.id === 'tpm_quote')!.message,
      /signature: expected valid RSASSA-PKCS1-v1_5 by HCLAkPub/,
    );
  });
  test('signature tampered → tpm_quote', () => {
    assert.deepEqual(failed(verify(mutate(v1(), 'tpm_signature', (b) => void (b[10]! ^= 1)))), [
      'tpm_quote',
    ]);
  });
  test('a PCR value changed → pcrDigest mismatch', () => {
    const r = verify(mutate(v1(), 'pcrs', (b) => void (b[0]! ^= 1)));
    assert.deepEqual(failed(r), ['tpm_quote']);
    assert.match(
      r.checks.find((c) => c.id === 'tpm_quote')!.message,
      /pcrDigest: expected SHA-256 of the supplied PCRs/,
    );
  });
  test('policy.pcrs and the paravisor measurement allowlist', () => {
    const p = v1();
    const r0 = verify(p);
    const pcr0 = (r0.fields['pcrs'] as { [k: string]: string })['0']!;
    assert.deepEqual(
      failed(verify(p, mergePolicy(NO_CRL, { azure: { pcrs: { '0': [pcr0] } } }))),
      [],
    );
    assert.deepEqual(
      failed(verify(p, mergePolicy(NO_CRL, { azure: { pcrs: { '0': ['00'.repeat(32)] } } }))),
      ['policy.pcrs'],
    );
    assert.deepEqual(
      failed(verify(p, mergePolicy(NO_CRL, { azure: { pcrs: { '23': ['ff'.repeat(32)] } } }))),
      ['policy.pcrs'],
    );
    const m = (r0.fields['snp'] as { measurement: string }).measurement;
    assert.deepEqual(
      failed(verify(p, mergePolicy(NO_CRL, { azure: { paravisorMeasurements: [m] } }))),
      [],
    );
    const r = verify(
      p,
      mergePolicy(NO_CRL, { azure: { paravisorMeasurements: ['11'.repeat(48)] } }),
    );
    assert.deepEqual(failed(r), ['measurement']);
    assert.match(r.checks.find((c) => c.id === 'measurement')!.message, /paravisor measurement/);
    // The guest measurement allowlist (snp.measurements) does not apply to the paravisor.
    assert.deepEqual(
      failed(verify(p, mergePolicy(NO_CRL, { snp: { measurements: ['11'.repeat(48)] } }))),
      [],
    );
  });
  test('expected nonce from the policy (CLI)', () => {
    const p = v1();
    assert.deepEqual(
      failed(
        verify(
          p,
          mergePolicy(NO_CRL, {
            azure: { expectedNonce: Buffer.from('challenge').toString('hex') },
          }),
        ),
      ),
      [],
    );
    assert.deepEqual(
      failed(verify(p, mergePolicy(NO_CRL, { azure: { expectedNonce: '00' } }))),
      ['report_data'],
    );
    // the policy grammar's 0x prefix is accepted (the hex decoder itself is strict)
    const x = `0x${Buffer.from('challenge').toString('hex')}`;
    assert.deepEqual(
      failed(verify(p, mergePolicy(NO_CRL, { azure: { expectedNonce: x } }))),
      [],
    );
  });
  test('missing quote, missing PCRs, wrong VCEK, expired VCEK', () => {
    const p = v1();
    const noQuote = new Map(p);
    noQuote.delete('tpm_quote');
    assert.deepEqual(failed(verify(noQuote)), ['tpm_quote']);
    const noPcrs = new Map(p);
    noPcrs.delete('pcrs');
    assert.deepEqual(failed(verify(noPcrs)), ['tpm_quote']);
    const wrongVcek = new Map([...p, ['vcek', bytes('sev-snp/go-sev-guest/vcek.testcer')]]);
    assert.deepEqual(failed(verify(wrongVcek, policy, undefined, new Date('2026-01-01'))).sort(), [
      'chip_id',
      'signature',
      'tcb',
    ]);
    const leaf = parsePemOrDer(text('sev-snp/azure-hcl/trustee/vcek-genoa.pem'))[0]!;
    assert.ok(leaf.notAfter.getTime() > 0);
    assert.deepEqual(failed(verify(p, policy, undefined, new Date('2040-01-01'))), ['cert_chain']);
  });
  test('truncated / malformed HCL → parse', () => {
    const p = v1();
    for (const cut of [0, 10, 0x4c0, 0x4d4 + 100]) {
      const r = verify(
        new Map([...p, ['hcl', p.get('hcl')!.subarray(0, cut)]]),
        policy,
        undefined,
        new Date('2026-01-01'),
      );
      assert.deepEqual(failed(r), ['parse'], `cut ${cut}`);
    }
    const r = verify(
      mutate(p, 'hcl', (b) => void (b[0] = 0x58)),
      policy,
      undefined,
      new Date('2026-01-01'),
    );
    assert.match(r.checks[0]!.message, /hcl.signature: expected "HCLA"/);
  });
  test('TPMT_SIGNATURE form is accepted as well as the raw signature', () => {
    const raw = v1().get('tpm_signature')!;
    const tpmt = new Uint8Array([
      0x00,
      0x14,
      0x00,
      0x0b,
      raw.length >> 8,
      raw.length & 0xff,
      ...raw,
    ]);
    assert.deepEqual(rsaSignatureBytes(tpmt, 256).signature, raw);
    assert.deepEqual(failed(verify(new Map([...v1(), ['tpm_signature', tpmt]]))), []);
  });
});

describe('Azure HCL (TDX variant) dispatches to the TDX verifier', { skip }, () => {
  test('trustee evidence-v1 (TDX): runtime claims, TD quote and TPM quote verify', () => {
    const parts = azureEvidenceFromJson(JSON.parse(text('tdx/azure-hcl/trustee/evidence-v1.json')));
    const r = verifyAzureHclEvidence(
      { kind: 'azure-hcl', label: '', parts },
      { crypto: nodeProvider, now: () => new Date('2025-06-01') },
      NO_CRL,
    );
    assert.equal(checkOk(r, 'runtime_claims'), true);
    assert.equal(checkOk(r, 'tpm_quote'), true);
    assert.equal(
      checkOk(r, 'quote_signature'),
      true,
      JSON.stringify(r.checks.filter((c) => !c.ok)),
    );
    const noQuote = new Map(parts);
    noQuote.delete('td_quote');
    const r2 = verifyAzureHclEvidence(
      { kind: 'azure-hcl', label: '', parts: noQuote },
      { crypto: nodeProvider, now: () => new Date('2025-06-01') },
      NO_CRL,
    );
    assert.ok(r2.checks.some((c) => c.id === 'parse' && !c.ok && /td_quote/.test(c.message)));
  });
});

describe('Azure parsers only throw ProtocolError', { skip }, () => {
  const onlyTyped = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `not a ProtocolError: ${String(e)}`);
    }
  };
  test('HCL, TPM quote, TPMT_SIGNATURE and evidence JSON under mutation', () => {
    const p = partsOf(items()[1]!);
    const hcl = p.get('hcl')!;
    const quote = p.get('tpm_quote')!;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.nat(),
        (flips, cut) => {
          const h = Uint8Array.from(hcl);
          const q = Uint8Array.from(quote);
          for (const [o, x] of flips) {
            h[o % h.length]! ^= x;
            q[o % q.length]! ^= x;
          }
          onlyTyped(() => parseHclReport(h));
          onlyTyped(() => parseHclReport(h.subarray(0, cut % h.length)));
          onlyTyped(() => parseTpmQuote(q));
          onlyTyped(() => parseTpmQuote(q.subarray(0, cut % q.length)));
          onlyTyped(() => rsaSignatureBytes(q, 256));
          const r = verify(
            new Map([...p, ['hcl', h], ['tpm_quote', q]]),
            policy,
            undefined,
            new Date('2026-01-01'),
          );
          assert.equal(typeof r.ok, 'boolean');
        },
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (j) => onlyTyped(() => azureEvidenceFromJson(j))),
      { numRuns: 300 },
    );
  });
});

describe('Azure HCL (SNP): fail closed without the ARK-signed CRL', { skip }, () => {
  test('a genuine capture is refused by the strict default for the missing CRL only', () => {
    const it = items()[0]!;
    const parts = partsOf(it);
    const strict = mergePolicy(DEFAULT_POLICY, { snp: { permitProvisionalFirmware: true } });
    const r = verify(parts, strict);
    assert.deepEqual(failed(r), ['crl']);
    assert.match(r.checks.find((c) => !c.ok)!.message, /snp\.allowMissingCrl/);
    for (const id of ['signature', 'cert_chain', 'tpm_quote', 'runtime_claims'])
      assert.ok(checkOk(r, id), id);
    const relaxed = verify(parts, policy);
    assert.deepEqual(failed(relaxed), []);
    assert.ok(relaxed.checks.some((c) => c.id === 'relaxed.allowMissingCrl'));
  });
});
