import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename, dirname } from 'node:path';
import fc from 'fast-check';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { SnpConfigfsProvider, SnpEvidenceError } from '../../enclave-server/evidence/snp-configfs';
import { tsmReport, TsmError } from '../../enclave-server/evidence/configfs-tsm';
import type { TsmFs } from '../../enclave-server/evidence/configfs-tsm';
import { SimulatedSnpProvider, simulatedArkCrl } from '../../enclave-server/evidence/simulated-snp';
import {
  CERT_TABLE_GUIDS,
  buildCertTable,
  parseCertTable,
} from '../../protocol/attestation/snp/certtable';
import { verifySnpEvidence } from '../../protocol/attestation/snp/verify';
import { DEFAULT_POLICY, mergePolicy } from '../../protocol/attestation/policy';
import type { BindingValues } from '../../protocol/attestation/types';
import { ProtocolError } from '../../protocol/errors';

const DEV = mergePolicy(DEFAULT_POLICY, { allowSimulated: true });
const binding = (n: number): BindingValues => ({
  cpuReportData: new Uint8Array(64).fill(n),
  gpuNonce: new Uint8Array(32),
});

/**
 * An in-memory configfs-tsm tree that behaves like the sev_guest provider: writing inblob
 * produces a report from the simulated "firmware"; generation counts writes. `extraWrites`
 * simulates other processes writing to the same entry.
 */
class FakeTsm implements TsmFs {
  entries = new Map<string, { inblob?: Uint8Array; privlevel?: number; generation: number }>();
  created = 0;
  removed = 0;
  extraWrites = 0;
  constructor(
    readonly sim: SimulatedSnpProvider,
    readonly provider = 'sev_guest',
    readonly auxblob: Uint8Array | null = null,
  ) {}
  async mkdir(p: string): Promise<void> {
    this.created++;
    this.entries.set(p, { generation: 0 });
  }
  async rmdir(p: string): Promise<void> {
    this.removed++;
    this.entries.delete(p);
  }
  private entry(p: string) {
    const e = this.entries.get(dirname(p));
    if (e === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return e;
  }
  async writeFile(p: string, d: Uint8Array): Promise<void> {
    const e = this.entry(p);
    if (basename(p) === 'inblob') e.inblob = d;
    else if (basename(p) === 'privlevel') e.privlevel = Number(Buffer.from(d).toString());
    e.generation++;
  }
  async readFile(p: string): Promise<Uint8Array> {
    const e = this.entry(p);
    switch (basename(p)) {
      case 'provider':
        return Buffer.from(`${this.provider}\n`);
      case 'generation':
        if (this.extraWrites > 0) {
          this.extraWrites--;
          e.generation++;
        }
        return Buffer.from(`${e.generation}\n`);
      case 'outblob':
        return this.sim.report(e.inblob!);
      case 'auxblob':
        if (this.auxblob === null) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        return this.auxblob;
      default:
        throw new Error(`unexpected read ${p}`);
    }
  }
}

describe('configfs-tsm SEV-SNP provider', () => {
  let sim: SimulatedSnpProvider;
  let table: Uint8Array;
  before(async () => {
    sim = await SimulatedSnpProvider.create({ product: 'milan', rsaBits: 2048 });
    table = buildCertTable([
      { guid: CERT_TABLE_GUIDS.vcek, data: sim.chain.vcek },
      { guid: CERT_TABLE_GUIDS.ask, data: sim.chain.ask },
      { guid: CERT_TABLE_GUIDS.ark, data: sim.chain.ark },
    ]);
  });

  test('report bound to REPORT_DATA, certificates from the auxblob table; verifies (simulated root allowed)', async () => {
    const fs = new FakeTsm(sim, 'sev_guest', table);
    // Without a CRL source the evidence goes out without one, and the client refuses it for that.
    const bare = new SnpConfigfsProvider({ fs, tsmRoot: '/cfg', privlevel: 0 });
    const [noCrl] = await bare.collect(binding(4));
    assert.deepEqual([...noCrl!.parts.keys()].sort(), ['ark', 'ask', 'report', 'vcek']);
    const refused = verifySnpEvidence(
      noCrl!,
      { crypto: nodeProvider, now: () => new Date() },
      DEV,
      binding(4),
    );
    assert.deepEqual(
      refused.checks.filter((c) => !c.ok).map((c) => c.id),
      ['crl'],
    );
    // With an (injected) KDS fetcher the ARK-signed CRL is stapled, cached, and re-fetched late.
    const urls: string[] = [];
    let clock = new Date();
    let down = false;
    const p = new SnpConfigfsProvider({
      fs,
      tsmRoot: '/cfg',
      privlevel: 0,
      now: () => clock,
      fetch: (url) => {
        urls.push(url);
        if (down) return Promise.reject(new Error('offline'));
        return Promise.resolve(simulatedArkCrl(sim.chain, [], clock));
      },
    });
    const [item] = await p.collect(binding(4));
    assert.deepEqual([...item!.parts.keys()].sort(), ['ark', 'ask', 'crl', 'report', 'vcek']);
    assert.deepEqual(urls, ['https://kdsintf.amd.com/vcek/v1/Milan/crl']);
    assert.equal(fs.removed, fs.created, 'every entry is removed');
    const r = verifySnpEvidence(
      item!,
      { crypto: nodeProvider, now: () => new Date() },
      DEV,
      binding(4),
    );
    assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
    assert.equal(r.simulated, true);
    await p.collect(binding(4));
    assert.equal(urls.length, 1, 'served from the cache');
    clock = new Date(clock.getTime() + 13 * 3_600_000);
    down = true;
    const [stale] = await p.collect(binding(4));
    assert.equal(urls.length, 2, 're-fetched after 12 h');
    assert.deepEqual(stale!.parts.get('crl'), item!.parts.get('crl'), 'KDS down: last copy');
  });

  test('a generation race is retried with a fresh entry; persistent races fail', async () => {
    const fs = new FakeTsm(sim, 'sev_guest', table);
    fs.extraWrites = 1;
    const [item] = await new SnpConfigfsProvider({ fs, tsmRoot: '/cfg' }).collect(binding(5));
    assert.ok(item!.parts.has('report'));
    assert.equal(fs.created, 2);
    assert.equal(fs.entries.size, 0);
    const fs2 = new FakeTsm(sim, 'sev_guest', table);
    fs2.extraWrites = 100;
    await assert.rejects(
      new SnpConfigfsProvider({ fs: fs2, tsmRoot: '/cfg', maxAttempts: 3 }).collect(binding(5)),
      (e: unknown) =>
        e instanceof SnpEvidenceError && /3 attempts raced.*generation: expected 1/.test(e.message),
    );
    assert.equal(fs2.entries.size, 0);
  });

  test('wrong provider (a TDX guest) and a bad inblob are refused', async () => {
    await assert.rejects(
      new SnpConfigfsProvider({ fs: new FakeTsm(sim, 'tdx_guest'), tsmRoot: '/cfg' }).collect(
        binding(1),
      ),
      /provider: expected "sev_guest", got "tdx_guest"/,
    );
    await assert.rejects(
      tsmReport({ provider: 'sev_guest', inblob: new Uint8Array(32), fs: new FakeTsm(sim) }),
      (e: unknown) => e instanceof TsmError && /64 bytes, got 32/.test(e.message),
    );
  });

  test('no host certificates: cached files, else one KDS fetch cached on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'teechat-snp-certs-'));
    try {
      const all: string[] = [];
      const fetch = async (u: string): Promise<Uint8Array> => {
        all.push(u);
        return u.endsWith('/crl') ? simulatedArkCrl(sim.chain, [], new Date()) : sim.chain.vcek;
      };
      // VCEK fetches (the CRL is fetched too, and stapled: see the test above).
      const urls = {
        get length(): number {
          return all.filter((u) => !u.endsWith('/crl')).length;
        },
        get 0(): string | undefined {
          return all.find((u) => !u.endsWith('/crl'));
        },
      };
      const p = new SnpConfigfsProvider({
        fs: new FakeTsm(sim),
        tsmRoot: '/cfg',
        certDir: dir,
        fetch,
      });
      const [a] = await p.collect(binding(2));
      assert.deepEqual(a!.parts.get('vcek'), sim.chain.vcek);
      assert.ok(a!.parts.has('crl'), 'the KDS CRL is stapled');
      assert.equal(urls.length, 1);
      assert.match(
        urls[0]!,
        /^https:\/\/kdsintf\.amd\.com\/vcek\/v1\/Milan\/[0-9a-f]{128}\?blSPL=09&teeSPL=00&snpSPL=27&ucodeSPL=72$/,
      );
      await p.collect(binding(3));
      const p2 = new SnpConfigfsProvider({
        fs: new FakeTsm(sim),
        tsmRoot: '/cfg',
        certDir: dir,
        fetch,
      });
      await p2.collect(binding(3));
      assert.equal(urls.length, 1, 'memory cache, then the on-disk cache');
      assert.equal(readdirSync(dir).filter((f) => f.startsWith('kds-')).length, 1);
      // Operator-placed files take precedence over KDS.
      writeFileSync(join(dir, 'vcek.der'), sim.chain.vcek);
      writeFileSync(
        join(dir, 'cert_chain.pem'),
        '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      );
      const [c] = await new SnpConfigfsProvider({
        fs: new FakeTsm(sim),
        tsmRoot: '/cfg',
        certDir: dir,
      }).collect(binding(3));
      assert.ok(c!.parts.has('cert_chain'));
      // Offline with nothing cached: the report alone (the client may fetch from KDS itself).
      const [d] = await new SnpConfigfsProvider({ fs: new FakeTsm(sim), tsmRoot: '/cfg' }).collect(
        binding(3),
      );
      assert.deepEqual([...d!.parts.keys()], ['report']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SEV-SNP certificate table (auxblob)', () => {
  test('both GUID byte orders, unknown GUIDs kept, zero terminator required', () => {
    const a = Uint8Array.of(1, 2, 3);
    const b = Uint8Array.of(4, 5);
    for (const efi of [false, true]) {
      const t = buildCertTable(
        [
          { guid: CERT_TABLE_GUIDS.vlek, data: a },
          { guid: '11111111-2222-3333-4444-555555555555', data: b },
        ],
        efi,
      );
      const e = parseCertTable(t);
      // (this GUID reads the same in both byte orders; the VLEK one does not)
      assert.deepEqual(
        e.map((x) => x.name),
        ['vlek', 'certtable.11111111-2222-3333-4444-555555555555'],
      );
      assert.deepEqual(e[0]!.data, a);
      assert.deepEqual(e[1]!.data, b);
    }
    const padded = new Uint8Array(4096);
    padded.set(buildCertTable([{ guid: CERT_TABLE_GUIDS.vcek, data: a }]));
    assert.equal(parseCertTable(padded).length, 1, 'page padding after the data is fine');
    assert.throws(
      () => parseCertTable(new Uint8Array(10)),
      (e: unknown) => e instanceof ProtocolError && e.code === 'truncated',
    );
    const dup = buildCertTable([
      { guid: CERT_TABLE_GUIDS.vcek, data: a },
      { guid: CERT_TABLE_GUIDS.vcek, data: b },
    ]);
    assert.throws(() => parseCertTable(dup), /twice/);
  });
  test('random and mutated tables only throw ProtocolError', () => {
    const seed = buildCertTable([
      { guid: CERT_TABLE_GUIDS.vcek, data: new Uint8Array(40).fill(7) },
      { guid: CERT_TABLE_GUIDS.ask, data: new Uint8Array(30).fill(8) },
    ]);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        (rnd, flips) => {
          for (const input of [
            rnd,
            (() => {
              const m = Uint8Array.from(seed);
              for (const [o, x] of flips) m[o % m.length]! ^= x;
              return m;
            })(),
          ]) {
            try {
              for (const e of parseCertTable(input))
                assert.ok(e.data.byteOffset + e.data.length <= input.byteOffset + input.length);
            } catch (e) {
              assert.ok(e instanceof ProtocolError, String(e));
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
