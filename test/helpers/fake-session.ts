/**
 * A fake transport-level session for the extension's unit tests: scripted chat events, a close
 * hook, and an attestation view built from a real-looking VerificationReport.
 */
import type { ReleaseSummary, VerificationReport } from '../../protocol/attestation/types';
import type {
  AttestationView,
  ChatEvent,
  ChatTurn,
  ConnectFn,
  ConnectRequest,
  TeeSession,
} from '../../extension/types';
import type { TrustSettings } from '../../extension/types';

export const MEASUREMENT = '8f3a' + '11'.repeat(44) + 'c21d';

/** A verified release summary (v1.4.2, an upgrade from 1.4.1) whose SNP digest is the fake view's measurement. */
export function fakeRelease(over: Partial<ReleaseSummary> = {}): ReleaseSummary {
  return {
    version: '1.4.2',
    manifestSha256: '99'.repeat(32),
    source: 'server',
    repository: 'github.com/teechat/teechat',
    commit: '0123456789abcdef0123456789abcdef01234567',
    identity: 'https://github.com/teechat/teechat/.github/workflows/release.yml@refs/tags/v1.4.2',
    issuer: 'https://token.actions.githubusercontent.com',
    logIndex: '123456',
    signedAt: '2026-12-01T10:00:00.000Z',
    freshAt: '2026-12-01T10:00:00.000Z',
    rollback: 'upgrade',
    previousVersion: '1.4.1',
    relaxations: [],
    modelSha256: 'ab'.repeat(32),
    modelRef: 'org/model@' + 'ef'.repeat(20) + '/m.gguf',
    expected: {
      'snp.launch_digest[qemu-8]': MEASUREMENT,
      'tdx.mrtd': 'cc'.repeat(48),
      'model.sha256': 'ab'.repeat(32),
    },
    ...over,
  };
}

export function fakeView(over: Partial<AttestationView> = {}): AttestationView {
  const report: VerificationReport = {
    ok: true,
    kind: 'sev-snp',
    checks: [
      { id: 'signature', ok: true, message: 'report signature verifies with the VCEK' },
      { id: 'policy.debug', ok: true, message: 'debug: expected false, got false' },
    ],
    fields: {
      measurement: MEASUREMENT,
      policy: { debug: false, smt: true },
      tcb: { bl: 3, tee: 0, snp: 8, microcode: 115 },
    },
    simulated: false,
  };
  return {
    simulated: false,
    cpuKind: 'SNP',
    measurement: MEASUREMENT,
    product: 'Genoa',
    tcb: 'bl=3 tee=0 snp=8 ucode=115',
    gpu: { count: 1, ccEnabled: true },
    model: { id: 'stories260K', sha256: 'ab'.repeat(32) },
    reports: [report],
    evidence: [
      { kind: 'sev-snp', label: '', parts: new Map([['report', new Uint8Array([1, 2, 3, 250])]]) },
    ],
    serverInfo: { engine: 'llama' },
    transcriptHash: 'cd'.repeat(32),
    binding: null,
    verifiedAt: new Date('2026-11-23T12:00:00Z'),
    ...over,
  };
}

export type Script = (turns: readonly ChatTurn[], signal?: AbortSignal) => AsyncIterable<ChatEvent>;

export class FakeSession implements TeeSession {
  closed = false;
  private closeCbs: ((err?: unknown) => void)[] = [];
  readonly calls: ChatTurn[][] = [];
  constructor(
    readonly attestation: AttestationView,
    private readonly script: Script,
  ) {}
  chat(
    messages: readonly ChatTurn[],
    _params?: unknown,
    signal?: AbortSignal,
  ): AsyncIterable<ChatEvent> {
    this.calls.push([...messages]);
    return this.script(messages, signal);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  onClose(cb: (err?: unknown) => void): void {
    this.closeCbs.push(cb);
  }
  /** Simulates the transport dropping. */
  drop(err?: unknown): void {
    for (const cb of this.closeCbs) cb(err);
  }
}

/** Yields the given words as deltas, then done. */
export function words(list: string[]): Script {
  return async function* () {
    for (const w of list) yield { type: 'delta', text: w };
    yield { type: 'done', usage: { completionTokens: list.length } };
  };
}

export function connectReturning(
  make: () => TeeSession | Promise<TeeSession>,
): ConnectFn & { requests: ConnectRequest[] } {
  const requests: ConnectRequest[] = [];
  const fn = (async (req: ConnectRequest) => {
    requests.push(req);
    return make();
  }) as ConnectFn & { requests: ConnectRequest[] };
  fn.requests = requests;
  return fn;
}

export function protocolError(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'ProtocolError', code });
}

/** The user's trust settings as shipped: nothing allowlisted, nothing relaxed, GPU evidence required. */
export const STRICT_TRUST: TrustSettings = {
  allowedMeasurements: [],
  minimumTcb: {},
  requireGpuEvidence: true,
  allowDebug: false,
  allowSimulated: false,
  releaseRepository: '',
  releaseTrustedRoot: '',
  releaseIssuer: '',
  releaseAllowDowngradeTo: '',
  releaseMaxAgeDays: 7,
};
