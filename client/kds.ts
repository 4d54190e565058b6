/**
 * AMD Key Distribution Service (KDS) client: fetches a VCEK by chip id + reported TCB, and the
 * per-product cert_chain / CRL, with an on-disk cache. Used only when the server supplied no
 * VCEK (the server normally hands over everything, because KDS rate-limits); tests inject the
 * fetcher and never touch the network.
 * URLs: protocol/attestation/snp/kds.ts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { EvidenceItem } from '../protocol/attestation/types';
import { parseSnpReport, productFromCpuid } from '../protocol/attestation/snp/report';
import type { SnpProduct, SnpReport } from '../protocol/attestation/snp/report';
import { KDS_BASE, certChainUrl, crlUrl, vcekUrl } from '../protocol/attestation/snp/kds';
import { ProtocolError } from '../protocol/errors';

export { KDS_BASE, vcekUrl, certChainUrl, crlUrl };

export interface KdsOptions {
  /** Fetcher (default: global fetch with a timeout). Injected in tests. */
  readonly fetch?: (url: string) => Promise<Uint8Array>;
  /** Cache directory (default: $XDG_CACHE_HOME/teechat/kds or ~/.cache/teechat/kds); null disables the cache. */
  readonly cacheDir?: string | null;
  readonly baseUrl?: string;
  /** Maximum age of cached CRLs in ms (default 1 day). VCEKs and cert chains are immutable. */
  readonly crlMaxAgeMs?: number;
  readonly timeoutMs?: number;
}

async function defaultFetch(url: string, timeoutMs: number): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok)
    throw new ProtocolError(
      'transport_error',
      `kds: expected HTTP 200 from ${url}, got ${res.status}`,
      'kds',
    );
  return new Uint8Array(await res.arrayBuffer());
}

export class KdsClient {
  private readonly fetcher: (url: string) => Promise<Uint8Array>;
  private readonly cacheDir: string | null;
  readonly baseUrl: string;
  private readonly crlMaxAgeMs: number;

  constructor(opts: KdsOptions = {}) {
    const timeout = opts.timeoutMs ?? 10_000;
    this.fetcher = opts.fetch ?? ((u) => defaultFetch(u, timeout));
    this.baseUrl = opts.baseUrl ?? KDS_BASE;
    this.crlMaxAgeMs = opts.crlMaxAgeMs ?? 86_400_000;
    this.cacheDir =
      opts.cacheDir === undefined
        ? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'teechat', 'kds')
        : opts.cacheDir;
  }

  /** Fetches through the cache; `maxAgeMs` undefined = immutable content. */
  async get(url: string, maxAgeMs?: number): Promise<Uint8Array> {
    const file =
      this.cacheDir === null
        ? null
        : join(this.cacheDir, createHash('sha256').update(url).digest('hex'));
    if (file !== null) {
      try {
        const st = statSync(file);
        if (maxAgeMs === undefined || Date.now() - st.mtimeMs < maxAgeMs)
          return new Uint8Array(readFileSync(file));
      } catch {
        // not cached
      }
    }
    const body = await this.fetcher(url);
    if (body.length === 0 || body.length > 1 << 20)
      throw new ProtocolError(
        'bad_length',
        `kds: expected 1 byte..1 MiB from ${url}, got ${body.length}`,
        'kds',
      );
    if (file !== null && this.cacheDir !== null) {
      mkdirSync(this.cacheDir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, body);
      renameSync(tmp, file);
    }
    return body;
  }

  vcek(report: SnpReport, product: SnpProduct): Promise<Uint8Array> {
    return this.get(vcekUrl(report, product, this.baseUrl));
  }

  certChain(product: SnpProduct, key: 'vcek' | 'vlek' = 'vcek'): Promise<Uint8Array> {
    return this.get(certChainUrl(product, key, this.baseUrl));
  }

  crl(product: SnpProduct, key: 'vcek' | 'vlek' = 'vcek'): Promise<Uint8Array> {
    return this.get(crlUrl(product, key, this.baseUrl), this.crlMaxAgeMs);
  }
}

/**
 * Completes an `sev-snp` evidence item that lacks a VCEK by fetching it from KDS. The item is
 * returned unchanged when it already has one (or is VLEK-signed: VLEKs are not public). `product`
 * is needed for v2 reports (no CPUID). Fetched bytes are untrusted like any evidence part: the
 * verifier checks them against the pinned roots.
 */
export async function resolveSnpEvidence(
  item: EvidenceItem,
  kds: KdsClient,
  product?: SnpProduct,
): Promise<EvidenceItem> {
  if (item.kind !== 'sev-snp' || item.parts.has('vcek') || item.parts.has('vlek')) return item;
  const raw = item.parts.get('report');
  if (raw === undefined) return item;
  const report = parseSnpReport(raw);
  if (report.signingKey !== 'VCEK') return item;
  const p = productFromCpuid(report) ?? product;
  if (p === undefined)
    throw new ProtocolError(
      'usage',
      'kds: expected a product for a v2 report (no CPUID), got none',
      'product',
    );
  const vcek = await kds.vcek(report, p);
  return { ...item, parts: new Map([...item.parts, ['vcek', vcek]]) };
}
