import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import fc from 'fast-check';
import {
  TdxEvidenceProvider,
  tsmTdxQuote,
  TdxEvidenceError,
  freshTdxCollateral,
  loadTdxCollateralParts,
  tdxCollateralProblem,
} from '../../enclave-server/evidence/tdx';
import type { TdxProviderOptions, TsmFs } from '../../enclave-server/evidence/tdx';
import { tdxCollateralRefetcher } from '../../enclave-server/evidence/collateral';
import { parseTdxQuote, HEADER, BODY } from '../../protocol/attestation/tdx/quote';
import { verifyTdxEvidence } from '../../protocol/attestation/tdx/verify';
import { tdxPolicy } from '../../protocol/attestation/tdx/policy';
import { sharedPath, skipUnlessShared } from '../helpers/shared';
import { ctxAt, vec } from '../helpers/tdx';

const skip = skipUnlessShared('vectors', 'EXPECTED.json');
const LUNAL = 'tdx/lunal-attestation-rs/collateral/';
/** Inside the lunal collateral's windows (issued 2026-03-16, nextUpdate 2026-04-15). */
const LUNAL_AT = new Date('2026-03-20T00:00:00Z');

/** An in-memory stand-in for the kernel's configfs-tsm (it patches REPORTDATA into a real v4 quote). */
class FakeTsm implements TsmFs {
  entries = new Map<string, { gen: number; inblob?: Uint8Array }>();
  removed: string[] = [];
  provider = 'tdx_guest';
  /** Extra generation bumps to simulate a concurrent writer, per attempt. */
  races: number[] = [];
  constructor(
    readonly quote: Uint8Array,
    readonly root = '/tsm',
  ) {}
  private entry(p: string) {
    const dir = p.slice(0, p.lastIndexOf('/'));
    const e = this.entries.get(dir);
    if (e === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return { e, file: basename(p) };
  }
  async mkdir(p: string): Promise<void> {
    if (!p.startsWith(this.root + '/'))
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    this.entries.set(p, { gen: 0 });
  }
  async rmdir(p: string): Promise<void> {
    this.entries.delete(p);
    this.removed.push(p);
  }
  async writeFile(p: string, d: Uint8Array): Promise<void> {
    const { e, file } = this.entry(p);
    assert.equal(file, 'inblob');
    e.inblob = d.slice();
    e.gen++;
  }
  async readFile(p: string): Promise<Uint8Array> {
    if (p.endsWith('/CCEL')) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    const { e, file } = this.entry(p);
    if (file === 'provider') return new TextEncoder().encode(this.provider + '\n');
    if (file === 'generation') return new TextEncoder().encode(`${e.gen}\n`);
    assert.equal(file, 'outblob');
    e.gen += this.races.shift() ?? 0;
    const q = this.quote.slice();
    q.set(e.inblob ?? new Uint8Array(64), HEADER.SIZE + BODY.REPORT_DATA);
    const padded = new Uint8Array(q.length + 200); // configfs buffers carry zero padding
    padded.set(q);
    return padded;
  }
}

describe('TDX configfs-tsm provider', { skip }, () => {
  if (skip) return;
  const quote = vec('tdx/trustee/tdx_quote_6.dat');
  const rd = new Uint8Array(64).map((_, i) => i + 1);
  const binding = { cpuReportData: rd, gpuNonce: new Uint8Array(32) };

  test('puts the binding value in REPORTDATA, trims padding, removes its entry', async () => {
    const fs = new FakeTsm(quote);
    const p = new TdxEvidenceProvider({ fs, tsmRoot: '/tsm', ccelPath: '/acpi/CCEL' });
    const [item] = await p.collect(binding);
    assert.ok(item);
    assert.equal(item.kind, 'tdx');
    const q = item.parts.get('quote')!;
    assert.deepEqual(parseTdxQuote(q).body.reportData, rd);
    assert.equal(parseTdxQuote(q).trailingBytes, 0);
    assert.equal(fs.entries.size, 0);
    assert.equal(fs.removed.length, 1);
    assert.equal(item.parts.has('ccel'), false);
    // The client-side verifier sees the binding (the patched quote's signature no longer verifies,
    // which is the point: only the hardware can sign a REPORTDATA).
    const r = verifyTdxEvidence(
      item,
      ctxAt(new Date('2025-11-10T00:00:00Z')),
      { tdx: tdxPolicy() },
      binding,
    );
    assert.ok(r.checks.some((c) => c.id === 'report_data' && c.ok));
    assert.ok(r.checks.some((c) => c.id === 'quote_signature' && !c.ok));
  });

  test('a generation race is retried, and persistent races fail', async () => {
    const fs = new FakeTsm(quote);
    fs.races = [1];
    await tsmTdxQuote(rd, { fs, tsmRoot: '/tsm' });
    assert.equal(fs.removed.length, 2);
    const always = new FakeTsm(quote);
    always.races = [1, 1, 1];
    await assert.rejects(tsmTdxQuote(rd, { fs: always, tsmRoot: '/tsm', maxAttempts: 3 }), /raced/);
    assert.equal(always.entries.size, 0);
  });

  test('wrong provider, missing configfs, wrong REPORTDATA length', async () => {
    const snp = new FakeTsm(quote);
    snp.provider = 'sev_guest';
    await assert.rejects(tsmTdxQuote(rd, { fs: snp, tsmRoot: '/tsm' }), /tdx_guest/);
    await assert.rejects(
      tsmTdxQuote(rd, { fs: new FakeTsm(quote), tsmRoot: '/elsewhere' }),
      /configfs/,
    );
    await assert.rejects(
      tsmTdxQuote(new Uint8Array(32), { fs: new FakeTsm(quote), tsmRoot: '/tsm' }),
      /64 bytes/,
    );
  });

  test('a quote that does not carry our REPORTDATA is refused', async () => {
    class Liar extends FakeTsm {
      override async readFile(p: string): Promise<Uint8Array> {
        return p.endsWith('outblob') ? this.quote : super.readFile(p);
      }
    }
    await assert.rejects(
      tsmTdxQuote(rd, { fs: new Liar(quote), tsmRoot: '/tsm' }),
      (e: unknown) => e instanceof TdxEvidenceError && /report_data/.test(e.message),
    );
  });

  test('cached PCS collateral from a directory becomes evidence parts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'teechat-tdx-col-'));
    try {
      copyFileSync(
        sharedPath('vectors', `${LUNAL}tcb_info_90c06f000000.json`)!,
        join(dir, 'tcb.json'),
      );
      copyFileSync(sharedPath('vectors', `${LUNAL}td_qe_identity.json`)!, join(dir, 'qe.json'));
      copyFileSync(sharedPath('vectors', `${LUNAL}root_ca_crl.der`)!, join(dir, 'root_crl.der'));
      const p = new TdxEvidenceProvider({
        fs: new FakeTsm(quote),
        tsmRoot: '/tsm',
        collateralDir: dir,
        ccelPath: null,
        // inside every item's issueDate/thisUpdate .. nextUpdate (stale items are not stapled)
        now: () => LUNAL_AT,
      });
      const [item] = await p.collect(binding);
      assert.deepEqual([...item!.parts.keys()].sort(), [
        'collateral.crl.root_crl',
        'collateral.qe_identity',
        'collateral.tcb_info',
        'quote',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe(
  'TDX provider: stale collateral is refetched or not stapled (injected clock)',
  { skip },
  () => {
    if (skip) return;
    const quote = vec('tdx/trustee/tdx_quote_6.dat');
    const binding = { cpuReportData: new Uint8Array(64).fill(7), gpuNonce: new Uint8Array(32) };
    const FILES = [
      ['tcb_info_90c06f000000.json', 'tcb_info.json'],
      ['td_qe_identity.json', 'qe_identity.json'],
      ['pck_crl_platform.der', 'pck_crl.der'],
      ['root_ca_crl.der', 'root_ca_crl.der'],
    ] as const;
    const ALL = [
      'collateral.crl.pck_crl',
      'collateral.crl.root_ca_crl',
      'collateral.qe_identity',
      'collateral.tcb_info',
      'quote',
    ];
    const withDir = async (f: (dir: string) => Promise<void>): Promise<void> => {
      const dir = mkdtempSync(join(tmpdir(), 'teechat-tdx-fresh-'));
      try {
        await f(dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const copyLunal = (dir: string): void => {
      for (const [from, to] of FILES)
        copyFileSync(sharedPath('vectors', LUNAL + from)!, join(dir, to));
    };
    const provider = (dir: string, at: Date, extra: Partial<TdxProviderOptions> = {}) => {
      const logs: string[] = [];
      const p = new TdxEvidenceProvider({
        fs: new FakeTsm(quote),
        tsmRoot: '/tsm',
        collateralDir: dir,
        ccelPath: null,
        now: () => at,
        log: (l) => logs.push(l),
        ...extra,
      });
      return { p, logs };
    };
    const keys = (item: { parts: ReadonlyMap<string, Uint8Array> } | undefined): string[] =>
      [...item!.parts.keys()].sort();

    test('fresh collateral is stapled whole, with no warning', async () => {
      await withDir(async (dir) => {
        copyLunal(dir);
        const { p, logs } = provider(dir, LUNAL_AT);
        assert.deepEqual(keys((await p.collect(binding))[0]), ALL);
        assert.deepEqual(logs, []);
      });
    });

    test('past nextUpdate and no way to refetch: nothing stale is stapled, a warning names each item', async () => {
      await withDir(async (dir) => {
        copyLunal(dir);
        const { p, logs } = provider(dir, new Date('2026-05-01T00:00:00Z'));
        // only the root CA CRL (nextUpdate 2027-02-26) is still current
        assert.deepEqual(keys((await p.collect(binding))[0]), [
          'collateral.crl.root_ca_crl',
          'quote',
        ]);
        assert.equal(logs.length, 1);
        assert.match(logs[0]!, /WARNING: TDX collateral .* not stapled/);
        assert.match(
          logs[0]!,
          /tcb_info: nextUpdate: expected >= 2026-05-01T00:00:00\.000Z, got 2026-04-15T22:06:09\.000Z \(stale\)/,
        );
        assert.match(logs[0]!, /qe_identity: nextUpdate/);
        assert.match(logs[0]!, /crl\.pck_crl: nextUpdate/);
      });
    });

    test('older than the maximum age: not stapled, naming age and limit', async () => {
      await withDir(async (dir) => {
        copyLunal(dir);
        const { p, logs } = provider(dir, LUNAL_AT, { maxCollateralAgeDays: 1 });
        assert.deepEqual(keys((await p.collect(binding))[0]), [
          'collateral.crl.root_ca_crl',
          'quote',
        ]);
        assert.match(
          logs[0]!,
          /tcb_info: expected at most 1 days old, got 3\.\d days \(issued 2026-03-16T22:06:09\.000Z\)/,
        );
      });
    });

    test('stale items trigger one refetch; what it stores is stapled; the cooldown holds', async () => {
      await withDir(async (dir) => {
        // a stale cache: the trustee TCB info / QE identity (nextUpdate November 2025)
        copyFileSync(
          sharedPath('vectors', 'tdx/trustee/tcbInfo.json')!,
          join(dir, 'tcb_info.json'),
        );
        copyFileSync(
          sharedPath('vectors', 'tdx/trustee/enclaveIdentity.json')!,
          join(dir, 'qe_identity.json'),
        );
        let calls = 0;
        const seen: Uint8Array[] = [];
        const { p, logs } = provider(dir, LUNAL_AT, {
          refetch: async (q) => {
            calls++;
            seen.push(q);
            copyLunal(dir); // what `collateral fetch` would store
          },
        });
        assert.deepEqual(keys((await p.collect(binding))[0]), ALL);
        assert.equal(calls, 1);
        assert.deepEqual(parseTdxQuote(seen[0]!).body.reportData, binding.cpuReportData);
        assert.deepEqual(logs, []);
        await p.collect(binding);
        assert.equal(calls, 1, 'fresh again: no second refetch');
      });
    });

    test('a failing refetch is logged and retried only after the cooldown; nothing stale is stapled', async () => {
      await withDir(async (dir) => {
        copyFileSync(
          sharedPath('vectors', 'tdx/trustee/tcbInfo.json')!,
          join(dir, 'tcb_info.json'),
        );
        let calls = 0;
        let at = LUNAL_AT;
        const logs: string[] = [];
        const p = new TdxEvidenceProvider({
          fs: new FakeTsm(quote),
          tsmRoot: '/tsm',
          collateralDir: dir,
          ccelPath: null,
          now: () => at,
          log: (l) => logs.push(l),
          refetch: () => {
            calls++;
            return Promise.reject(new Error('PCS unreachable'));
          },
          refetchCooldownMs: 60_000,
        });
        assert.deepEqual(keys((await p.collect(binding))[0]), ['quote']);
        assert.match(logs[0]!, /refetch failed: PCS unreachable/);
        assert.match(logs[1]!, /WARNING: TDX collateral/);
        await p.collect(binding);
        assert.equal(calls, 1);
        at = new Date(LUNAL_AT.getTime() + 61_000);
        await p.collect(binding);
        assert.equal(calls, 2);
      });
    });

    test('a slow refetch holds a handshake at most refetchWaitMs; the next one staples its result', async () => {
      await withDir(async (dir) => {
        copyFileSync(
          sharedPath('vectors', 'tdx/trustee/tcbInfo.json')!,
          join(dir, 'tcb_info.json'),
        );
        let finish: (() => void) | undefined;
        const { p, logs } = provider(dir, LUNAL_AT, {
          refetch: () =>
            new Promise<void>((resolve) => {
              finish = () => {
                copyLunal(dir);
                resolve();
              };
            }),
          refetchWaitMs: 20,
        });
        // the refetch has not finished: the handshake goes on with what is fresh (nothing stale)
        assert.deepEqual(keys((await p.collect(binding))[0]), ['quote']);
        assert.match(logs[0]!, /WARNING: TDX collateral/);
        finish!();
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(keys((await p.collect(binding))[0]), ALL);
      });
    });

    test("tdxCollateralRefetcher fetches for the quote's FMSPC through the injected fetcher", async () => {
      await withDir(async (dir) => {
        const urls: string[] = [];
        const body = (u: string): Uint8Array => {
          if (u.includes('/tdx/certification/v4/tcb?fmspc=90c06f000000'))
            return vec(`${LUNAL}tcb_info_90c06f000000.json`);
          if (u.includes('/qe/identity')) return vec(`${LUNAL}td_qe_identity.json`);
          if (u.includes('pckcrl')) return vec(`${LUNAL}pck_crl_platform.der`);
          return vec(`${LUNAL}root_ca_crl.der`);
        };
        const refetch = tdxCollateralRefetcher(dir, {
          now: () => LUNAL_AT,
          fetch: (req) => {
            urls.push(req.url);
            return Promise.resolve({ status: 200, body: body(req.url), headers: {} });
          },
        });
        await refetch(vec('tdx/go-tdx-guest/quote_v5_sample.dat'));
        assert.equal(urls.length, 4);
        const parts = await loadTdxCollateralParts(join(dir, 'tdx'));
        assert.deepEqual(
          [...parts.keys()].sort(),
          ALL.filter((k) => k !== 'quote'),
        );
        // at a time when the PCS copies are stale themselves, the refetch fails (and says why)
        const late = tdxCollateralRefetcher(join(dir, 'late'), {
          now: () => new Date('2026-06-01T00:00:00Z'),
          fetch: (req) => Promise.resolve({ status: 200, body: body(req.url), headers: {} }),
        });
        await assert.rejects(late(vec('tdx/go-tdx-guest/quote_v5_sample.dat')), /stale/);
      });
    });

    test('tdxCollateralProblem never throws and keeps only what it can date (property)', () => {
      const names = fc.constantFrom(
        'collateral.tcb_info',
        'collateral.qe_identity',
        'collateral.crl.pck_crl',
        'collateral.crl.root_ca_crl',
        'collateral.tcb_signing_chain',
      );
      fc.assert(
        fc.property(names, fc.uint8Array({ maxLength: 600 }), (name, bytes) => {
          const r = tdxCollateralProblem(name, bytes, LUNAL_AT, 31);
          if (name === 'collateral.tcb_signing_chain') assert.equal(r, null);
          else assert.equal(typeof r, 'string'); // random bytes never parse as dated collateral
        }),
        { numRuns: 300 },
      );
      const fresh = freshTdxCollateral(
        new Map([['collateral.tcb_info', vec(`${LUNAL}tcb_info_90c06f000000.json`)]]),
        LUNAL_AT,
        31,
      );
      assert.deepEqual([...fresh.parts.keys()], ['collateral.tcb_info']);
      assert.deepEqual(fresh.stale, []);
    });
  },
);
