/**
 * Shared pieces of the `teechat measure` commands: exit codes, the input error class, file reading, the
 * integer syntax of the reference tools' flags and the error-to-exit-code mapping.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ProtocolError } from '../../protocol/errors';
import type { MeasureHash } from '../../protocol/measure/snp';
import type { CliIo } from './attest-common';
import { EXIT_USAGE, UsageError, usageLine } from '../../protocol-node/args';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export { EXIT_USAGE };

export class MeasureInputError extends Error {}

/** SHA-256/384 through OpenSSL (the protocol layer defaults to @noble/hashes). */
export const nodeMeasureHash: MeasureHash = (alg, data) =>
  new Uint8Array(createHash(alg === 'SHA-256' ? 'sha256' : 'sha384').update(data).digest());

export function readInput(path: string, flag: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new MeasureInputError(`${flag}: cannot read ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/**
 * An integer as Python's `int(text, 0)` reads it (the reference tool's flags): decimal, or 0x/0o/0b
 * prefixed, optional single underscores between digits, surrounding whitespace. Non-negative only.
 */
export function parseAutoBaseInt(text: string, flag: string): bigint {
  const t = text.trim();
  const m = /^\+?(?:(0[xX])(_?[0-9a-fA-F])+|(0[oO])(_?[0-7])+|(0[bB])(_?[01])+|[1-9](_?[0-9])*|0(_?0)*)$/.exec(t);
  if (m === null) throw new UsageError(`${flag}: expected an integer (decimal, or 0x/0o/0b prefixed), got ${JSON.stringify(text)}`);
  const s = t.replace(/^\+/, '').replace(/_/g, '');
  const body = /^0[xXoObB]/.test(s) ? `0${s[1]!.toLowerCase()}${s.slice(2)}` : s;
  return BigInt(body);
}

/** A decimal integer as Python's `int(text)` reads it (--vcpus, --vcpu-family/model/stepping). */
export function parseDecimal(text: string, flag: string): number {
  const t = text.trim().replace(/^\+/, '');
  if (!/^[0-9](_?[0-9])*$/.test(t)) throw new UsageError(`${flag}: expected a decimal integer, got ${JSON.stringify(text)}`);
  const n = Number(t.replace(/_/g, ''));
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag}: expected a decimal integer, got ${JSON.stringify(text)}`);
  return n;
}

/** Runs a measure action, mapping errors to exit codes (no digest is printed on any error). */
export async function guarded(io: CliIo, name: string, f: () => number | Promise<number>): Promise<number> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(usageLine(`teechat ${name}`, e));
      return EXIT_USAGE;
    }
    if (e instanceof ProtocolError && e.code === 'usage') {
      io.err(`teechat ${name}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof MeasureInputError) {
      io.err(`teechat ${name}: ${e.message}\n`);
      return EXIT_ERROR;
    }
    if (e instanceof ProtocolError) {
      io.err(`teechat ${name}: [${e.code}] ${e.message}\n`);
      return EXIT_ERROR;
    }
    throw e;
  }
}


/** A guest memory size with QEMU's -m suffix (M, G or T; a bare number is refused as ambiguous). */
export function parseMemorySize(text: string, flag: string): bigint {
  const m = /^([1-9][0-9]{0,9})([MGT])$/i.exec(text.trim());
  if (m === null) throw new UsageError(`${flag}: expected a size with a unit, e.g. 2G or 2048M, got ${JSON.stringify(text)}`);
  const shift = { M: 20n, G: 30n, T: 40n }[m[2]!.toUpperCase() as 'M' | 'G' | 'T'];
  return BigInt(m[1]!) << shift;
}
