/**
 * What the extension needs from the client library, as small interfaces. The real implementation
 * (extension/client-adapter.ts) wraps `client/` `connect()`; unit tests inject fakes at this level.
 * Session keys live inside the client's session object, in memory only: nothing here exposes them.
 */
import type {
  EvidenceItem,
  ReleaseSummary,
  VerificationReport,
} from '../protocol/attestation/types';

export interface ChatTurn {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface ChatParams {
  readonly maxTokens?: number;
  readonly temperature?: number;
}

export type ChatEvent =
  | { readonly type: 'delta'; readonly text: string }
  | { readonly type: 'queued'; readonly position: number }
  | { readonly type: 'done'; readonly usage?: unknown; readonly timings?: unknown };

/** The verified facts about the remote side, in the form the UI shows them. */
export interface AttestationView {
  /** True when any report chains to a simulated (development) root. */
  readonly simulated: boolean;
  /** CPU TEE kind label, e.g. "SNP" or "TDX". */
  readonly cpuKind: string;
  /** Launch measurement (SNP MEASUREMENT / TDX MRTD / Azure paravisor), lowercase hex: display. */
  readonly measurement: string;
  /**
   * The identity that names the code (protocol/attestation/identity.ts), lowercase hex: SNP
   * MEASUREMENT; TDX MRTD ‖ RTMR1 ‖ RTMR2 (‖ MRCONFIGID ‖ MROWNER); Azure the quoted vTPM PCRs.
   * What the allowlist and the trust store compare. Absent in views built before this field.
   */
  readonly identity?: string;
  /** What `identity` is made of, e.g. ["MRTD", "RTMR1", "RTMR2"]. */
  readonly identityNames?: readonly string[];
  /** Processor product, e.g. "Genoa". */
  readonly product: string;
  /** Reported TCB, human-readable (e.g. "bl=3 tee=0 snp=8 ucode=115"). */
  readonly tcb: string;
  /** GPU confidential-computing status: absent when no GPU evidence was presented. */
  readonly gpu: { readonly count: number; readonly ccEnabled: boolean } | null;
  readonly model: { readonly id: string; readonly sha256: string };
  readonly reports: readonly VerificationReport[];
  /** Raw evidence as received (for export and offline audit). */
  readonly evidence: readonly EvidenceItem[];
  /** Hex SHA-256 over the whole handshake (the session's channel binding). */
  readonly transcriptHash: string;
  /**
   * The values the evidence had to carry for this session (hex): SNP/TDX REPORT_DATA and the
   * NVIDIA nonce, derived from the ClientHello/ServerHello-core transcript hash during the
   * handshake; null when the client does not report them.
   */
  readonly binding: { readonly cpuReportData: string; readonly gpuNonce: string } | null;
  /** Server-declared information (engine, version), unverified beyond the channel. */
  readonly serverInfo: Readonly<Record<string, unknown>>;
  readonly verifiedAt: Date;
  /** The signed release manifest the session matched (docs/RELEASES.md), or null when none. */
  readonly release?: ReleaseSummary | null;
}

export interface TeeSession {
  readonly attestation: AttestationView;
  chat(
    messages: readonly ChatTurn[],
    params?: ChatParams,
    signal?: AbortSignal,
  ): AsyncIterable<ChatEvent>;
  close(): Promise<void>;
  onClose(cb: (err?: unknown) => void): void;
}

/** The trust settings the user controls (package.json `teechat.trust.*`). */
export interface TrustSettings {
  readonly allowedMeasurements: readonly string[];
  /** Minimum TCB component versions, e.g. { bootloader: 3, tee: 0, snp: 8, microcode: 115 }. */
  readonly minimumTcb: Readonly<Record<string, number>>;
  readonly requireGpuEvidence: boolean;
  readonly allowDebug: boolean;
  readonly allowSimulated: boolean;
  /**
   * Release signer "ORG/REPO" (its .github/workflows/release.yml), from the USER settings only
   * (never a workspace setting); '' = no release checking.
   */
  readonly releaseRepository?: string;
  /**
   * A private Sigstore deployment (user settings only, like cosign's --trusted-root and
   * --certificate-oidc-issuer): a trusted_root.json file replacing the embedded public-good root,
   * and the OIDC issuer of the release certificates. '' = public-good root / GitHub Actions.
   */
  readonly releaseTrustedRoot?: string;
  readonly releaseIssuer?: string;
  /** Accept a downgrade to exactly this version ('' = none; explicit, reported). */
  readonly releaseAllowDowngradeTo?: string;
  /** Maximum age of a release signature in days (default 7; 0 = not bounded, reported). */
  readonly releaseMaxAgeDays?: number;
}

export interface ConnectRequest {
  readonly url: string;
  readonly trust: TrustSettings;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export type ConnectFn = (req: ConnectRequest) => Promise<TeeSession>;
