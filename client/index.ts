/**
 * TEEChat Node client: connect → attested handshake (evidence verified against pinned roots and
 * the policy BEFORE any key is derived) → encrypted chat streaming.
 *
 *   const s = await connect('ws://127.0.0.1:8443', { policy: DEFAULT_CLIENT_POLICY });
 *   for await (const ev of s.chat([{ role: 'user', content: 'hi' }])) ...
 *   await s.close();
 *
 * Errors are ProtocolError with a code; nothing unauthenticated is ever yielded as model output.
 */
import { codeIdentity } from '../protocol/attestation/identity';
import { okFromChecks } from '../protocol/attestation/verdict';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceKind,
  EvidenceVerdict,
  ReleaseSummary,
  TrustAnchors,
  VerificationReport,
} from '../protocol/attestation/types';
import type { CryptoProvider } from '../protocol/crypto/provider';
import { ProtocolError, isProtocolError } from '../protocol/errors';
import { ClientHandshake } from '../protocol/handshake/handshake';
import { ClientEphemeralPool } from '../protocol/handshake/ephemeral';
import { resolveLimits, type Limits } from '../protocol/limits';
import { decodeAppMessage, type ServerInfo } from '../protocol/messages/messages';
import { toHex } from '../protocol/wire/bytes';
import { nodeProvider } from '../protocol-node/crypto-node';
import {
  ChannelSession,
  DEFAULT_STREAM_STALL_MS,
  type ChatEvent,
  type ChatMessage,
  type ChatParams,
} from './session';
import { Transport } from './transport';
import type { ClientOptions as WsClientOptions } from 'ws';
import { createVerifier, DEFAULT_REQUIRE, type Policy } from './verifier';
import type { ReleaseSessionOptions } from './release/session';
import { relaxedIn } from '../protocol/attestation/relax';

export { ProtocolError, isProtocolError };
export type { ChatEvent, ChatMessage, ChatParams, Policy, ServerInfo };
export { DEFAULT_CLIENT_POLICY } from './verifier';

export interface ConnectOptions {
  readonly policy: Policy;
  /** Development only: accept evidence signed by simulated roots (the summary says SIMULATED). */
  readonly allowSimulated?: boolean;
  readonly crypto?: CryptoProvider;
  /** Deadline for connecting and completing the handshake (default 30 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Clock for certificate validity (tests pin it). */
  readonly now?: () => Date;
  /** Extra `ws` client options (e.g. a CA for wss with a private certificate). */
  readonly wsOptions?: WsClientOptions;
  readonly limits?: Partial<Limits>;
  /**
   * While an answer streams, end the session with `idle_timeout` after this long without an
   * authenticated frame (a ping goes out at half the time). Default 30 s.
   */
  readonly streamStallMs?: number;
  /**
   * Pre-generated client key pairs (X25519 + ML-KEM-768) for this handshake, taking their
   * generation off the connection's critical path. Each pair is single-use and wiped after the
   * handshake; the pool bounds how long a ready pair waits (`protocol/handshake/ephemeral.ts`).
   */
  readonly ephemeralPool?: ClientEphemeralPool;
  /** Signed release checking (docs/RELEASES.md): verify the server's (or a pinned) manifest first. */
  readonly release?: ReleaseSessionOptions;
  /**
   * Extra pinned roots, treated exactly like the compiled-in vendor roots (the session is NOT
   * simulated). For tests (the production trust path against `teechat-server
   * --simulated-roots-out`) and embedders only: no VS Code setting, config file or CLI flag sets it.
   */
  readonly trustAnchors?: TrustAnchors;
}

/** A pool that refills in idle time on Node (one ready pair; wiped after 10 minutes unused). */
export function nodeEphemeralPool(crypto: CryptoProvider = nodeProvider): ClientEphemeralPool {
  return new ClientEphemeralPool({
    crypto,
    schedule: (fn) => {
      setImmediate(fn).unref();
    },
  });
}

/** What the client verified, for display and export. */
export interface VerifiedSummary {
  /** True when any evidence chains to a simulated (development) root. */
  readonly simulated: boolean;
  /**
   * Relaxations in force for this session (relax.ts: `tdx.allowMissingTcbInfo`, …): required
   * evidence that was allowed to be missing. Empty under the default policy.
   */
  readonly relaxed: readonly string[];
  readonly cpu: {
    readonly kind: EvidenceKind;
    /** Launch measurement (SNP MEASUREMENT / TDX MRTD / Azure paravisor), hex: for display. */
    readonly measurement: string;
    /**
     * The identity that names the code (protocol/attestation/identity.ts), hex: SNP MEASUREMENT;
     * TDX MRTD ‖ RTMR1 ‖ RTMR2 (‖ MRCONFIGID ‖ MROWNER when set); Azure the quoted vTPM PCRs.
     * What pins, known-enclaves entries and the extension's trust store compare. '' when none.
     */
    readonly identity: string;
    /** What `identity` is the concatenation of, e.g. ["MRTD", "RTMR1", "RTMR2"]. */
    readonly identityNames: readonly string[];
    readonly product: string;
    readonly tcb: string;
  } | null;
  readonly gpus: readonly {
    readonly label: string;
    readonly ccMode: string;
    readonly driverVersion: string;
    readonly vbiosVersion: string;
  }[];
  readonly model: { readonly id: string; readonly sha256: string };
  /** One line: what was verified. */
  readonly verdict: string;
  /** Hex SHA-256 of the whole handshake (channel binding). */
  readonly transcriptHash: string;
  /**
   * The values this session's evidence had to carry (hex): SNP/TDX REPORT_DATA and the NVIDIA
   * nonce, derived from the transcript hash; exported with the evidence so an auditor can re-check
   * the binding offline (`teechat attest verify … --expect-report-data` / `--nonce`).
   */
  readonly binding: { readonly cpuReportData: string; readonly gpuNonce: string };
  readonly verifiedAt: string;
  readonly reports: readonly VerificationReport[];
  /** The raw evidence, for export and offline audit. */
  readonly evidence: readonly EvidenceItem[];
  /** The signed release manifest the session was checked against (docs/RELEASES.md), if any. */
  readonly release?: ReleaseSummary;
}

export type Session = ChannelSession<VerifiedSummary, ServerInfo>;

function field(r: VerificationReport | undefined, ...names: string[]): string {
  if (!r) return '';
  for (const n of names) {
    const v = r.fields[n];
    if (v === undefined || v === null) continue;
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }
  return '';
}

/**
 * The report whose fields describe the launched TEE: the report itself, or for Azure the SNP
 * report / TD quote nested in it (its top level holds the HCL, runtime claims and PCRs).
 */
function launchFields(r: VerificationReport): VerificationReport {
  if (r.kind !== 'azure-hcl') return r;
  for (const k of ['snp', 'tdx']) {
    const v = r.fields[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v))
      return { ...r, fields: v as VerificationReport['fields'] };
  }
  return r;
}

export function summarize(
  reports: readonly VerificationReport[],
  evidence: readonly EvidenceItem[],
  info: ServerInfo,
  verdict: string,
  transcriptHash: Uint8Array,
  now: Date,
  binding: BindingValues,
): VerifiedSummary {
  const cpuReport = reports.find(
    (r) =>
      okFromChecks(r.checks) &&
      (r.kind === 'sev-snp' || r.kind === 'tdx' || r.kind === 'azure-hcl'),
  );
  const cpu = cpuReport && launchFields(cpuReport);
  const ident = cpuReport !== undefined ? codeIdentity(cpuReport) : null;
  const gpus = reports.filter((r) => okFromChecks(r.checks) && r.kind === 'nvidia-gpu');
  return {
    simulated: reports.some((r) => r.simulated),
    relaxed: relaxedIn(reports.flatMap((r) => r.checks)),
    cpu: cpu
      ? {
          kind: cpu.kind,
          measurement: field(cpu, 'measurement', 'mrtd', 'mr_td', 'paravisor_measurement'),
          identity: ident?.id ?? '',
          identityNames: ident?.names ?? [],
          product: field(cpu, 'product', 'tee_type', 'platform'),
          tcb: field(cpu, 'reported_tcb', 'tcb_status', 'current_tcb'),
        }
      : null,
    gpus: gpus.map((g) => {
      const cc = g.fields['cc'];
      const ccObj =
        typeof cc === 'object' && cc !== null && !Array.isArray(cc)
          ? (cc as Record<string, unknown>)
          : {};
      return {
        label: g.label ?? '',
        ccMode:
          typeof ccObj['ccFeature'] === 'string'
            ? `CC ${ccObj['ccFeature']}${ccObj['devToolsMode'] === 'on' ? ' (DEVTOOLS)' : ''}${typeof ccObj['environment'] === 'string' ? `, ${ccObj['environment']}` : ''}`
            : 'CC status not reported',
        driverVersion: field(g, 'driver_version', 'driverVersion'),
        vbiosVersion: field(g, 'vbios_version', 'vbiosVersion'),
      };
    }),
    model: { id: info.modelId, sha256: info.modelSha256 },
    verdict,
    transcriptHash: toHex(transcriptHash),
    binding: { cpuReportData: toHex(binding.cpuReportData), gpuNonce: toHex(binding.gpuNonce) },
    verifiedAt: now.toISOString(),
    reports,
    evidence,
  };
}

/** Required evidence kinds sent in the ClientHello (the server must include them). */
export function requiredKinds(policy: Policy): EvidenceKind[] {
  const req = policy.require ?? DEFAULT_REQUIRE;
  const kinds: EvidenceKind[] = [];
  // A single accepted CPU kind can be demanded outright; several are checked by the verifier.
  if (req.cpu.length === 1 && req.cpu[0] !== undefined) kinds.push(req.cpu[0]);
  if (req.gpu) kinds.push('nvidia-gpu');
  return kinds;
}

export async function connect(url: string, opts: ConnectOptions): Promise<Session> {
  const crypto = opts.crypto ?? nodeProvider;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const now = opts.now ?? (() => new Date());
  const limits = resolveLimits(opts.limits);
  const deadline = Date.now() + timeoutMs;
  const transport = await Transport.open(url, {
    timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.wsOptions ? { wsOptions: opts.wsOptions } : {}),
  });
  const onAbort = (): void => transport.terminate();
  let lastVerdict: EvidenceVerdict | undefined;
  let hs: ClientHandshake | undefined;
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const policy = opts.policy;
    const verify = createVerifier({
      policy,
      crypto,
      allowSimulated: opts.allowSimulated === true,
      now,
      ...(opts.release !== undefined ? { release: opts.release } : {}),
      ...(opts.trustAnchors !== undefined ? { trustAnchors: opts.trustAnchors } : {}),
    });
    hs = new ClientHandshake({
      crypto,
      verifier: async (items, binding) => (lastVerdict = await verify(items, binding)),
      requiredEvidence: requiredKinds(policy),
      limits,
      ...(opts.ephemeralPool ? { ephemeral: opts.ephemeralPool.take() } : {}),
    });
    transport.send(hs.clientHello());
    const serverHello = await transport.next(Math.max(1, deadline - Date.now()));
    const { clientFinished, session } = await hs.onServerHello(serverHello);
    transport.send(clientFinished);
    const info = decodeAppMessage(session.serverInfo, limits);
    if (info.type !== 'server_info')
      throw new ProtocolError(
        'malformed',
        `ServerHello.server_info: expected a server_info message, got ${info.type}`,
        'server_info',
      );
    // A release manifest pins the model: the server's model must be the manifest's.
    const releaseModel = lastVerdict?.release?.modelSha256;
    if (releaseModel !== undefined && info.modelSha256 !== releaseModel)
      throw new ProtocolError(
        'evidence_rejected',
        `server_info.modelSha256: expected ${releaseModel} (release ${lastVerdict?.release?.version ?? '?'} manifest), got ${info.modelSha256}`,
        'server_info.modelSha256',
      );
    const allowedModels = policy.models ?? [];
    if (allowedModels.length > 0 && !allowedModels.includes(info.modelSha256))
      throw new ProtocolError(
        'evidence_rejected',
        `server_info.modelSha256: expected one of [${allowedModels.map((m) => m.slice(0, 16) + '…').join(', ')}], got ${info.modelSha256}`,
        'server_info.modelSha256',
      );
    const verdict = session.verdict;
    const base = summarize(
      verdict?.reports ?? [],
      session.evidence,
      info,
      verdict?.summary ?? '',
      session.transcriptHash,
      now(),
      session.binding,
    );
    const summary: VerifiedSummary = verdict?.release
      ? { ...base, release: verdict.release }
      : base;
    opts.signal?.removeEventListener('abort', onAbort);
    return new ChannelSession(
      transport,
      session.channel,
      limits,
      summary,
      info,
      opts.streamStallMs ?? DEFAULT_STREAM_STALL_MS,
    );
  } catch (e) {
    opts.signal?.removeEventListener('abort', onAbort);
    // The connection failed before the handshake finished: wipe its key pairs now.
    hs?.dispose();
    transport.terminate();
    if (opts.signal?.aborted) throw new ProtocolError('cancelled', 'connect cancelled');
    // The handshake's message abbreviates the verdict; give the user all of it. Evidence that is
    // not bound to this handshake (a relay, swapped keys, a replay) is named binding_mismatch.
    if (isProtocolError(e) && e.code === 'evidence_rejected' && lastVerdict && !lastVerdict.ok)
      throw new ProtocolError(
        lastVerdict.summary.includes('binding_mismatch in ')
          ? 'binding_mismatch'
          : 'evidence_rejected',
        `server evidence rejected: ${lastVerdict.summary}`,
        e.field,
      );
    if (isProtocolError(e)) throw e;
    throw new ProtocolError(
      'transport_error',
      `connect: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** Errors the client established itself (verification, usage): retrying cannot change them. */
const NO_RETRY: ReadonlySet<string> = new Set([
  'evidence_rejected',
  'evidence_missing',
  'binding_mismatch',
  'usage',
]);

export interface ReconnectOptions extends ConnectOptions {
  /** Attempts per (re)connect, with exponential backoff from 200 ms (default 5). */
  readonly attempts?: number;
  readonly onReconnect?: (session: Session) => void;
}

/**
 * Keeps one session to a server; when it has ended (server restart, idle timeout, network),
 * the next call makes a new connection with a fresh handshake and fresh verification. An answer
 * that was cut off is never resumed: the caller gets its error and can ask again.
 */
export class ReconnectingClient {
  private current: Session | undefined;
  private connecting: Promise<Session> | undefined;
  private closed = false;
  /** The next handshake's key pairs, made in idle time (each used once, wiped after use). */
  private readonly pool: ClientEphemeralPool;

  constructor(
    readonly url: string,
    private readonly opts: ReconnectOptions,
  ) {
    this.pool = opts.ephemeralPool ?? nodeEphemeralPool(opts.crypto);
  }

  /** The live session, connecting (with retries) if there is none. */
  async session(): Promise<Session> {
    if (this.closed) throw new ProtocolError('channel_closed', 'client is closed');
    if (this.current?.isOpen) return this.current;
    this.connecting ??= this.connectWithRetry().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async *chat(
    messages: readonly ChatMessage[],
    params?: ChatParams,
    signal?: AbortSignal,
  ): AsyncGenerator<ChatEvent> {
    const s = await this.session();
    yield* s.chat(messages, params, signal);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.opts.ephemeralPool === undefined) this.pool.dispose();
    await this.current?.close();
  }

  private async connectWithRetry(): Promise<Session> {
    const attempts = this.opts.attempts ?? 5;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** (i - 1))));
      if (this.opts.signal?.aborted) throw new ProtocolError('cancelled', 'reconnect cancelled');
      try {
        const s = await connect(this.url, { ...this.opts, ephemeralPool: this.pool });
        this.current = s;
        this.opts.onReconnect?.(s);
        return s;
      } catch (e) {
        last = e;
        // A verdict this client reached itself is not transient: never retry it into acceptance.
        // (What a peer claims before the secure session, e.g. a 4400 close "evidence_rejected …",
        // arrives as `transport_closed` and is retried like any other dropped connection.)
        if (isProtocolError(e) && NO_RETRY.has(e.code)) throw e;
      }
    }
    throw last instanceof Error ? last : new ProtocolError('transport_error', 'reconnect failed');
  }
}
