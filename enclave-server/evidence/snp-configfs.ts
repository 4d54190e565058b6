/**
 * AMD SEV-SNP evidence provider (inside an SNP guest) over configfs-tsm (provider "sev_guest").
 * REPORT_DATA is the session binding value; the report comes from the PSP through the guest kernel.
 *
 * Certificates, so the client can verify offline (AMD's KDS rate-limits, clients should not have
 * to call it):
 *   1. the host's certificate table (auxblob: VCEK or VLEK, ASK, ARK) when the host provides one;
 *   2. otherwise certificates cached in `certDir` (files vcek.der/vcek.pem, vlek.der/vlek.pem,
 *      cert_chain.pem, crl.der; the operator may place them there);
 *   3. otherwise, when `fetch` is configured, the VCEK for this chip and reported TCB is fetched
 *      once from AMD KDS and cached in `certDir` (keyed by the KDS URL, so a TCB update fetches
 *      the new VCEK).
 * The ARK-signed CRL, which the client requires (fail closed), is stapled to every report: from
 * `certDir/crl.der` when the operator placed one there (`teechat-server collateral fetch`), else,
 * when `fetch` is configured, from AMD KDS (re-fetched after `crlMaxAgeMs`, default 12 h; KDS
 * issues a CRL valid for weeks, and the client checks thisUpdate/nextUpdate itself).
 * Whatever the server sends is untrusted by the client: it checks it against its pinned roots.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceProvider,
} from '../../protocol/attestation/types';
import { parseSnpReport, productFromCpuid } from '../../protocol/attestation/snp/report';
import type { SnpProduct } from '../../protocol/attestation/snp/report';
import { parseCertTable } from '../../protocol/attestation/snp/certtable';
import { crlUrl, vcekUrl } from '../../protocol/attestation/snp/kds';
import { parseCrl } from '../../protocol/x509/crl';
import { toHex } from '../../protocol/wire/bytes';
import { CONFIGFS_TSM_ROOT, TsmError, tsmReport } from './configfs-tsm';
import type { TsmFs } from './configfs-tsm';
import { readOptional } from './cache-files';

export const TSM_PROVIDER_SNP = 'sev_guest';

export interface SnpConfigfsOptions {
  /** configfs-tsm report directory. Default /sys/kernel/config/tsm/report. */
  readonly tsmRoot?: string;
  /** VMPL to request the report at (written to privlevel); default: not written (kernel default). */
  readonly privlevel?: number;
  /** Directory of cached certificates (see the file comment). Default none. */
  readonly certDir?: string;
  /** Fetcher for AMD KDS when neither the host nor the cache has a VCEK. Default none (offline). */
  readonly fetch?: (url: string) => Promise<Uint8Array>;
  /** Product for v2 reports (no CPUID), needed only for KDS fetches. */
  readonly product?: SnpProduct;
  readonly maxAttempts?: number;
  readonly fs?: TsmFs;
  /** How long a CRL fetched from KDS is stapled before it is fetched again. Default 12 h. */
  readonly crlMaxAgeMs?: number;
  /** Clock for the CRL refresh (tests inject it). */
  readonly now?: () => Date;
}

export class SnpEvidenceError extends Error {
  override readonly name = 'SnpEvidenceError';
}

export class SnpConfigfsProvider implements EvidenceProvider {
  readonly kind = 'sev-snp' as const;
  readonly simulated = false;
  readonly description: string;
  /** VCEKs fetched or read in this process, by KDS URL. */
  private readonly vcekCache = new Map<string, Uint8Array>();
  /** CRLs fetched from KDS, by URL, with the time they were fetched. */
  private readonly crlCache = new Map<string, { readonly der: Uint8Array; readonly at: number }>();

  constructor(private readonly opts: SnpConfigfsOptions = {}) {
    this.description = `AMD SEV-SNP report via configfs-tsm (${opts.tsmRoot ?? CONFIGFS_TSM_ROOT})${opts.certDir ? `, certificates cached in ${opts.certDir}` : ''}`;
  }

  async collect(binding: BindingValues): Promise<EvidenceItem[]> {
    let res;
    try {
      res = await tsmReport({
        provider: TSM_PROVIDER_SNP,
        inblob: binding.cpuReportData,
        auxblob: true,
        ...(this.opts.privlevel !== undefined ? { privlevel: this.opts.privlevel } : {}),
        ...(this.opts.tsmRoot !== undefined ? { root: this.opts.tsmRoot } : {}),
        ...(this.opts.maxAttempts !== undefined ? { maxAttempts: this.opts.maxAttempts } : {}),
        ...(this.opts.fs !== undefined ? { fs: this.opts.fs } : {}),
      });
    } catch (e) {
      if (e instanceof TsmError) throw new SnpEvidenceError(e.message);
      throw e;
    }
    // Sanity checks before handing it out (the client verifies everything).
    const report = parseSnpReport(res.outblob);
    if (toHex(report.reportData) !== toHex(binding.cpuReportData)) {
      throw new SnpEvidenceError(
        `report_data: expected ${toHex(binding.cpuReportData)}, got ${toHex(report.reportData)}`,
      );
    }
    const parts = new Map<string, Uint8Array>([['report', res.outblob]]);
    if (res.auxblob !== undefined) {
      for (const e of parseCertTable(res.auxblob)) if (e.data.length > 0) parts.set(e.name, e.data);
    }
    if (this.opts.certDir !== undefined) {
      const dir = this.opts.certDir;
      const hostCerts = parts.has('vcek') || parts.has('vlek');
      for (const [part, files] of [
        ['vcek', ['vcek.der', 'vcek.pem']],
        ['vlek', ['vlek.der', 'vlek.pem']],
        ['cert_chain', ['cert_chain.pem']],
        ['crl', ['crl.der', 'crl.pem']],
      ] as const) {
        if (hostCerts && part !== 'crl') continue;
        for (const f of files) {
          const b = await readOptional(join(dir, f));
          // A cached CRL is stapled only while fresh; a stale one falls through to KDS.
          if (b !== undefined && !parts.has(part) && (part !== 'crl' || crlFreshAt(b, new Date())))
            parts.set(part, b);
        }
      }
    }
    if (!parts.has('crl')) {
      const crl = await this.crlFromKds(report);
      if (crl !== undefined) parts.set('crl', crl);
    }
    if (!parts.has('vcek') && !parts.has('vlek') && report.signingKey === 'VCEK') {
      const vcek = await this.vcekFromKds(report);
      if (vcek !== undefined) parts.set('vcek', vcek);
    }
    return [{ kind: 'sev-snp', label: '', parts }];
  }

  private async crlFromKds(
    report: ReturnType<typeof parseSnpReport>,
  ): Promise<Uint8Array | undefined> {
    const product = productFromCpuid(report) ?? this.opts.product;
    if (product === undefined || this.opts.fetch === undefined) return undefined;
    const url = crlUrl(product, report.signingKey === 'VLEK' ? 'vlek' : 'vcek');
    const now = (this.opts.now ?? (() => new Date()))().getTime();
    const hit = this.crlCache.get(url);
    if (hit !== undefined && now - hit.at < (this.opts.crlMaxAgeMs ?? 12 * 3_600_000))
      return hit.der;
    try {
      const der = await this.opts.fetch(url);
      this.crlCache.set(url, { der, at: now });
      return der;
    } catch {
      // KDS unreachable: staple the last copy (the client judges its age), else none (refused).
      return hit?.der;
    }
  }

  private async vcekFromKds(
    report: ReturnType<typeof parseSnpReport>,
  ): Promise<Uint8Array | undefined> {
    const product = productFromCpuid(report) ?? this.opts.product;
    if (product === undefined) return undefined;
    const url = vcekUrl(report, product);
    const hit = this.vcekCache.get(url);
    if (hit !== undefined) return hit;
    const file =
      this.opts.certDir !== undefined
        ? join(
            this.opts.certDir,
            `kds-${createHash('sha256').update(url).digest('hex').slice(0, 32)}.der`,
          )
        : undefined;
    let der = file !== undefined ? await readOptional(file) : undefined;
    if (der === undefined && this.opts.fetch !== undefined) {
      der = await this.opts.fetch(url);
      if (file !== undefined && this.opts.certDir !== undefined) {
        await mkdir(this.opts.certDir, { recursive: true });
        await writeFile(`${file}.tmp`, der);
        await rename(`${file}.tmp`, file);
      }
    }
    if (der !== undefined) this.vcekCache.set(url, der);
    return der;
  }
}

/** True when `b` is a DER CRL with thisUpdate <= now <= nextUpdate (PEM: left to the client). */
function crlFreshAt(b: Uint8Array, now: Date): boolean {
  if (b[0] !== 0x30) return true;
  try {
    const c = parseCrl(b);
    return c.thisUpdate <= now && c.nextUpdate !== undefined && now <= c.nextUpdate;
  } catch {
    return false;
  }
}
