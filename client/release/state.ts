/**
 * Rollback protection state: per signer identity, the highest release version accepted and its
 * manifest digest, plus a log of every accepted manifest. Two backends share one shape — a
 * key/value store (`get`/`update`): the extension's `globalState` (a VS Code Memento) and, for the
 * CLI, a JSON file under the user's config directory (`releaseStatePath`, overridable with
 * --state or $TEECHAT_RELEASE_STATE). Nothing here comes from a workspace setting.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ProtocolError } from '../../protocol/errors';

export interface KeyValueStore {
  get(key: string): unknown;
  update(key: string, value: unknown): Thenable<void> | Promise<void> | void;
}
type Thenable<T> = PromiseLike<T>;

export interface ReleaseRecord {
  readonly version: string;
  readonly manifestSha256: string;
  /** When it was accepted here (ms since epoch). */
  readonly acceptedAtMs: number;
}

export interface AcceptedLogEntry extends ReleaseRecord {
  readonly signer: string;
  readonly identity: string;
  readonly logIndex: string;
  readonly signedAtMs: number;
  /** "new" (first for this signer), "upgrade", "same", or "downgrade-allowed" (explicit). */
  readonly kind: 'new' | 'upgrade' | 'same' | 'downgrade-allowed';
}

const HIGHEST = 'teechat.release.highest';
const LOG = 'teechat.release.log';
/** Entries kept in the accepted-manifest log (oldest dropped first). */
export const LOG_LIMIT = 1000;

function isRecord(v: unknown): v is ReleaseRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r['version'] === 'string' &&
    typeof r['manifestSha256'] === 'string' &&
    typeof r['acceptedAtMs'] === 'number'
  );
}

export class ReleaseState {
  constructor(private readonly kv: KeyValueStore) {}

  highest(signer: string): ReleaseRecord | null {
    const all = this.kv.get(HIGHEST);
    if (all === undefined) return null;
    if (typeof all !== 'object' || all === null)
      throw new ProtocolError(
        'malformed',
        `${HIGHEST}: expected an object, got ${typeof all}`,
        HIGHEST,
      );
    const r = (all as Record<string, unknown>)[signer];
    if (r === undefined) return null;
    // A damaged record must not silently reset rollback protection.
    if (!isRecord(r))
      throw new ProtocolError(
        'malformed',
        `${HIGHEST}[${signer}]: expected a release record, got ${JSON.stringify(r)?.slice(0, 80)}`,
        HIGHEST,
      );
    return r;
  }

  log(): readonly AcceptedLogEntry[] {
    const l = this.kv.get(LOG);
    return Array.isArray(l) ? (l as AcceptedLogEntry[]) : [];
  }

  /** Records an accepted manifest: raises the signer's highest version when `raise`, appends to the log. */
  async accept(entry: AcceptedLogEntry, raise: boolean): Promise<void> {
    if (raise) {
      const all = { ...((this.kv.get(HIGHEST) as Record<string, unknown> | undefined) ?? {}) };
      all[entry.signer] = {
        version: entry.version,
        manifestSha256: entry.manifestSha256,
        acceptedAtMs: entry.acceptedAtMs,
      };
      await this.kv.update(HIGHEST, all);
    }
    await this.kv.update(LOG, [...this.log(), entry].slice(-LOG_LIMIT));
  }
}

/** Default CLI state file: $TEECHAT_RELEASE_STATE, else <config dir>/teechat/releases.json. */
export function releaseStatePath(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
): string {
  const o = env['TEECHAT_RELEASE_STATE'];
  if (o !== undefined && o !== '') return o;
  const base =
    platform === 'win32'
      ? (env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? join(homedir(), 'Library', 'Application Support')
        : (env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'));
  return join(base, 'teechat', 'releases.json');
}

/** A JSON file as a KeyValueStore (written atomically: temp file + rename). A corrupt file is an error, never a reset. */
export function fileStore(path: string): KeyValueStore {
  let data: Record<string, unknown> = {};
  let text: string | null = null;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text !== null) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new ProtocolError(
        'malformed',
        `${path}: expected the release state JSON, got unparsable text (remove it only if you accept losing rollback protection)`,
        'state',
      );
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new ProtocolError(
        'malformed',
        `${path}: expected a JSON object, got ${Array.isArray(v) ? 'an array' : typeof v}`,
        'state',
      );
    data = v as Record<string, unknown>;
  }
  return {
    get: (k) => data[k],
    update: (k, v) => {
      data = { ...data, [k]: v };
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
      renameSync(tmp, path);
    },
  };
}

/** An in-memory KeyValueStore (tests, and `--no-state`). */
export function memoryStore(): KeyValueStore {
  const m = new Map<string, unknown>();
  return { get: (k) => m.get(k), update: (k, v) => void m.set(k, v) };
}
