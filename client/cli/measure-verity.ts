/**
 * `teechat measure verity FILE`: the dm-verity root hash of a model file or disk image, compatible
 * with `veritysetup format` (see protocol/measure/verity.ts). The file is streamed (1 MiB reads).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import {
  VerityTree,
  VERITY_HASHES,
  type VerityHasher,
  type VerityHashName,
} from '../../protocol/measure/verity';
import { UsageError, parseCli } from '../../protocol-node/args';
import type { CliIo } from './attest-common';
import { EXIT_OK, guarded, MeasureInputError } from './measure-common';

export const VERITY_HELP = `Usage: teechat measure verity FILE --salt HEX|- [--hash sha256|sha512|sha1]
         [--data-block-size N] [--hash-block-size N] [--format 1|0] [--allow-unaligned] [--json]

Computes the dm-verity root hash of FILE as "veritysetup format FILE HASHDEV" with the same
options does (the hash device itself is not written). The salt must be given: veritysetup's
default is random, which no one can reproduce; "-" means an empty salt.

Options:
  --salt HEX|-              salt in hex (at most 256 bytes), "-" for none
  --hash NAME               sha256 (default), sha512 or sha1
  --data-block-size N       data block size in bytes (default 4096)
  --hash-block-size N       hash block size in bytes (default 4096)
  --format 1|0              1 (default, salt first) or 0 (Chrome OS, salt last)
  --allow-unaligned         accept a FILE whose size is not a multiple of the data block size
                            (veritysetup ignores the tail, so it is NOT protected; reported)
  --json                    every parameter, the tree shape and the root hash as JSON
  -h, --help
`;

/** dm-verity hashing on node:crypto (OpenSSL); the pure default is @noble/hashes. */
export const nodeVerityHasher: VerityHasher = (alg: VerityHashName) => {
  const h = createHash(alg);
  const w = {
    update: (d: Uint8Array) => {
      h.update(d);
      return w;
    },
    digest: () => new Uint8Array(h.digest()),
  };
  return w;
};

function parseSize(s: string | undefined, flag: string): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-9]+$/.test(s))
    throw new UsageError(`${flag}: expected a size in bytes, got ${JSON.stringify(s)}`);
  return Number(s);
}

export function measureVerityCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'measure verity', () => {
    const parsed = parseCli(argv, {
          salt: { type: 'string' },
          hash: { type: 'string' },
          'data-block-size': { type: 'string' },
          'hash-block-size': { type: 'string' },
          format: { type: 'string' },
          'allow-unaligned': { type: 'boolean' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        });
    const v = parsed.values;
    if (v.help === true) {
      io.out(VERITY_HELP);
      return EXIT_OK;
    }
    if (parsed.positionals.length !== 1) {
      throw new UsageError(`FILE: expected one data file, got ${parsed.positionals.length}`);
    }
    const file = parsed.positionals[0]!;
    if (v.salt === undefined)
      throw new UsageError('--salt: expected a hex salt or "-", got nothing');
    if (v.salt !== '-' && !/^([0-9a-fA-F]{2})+$/.test(v.salt)) {
      throw new UsageError(
        `--salt: expected an even number of hex digits or "-", got ${JSON.stringify(v.salt)}`,
      );
    }
    const salt = v.salt === '-' ? new Uint8Array(0) : new Uint8Array(Buffer.from(v.salt, 'hex'));
    const hash = (v.hash ?? 'sha256') as VerityHashName;
    if (!VERITY_HASHES.includes(hash)) {
      throw new UsageError(
        `--hash: expected ${VERITY_HASHES.join(', ')}, got ${JSON.stringify(v.hash)}`,
      );
    }
    const format =
      v.format === undefined ? 1 : v.format === '1' ? 1 : v.format === '0' ? 0 : undefined;
    if (format === undefined)
      throw new UsageError(`--format: expected 1 or 0, got ${JSON.stringify(v.format)}`);
    const dataBlockSize = parseSize(v['data-block-size'], '--data-block-size');
    const hashBlockSize = parseSize(v['hash-block-size'], '--hash-block-size');
    const tree = new VerityTree({
      hash,
      salt,
      format,
      ...(dataBlockSize !== undefined ? { dataBlockSize } : {}),
      ...(hashBlockSize !== undefined ? { hashBlockSize } : {}),
      allowUnalignedTail: v['allow-unaligned'] === true,
      hasher: nodeVerityHasher,
    });
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw new MeasureInputError(
        `FILE: cannot read ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
    try {
      const buf = new Uint8Array(1 << 20);
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, buf, 0, buf.length, null);
        } catch (e) {
          throw new MeasureInputError(
            `FILE: cannot read ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
          );
        }
        if (n === 0) break;
        tree.update(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    const r = tree.finish();
    const rootHex = Buffer.from(r.rootHash).toString('hex');
    if (r.unprotectedTailBytes > 0) {
      io.err(
        `teechat measure verity: WARNING --allow-unaligned: the last ${r.unprotectedTailBytes} bytes of ${file} are NOT covered by the root hash\n`,
      );
    }
    if (v.json === true) {
      io.out(
        `${JSON.stringify(
          {
            kind: 'dm-verity',
            rootHash: rootHex,
            file,
            hash: r.hash,
            format: r.format,
            salt: Buffer.from(r.salt).toString('hex'),
            dataBlockSize: r.dataBlockSize,
            hashBlockSize: r.hashBlockSize,
            dataBlocks: r.dataBlocks,
            unprotectedTailBytes: r.unprotectedTailBytes,
            relaxations: r.unprotectedTailBytes > 0 ? ['allow-unaligned'] : [],
            levelBlocks: r.levelBlocks,
            hashAreaBytes: r.hashAreaBytes,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      io.out(`${rootHex}\n`);
    }
    return EXIT_OK;
  });
}
