import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import {
  TdxEvidenceProvider,
  tsmTdxQuote,
  TdxEvidenceError,
} from '../../enclave-server/evidence/tdx';
import type { TsmFs } from '../../enclave-server/evidence/tdx';
import { parseTdxQuote, HEADER, BODY } from '../../protocol/attestation/tdx/quote';
import { verifyTdxEvidence } from '../../protocol/attestation/tdx/verify';
import { tdxPolicy } from '../../protocol/attestation/tdx/policy';
import { sharedPath, skipUnlessShared } from '../helpers/shared';
import { ctxAt, vec } from '../helpers/tdx';

const skip = skipUnlessShared('vectors', 'EXPECTED.json');

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
      copyFileSync(sharedPath('vectors', 'tdx/trustee/tcbInfo.json')!, join(dir, 'tcb.json'));
      copyFileSync(
        sharedPath('vectors', 'tdx/trustee/enclaveIdentity.json')!,
        join(dir, 'qe.json'),
      );
      copyFileSync(
        sharedPath('vectors', 'tdx/lunal-attestation-rs/collateral/root_ca_crl.der')!,
        join(dir, 'root_crl.der'),
      );
      const p = new TdxEvidenceProvider({
        fs: new FakeTsm(quote),
        tsmRoot: '/tsm',
        collateralDir: dir,
        ccelPath: null,
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
