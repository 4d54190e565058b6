/**
 * `teechat measure verity` / protocol/measure/verity.ts against `veritysetup format`.
 *
 * Fixed values: computed with Debian bookworm's cryptsetup-bin (veritysetup 2.6.1,
 * `veritysetup format DATA HASH <options>`) over the deterministic `pattern()` data below. When
 * veritysetup is installed (CI: apt-get install -y cryptsetup-bin) the test also runs it live over
 * random sizes and options; otherwise that part skips with a visible message.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ProtocolError } from '../../protocol/errors';
import { VerityTree, verityRootHash, type VerityParams } from '../../protocol/measure/verity';
import { measureCommand } from '../../client/cli/measure';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Deterministic data: byte i = (i·131 + seed·7 + ⌊i / 512⌋) mod 256. */
function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await measureCommand(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

// [size, seed, veritysetup options, root hash printed by veritysetup 2.6.1]
const FIXED: [number, number, string[], string][] = [
  [4096, 1, ['--salt', '00'], '9185c2312045d1de33d2337cc1d3dc4a1999181d4b56b45090ba15689f671eb1'],
  [8192, 2, ['--salt', '0011223344556677'], '3a0078d6207440254da8341650021e94dbe4ac014c5b709a914210453e62a36d'],
  [1 << 20, 3, ['--salt', 'aa'.repeat(32)], '07db917f37c111b7b1b2ee7b6cb9cbc7af4e0c8373f8570136e03617701b0d92'],
  [4096 * 200, 4, ['--salt', '-'], 'bfcc8c98044e6836c8aa8af2964b245e998b90555f08cebfd59fa9d3f0ae76d0'],
  [4096 * 129, 5, ['--salt', 'ab', '--hash', 'sha512'],
    '7a19a7a4982c9d8343fab9bf60d97c4ab2a50cdf72fd6d26c8afbefdeb8880e93cdfdab7bb1d01a1fc234327be4a1ea44235d5bbc0a5b36fe7da33ee820c6b25'],
  [512 * 3000, 6, ['--salt', 'cd', '--data-block-size', '512', '--hash-block-size', '1024'],
    'e241eb208e5d96264911182b93c9b8ddafa0f7bcffe9fed6356fdbaae82e6a6e'],
  [4096 * 300, 7, ['--salt', '01'.repeat(16), '--hash', 'sha1'], '16373ea10c0ae8450a53987c2e4fd5877fc166d1'],
  [4096 * 70, 8, ['--salt', 'ee', '--format', '0'], '52028c258f286b2511f315d5937d87ebd6b3fa8ef5540dec5c4458a757358846'],
];

function paramsOf(opts: string[]): VerityParams {
  const get = (k: string): string | undefined => {
    const i = opts.indexOf(k);
    return i < 0 ? undefined : opts[i + 1];
  };
  const salt = get('--salt')!;
  const d = get('--data-block-size');
  const h = get('--hash-block-size');
  return {
    salt: salt === '-' ? new Uint8Array(0) : new Uint8Array(Buffer.from(salt, 'hex')),
    hash: (get('--hash') ?? 'sha256') as 'sha256',
    format: get('--format') === '0' ? 0 : 1,
    ...(d !== undefined ? { dataBlockSize: Number(d) } : {}),
    ...(h !== undefined ? { hashBlockSize: Number(h) } : {}),
  };
}

describe('dm-verity root hash (veritysetup format compatible)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'teechat-verity-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const [size, seed, opts, want] of FIXED) {
    test(`veritysetup 2.6.1 value: ${size} bytes ${opts.join(' ')}`, async () => {
      const data = pattern(size, seed);
      assert.equal(hex(verityRootHash(data, paramsOf(opts)).rootHash), want);
      const f = join(tmp, `fixed-${seed}.img`);
      writeFileSync(f, data);
      const r = await cli(['verity', f, ...opts]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `${want}\n`);
    });
  }

  test('streaming in any chunking gives the same root; tree shape', () => {
    const data = pattern(512 * 3000, 6);
    const p = paramsOf(['--salt', 'cd', '--data-block-size', '512', '--hash-block-size', '1024']);
    const whole = verityRootHash(data, p);
    assert.deepEqual(whole.levelBlocks, [94, 3, 1]);
    assert.equal(whole.dataBlocks, 3000);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 40 }), (cuts) => {
        const t = new VerityTree(p);
        let off = 0;
        for (const c of cuts) {
          if (off >= data.length) break;
          t.update(data.subarray(off, off + c));
          off += c;
        }
        t.update(data.subarray(off));
        assert.equal(hex(t.finish().rootHash), hex(whole.rootHash));
      }),
      { numRuns: 40 },
    );
  });

  test('refusals: empty data, unaligned tail (unless --allow-unaligned, then named), bad parameters', async () => {
    const bad = (f: () => unknown, re: RegExp): void =>
      assert.throws(f, (e: unknown) => e instanceof ProtocolError && re.test(e.message));
    bad(() => verityRootHash(new Uint8Array(100), { salt: new Uint8Array(0) }), /at least one 4096-byte block/);
    bad(() => verityRootHash(new Uint8Array(5000), { salt: new Uint8Array(0) }), /multiple of the 4096-byte/);
    bad(() => verityRootHash(new Uint8Array(8192), { salt: new Uint8Array(0), dataBlockSize: 3000 }), /power of two/);
    bad(() => verityRootHash(new Uint8Array(8192), { salt: new Uint8Array(300) }), /at most 256 bytes/);
    const unaligned = verityRootHash(pattern(10000, 1), { salt: new Uint8Array([0]), allowUnalignedTail: true });
    assert.equal(unaligned.unprotectedTailBytes, 10000 - 8192);
    assert.equal(hex(unaligned.rootHash), hex(verityRootHash(pattern(10000, 1).subarray(0, 8192), { salt: new Uint8Array([0]) }).rootHash));

    const f = join(tmp, 'odd.img');
    writeFileSync(f, pattern(10000, 1));
    let r = await cli(['verity', f, '--salt', '00']);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    r = await cli(['verity', f, '--salt', '00', '--allow-unaligned', '--json']);
    assert.equal(r.code, 0);
    assert.match(r.err, /NOT covered/);
    assert.deepEqual((JSON.parse(r.out) as { relaxations: string[] }).relaxations, ['allow-unaligned']);
    for (const args of [
      [f],
      [f, '--salt', 'abc'],
      [f, '--salt', '00', '--hash', 'md5'],
      [f, '--salt', '00', '--format', '2'],
      [f, '--salt', '00', '--data-block-size', 'x'],
      ['--salt', '00'],
    ]) {
      r = await cli(['verity', ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.out, '');
    }
    r = await cli(['verity', join(tmp, 'missing'), '--salt', '00']);
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot read/);
  });

  const vs = spawnSync('veritysetup', ['--version'], { encoding: 'utf8' });
  const skipLive = vs.status === 0 ? false : 'SKIPPED: veritysetup not installed (apt-get install -y cryptsetup-bin)';
  if (skipLive) console.error(skipLive);
  test('live comparison with veritysetup format over random sizes and options', { skip: skipLive }, () => {
    fc.assert(
      fc.property(
        fc.record({
          blocks: fc.integer({ min: 1, max: 700 }),
          salt: fc.uint8Array({ minLength: 0, maxLength: 64 }),
          hash: fc.constantFrom('sha256', 'sha512', 'sha1'),
          dbs: fc.constantFrom(512, 1024, 4096),
          hbs: fc.constantFrom(512, 1024, 4096),
          format: fc.constantFrom(0, 1),
          seed: fc.integer({ min: 0, max: 255 }),
        }),
        (c) => {
          const data = pattern(c.blocks * c.dbs, c.seed);
          const df = join(tmp, 'live.img');
          const hf = join(tmp, 'live.hash');
          writeFileSync(df, data);
          rmSync(hf, { force: true });
          const salt = c.salt.length === 0 ? '-' : hex(c.salt);
          const r = spawnSync(
            'veritysetup',
            ['format', df, hf, '--salt', salt, '--hash', c.hash, '--data-block-size', String(c.dbs), '--hash-block-size', String(c.hbs), '--format', String(c.format)],
            { encoding: 'utf8', timeout: 30_000 },
          );
          assert.equal(r.status, 0, r.stderr);
          const want = /Root hash:\s+([0-9a-f]+)/.exec(r.stdout)![1];
          const got = verityRootHash(data, {
            salt: c.salt,
            hash: c.hash,
            dataBlockSize: c.dbs,
            hashBlockSize: c.hbs,
            format: c.format as 0 | 1,
          });
          assert.equal(hex(got.rootHash), want, JSON.stringify({ ...c, salt }));
        },
      ),
      { numRuns: 25 },
    );
  });
});
