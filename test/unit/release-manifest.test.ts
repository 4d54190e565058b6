/**
 * The release manifest parser (protocol/release/manifest.ts): a valid manifest round-trips, every
 * field's failure names the field with expected and actual value, only ProtocolError is ever thrown
 * (property), semver ordering, and the policy derived from a manifest only pins and raises.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ProtocolError } from '../../protocol/errors';
import {
  compareSemver,
  manifestPolicy,
  NOT_IN_MANIFEST,
  parseReleaseManifest,
  parseSemver,
  validateReleaseManifest,
} from '../../protocol/release/manifest';
import { DEFAULT_POLICY } from '../../protocol/attestation/policy';
import { sampleManifest } from '../helpers/release-manifest';
import { repoRoot } from '../helpers/shared';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const refuses = (v: unknown, field: string, re: RegExp, code = 'malformed'): void => {
  assert.throws(
    () => parseReleaseManifest(enc(v)),
    (e: unknown) => {
      assert.ok(e instanceof ProtocolError, String(e));
      assert.equal(e.code, code, e.message);
      assert.equal(e.field, field, e.message);
      assert.match(e.message, re);
      return true;
    },
  );
};
type J = Record<string, unknown>;
const withPath = (path: string[], value: unknown): J => {
  const m = structuredClone(sampleManifest()) as J;
  let o = m;
  for (const k of path.slice(0, -1)) o = o[k] as J;
  const last = path[path.length - 1] as string;
  if (value === undefined) delete o[last];
  else o[last] = value;
  return m;
};

describe('release manifest: parse', () => {
  test('a valid manifest parses, hex normalised to lowercase', () => {
    const m = parseReleaseManifest(
      enc(sampleManifest({ server: { build_sha256: 'AB'.repeat(32) } })),
    );
    assert.equal(m.version, '1.4.2');
    assert.deepEqual(m.semver, { major: 1, minor: 4, patch: 2, prerelease: [] });
    assert.equal(m.server.buildSha256, 'ab'.repeat(32));
    assert.equal(m.expected.snp[0]?.shape, 'qemu-8');
    assert.equal(m.expected.tdx?.rtmr2, 'cc'.repeat(48));
    assert.equal(m.expected.azure?.pcrs['11'], 'ee'.repeat(32));
    assert.equal(m.issuedAtMs, Date.UTC(2026, 10, 30, 12));
    assert.deepEqual(m.policyFloors.snp?.minTcb, { bl: 7, snp: 14 });
  });

  const cases: [string[], unknown, string, RegExp, string?][] = [
    [
      ['schema'],
      'teechat-release-manifest/v2',
      'schema',
      /expected "teechat-release-manifest\/v1", got "teechat-release-manifest\/v2"/,
      'unsupported_version',
    ],
    [['version'], '1.4', 'version', /expected a semantic version .*, got "1.4"/],
    [['version'], '01.4.2', 'version', /got "01.4.2"/],
    [['source', 'tag'], 'v1.4.3', 'source.tag', /expected "v1.4.2" \(the version\), got "v1.4.3"/],
    [['source', 'commit'], 'abc', 'source.commit', /expected 20-byte hex \(40 digits\), got "abc"/],
    [
      ['source', 'repository'],
      'gitlab.com/a/b',
      'source.repository',
      /github\.com\/ORG\/REPO.*got "gitlab.com\/a\/b"/,
    ],
    [['image', 'kernel_sha256'], 'zz'.repeat(32), 'image.kernel_sha256', /expected 32-byte hex/],
    [['image', 'cmdline'], 'a\nb', 'image.cmdline', /printable ASCII/],
    [
      ['image', 'vcpu_shapes'],
      [],
      'image.vcpu_shapes',
      /an array of 1..64 items, got an array of 0/,
    ],
    [
      ['expected', 'snp'],
      [{ shape: 'other', launch_digest: '00'.repeat(48) }],
      'expected.snp[0].shape',
      /one of image.vcpu_shapes \(qemu-8\), got "other"/,
    ],
    [
      ['expected', 'snp'],
      [{ shape: 'qemu-8', launch_digest: '00'.repeat(32) }],
      'expected.snp[0].launch_digest',
      /48-byte hex/,
    ],
    [
      ['expected', 'tdx', 'rtmr1'],
      undefined,
      'expected.tdx.rtmr1',
      /expected a value, got nothing \(missing\)/,
    ],
    [
      ['expected', 'azure', 'pcrs'],
      { '24': '00'.repeat(32) },
      'expected.azure.pcrs',
      /PCR indices "0".."23", got key "24"/,
    ],
    [['expected'], {}, 'expected', /at least one platform/],
    [['expected', 'sgx'], {}, 'expected.sgx', /one of snp, tdx, azure, got unknown key "sgx"/],
    [['model', 'dm_verity_root'], 'x', 'model.dm_verity_root', /32-byte hex/],
    [['model', 'repository'], 'noslash', 'model.repository', /"org\/name"/],
    [
      ['policy_floors', 'snp', 'allowDebug'],
      true,
      'policy_floors.snp.allowDebug',
      /one of minTcb, minGuestSvn, minFirmware, got unknown key "allowDebug"/,
    ],
    [
      ['policy_floors', 'snp', 'minTcb', 'bl'],
      256,
      'policy_floors.snp.minTcb.bl',
      /an integer 0..255, got 256/,
    ],
    [
      ['policy_floors', 'tdx', 'minQeSvn'],
      -1,
      'policy_floors.tdx.minQeSvn',
      /an integer 0..65535, got -1/,
    ],
    [['issued_at'], '2026-02-30T00:00:00Z', 'issued_at', /a valid calendar date/],
    [['issued_at'], '2026-02-01T00:00:00+01:00', 'issued_at', /RFC 3339 UTC/],
    [['extra'], 1, 'manifest.extra', /unknown key "extra"/],
  ];
  for (const [path, value, field, re, code] of cases) {
    test(`refuses ${path.join('.')} = ${JSON.stringify(value)?.slice(0, 30)}`, () =>
      refuses(withPath(path, value), field, re, code));
  }

  test('not JSON, not UTF-8, not an object, too large', () => {
    assert.throws(() => parseReleaseManifest('{'), /manifest: expected JSON, got a syntax error/);
    assert.throws(
      () => parseReleaseManifest(new Uint8Array([0x7b, 0xff, 0x7d])),
      (e: unknown) => e instanceof ProtocolError,
    );
    assert.throws(
      () => validateReleaseManifest([]),
      /manifest: expected an object, got an array of 0/,
    );
    assert.throws(
      () => parseReleaseManifest(' '.repeat(256 * 1024 + 1)),
      (e: unknown) => e instanceof ProtocolError && e.code === 'too_large',
    );
  });

  test('property: arbitrary JSON and mutated manifests throw only ProtocolError', () => {
    const only = (f: () => unknown): void => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `non-ProtocolError: ${String(e)}`);
      }
    };
    fc.assert(
      fc.property(fc.jsonValue(), (v) => only(() => validateReleaseManifest(v))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => only(() => parseReleaseManifest(b))),
      { numRuns: 300 },
    );
    const base = JSON.stringify(sampleManifest());
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.string({ maxLength: 3 }), (i, s) =>
        only(() => parseReleaseManifest(base.slice(0, i) + s + base.slice(i + 1))),
      ),
      { numRuns: 500 },
    );
    // Leaf replacement: every path gets an arbitrary JSON value.
    const paths: string[][] = [];
    const walk = (o: unknown, p: string[]): void => {
      if (typeof o === 'object' && o !== null)
        for (const [k, v] of Object.entries(o)) walk(v, [...p, k]);
      else paths.push(p);
    };
    walk(sampleManifest(), []);
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 2 }), (p, v) =>
        only(() => validateReleaseManifest(withPath(p, v))),
      ),
      { numRuns: 500 },
    );
  });

  test('the JSON schema and the example in docs/RELEASES.md agree with the parser', () => {
    const schema = JSON.parse(
      readFileSync(join(repoRoot, 'docs/release-manifest.schema.json'), 'utf8'),
    ) as J;
    assert.deepEqual(
      Object.keys(schema['properties'] as J).sort(),
      Object.keys(sampleManifest()).sort(),
    );
    assert.deepEqual(
      [...(schema['required'] as string[])].sort(),
      Object.keys(sampleManifest()).sort(),
    );
    const doc = readFileSync(join(repoRoot, 'docs/RELEASES.md'), 'utf8');
    const example = /```json\n([\s\S]*?)\n```/.exec(doc);
    assert.ok(example, 'docs/RELEASES.md has a ```json example');
    assert.equal(parseReleaseManifest(example[1] as string).schema, 'teechat-release-manifest/v1');
  });
});

describe('release manifest: semver', () => {
  test('precedence per semver §11', () => {
    const order = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.2.0',
      '2.0.0',
    ];
    for (let i = 0; i + 1 < order.length; i++) {
      const a = parseSemver(order[i]);
      const b = parseSemver(order[i + 1]);
      assert.ok(compareSemver(a, b) < 0, `${order[i]} < ${order[i + 1]}`);
      assert.ok(compareSemver(b, a) > 0);
      assert.equal(compareSemver(a, a), 0);
    }
    assert.throws(() => parseSemver('1.0.0+build'), /semantic version/);
  });
});

describe('release manifest: policy', () => {
  test('expected values replace the allowlists; floors only rise; flags untouched', () => {
    const m = parseReleaseManifest(enc(sampleManifest()));
    const base = {
      ...DEFAULT_POLICY,
      snp: {
        ...DEFAULT_POLICY.snp,
        minTcb: { bl: 9, tee: 1 },
        minFirmware: '1.60',
        measurements: ['ff'.repeat(48)],
      },
    };
    const p = manifestPolicy(base, m);
    assert.deepEqual(p.snp.measurements, [m.expected.snp[0]?.launchDigest]);
    assert.deepEqual(p.snp.minTcb, { bl: 9, tee: 1, snp: 14 });
    assert.equal(p.snp.minFirmware, '1.60');
    assert.equal(p.snp.allowDebug, false);
    assert.deepEqual(p.tdx.mrtd, ['aa'.repeat(48)]);
    assert.deepEqual(p.tdx.rtmr, [[], ['bb'.repeat(48)], ['cc'.repeat(48)], []]);
    assert.equal(p.tdx.minQeSvn, 8);
    assert.deepEqual(p.azure.pcrs, { '4': ['dd'.repeat(32)], '11': ['ee'.repeat(32)] });
  });
  test('a platform the manifest does not list matches nothing (never "not constrained")', () => {
    const v = sampleManifest();
    (v['expected'] as J) = { tdx: (v['expected'] as J)['tdx'] };
    const p = manifestPolicy(DEFAULT_POLICY, parseReleaseManifest(enc(v)));
    assert.deepEqual(p.snp.measurements, [NOT_IN_MANIFEST]);
    assert.deepEqual(p.azure.pcrs, { '0': [NOT_IN_MANIFEST] });
  });
});
