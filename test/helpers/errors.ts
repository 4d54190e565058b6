/**
 * The one set of assertions on typed errors for the tests: what a call throws, by code.
 * `assert.throws(f, isCode('malformed'))` / `assert.rejects(p, isCode('cancelled'))`, or
 * `assert.equal(codeOf(f), 'malformed')` where a table of cases compares codes.
 */
import { ProtocolError } from '../../protocol/errors';

/** The ProtocolError code `f` throws; 'no error' when it returns, or a note for another error. */
export function codeOf(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof ProtocolError ? e.code : `non-ProtocolError ${String(e)}`;
  }
}

/** codeOf for a promise (or a function that may throw synchronously). */
export async function codeOfAsync(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    if (typeof p === 'function') p();
    else await p;
    return 'no error';
  } catch (e) {
    return e instanceof ProtocolError ? e.code : `non-ProtocolError ${String(e)}`;
  }
}

/** A predicate for assert.throws / assert.rejects: a ProtocolError with this code. */
export const isCode =
  (code: string) =>
  (e: unknown): boolean =>
    e instanceof ProtocolError && e.code === code;
