/**
 * TDX policy: the expected values a verified quote is validated against. A plain data object (see
 * DESIGN §5: it may later arrive as a signed deployment manifest); hex strings are lower or upper
 * case without a prefix. Empty allowlists mean "not pinned" and are reported as such.
 */
import type { TcbStatus } from './collateral';

export interface TdxPolicy {
  /** Accept TD_ATTRIBUTES.DEBUG (bit 0) set. Default false: a debug TD's memory is readable by the host. */
  readonly allowDebug: boolean;
  /** MRTD allowlist (48-byte hex each). */
  readonly mrtd: readonly string[];
  /** Per-RTMR allowlists (index 0..3); a missing or empty entry means "not pinned". */
  readonly rtmr: readonly (readonly string[])[];
  readonly mrConfigId: readonly string[];
  readonly mrOwner: readonly string[];
  readonly mrOwnerConfig: readonly string[];
  /** MRSEAM allowlist (the TDX module's measurement); empty: not pinned. */
  readonly mrSeam: readonly string[];
  /** Minimum QE SVN (the QE report's ISVSVN) and PCE SVN (the PCK certificate's PCESVN); 0: no floor. */
  readonly minQeSvn: number;
  readonly minPceSvn: number;
  /** TCB statuses accepted from the TCB info evaluation (platform and QE identity). */
  readonly acceptedTcbStatuses: readonly TcbStatus[];
  /**
   * Relaxations (relax.ts), all false by default: without them the TCB info, the TD_QE identity,
   * the PCK CRL (issued by the PCK chain's Platform/Processor CA) and the Intel SGX Root CA CRL
   * are each required, and a quote without one is refused for that reason.
   */
  readonly allowMissingTcbInfo: boolean;
  readonly allowMissingQeIdentity: boolean;
  readonly allowMissingPckCrl: boolean;
  readonly allowMissingRootCaCrl: boolean;
  /** Minimum TEE_TCB_SVN per byte (16-byte hex), or empty for none. */
  readonly minTeeTcbSvn: string;
  /**
   * Expected REPORTDATA (64-byte hex) when no handshake binding is given (the CLI's
   * `--expect-report-data`). The handshake always compares against its own binding value.
   */
  readonly expectedReportData: string | null;
}

export const DEFAULT_TDX_POLICY: TdxPolicy = {
  allowDebug: false,
  mrtd: [],
  rtmr: [],
  mrConfigId: [],
  mrOwner: [],
  mrOwnerConfig: [],
  mrSeam: [],
  minQeSvn: 0,
  minPceSvn: 0,
  acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'],
  allowMissingTcbInfo: false,
  allowMissingQeIdentity: false,
  allowMissingPckCrl: false,
  allowMissingRootCaCrl: false,
  minTeeTcbSvn: '',
  expectedReportData: null,
};

/** Fills unspecified members from the defaults. */
export function tdxPolicy(p: Partial<TdxPolicy> = {}): TdxPolicy {
  return { ...DEFAULT_TDX_POLICY, ...p };
}
