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
   * Advisory IDs (e.g. "INTEL-SA-00837") the user accepts: a platform whose status is
   * SWHardeningNeeded, ConfigurationNeeded or ConfigurationAndSWHardeningNeeded passes only when
   * every advisory of its TCB level is listed here (the report names them). Default none.
   */
  readonly allowedAdvisoryIds: readonly string[];
  /**
   * Require TD_ATTRIBUTES.SEPT_VE_DISABLE (bit 28): without it the host can inject #VE on
   * EPT violations into the TD (Linux refuses to run as a TDX guest without it). Default true.
   */
  readonly requireSeptVeDisable: boolean;
  /** XFAM allowlist (8-byte hex each); empty: not pinned. */
  readonly xfam: readonly string[];
  /**
   * Maximum age in days (now − issueDate / thisUpdate) of the TCB info, the QE identity and the
   * PCK CRL, on top of their own nextUpdate. 0: no limit. The root CA CRL is bounded by its
   * nextUpdate only (Intel issues it yearly).
   */
  readonly maxCollateralAgeDays: number;
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
  // Intel PCS TCB status semantics (Intel SGX/TDX DCAP Quote Verification Library, "TCB status"):
  // only UpToDate by default; SWHardeningNeeded / ConfigurationNeeded only through an explicit
  // advisory-ID allowlist (`allowedAdvisoryIds`), never wholesale.
  acceptedTcbStatuses: ['UpToDate'],
  allowedAdvisoryIds: [],
  // Intel TDX Module ABI spec (TD_ATTRIBUTES bit 28 SEPT_VE_DISABLE); Linux arch/x86/coco/tdx
  // refuses to boot a TD without it. All real non-Azure quotes in ../shared/vectors set it.
  requireSeptVeDisable: true,
  xfam: [],
  // Intel PCS issues TCB info, QE identity and the PCK CRL with a 30-day nextUpdate (their
  // issueDate/nextUpdate fields, ../shared/vectors): a stapled copy older than 31 days is stale.
  maxCollateralAgeDays: 31,
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
