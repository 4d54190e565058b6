/**
 * The CLI's known-enclaves file: which launch identity each server is expected to present, with
 * ssh `known_hosts` semantics. A server listed in the file must present one of its recorded
 * identities; anything else is refused loudly (`identity_changed`), never re-learned silently.
 * A server not in the file is refused (`not_pinned`) unless the user asked for trust on first use,
 * which records the identity it verified.
 *
 * Location: `--known-enclaves FILE`, else `$TEECHAT_KNOWN_ENCLAVES`, else
 * `$XDG_CONFIG_HOME/teechat/known_enclaves` (`~/.config/teechat/known_enclaves`).
 *
 * Format (UTF-8 text, one entry a line; blank lines and lines starting with `#` are ignored):
 *
 *     <server-url> <kind> <measurement-hex>
 *     wss://cvm.example:8443/ sev-snp 8f3a…(96 hex digits)
 *
 * `kind` is `sev-snp` (the launch MEASUREMENT, 48 bytes) or `tdx` (MRTD ‖ RTMR1 ‖ RTMR2, 144 bytes, or
 * MRTD ‖ RTMR1 ‖ RTMR2 ‖ MRCONFIGID ‖ MROWNER, 240 bytes, when the TD sets either: MRTD alone names
 * only the TD firmware, not the kernel or its command line; protocol/attestation/identity.ts). The URL is
 * compared after WHATWG normalisation (`new URL(s).href`). Azure guests are pinned by their PCRs
 * in `--policy` (`azure.pcrs`): the SNP measurement there covers Azure's paravisor, not the guest.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ProtocolError } from '../protocol/errors';

export type KnownKind = 'sev-snp' | 'tdx';
export interface KnownEnclave {
  readonly server: string;
  readonly kind: KnownKind;
  /** Lower-case hex. */
  readonly measurement: string;
}

const HEX96 = /^[0-9a-f]{96}$/;
/** A TDX identity: MRTD ‖ RTMR1 ‖ RTMR2 (‖ MRCONFIGID ‖ MROWNER). */
const TDX_ID = /^(?:[0-9a-f]{288}|[0-9a-f]{480})$/;

/** The server URL as compared in the file (WHATWG-normalised); a usage error when not ws(s). */
export function normalizeServer(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ProtocolError(
      'usage',
      `server: expected a ws:// or wss:// URL, got ${JSON.stringify(url)}`,
      'server',
    );
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
    throw new ProtocolError(
      'usage',
      `server: expected a ws:// or wss:// URL, got ${JSON.stringify(url)}`,
      'server',
    );
  return u.href;
}

/** Parses the file's text; a malformed line is an error naming its number (never skipped). */
export function parseKnownEnclaves(text: string, file = 'known_enclaves'): KnownEnclave[] {
  const out: KnownEnclave[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${i + 1}`;
    const parts = line.split(/[ \t]+/);
    if (parts.length !== 3)
      throw new ProtocolError(
        'malformed',
        `${where}: expected "<server-url> <kind> <measurement-hex>", got ${parts.length} fields`,
        where,
      );
    const [server, kind, measurement] = parts as [string, string, string];
    let norm: string;
    try {
      norm = normalizeServer(server);
    } catch {
      throw new ProtocolError(
        'malformed',
        `${where}: server: expected a ws:// or wss:// URL, got ${JSON.stringify(server.slice(0, 200))}`,
        where,
      );
    }
    if (kind !== 'sev-snp' && kind !== 'tdx')
      throw new ProtocolError(
        'malformed',
        `${where}: kind: expected "sev-snp" or "tdx", got ${JSON.stringify(kind.slice(0, 40))}`,
        where,
      );
    const m = measurement.toLowerCase();
    if (kind === 'sev-snp' ? !HEX96.test(m) : !TDX_ID.test(m))
      throw new ProtocolError(
        'malformed',
        `${where}: measurement: expected ${kind === 'sev-snp' ? '96 hex digits (MEASUREMENT)' : '288 hex digits (MRTD ‖ RTMR1 ‖ RTMR2) or 480 (‖ MRCONFIGID ‖ MROWNER)'}, got ${JSON.stringify(measurement.slice(0, 120))}`,
        where,
      );
    out.push({ server: norm, kind, measurement: m });
  }
  return out;
}

export function formatKnownEnclave(e: KnownEnclave): string {
  return `${e.server} ${e.kind} ${e.measurement}\n`;
}

/** The file the CLI uses when no `--known-enclaves` is given. */
export function defaultKnownEnclavesPath(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['TEECHAT_KNOWN_ENCLAVES'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.config');
  return join(base, 'teechat', 'known_enclaves');
}

/** Reads the file; an absent file is an empty list, an unreadable or malformed one an error. */
export function readKnownEnclaves(file: string): KnownEnclave[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ProtocolError(
      'usage',
      `known enclaves file ${file}: expected a readable file, got ${e instanceof Error ? e.message : String(e)}`,
      'known-enclaves',
    );
  }
  return parseKnownEnclaves(text, file);
}

export function appendKnownEnclave(file: string, e: KnownEnclave): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, formatKnownEnclave(e), { mode: 0o600 });
}

/** The identity to look up: the verified code identity of an SNP or TDX report (identity.ts). */
export interface PresentedIdentity {
  readonly kind: string;
  /** The code identity (SNP MEASUREMENT; TDX MRTD ‖ RTMR1 ‖ RTMR2 …), hex. */
  readonly measurement: string;
  /** The launch measurement as displayed (Azure: the paravisor's), when it differs. */
  readonly display?: string;
}

export type KnownDecision =
  | { readonly kind: 'known' }
  | { readonly kind: 'learn'; readonly entry: KnownEnclave }
  | { readonly kind: 'refuse'; readonly error: ProtocolError };

/**
 * The known_hosts decision for a verified identity (pure: the caller reads and appends the file).
 * `tofu`: the user asked to trust a server on first use and record it.
 */
export function decideKnown(
  entries: readonly KnownEnclave[],
  server: string,
  id: PresentedIdentity | null,
  tofu: boolean,
  file: string,
): KnownDecision {
  if (id === null)
    return {
      kind: 'refuse',
      error: new ProtocolError(
        'not_pinned',
        `launch identity: expected a verified SEV-SNP or TDX measurement to pin, got none`,
        'measurement',
      ),
    };
  if (id.kind !== 'sev-snp' && id.kind !== 'tdx')
    return {
      kind: 'refuse',
      error: new ProtocolError(
        'not_pinned',
        id.kind === 'azure-hcl'
          ? `the Azure guest is not pinned: expected "azure.pcrs" in --policy (the SNP measurement ${id.display ?? id.measurement} covers Azure's paravisor, not this guest; the known enclaves file cannot pin it)`
          : `${id.kind}: expected a launch identity pinned by --policy, got ${id.measurement}`,
        'measurement',
      ),
    };
  const name = id.kind === 'tdx' ? 'TD identity (MRTD ‖ RTMR1 ‖ RTMR2)' : 'launch measurement';
  const m = id.measurement.toLowerCase();
  const mine = entries.filter((e) => e.server === server);
  if (mine.some((e) => e.kind === id.kind && e.measurement === m)) return { kind: 'known' };
  if (mine.length > 0)
    return {
      kind: 'refuse',
      error: new ProtocolError(
        'identity_changed',
        `REMOTE ENCLAVE IDENTITY HAS CHANGED for ${server}: ${name}: expected ${mine.map((e) => `${e.kind} ${e.measurement}`).join(' or ')} (${file}), got ${id.kind} ${m}. Nothing was sent. If the server was really redeployed, check the new measurement out of band and edit ${file}.`,
        'measurement',
      ),
    };
  if (tofu) return { kind: 'learn', entry: { server, kind: id.kind, measurement: m } };
  return {
    kind: 'refuse',
    error: new ProtocolError(
      'not_pinned',
      `${name} ${m} of ${server} is not pinned: expected it in --policy (${id.kind === 'tdx' ? '"tdx.mrtd" and "tdx.rtmr"[1], [2]' : '"snp.measurements"'}) or in ${file}, got neither. Nothing was sent. Check the value out of band, then pin it, or pass --trust-on-first-use to record it.`,
      'measurement',
    ),
  };
}
