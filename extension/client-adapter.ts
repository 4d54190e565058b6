/**
 * The real connect function: builds the client policy from the user's trust settings, calls
 * client/ `connect()` (attested handshake; evidence verified BEFORE any key is derived) and maps
 * the verified summary to the view the UI shows. The session's keys stay inside the client's
 * session object in this process; nothing here copies them.
 *
 * Measurements are deliberately not constrained in the client policy: the extension's trust gate
 * (extension/trust.ts) checks them against the allowlist and the user's known measurements and
 * asks about unknown ones, after verification and before any user data is sent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, DEFAULT_CLIENT_POLICY, nodeEphemeralPool } from '../client/index';
import type { Policy, Session, VerifiedSummary } from '../client/index';
import type { ClientEphemeralPool } from '../protocol/handshake/ephemeral';
import { CPU_KINDS } from '../client/verifier';
import { releaseSigner } from '../client/release/identity';
import { DEFAULT_MAX_AGE_MS } from '../client/release/release';
import type { ReleaseParts, ReleaseSessionOptions } from '../client/release/session';
import { memoryStore, ReleaseState, type KeyValueStore } from '../client/release/state';
import { embeddedTrustedRoot, readTrustedRootFile } from '../client/release/trusted-root';
import { ProtocolError } from '../protocol/errors';
import { mergePolicy } from '../protocol/attestation/policy';
import type { VerificationReport } from '../protocol/attestation/types';
import type {
  AttestationView,
  ChatEvent,
  ChatParams,
  ChatTurn,
  ConnectFn,
  TeeSession,
  TrustSettings,
} from './types';

export function policyFromSettings(t: TrustSettings): Policy {
  return mergePolicy<Policy>(DEFAULT_CLIENT_POLICY, {
    snp: { allowDebug: t.allowDebug, minTcb: { ...t.minimumTcb } },
    tdx: { allowDebug: t.allowDebug },
    require: { cpu: [...CPU_KINDS], gpu: t.requireGpuEvidence },
  });
}

const CPU_LABEL: Record<string, string> = {
  'sev-snp': 'SNP',
  tdx: 'TDX',
  'azure-hcl': 'SNP/Azure',
};

function gpuCcOn(r: VerificationReport, fallback: string | undefined): boolean {
  const cc = r.fields['cc'];
  if (typeof cc === 'object' && cc !== null && !Array.isArray(cc)) {
    const f = (cc as Record<string, unknown>)['ccFeature'];
    if (typeof f === 'string') return f === 'on';
  }
  return fallback === 'on';
}

/** "bl=9 tee=0 snp=23 microcode=72" from the verifier's TCB field (JSON object or text). */
export function formatTcb(tcb: string): string {
  try {
    const v = JSON.parse(tcb) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const parts = Object.entries(o)
        .filter(([k, x]) => k !== 'raw' && (typeof x === 'number' || typeof x === 'string'))
        .map(([k, x]) => `${k}=${String(x)}`);
      if (parts.length > 0)
        return typeof o['raw'] === 'string' ? `${parts.join(' ')} (${o['raw']})` : parts.join(' ');
    }
  } catch {
    /* not JSON: shown as is */
  }
  return tcb;
}

function hexOf(v: unknown): string | null {
  if (v instanceof Uint8Array)
    return Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('');
  return typeof v === 'string' && /^[0-9a-f]+$/i.test(v) ? v.toLowerCase() : null;
}

/** The values this session's evidence had to carry (hex), for the report and the export. */
export function bindingOf(s: VerifiedSummary): AttestationView['binding'] {
  const cpu = hexOf(s.binding.cpuReportData);
  const gpu = hexOf(s.binding.gpuNonce);
  return cpu && gpu ? { cpuReportData: cpu, gpuNonce: gpu } : null;
}

export function viewFromSummary(
  s: VerifiedSummary,
  serverInfo: Record<string, unknown>,
): AttestationView {
  const gpuReports = s.reports.filter((r) => r.ok && r.kind === 'nvidia-gpu');
  return {
    simulated: s.simulated,
    cpuKind: s.cpu ? (CPU_LABEL[s.cpu.kind] ?? s.cpu.kind) : 'none',
    measurement: (s.cpu?.measurement ?? '').toLowerCase(),
    identity: (s.cpu?.identity ?? '').toLowerCase(),
    identityNames: s.cpu?.identityNames ?? [],
    product: s.cpu?.product || 'unknown',
    tcb: s.cpu?.tcb ? formatTcb(s.cpu.tcb) : 'unknown',
    gpu:
      gpuReports.length === 0
        ? null
        : {
            count: gpuReports.length,
            ccEnabled: gpuReports.every((r, i) => gpuCcOn(r, s.gpus[i]?.ccMode)),
          },
    model: { id: s.model.id, sha256: s.model.sha256 },
    reports: s.reports,
    evidence: s.evidence,
    serverInfo: { ...serverInfo, verdict: s.verdict },
    transcriptHash: s.transcriptHash,
    binding: bindingOf(s),
    verifiedAt: new Date(s.verifiedAt),
    release: s.release ?? null,
  };
}

/**
 * Wraps a client session. The client runs one request at a time per session; several chat
 * panels share the session, so requests wait their turn here instead of failing with `busy`.
 */
export class ClientSession implements TeeSession {
  readonly attestation: AttestationView;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly s: Session) {
    const { type: _t, ...info } = s.serverInfo;
    this.attestation = viewFromSummary(s.summary, info as Record<string, unknown>);
  }

  async *chat(
    messages: readonly ChatTurn[],
    params?: ChatParams,
    signal?: AbortSignal,
  ): AsyncGenerator<ChatEvent> {
    let release!: () => void;
    const prev = this.queue;
    this.queue = new Promise<void>((r) => (release = r));
    try {
      await prev;
      yield* this.s.chat(messages, params, signal);
    } finally {
      release();
    }
  }

  close(): Promise<void> {
    return this.s.close();
  }

  onClose(cb: (err?: unknown) => void): void {
    this.s.onClose(cb);
  }
}

/** The next session's key pairs, generated in idle time (single-use, wiped after use or 10 min). */
let ephemeralPool: ClientEphemeralPool | undefined;

/** Where rollback state lives (the extension's globalState; set at activation). */
let releaseStore: KeyValueStore = memoryStore();
export function setReleaseStore(kv: KeyValueStore): void {
  releaseStore = kv;
}

/** The manifest + bundle shipped in the .vsix (release/manifest.json + .sigstore.json), if any. */
let bundledRelease: () => ReleaseParts | undefined = () => undefined;
export function setBundledRelease(load: () => ReleaseParts | undefined): void {
  bundledRelease = load;
}

/** Where the .vsix carries the current release manifest and its Sigstore bundle. */
export const BUNDLED_MANIFEST = 'release/manifest.json';
export const BUNDLED_BUNDLE = 'release/manifest.sigstore.json';

/**
 * Reads the packaged manifest and bundle under `extensionDir`: both or neither (undefined when
 * neither is there; one without the other is an error naming the missing file, fail closed).
 */
export function readBundledRelease(
  extensionDir: string,
  read: (p: string) => Uint8Array | undefined = (p) =>
    existsSync(p) ? readFileSync(p) : undefined,
): ReleaseParts | undefined {
  const manifest = read(join(extensionDir, BUNDLED_MANIFEST));
  const bundle = read(join(extensionDir, BUNDLED_BUNDLE));
  if (manifest === undefined && bundle === undefined) return undefined;
  if (manifest === undefined || bundle === undefined)
    throw new ProtocolError(
      'release_rejected',
      `${manifest === undefined ? BUNDLED_MANIFEST : BUNDLED_BUNDLE}: expected it next to ${manifest === undefined ? BUNDLED_BUNDLE : BUNDLED_MANIFEST} in the extension, got none`,
      'release.bundled',
    );
  return { manifest, bundle };
}

/**
 * Release checking for a session: with a configured signer, a manifest the server offers must
 * verify (offline, against the embedded public-good Sigstore root or the user's
 * `teechat.release.trustedRoot`) and the evidence must match it exactly. A server that offers none
 * is checked against the manifest shipped in the .vsix when there is one (same verification, same
 * identity pinning), else falls back to the trust prompt, which says so. Downgrades are refused
 * unless the user allowed exactly that version (`teechat.release.allowDowngradeTo`); the maximum
 * age is `teechat.release.maxAgeDays` (7 by default; 0 = not bounded). Both are user settings only.
 */
export function releaseOptions(t: TrustSettings): ReleaseSessionOptions | undefined {
  const repo = t.releaseRepository ?? '';
  if (repo === '') return undefined;
  const rootFile = t.releaseTrustedRoot ?? '';
  const issuer = t.releaseIssuer ?? '';
  const days = t.releaseMaxAgeDays ?? DEFAULT_MAX_AGE_MS / 86_400_000;
  const downgradeTo = t.releaseAllowDowngradeTo ?? '';
  const bundled = bundledRelease();
  return {
    signer: releaseSigner({ repository: repo, ...(issuer !== '' ? { issuer } : {}) }),
    trustedRoot:
      rootFile === ''
        ? embeddedTrustedRoot()
        : readTrustedRootFile(rootFile, 'teechat.release.trustedRoot'),
    state: new ReleaseState(releaseStore),
    maxAgeMs: days === 0 ? null : days * 86_400_000,
    ...(downgradeTo !== '' ? { allowDowngradeTo: downgradeTo } : {}),
    downgradeHint: (v) =>
      `set the user setting teechat.release.allowDowngradeTo to "${v}" to accept it`,
    ...(bundled !== undefined ? { bundled } : {}),
    require: false,
  };
}

export const connectWithClient: ConnectFn = async (req) => {
  const release = releaseOptions(req.trust);
  const s = await connect(req.url, {
    ...(release !== undefined ? { release } : {}),
    ephemeralPool: (ephemeralPool ??= nodeEphemeralPool()),
    policy: policyFromSettings(req.trust),
    allowSimulated: req.trust.allowSimulated,
    ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  return new ClientSession(s);
};
