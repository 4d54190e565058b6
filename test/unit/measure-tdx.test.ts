/**
 * `teechat measure tdx` / protocol/measure/tdx.ts.
 *
 * MRTD: no published MRTD exists for an image these tests can fetch offline (virtee/tdx-measure
 * publishes 7357a10d… for Ubuntu 25.04's ovmf 2025.02-3ubuntu2, tests/fixtures/canonical-defaults/
 * expected.json @ 1ebcd7f5, which is not in Debian). So Debian's OVMF.fd (scripts/fetch-ovmf.sh)
 * is checked structurally and against a direct, independent transcription of the TDX module's
 * TDH.MEM.PAGE.ADD / TDH.MR.EXTEND hashing written here with node:crypto.
 * RTMR trace: the CCEL vectors of ../shared/vectors replay to the RTMRs of their quotes.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ProtocolError } from '../../protocol/errors';
import { parseCcel } from '../../protocol/attestation/tdx/ccel';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import { diffRtmrTraces, parseTdvf, tdxMrtd, traceRtmrs } from '../../protocol/measure/tdx';
import { measureCommand } from '../../client/cli/measure';
import { repoRoot, sharedPath, skipUnlessShared } from '../helpers/shared';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await measureCommand(['tdx', ...args], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const fetched = spawnSync('sh', [join(repoRoot, 'scripts', 'fetch-ovmf.sh')], { encoding: 'utf8', timeout: 120_000 });
const debDir = fetched.status === 0 && existsSync(join(fetched.stdout.trim(), 'OVMF.fd')) ? fetched.stdout.trim() : null;
const skipDeb = debDir === null ? 'SKIPPED: Debian ovmf could not be fetched (scripts/fetch-ovmf.sh; CI must)' : false;
if (skipDeb) console.error(skipDeb);

describe('TDX MRTD of a TDVF image (Debian ovmf 2022.11-6+deb12u2 OVMF.fd)', { skip: skipDeb }, () => {
  if (debDir === null) return;
  const fw = new Uint8Array(readFileSync(join(debDir, 'OVMF.fd')));
  test('TDX metadata sections: BFV (MR_EXTEND), CFV, TEMP_MEM ×3, TD_HOB', () => {
    const s = parseTdvf(fw);
    assert.deepEqual(s.map((x) => x.type), ['BFV', 'CFV', 'TEMP_MEM', 'TEMP_MEM', 'TD_HOB', 'TEMP_MEM']);
    assert.equal(s[0]!.attributes, 1);
    assert.equal(s[0]!.memoryAddress + BigInt(s[0]!.memorySize), 0x1_0000_0000n, 'BFV ends at 4 GiB');
    assert.equal(s[1]!.attributes, 0, 'CFV (variables) is added, not extended');
  });
  test('MRTD equals an independent transcription of TDH.MEM.PAGE.ADD + TDH.MR.EXTEND', () => {
    const ref = (twoPass: boolean): string => {
      const h = createHash('sha384');
      const op = (name: string, gpa: bigint): Buffer => {
        const b = Buffer.alloc(128);
        b.write(name, 0, 'ascii');
        b.writeBigUInt64LE(gpa, 16);
        return b;
      };
      const secs = parseTdvf(fw);
      const pass = (doAdd: boolean, doExt: boolean): void => {
        for (const s of secs) {
          for (let off = 0; off < s.memorySize; off += 4096) {
            if (doAdd && (s.attributes & 2) === 0) h.update(op('MEM.PAGE.ADD', s.memoryAddress + BigInt(off)));
            if (doExt && (s.attributes & 1) !== 0) {
              for (let c = off; c < off + 4096; c += 256) {
                h.update(op('MR.EXTEND', s.memoryAddress + BigInt(c)));
                h.update(fw.subarray(s.dataOffset + c, s.dataOffset + c + 256));
              }
            }
          }
        }
      };
      if (twoPass) {
        pass(true, false);
        pass(false, true);
      } else pass(true, true);
      return h.digest('hex');
    };
    const one = tdxMrtd(fw);
    assert.equal(hex(one.mrtd), ref(false));
    assert.equal(one.pagesAdded, 538);
    assert.equal(one.chunksExtended, 1966080 / 256);
    const two = tdxMrtd(fw, { order: 'two-pass' });
    assert.equal(hex(two.mrtd), ref(true));
    assert.notEqual(hex(one.mrtd), hex(two.mrtd));
  });
  test('a change in the extended BFV changes MRTD; a change in the CFV does not', () => {
    const s = parseTdvf(fw);
    const base = hex(tdxMrtd(fw).mrtd);
    const bfv = Uint8Array.from(fw);
    bfv[s[0]!.dataOffset + 100] = bfv[s[0]!.dataOffset + 100]! ^ 1;
    assert.notEqual(hex(tdxMrtd(bfv).mrtd), base);
    const cfv = Uint8Array.from(fw);
    cfv[s[1]!.dataOffset + 100] = cfv[s[1]!.dataOffset + 100]! ^ 1;
    assert.equal(hex(tdxMrtd(cfv).mrtd), base, 'the CFV is measured into RTMR0, not MRTD');
  });
  test('CLI: --tdvf prints MRTD; an SNP-only image (no TDX metadata) is refused', async () => {
    let r = await cli(['--tdvf', join(debDir, 'OVMF.fd')]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `MRTD   ${hex(tdxMrtd(fw).mrtd)}\n`);
    r = await cli(['--tdvf', join(debDir, 'OVMF_CODE_4M.fd')]);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.match(r.err, /TDX metadata/);
  });
});

describe('TDX MRTD parser', () => {
  test('property: only ProtocolError on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        try {
          tdxMrtd(b);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
});

const skipVec = skipUnlessShared('vectors', 'tdx', 'go-tdx-guest', 'ccel', 'ccel_data.dat');
describe('RTMR trace from a CCEL log', { skip: skipVec }, () => {
  if (skipVec) return;
  const ccelPath = sharedPath('vectors', 'tdx', 'go-tdx-guest', 'ccel', 'ccel_data.dat')!;
  const quote = parseTdxQuote(new Uint8Array(readFileSync(sharedPath('vectors', 'tdx', 'go-tdx-guest', 'ccel', 'cos-113-tdx-quote.dat')!)));
  const log = parseCcel(new Uint8Array(readFileSync(ccelPath)));
  const tmp = mkdtempSync(join(tmpdir(), 'teechat-tdx-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  test('the trace ends at the quote RTMRs; every event is attributed to one RTMR', () => {
    const t = traceRtmrs(log);
    for (let i = 0; i < 4; i++) {
      const last = t[i]!.length === 0 ? new Uint8Array(48) : t[i]![t[i]!.length - 1]!.after;
      assert.equal(hex(last), hex(quote.body.rtmrs[i]!), `RTMR${i}`);
    }
    assert.deepEqual(diffRtmrTraces(t, t).map((d) => d.same), [true, true, true, true]);
  });
  test('CLI: --expect-rtmrN from the quote passes; a wrong one fails naming the events', async () => {
    const args = ['--ccel', ccelPath, ...[0, 1, 2, 3].flatMap((i) => [`--expect-rtmr${i}`, hex(quote.body.rtmrs[i]!)])];
    let r = await cli(args);
    assert.equal(r.code, 0, r.err + r.out);
    r = await cli(['--ccel', ccelPath, '--expect-rtmr1', 'ab'.repeat(48)]);
    assert.equal(r.code, 1);
    assert.match(r.out, /RTMR1 DIFFERS: expected (ab)+, replayed [0-9a-f]{96} \(produced by events #14, #15/);
  });
  test('CLI: --expect-ccel names the first diverging event per RTMR', async () => {
    // Change the SHA-384 digest of the first RTMR1 event (event #14) in a copy of the log.
    const bytes = Uint8Array.from(readFileSync(ccelPath));
    const d = log.events[14]!.digests.get(0x000c)!;
    const at = Buffer.from(bytes).indexOf(Buffer.from(d));
    assert.ok(at > 0);
    bytes[at] = bytes[at]! ^ 0xff;
    const changed = join(tmp, 'changed.dat');
    writeFileSync(changed, bytes);
    const r = await cli(['--ccel', changed, '--expect-ccel', ccelPath, '--json']);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out) as { logDiff: { rtmr: number; same: boolean; firstDifference: number | null; actual: { event: number } | null }[] };
    assert.deepEqual(j.logDiff.map((x) => x.same), [true, false, true, true]);
    assert.equal(j.logDiff[1]!.firstDifference, 0);
    assert.equal(j.logDiff[1]!.actual!.event, 14);
  });
  test('usage errors', async () => {
    for (const a of [[], ['--expect-rtmr1', 'ab'.repeat(48)], ['--ccel', ccelPath, '--expect-rtmr1', 'zz']]) {
      const r = await cli(a);
      assert.equal(r.code, 2, a.join(' '));
      assert.equal(r.out, '');
    }
  });
});
