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
import { tdxCollateralPartName } from '../../protocol/attestation/tdx/parts';
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

  constructor(private readonly opts: TdxProviderOptions = {}) {
    this.description = `Intel TDX quote via configfs-tsm (${opts.tsmRoot ?? TDX_PROVIDER_DEFAULTS.tsmRoot})${
      opts.collateralDir !== undefined ? `, PCS collateral from ${opts.collateralDir}` : ''
    }`;
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
    if (this.opts.collateralDir !== undefined) {
      // Re-read every 10 minutes, so that a `teechat-server collateral fetch` run by a timer is
      // stapled without a restart.
      const now = Date.now();
      if (this.collateral === undefined || now - this.collateral.at > 600_000)
        this.collateral = {
          parts: await loadTdxCollateralParts(this.opts.collateralDir),
          at: now,
        };
      for (const [k, v] of this.collateral.parts) parts.set(k, v);
    }
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
