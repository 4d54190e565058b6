/**
 * Intel TDX evidence provider (inside a TD guest) through the Linux configfs-tsm report interface
 * (Documentation/ABI/testing/configfs-tsm):
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
import { mkdir, readFile, readdir, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import { toHex } from '../../protocol/attestation/tdx/bytes';
import { tdxCollateralPartName } from '../../protocol/attestation/tdx/parts';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceProvider,
} from '../../protocol/attestation/types';

/** The file operations the provider needs (injectable for tests). */
export interface TsmFs {
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

export const nodeTsmFs: TsmFs = {
  mkdir: async (p) => {
    await mkdir(p);
  },
  rmdir: (p) => rmdir(p),
  readFile: async (p) => new Uint8Array(await readFile(p)),
  writeFile: (p, d) => writeFile(p, d),
};

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
  tsmRoot: '/sys/kernel/config/tsm/report',
  ccelPath: '/sys/firmware/acpi/tables/data/CCEL',
  maxAttempts: 3,
} as const;

export const TSM_PROVIDER_TDX = 'tdx_guest';
/** The TDX guest device (present only in TD guests): what `--attestation auto` can probe to tell TDX from SNP. */
export const TDX_GUEST_DEVICE = '/dev/tdx_guest';

export class TdxEvidenceError extends Error {
  override readonly name = 'TdxEvidenceError';
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8').trim();

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
  if (reportData.length !== 64)
    throw new TdxEvidenceError(`reportData: expected 64 bytes, got ${reportData.length}`);
  const fs = opts.fs ?? nodeTsmFs;
  const root = opts.tsmRoot ?? TDX_PROVIDER_DEFAULTS.tsmRoot;
  const attempts = opts.maxAttempts ?? TDX_PROVIDER_DEFAULTS.maxAttempts;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const entry = join(root, `teechat-${process.pid}-${toHex(new Uint8Array(randomBytes(6)))}`);
    try {
      await fs.mkdir(entry);
    } catch (e) {
      throw new TdxEvidenceError(
        `configfs-tsm: cannot create ${entry}: ${(e as NodeJS.ErrnoException).code ?? String(e)} (is this a TDX guest with configfs mounted?)`,
      );
    }
    try {
      const provider = text(await fs.readFile(join(entry, 'provider')));
      if (provider !== TSM_PROVIDER_TDX)
        throw new TdxEvidenceError(
          `configfs-tsm provider: expected "${TSM_PROVIDER_TDX}", got "${provider}"`,
        );
      await fs.writeFile(join(entry, 'inblob'), reportData);
      const before = Number(text(await fs.readFile(join(entry, 'generation'))));
      const quote = await fs.readFile(join(entry, 'outblob'));
      const after = Number(text(await fs.readFile(join(entry, 'generation'))));
      // Our entry saw exactly one write (inblob); anything else means a concurrent writer.
      if (before !== 1 || after !== before) {
        last = `generation changed (expected 1, got ${before} then ${after})`;
        continue;
      }
      // Sanity: the quote must parse and carry our REPORTDATA (the client verifies everything else).
      const q = parseTdxQuote(quote);
      if (toHex(q.body.reportData) !== toHex(reportData)) {
        throw new TdxEvidenceError(
          `quote report_data: expected ${toHex(reportData)}, got ${toHex(q.body.reportData)}`,
        );
      }
      return quote.subarray(0, q.length);
    } finally {
      await fs.rmdir(entry).catch(() => undefined);
    }
  }
  throw new TdxEvidenceError(
    `configfs-tsm: ${attempts} attempts raced with another writer (${last})`,
  );
}

/** Evidence provider for `--attestation tdx`. */
export class TdxEvidenceProvider implements EvidenceProvider {
  readonly kind = 'tdx' as const;
  readonly simulated = false;
  readonly description: string;
  private collateral: Map<string, Uint8Array> | undefined;

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
      this.collateral ??= await loadTdxCollateralParts(this.opts.collateralDir);
      for (const [k, v] of this.collateral) parts.set(k, v);
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
