/**
 * Intel TDX evidence provider (inside a TD guest) through the Linux configfs-tsm report interface
 * (Documentation/ABI/testing/configfs-tsm; the generic request, with its race handling, is
 * `tsmReport` in configfs-tsm.ts):
 *
 *   mkdir /sys/kernel/config/tsm/report/<name>      one report entry per request
 *   cat   <entry>/provider                          must be "tdx_guest"
 *   write <entry>/inblob                            64 bytes: REPORTDATA = the session binding value
 *   read  <entry>/generation, <entry>/outblob, <entry>/generation
 *                                                   outblob is the DCAP quote; generation counts
 *                                                   writes to the entry, so a change between the two
 *                                                   reads (or a value other than the number of our
 *                                                   own writes) means another writer raced us: retry
 *   rmdir <entry>
 *
 * The returned item carries the quote, the PCS collateral the operator cached on disk (TCB info,
 * QE identity, issuer chain, CRLs; so the client can verify offline) and, when readable, the CCEL
 * event log from ACPI (so the client can replay RTMR0..3).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import { toHex } from '../../protocol/attestation/tdx/bytes';
import { TDX_PART, tdxCollateralPartName } from '../../protocol/attestation/tdx/parts';
import { parseQeIdentity, parseTdxTcbInfo } from '../../protocol/attestation/tdx/collateral';
import { DEFAULT_TDX_POLICY } from '../../protocol/attestation/tdx/policy';
import { parseCrl } from '../../protocol/x509/crl';
import { nameAttr, pemBlocks } from '../../protocol/x509/index';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceProvider,
} from '../../protocol/attestation/types';
import { CONFIGFS_TSM_ROOT, nodeTsmFs, tsmReport } from './configfs-tsm';
import type { TsmFs } from './configfs-tsm';

export type { TsmFs } from './configfs-tsm';

export interface TdxProviderOptions {
  /** configfs-tsm report directory. Default `/sys/kernel/config/tsm/report`. */
  readonly tsmRoot?: string;
  /** Directory of cached Intel PCS collateral (same layout as the CLI's --collateral DIR), or none. */
  readonly collateralDir?: string;
  /** CCEL event log path; default the ACPI table data. Missing or unreadable: no `ccel` part. */
  readonly ccelPath?: string | null;
  /** Attempts when a generation race is detected. Default 3. */
  readonly maxAttempts?: number;
  readonly fs?: TsmFs;
  /** Clock for the freshness of the cached collateral (injected by tests). Default: now. */
  readonly now?: () => Date;
  /**
   * Largest age in days (now − issueDate / thisUpdate) of the TCB info, QE identity and PCK CRL
   * the server staples; 0: nextUpdate only. Default: the client's `tdx.maxCollateralAgeDays`.
   */
  readonly maxCollateralAgeDays?: number;
  /**
   * Refetches the collateral for the quote's platform into `collateralDir` (the server wires it to
   * `collateral fetch`); absent: stale items cannot be refreshed. Tried at most once per
   * `refetchCooldownMs` (default 10 minutes), so a handshake is not held up by an unreachable PCS.
   */
  readonly refetch?: (quote: Uint8Array) => Promise<void>;
  readonly refetchCooldownMs?: number;
  /** How long one handshake waits for a refetch before stapling what is fresh (default 5 s). */
  readonly refetchWaitMs?: number;
  /** Diagnostics (warnings about stale collateral); default stderr. */
  readonly log?: (line: string) => void;
}

export const TDX_PROVIDER_DEFAULTS = {
  tsmRoot: CONFIGFS_TSM_ROOT,
  ccelPath: '/sys/firmware/acpi/tables/data/CCEL',
  maxAttempts: 3,
} as const;

export const TSM_PROVIDER_TDX = 'tdx_guest';
/** The TDX guest device (present only in TD guests): what `--attestation auto` can probe to tell TDX from SNP. */
export const TDX_GUEST_DEVICE = '/dev/tdx_guest';

export class TdxEvidenceError extends Error {
  override readonly name = 'TdxEvidenceError';
}

/** Reads a collateral directory into evidence parts (files classified by content). */
export async function loadTdxCollateralParts(dir: string): Promise<Map<string, Uint8Array>> {
  const parts = new Map<string, Uint8Array>();
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    if (!(await stat(p)).isFile()) continue;
    const b = new Uint8Array(await readFile(p));
    const part = tdxCollateralPartName(name, b);
    if (part !== null) {
      if (parts.has(part))
        throw new TdxEvidenceError(
          `collateral directory ${dir}: expected one file for ${part}, got more (${name})`,
        );
      parts.set(part, b);
    }
  }
  return parts;
}

/**
 * Why a cached collateral part must not be stapled at `now`, or null when it may: unparseable,
 * outside issueDate/thisUpdate .. nextUpdate, no nextUpdate (CRLs), or older than `maxAgeDays`
 * (TCB info, QE identity, PCK CRL; the root CA CRL is bounded by its nextUpdate only, as on the
 * client). Parts that carry no date (the signing chain, unknown parts) are always kept. Never
 * throws.
 */
export function tdxCollateralProblem(
  part: string,
  bytes: Uint8Array,
  now: Date,
  maxAgeDays: number,
): string | null {
  const window = (
    what: string,
    from: Date,
    next: Date | undefined,
    aged: boolean,
  ): string | null => {
    if (next === undefined) return `${what}: nextUpdate: expected a date, got none`;
    if (now.getTime() < from.getTime())
      return `${what}: issued ${from.toISOString()}, after now ${now.toISOString()}`;
    if (now.getTime() > next.getTime())
      return `${what}: nextUpdate: expected >= ${now.toISOString()}, got ${next.toISOString()} (stale)`;
    const days = (now.getTime() - from.getTime()) / 86_400_000;
    if (aged && maxAgeDays > 0 && days > maxAgeDays)
      return `${what}: expected at most ${maxAgeDays} days old, got ${days.toFixed(1)} days (issued ${from.toISOString()})`;
    return null;
  };
  try {
    if (part === TDX_PART.TCB_INFO) {
      const b = parseTdxTcbInfo(bytes).body;
      return window('tcb_info', b.issueDate, b.nextUpdate, true);
    }
    if (part === TDX_PART.QE_IDENTITY) {
      const b = parseQeIdentity(bytes).body;
      return window('qe_identity', b.issueDate, b.nextUpdate, true);
    }
    if (part.startsWith(TDX_PART.CRL_PREFIX)) {
      const what = part.slice('collateral.'.length);
      let der = bytes;
      if (bytes[0] !== 0x30) {
        const blocks = pemBlocks(Buffer.from(bytes).toString('latin1'), 'X509 CRL', what);
        if (blocks.length !== 1)
          return `${what}: expected one DER or PEM CRL, got ${blocks.length}`;
        der = blocks[0]!;
      }
      const crl = parseCrl(der);
      const isRoot = /Root CA/i.test(nameAttr(crl.issuer) ?? '');
      return window(what, crl.thisUpdate, crl.nextUpdate, !isRoot);
    }
    return null;
  } catch (e) {
    return `${part}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** The parts that may be stapled at `now`, and why the others may not (tdxCollateralProblem). */
export function freshTdxCollateral(
  parts: ReadonlyMap<string, Uint8Array>,
  now: Date,
  maxAgeDays: number,
): { parts: Map<string, Uint8Array>; stale: string[] } {
  const out = new Map<string, Uint8Array>();
  const stale: string[] = [];
  for (const [k, v] of parts) {
    const p = tdxCollateralProblem(k, v, now, maxAgeDays);
    if (p === null) out.set(k, v);
    else stale.push(p);
  }
  return { parts: out, stale };
}

/** Requests one quote through configfs-tsm with `reportData` (64 bytes) as REPORTDATA. */
export async function tsmTdxQuote(
  reportData: Uint8Array,
  opts: TdxProviderOptions = {},
): Promise<Uint8Array> {
  const { outblob } = await tsmReport({
    provider: TSM_PROVIDER_TDX,
    inblob: reportData,
    root: opts.tsmRoot ?? TDX_PROVIDER_DEFAULTS.tsmRoot,
    maxAttempts: opts.maxAttempts ?? TDX_PROVIDER_DEFAULTS.maxAttempts,
    ...(opts.fs !== undefined ? { fs: opts.fs } : {}),
  });
  // Sanity: the quote must parse and carry our REPORTDATA (the client verifies everything else).
  let q;
  try {
    q = parseTdxQuote(outblob);
  } catch (e) {
    throw new TdxEvidenceError(
      `configfs-tsm outblob: expected a TDX quote, got ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (toHex(q.body.reportData) !== toHex(reportData)) {
    throw new TdxEvidenceError(
      `quote report_data: expected ${toHex(reportData)}, got ${toHex(q.body.reportData)}`,
    );
  }
  return outblob.subarray(0, q.length); // drop configfs buffer padding
}

/** Evidence provider for `--attestation tdx`. */
export class TdxEvidenceProvider implements EvidenceProvider {
  readonly kind = 'tdx' as const;
  readonly simulated = false;
  readonly description: string;
  private collateral: { readonly parts: Map<string, Uint8Array>; readonly at: number } | undefined;
  private lastRefetch: number | undefined;

  constructor(private readonly opts: TdxProviderOptions = {}) {
    this.description = `Intel TDX quote via configfs-tsm (${opts.tsmRoot ?? TDX_PROVIDER_DEFAULTS.tsmRoot})${
      opts.collateralDir !== undefined ? `, PCS collateral from ${opts.collateralDir}` : ''
    }`;
  }

  /**
   * The cached collateral that is fresh at the injected clock. Stale items trigger one refetch
   * (when the server can, at most once per cooldown); what is still stale is left out with a
   * warning on stderr: the client then refuses for the right reason (missing, not stale).
   */
  private async freshCollateral(quote: Uint8Array): Promise<Map<string, Uint8Array>> {
    const dir = this.opts.collateralDir!;
    const at = (this.opts.now ?? ((): Date => new Date()))();
    const maxAge = this.opts.maxCollateralAgeDays ?? DEFAULT_TDX_POLICY.maxCollateralAgeDays;
    const log = this.opts.log ?? ((l: string): void => void process.stderr.write(`${l}\n`));
    // Re-read every 10 minutes, so that a `teechat-server collateral fetch` run by a timer is
    // stapled without a restart.
    const t = at.getTime();
    if (this.collateral === undefined || Math.abs(t - this.collateral.at) > 600_000)
      this.collateral = { parts: await loadTdxCollateralParts(dir), at: t };
    let f = freshTdxCollateral(this.collateral.parts, at, maxAge);
    const cooldown = this.opts.refetchCooldownMs ?? 600_000;
    if (
      f.stale.length > 0 &&
      this.opts.refetch !== undefined &&
      (this.lastRefetch === undefined || t - this.lastRefetch >= cooldown)
    ) {
      this.lastRefetch = t;
      // A handshake waits for the refetch at most `refetchWaitMs` (default 5 s): an unreachable
      // PCS must not hold the client up for the fetcher's own timeouts. A refetch that finishes
      // later is picked up by the next handshake (the cached parts are re-read).
      const done = this.opts
        .refetch(quote)
        .then(() => {
          this.collateral = undefined;
          return true;
        })
        .catch((e: unknown) => {
          log(
            `teechat-server: TDX collateral refetch failed: ${e instanceof Error ? e.message : String(e)}`,
          );
          return false;
        });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), this.opts.refetchWaitMs ?? 5_000);
      });
      const refreshed = await Promise.race([done, waited]);
      clearTimeout(timer);
      if (refreshed) {
        this.collateral = { parts: await loadTdxCollateralParts(dir), at: t };
        f = freshTdxCollateral(this.collateral.parts, at, maxAge);
      }
    }
    if (f.stale.length > 0)
      log(
        `teechat-server: WARNING: TDX collateral in ${dir} not stapled (clients will refuse the quote until \`teechat-server collateral fetch\` refreshes it): ${f.stale.join('; ')}`,
      );
    return f.parts;
  }

  /** True when the configfs-tsm report directory exists (used by `--attestation auto`). */
  static async available(tsmRoot: string = TDX_PROVIDER_DEFAULTS.tsmRoot): Promise<boolean> {
    try {
      return (await stat(tsmRoot)).isDirectory();
    } catch {
      return false;
    }
  }

  async collect(binding: BindingValues): Promise<EvidenceItem[]> {
    const quote = await tsmTdxQuote(binding.cpuReportData, this.opts);
    const parts = new Map<string, Uint8Array>([['quote', quote]]);
    if (this.opts.collateralDir !== undefined)
      for (const [k, v] of await this.freshCollateral(quote)) parts.set(k, v);
    const ccelPath =
      this.opts.ccelPath === undefined ? TDX_PROVIDER_DEFAULTS.ccelPath : this.opts.ccelPath;
    if (ccelPath !== null) {
      try {
        parts.set('ccel', await (this.opts.fs ?? nodeTsmFs).readFile(ccelPath));
      } catch {
        // No CCEL (older kernels, no ACPI access): the client then checks RTMRs by policy only.
      }
    }
    return [{ kind: 'tdx', label: '', parts }];
  }
}
