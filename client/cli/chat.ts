/**
 * `teechat chat` and `teechat attest show --server`: the terminal client on the full attested,
 * encrypted path. Model output goes to stdout only from authenticated deltas; the exit status is
 * 0 only after the server's authenticated end of the answer. Every error is printed on stderr as
 * "teechat: <code>: <message>" and never mixed into the answer.
 */
import { unpinnedBy } from '../../protocol/attestation/identity';
import { okFromChecks } from '../../protocol/attestation/verdict';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { mergePolicy } from '../../protocol/attestation/policy';
import { ProtocolError, isProtocolError } from '../../protocol/errors';
import { connect, type ChatMessage, type Session, type VerifiedSummary } from '../index';
import { DEFAULT_CLIENT_POLICY, type Policy } from '../verifier';
import { printable } from '../text';
import {
  EXIT_USAGE,
  UsageError,
  numberIn,
  parseCli,
  type OptionSpec,
  usageLine,
} from '../../protocol-node/args';
import {
  appendKnownEnclave,
  decideKnown,
  defaultKnownEnclavesPath,
  normalizeServer,
  readKnownEnclaves,
} from '../known-enclaves';

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  readonly stdin: NodeJS.ReadableStream;
  readonly isTty: boolean;
  /** stdout is a terminal: model output is made printable (no escape sequences from the model). */
  readonly outIsTty?: boolean;
}

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export { EXIT_USAGE };

export const CHAT_HELP = `Usage: teechat chat --server URL [options] [PROMPT]

Connects to a TEEChat enclave server, verifies its hardware evidence against pinned roots and
the policy BEFORE sending anything, then streams the encrypted answer to stdout.
Without PROMPT it reads one question per line from stdin (a conversation; Ctrl-D ends it).

Nothing is sent unless the server's launch identity (SNP measurement / TDX MRTD) is pinned: by
--policy, or by the known enclaves file (ssh known_hosts semantics). A server that is not pinned
is refused ("not_pinned"); a known server presenting another identity is refused
("identity_changed") and never re-learned. --trust-on-first-use records a new server's identity.

Options:
  --server URL          ws:// or wss:// address of the enclave server (required)
  --allow-simulated     development only: accept evidence from simulated roots
  --policy FILE         JSON policy merged over the defaults (measurements, TCB floors, ...)
  --known-enclaves FILE lines "<server-url> <sev-snp|tdx> <measurement-hex>" (default
                        $TEECHAT_KNOWN_ENCLAVES, else $XDG_CONFIG_HOME/teechat/known_enclaves,
                        else ~/.config/teechat/known_enclaves)
  --trust-on-first-use  a server not yet in the known enclaves file: record the identity it
                        verified and trust it (a known server is never re-learned)
  --system TEXT         system prompt
  --max-tokens N        upper bound on the answer's tokens
  --temperature T       sampling temperature 0..2 (default 0: greedy)
  --timeout SECONDS     connect + handshake deadline (default 30)
  --release-repository ORG/REPO
                        require a Sigstore-signed release manifest from this repository's
                        release workflow (docs/RELEASES.md); the evidence and model must match it
  --release-manifest FILE, --release-bundle FILE
                        a pinned manifest + bundle, used instead of the server's
  --release-state FILE  rollback state (default $TEECHAT_RELEASE_STATE or <config>/teechat/releases.json)
  --allow-downgrade     accept a release older than the highest accepted (reported)
  --json                JSON lines on stdout (summary, delta, done) instead of text
  --quiet               no verification summary on stderr (warnings about SIMULATED
                        attestation and an unpinned measurement are still printed)
  -h, --help

Exit status: 0 after the authenticated end of every answer; 1 on any error (code and message on
stderr, e.g. "teechat: evidence_rejected: ..."); 2 on a usage error.
`;

export const SHOW_HELP = `Usage: teechat attest show --server URL [--allow-simulated] [--policy FILE]
       [--known-enclaves FILE] [--trust-on-first-use] [--json]

Performs the attested handshake only (no chat) and prints what was verified: the CPU TEE
measurement, product and TCB, the GPU confidential-computing status, the model identity, every
check of every report. --json prints the full summary including the raw evidence (base64) for
offline audit. Like \`teechat chat\`, it refuses a launch identity that is not pinned by --policy
or the known enclaves file (see teechat chat --help). Exit 0 when the evidence verified and the
identity is pinned, 1 otherwise, 2 on a usage error.
`;

interface Flags {
  server: string;
  allowSimulated: boolean;
  policyFile: string;
  knownFile: string;
  tofu: boolean;
  system: string;
  maxTokens: number | undefined;
  temperature: number | undefined;
  timeoutMs: number;
  json: boolean;
  quiet: boolean;
  help: boolean;
  positional: string[];
  releaseRepository: string;
  releaseManifest: string;
  releaseBundle: string;
  releaseState: string;
  allowDowngrade: boolean;
}

/** `teechat chat` / `attest show --server` options (node:util parseArgs through cli/args.ts). */
const CHAT_OPTIONS = {
  server: { type: 'string' },
  'allow-simulated': { type: 'boolean' },
  policy: { type: 'string' },
  'known-enclaves': { type: 'string' },
  'trust-on-first-use': { type: 'boolean' },
  system: { type: 'string' },
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'release-repository': { type: 'string' },
  'release-manifest': { type: 'string' },
  'release-bundle': { type: 'string' },
  'release-state': { type: 'string' },
  'allow-downgrade': { type: 'boolean' },
} as const satisfies OptionSpec;

export function parseFlags(argv: readonly string[]): Flags {
  const { values: v, positionals } = parseCli(argv, CHAT_OPTIONS);
  const num = (name: keyof typeof CHAT_OPTIONS, min: number, max: number): number | undefined => {
    const raw = v[name];
    return typeof raw === 'string' ? numberIn(name, raw, min, max) : undefined;
  };
  const maxTokens = num('max-tokens', 1, 1 << 20);
  const timeout = num('timeout', 0.001, 3600);
  return {
    server: v.server ?? '',
    allowSimulated: v['allow-simulated'] ?? false,
    policyFile: v.policy ?? '',
    knownFile: v['known-enclaves'] ?? '',
    tofu: v['trust-on-first-use'] ?? false,
    system: v.system ?? '',
    maxTokens: maxTokens === undefined ? undefined : Math.floor(maxTokens),
    temperature: num('temperature', 0, 2),
    timeoutMs: timeout === undefined ? 30_000 : Math.round(timeout * 1000),
    json: v.json ?? false,
    quiet: v.quiet ?? false,
    help: v.help ?? false,
    positional: positionals,
    releaseRepository: v['release-repository'] ?? '',
    releaseManifest: v['release-manifest'] ?? '',
    releaseBundle: v['release-bundle'] ?? '',
    releaseState: v['release-state'] ?? '',
    allowDowngrade: v['allow-downgrade'] ?? false,
  };
}

function loadPolicy(file: string): Policy {
  if (file === '') return DEFAULT_CLIENT_POLICY;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(
      `--policy: expected a readable JSON file, got ${e instanceof Error ? e.message : String(e)}`,
      'policy',
    );
  }
  return mergePolicy(DEFAULT_CLIENT_POLICY, raw);
}

function report(io: Io, e: unknown, json: boolean): number {
  const err =
    e instanceof UsageError
      ? { code: 'usage' as const, message: e.message }
      : isProtocolError(e)
        ? e
        : new ProtocolError('transport_error', e instanceof Error ? e.message : String(e));
  if (json) io.err(JSON.stringify({ type: 'error', code: err.code, message: err.message }) + '\n');
  else if (e instanceof UsageError) io.err(usageLine('teechat chat', printable(e.message)));
  else io.err(`teechat: ${err.code}: ${printable(err.message)}\n`);
  return err.code === 'usage' ? EXIT_USAGE : EXIT_ERROR;
}

const short = (hex: string): string =>
  hex.length > 16 ? `${hex.slice(0, 8)}…${hex.slice(-8)}` : hex;

/** Human-readable verified summary (stderr for chat, stdout for attest show). */
export function formatSummary(s: VerifiedSummary, detailed: boolean): string {
  const lines: string[] = [];
  if (s.simulated)
    lines.push(
      '!! SIMULATED attestation (development roots): this is NOT a confidential server !!',
    );
  lines.push(`verified: ${s.verdict}`);
  if (s.cpu)
    lines.push(
      `  cpu   ${s.cpu.kind} ${s.cpu.product} measurement ${detailed ? s.cpu.measurement : short(s.cpu.measurement)}`,
    );
  if (detailed && s.cpu) lines.push(`        tcb ${s.cpu.tcb}`);
  for (const g of s.gpus)
    lines.push(
      `  gpu   ${g.label || 'gpu'} ${g.ccMode} driver ${g.driverVersion || '?'} vbios ${g.vbiosVersion || '?'}`,
    );
  lines.push(`  model ${s.model.id} sha256 ${detailed ? s.model.sha256 : short(s.model.sha256)}`);
  if (s.release) {
    const r = s.release;
    lines.push(
      `  release v${r.version} (${r.source === 'pinned' ? 'pinned manifest' : r.source === 'bundled' ? 'bundled manifest' : 'signed manifest'}) ${r.repository}@${r.commit.slice(0, 12)} tlog ${r.logIndex} signed ${r.signedAt}`,
    );
    for (const x of r.relaxations) lines.push(`  RELAXED ${x}`);
  }
  if (detailed) {
    lines.push(`  transcript ${s.transcriptHash}`);
    lines.push(`  verified at ${s.verifiedAt}`);
    for (const r of s.reports) {
      lines.push(
        `  ${r.kind}${r.label ? `/${r.label}` : ''}: ${r.ok ? 'OK' : 'REJECTED'}${r.simulated ? ' (simulated root)' : ''}`,
      );
      for (const c of r.checks) lines.push(`    [${c.ok ? 'ok' : 'FAIL'}] ${c.id}: ${c.message}`);
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * What the policy leaves unpinned about the verified launch identity, or null when it is pinned.
 * The CLI has no trust prompt: an identity the policy does not pin must be in the known enclaves
 * file (`requirePinned`), else nothing is sent. No verified CPU identity at all is never pinned.
 */
export function unpinnedIdentity(s: VerifiedSummary, p: Policy): string | null {
  const cpu = s.reports.find(
    (r) =>
      okFromChecks(r.checks) &&
      (r.kind === 'sev-snp' || r.kind === 'tdx' || r.kind === 'azure-hcl'),
  );
  if (!cpu) return 'no verified launch identity (no accepted SEV-SNP, TDX or Azure report)';
  return unpinnedBy(cpu, p);
}

/** Warnings that go to stderr whatever --quiet / --json say. */
function identityWarnings(io: Io, s: VerifiedSummary, summaryShown: boolean): void {
  if (s.simulated && !summaryShown)
    io.err(
      'teechat: warning: SIMULATED attestation (development roots): this is NOT a confidential server\n',
    );
}

/**
 * The gate between verification and the first byte of a prompt: the verified launch identity
 * must be pinned by the policy or the known enclaves file (ssh known_hosts semantics), else
 * ProtocolError `not_pinned` / `identity_changed`. With --trust-on-first-use a server not in the
 * file is recorded (a note on stderr, whatever --quiet says).
 */
export function requirePinned(
  f: Pick<Flags, 'server' | 'knownFile' | 'tofu'>,
  s: VerifiedSummary,
  policy: Policy,
  io: Pick<Io, 'err'>,
  env: NodeJS.ProcessEnv = process.env,
): void {
  // A session checked against a signed release manifest matched its exact values (release_rejected
  // otherwise): the manifest pins the identity.
  if (s.release !== undefined) return;
  if (unpinnedIdentity(s, policy) === null) return;
  const file = f.knownFile !== '' ? f.knownFile : defaultKnownEnclavesPath(env);
  const server = normalizeServer(f.server);
  const d = decideKnown(
    readKnownEnclaves(file),
    server,
    s.cpu ? { kind: s.cpu.kind, measurement: s.cpu.identity, display: s.cpu.measurement } : null,
    f.tofu,
    file,
  );
  if (d.kind === 'refuse') throw d.error;
  if (d.kind === 'learn') {
    appendKnownEnclave(file, d.entry);
    io.err(
      `teechat: note: trusting ${server} on first use: recorded ${d.entry.kind} ${d.entry.measurement} in ${file}\n`,
    );
  }
}

/** The summary as JSON, raw evidence in base64 (offline audit / export). */
export function summaryJson(s: VerifiedSummary): unknown {
  return {
    ...s,
    evidence: s.evidence.map((i) => ({
      kind: i.kind,
      label: i.label,
      parts: Object.fromEntries(
        [...i.parts].map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
    })),
  };
}

async function open(f: Flags): Promise<{ session: Session; policy: Policy }> {
  if (f.server === '')
    throw new UsageError('--server: expected a ws:// or wss:// URL, got none', 'server');
  const policy = loadPolicy(f.policyFile);
  const { cliReleaseOptions } = await import('../release/options');
  const release = cliReleaseOptions({
    repository: f.releaseRepository,
    manifest: f.releaseManifest,
    bundle: f.releaseBundle,
    state: f.releaseState,
    allowDowngrade: f.allowDowngrade,
  });
  // A malformed or unreadable known enclaves file is a usage error before connecting.
  if (f.knownFile !== '') readKnownEnclaves(f.knownFile);
  const session = await connect(f.server, {
    policy,
    allowSimulated: f.allowSimulated,
    timeoutMs: f.timeoutMs,
    ...(release !== undefined ? { release } : {}),
  });
  return { session, policy };
}

export async function chatCommand(argv: readonly string[], io: Io): Promise<number> {
  let f: Flags;
  try {
    f = parseFlags(argv);
  } catch (e) {
    return report(io, e, false);
  }
  if (f.help) {
    io.out(CHAT_HELP);
    return EXIT_OK;
  }
  let session: Session | undefined;
  let midAnswer = false;
  const text = (t: string): string => (io.outIsTty === true ? printable(t) : t);
  try {
    const opened = await open(f);
    session = opened.session;
    requirePinned(f, session.summary, opened.policy, io);
    if (f.json)
      io.out(
        JSON.stringify({
          type: 'summary',
          summary: { ...session.summary, evidence: undefined, reports: undefined },
        }) + '\n',
      );
    else if (!f.quiet) io.err(formatSummary(session.summary, false));
    identityWarnings(io, session.summary, !f.json && !f.quiet);
    const history: ChatMessage[] = f.system ? [{ role: 'system', content: f.system }] : [];
    const params = {
      ...(f.maxTokens !== undefined ? { maxTokens: f.maxTokens } : {}),
      ...(f.temperature !== undefined ? { temperature: f.temperature } : {}),
    };
    const ask = async (prompt: string): Promise<void> => {
      history.push({ role: 'user', content: prompt });
      let answer = '';
      for await (const ev of session!.chat(history, params)) {
        if (ev.type === 'delta') {
          answer += ev.text;
          midAnswer = !f.json;
          io.out(f.json ? JSON.stringify(ev) + '\n' : text(ev.text));
        } else if (ev.type === 'queued') {
          if (f.json) io.out(JSON.stringify(ev) + '\n');
          else if (!f.quiet) io.err(`(queued: position ${ev.position})\n`);
        } else {
          midAnswer = false;
          if (f.json) io.out(JSON.stringify(ev) + '\n');
          else {
            io.out('\n');
            if (!f.quiet)
              io.err(
                `(${ev.usage.completionTokens} tokens, ${ev.timings.tokensPerSecond.toFixed(0)} tok/s, first token ${ev.timings.ttftMs.toFixed(1)} ms, ${ev.usage.cachedPromptTokens}/${ev.usage.promptTokens} prompt tokens cached${ev.finishReason === 'length' ? ', stopped at max tokens' : ''})\n`,
              );
          }
        }
      }
      history.push({ role: 'assistant', content: answer });
    };
    const prompt = f.positional.join(' ').trim();
    if (prompt !== '') await ask(prompt);
    else {
      const rl = createInterface({ input: io.stdin, terminal: false });
      if (io.isTty && !f.json) io.err('(one question per line; Ctrl-D to end)\n> ');
      for await (const line of rl) {
        if (line.trim() === '') continue;
        await ask(line);
        if (io.isTty && !f.json) io.err('> ');
      }
    }
    await session.close();
    return EXIT_OK;
  } catch (e) {
    await session?.close().catch(() => {});
    // End the partial answer's line (an interrupted answer never runs into the next output).
    if (midAnswer) io.out('\n');
    return report(io, e, f.json);
  }
}

export async function showServerCommand(argv: readonly string[], io: Io): Promise<number> {
  let f: Flags;
  try {
    f = parseFlags(argv);
    if (f.positional.length > 0)
      throw new UsageError(
        `attest show --server: expected no file arguments, got ${JSON.stringify(f.positional[0])}`,
        '',
      );
  } catch (e) {
    return report(io, e, false);
  }
  if (f.help) {
    io.out(SHOW_HELP);
    return EXIT_OK;
  }
  let session: Session | undefined;
  try {
    const opened = await open(f);
    session = opened.session;
    requirePinned(f, session.summary, opened.policy, io);
    identityWarnings(io, session.summary, true);
    io.out(
      f.json
        ? JSON.stringify(summaryJson(session.summary), null, 2) + '\n'
        : formatSummary(session.summary, true),
    );
    await session.close();
    return EXIT_OK;
  } catch (e) {
    await session?.close().catch(() => {});
    return report(io, e, f.json);
  }
}
