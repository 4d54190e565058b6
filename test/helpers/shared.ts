/**
 * Locating ../shared/ (test vectors and models). A user's clone has no ../shared/: tests that
 * need it skip with a visible message instead of failing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** Absolute path of ../shared/ (or $TEECHAT_SHARED), or null when absent. */
export function sharedDir(): string | null {
  const dir = process.env['TEECHAT_SHARED'] ?? resolve(repoRoot, '..', 'shared');
  return existsSync(join(dir, 'vectors')) || existsSync(join(dir, 'models')) ? dir : null;
}

/** Path under ../shared/, or null when ../shared/ (or that file) is absent. */
export function sharedPath(...parts: string[]): string | null {
  const dir = sharedDir();
  if (dir === null) return null;
  const p = join(dir, ...parts);
  return existsSync(p) ? p : null;
}

/** Reason string for `test(name, { skip })`: false when present, a visible message when absent. */
export function skipUnlessShared(...parts: string[]): false | string {
  if (sharedPath(...parts) !== null) return false;
  const msg = `SKIPPED: ../shared/${parts.join('/')} is absent (tests read vectors and models from ../shared/; see README "Test data")`;
  console.error(msg);
  return msg;
}

export function readShared(...parts: string[]): Buffer {
  const p = sharedPath(...parts);
  if (p === null) throw new Error(`../shared/${parts.join('/')} is absent`);
  return readFileSync(p);
}

export function expectedJson(): unknown {
  return JSON.parse(readShared('vectors', 'EXPECTED.json').toString('utf8'));
}

export { repoRoot };
