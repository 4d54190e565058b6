/**
 * The revocation / collateral cache and the `teechat-server collateral fetch` step.
 *
 * The client verifies offline and, by default, refuses evidence without revocation data (issue
 * #13). The server therefore staples, with every evidence item, what it fetched ahead of time
 * (image build, first boot, a timer) into `<evidence-cache>`:
 *
 *   ocsp/<sha256(cert DER)>.der   NVIDIA OCSP responses (RFC 6960) for the device chain
 *                                 (certificates 1..3) and the driver / VBIOS RIM signing chains;
 *                                 requested with a SHA-384 CertID (as nvtrust does) from
 *                                 https://ocsp.ndis.nvidia.com/ and stored only when the response
 *                                 verifies (signer, CertID, good, thisUpdate ≤ now ≤ nextUpdate).
 *   snp/crl.der                   the AMD ARK-signed CRL for the product (AMD KDS `crl`).
 *   tdx/tcb_info.json, tdx/qe_identity.json, tdx/tcb_signing_chain.pem, tdx/pck_crl.der,
 *   tdx/root_ca_crl.der           Intel PCS (or a PCCS) v4 TDX collateral for the platform FMSPC.
 *
 * Every fetched item is parsed and checked for freshness at the injected clock before it replaces
 * a cached copy; a failed fetch leaves the previous copy in place and exits 1. The providers staple
 * only cached OCSP responses that still verify (stapleOcsp); the client decides.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { UsageError, parseCli, usageLine } from '../../protocol-node/args';
import { nodeProvider } from '../../protocol-node/crypto-node';
import {
  checkOcsp,
  parseOcspResponse,
  publicKeyBits,
} from '../../protocol/attestation/nvidia/ocsp';
import { parseCertChain } from '../../protocol/attestation/nvidia/verify';
import { verifyRim } from '../../protocol/attestation/nvidia/rim';
import { nvidiaRimRoots } from '../../protocol/attestation/nvidia/verify';
import { crlUrl, KDS_BASE } from '../../protocol/attestation/snp/kds';
import type { SnpProduct } from '../../protocol/attestation/snp/report';
import { parseQeIdentity, parseTdxTcbInfo } from '../../protocol/attestation/tdx/collateral';
import { parsePckExtension } from '../../protocol/attestation/tdx/pck';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import { parseCrl } from '../../protocol/x509/crl';
import { nameAttr, parseCertificate, pemBlocks, type Certificate } from '../../protocol/x509/index';
import { der } from './x509-writer';
import { normalizeChain, trimChain } from './nvidia-chain';

export const NVIDIA_OCSP_URL = 'https://ocsp.ndis.nvidia.com/';
export const INTEL_PCS_URL = 'https://api.trustedservices.intel.com';
export const INTEL_ROOT_CA_CRL_URL =
  'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der';
/** Largest response accepted from any collateral service. */
export const MAX_COLLATERAL_RESPONSE = 4 << 20;

export interface HttpRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly body?: Uint8Array;
  readonly contentType?: string;
}
export interface HttpResponse {
  readonly status: number;
  readonly body: Uint8Array;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
}
export type HttpFetcher = (req: HttpRequest) => Promise<HttpResponse>;

/** Default fetcher: Node's fetch with a timeout and a size cap. */
export const httpCollateralFetcher: HttpFetcher = async (req) => {
  const res = await fetch(req.url, {
    method: req.method,
    signal: AbortSignal.timeout(30_000),
    ...(req.body !== undefined ? { body: req.body } : {}),
    ...(req.contentType !== undefined ? { headers: { 'content-type': req.contentType } } : {}),
  });
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.length > MAX_COLLATERAL_RESPONSE)
    throw new Error(
      `${req.method} ${req.url}: response larger than ${MAX_COLLATERAL_RESPONSE} bytes`,
    );
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
  return { status: res.status, body, headers };
};

// ---------------------------------------------------------------- NVIDIA OCSP

const sha = (alg: 'sha256' | 'sha384', b: Uint8Array): Uint8Array =>
  new Uint8Array(createHash(alg).update(b).digest());

/** An RFC 6960 OCSPRequest for one certificate, CertID hashed with SHA-384 (no nonce: cacheable). */
export function buildOcspRequest(cert: Certificate, issuer: Certificate): Uint8Array {
  const certId = der.seq(
    der.seq(der.oid('2.16.840.1.101.3.4.2.2'), der.null()),
    der.octets(sha('sha384', issuer.subject.der)),
    der.octets(sha('sha384', publicKeyBits(issuer))),
    der.int(cert.serialNumber),
  );
  return der.seq(der.seq(der.seq(der.seq(certId))));
}

/** Cache file of the OCSP response for `cert`. */
export function ocspCacheFile(dir: string, cert: Certificate): string {
  return join(dir, `${Buffer.from(sha('sha256', cert.der)).toString('hex')}.der`);
}

/**
 * The cached response for `cert` when it verifies at `now` (checkOcsp, the client's own rule),
 * else undefined with the reason.
 */
export function freshCachedOcsp(
  dir: string,
  cert: Certificate,
  issuer: Certificate,
  now: Date,
): { der?: Uint8Array; problem?: string } {
  const p = ocspCacheFile(dir, cert);
  if (!existsSync(p)) return { problem: 'not cached' };
  const b = new Uint8Array(readFileSync(p));
  try {
    const problem = checkOcsp(nodeProvider, parseOcspResponse(b), cert, issuer, now);
    return problem === null ? { der: b } : { problem };
  } catch (e) {
    return { problem: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Evidence parts `<prefix>.<n>` for chain certificates n = start..len-2 whose cached response is
 * fresh. Absent or stale ones are named in `missing` (the server logs them; the client refuses).
 */
export function stapleOcsp(
  dir: string,
  chain: readonly Certificate[],
  prefix: string,
  start: number,
  now: Date,
): { parts: Map<string, Uint8Array>; missing: string[] } {
  const parts = new Map<string, Uint8Array>();
  const missing: string[] = [];
  for (let n = start; n + 1 < chain.length; n++) {
    const r = freshCachedOcsp(dir, chain[n]!, chain[n + 1]!, now);
    if (r.der !== undefined) parts.set(`${prefix}.${n}`, r.der);
    else missing.push(`${prefix}.${n} (${r.problem ?? ''})`);
  }
  return { parts, missing };
}

const rimChains = new Map<string, Certificate[]>();
/** The KeyInfo signing chain of a RIM (memoised by content hash; empty when it does not verify). */
export function rimChainOf(xml: Uint8Array, at: Date): Certificate[] {
  const key = Buffer.from(sha('sha256', xml)).toString('hex');
  const hit = rimChains.get(key);
  if (hit !== undefined) return hit;
  const v = verifyRim(nodeProvider, xml, { roots: nvidiaRimRoots(), at }, 'rim');
  const chain = [...v.chain];
  if (rimChains.size > 64) rimChains.clear();
  rimChains.set(key, chain);
  return chain;
}

// ---------------------------------------------------------------- the command

export interface CollateralIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Injected fetcher (tests); default httpCollateralFetcher. */
  readonly fetch?: HttpFetcher;
  readonly now?: () => Date;
  /** The device certificate chains of the local GPUs (NVML); injected by the server CLI. */
  readonly chainsFromNvml?: () => Promise<Uint8Array[]>;
}

export const COLLATERAL_FETCH_HELP = `Usage: teechat-server collateral fetch --cache DIR [what] [options]

Fetches the revocation data and collateral the server staples to its evidence (the client refuses
evidence without them by default), checks each item and its freshness, and stores it under DIR
(the server's --evidence-cache):

What (at least one):
  --nvidia           OCSP responses for the RIM signing chains of every RIM in DIR/rims and for the
                     device chains given by --chain / --from-nvml (certificates 1..3) → DIR/ocsp/
  --chain FILE       an NVIDIA GPU device certificate chain (PEM or DER); repeatable (implies --nvidia)
  --from-nvml        read the device chains of the local GPUs through NVML (implies --nvidia)
  --snp-product P    milan | genoa | turin: the AMD ARK-signed CRL from KDS → DIR/snp/crl.der
  --tdx-fmspc HEX    Intel TDX collateral for this FMSPC (12 hex digits) → DIR/tdx/
  --tdx-quote FILE   as --tdx-fmspc, the FMSPC read from a quote's PCK certificate

Options:
  --snp-key K        vcek (default) | vlek
  --ocsp-url URL     NVIDIA OCSP responder (default ${NVIDIA_OCSP_URL})
  --kds-url URL      AMD KDS (default ${KDS_BASE})
  --pcs-url URL      Intel PCS (default ${INTEL_PCS_URL})
  --pccs-url URL     a PCCS instead of Intel PCS (same v4 paths; root CA CRL from its rootcacrl)
  --tdx-ca CA        PCK CA of the platform: platform (default) | processor
  --force            re-fetch items whose cached copy is still fresh
  --json             one JSON object per item on stdout: {"item", "status": "cached" | "stored" |
                     "failed", "path"?, "nextUpdate"?, "error"?} (failures are also on stderr)
  -h, --help         this help

Exit status: 0 everything fetched or fresh in the cache, 1 a fetch or check failed (the previous
copy is kept), 2 usage error.
`;

type Status = 'cached' | 'stored' | 'failed';

function atomicWrite(path: string, b: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, b);
  renameSync(tmp, path);
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function get(f: HttpFetcher, url: string): Promise<HttpResponse> {
  const r = await f({ url, method: 'GET' });
  if (r.status !== 200) throw new Error(`GET ${url}: expected HTTP 200, got ${r.status}`);
  if (r.body.length === 0 || r.body.length > MAX_COLLATERAL_RESPONSE)
    throw new Error(`GET ${url}: expected 1 byte..4 MiB, got ${r.body.length}`);
  return r;
}

function crlFresh(b: Uint8Array, now: Date, what: string): Date {
  const crl = parseCrl(b);
  if (crl.nextUpdate === undefined)
    throw new Error(`${what}: nextUpdate: expected a date, got none`);
  if (now < crl.thisUpdate)
    throw new Error(
      `${what}: thisUpdate: expected <= ${now.toISOString()}, got ${crl.thisUpdate.toISOString()}`,
    );
  if (now > crl.nextUpdate)
    throw new Error(
      `${what}: nextUpdate: expected >= ${now.toISOString()}, got ${crl.nextUpdate.toISOString()} (stale)`,
    );
  return crl.nextUpdate;
}

function hexToBytes(s: string): Uint8Array | undefined {
  const t = s.trim();
  return /^([0-9a-fA-F]{2})+$/.test(t) ? new Uint8Array(Buffer.from(t, 'hex')) : undefined;
}

/** `teechat-server collateral fetch`. Returns the exit status. */
export async function collateralFetchCommand(
  argv: readonly string[],
  io: CollateralIo,
): Promise<number> {
  const usage = (m: string): number => {
    io.err(usageLine('teechat-server collateral fetch', m));
    return 2;
  };
  let v;
  try {
    v = parseCli(
      argv,
      {
        cache: { type: 'string' },
        nvidia: { type: 'boolean' },
        chain: { type: 'string', multiple: true },
        'from-nvml': { type: 'boolean' },
        'snp-product': { type: 'string' },
        'snp-key': { type: 'string' },
        'tdx-fmspc': { type: 'string' },
        'tdx-quote': { type: 'string' },
        'tdx-ca': { type: 'string' },
        'ocsp-url': { type: 'string' },
        'kds-url': { type: 'string' },
        'pcs-url': { type: 'string' },
        'pccs-url': { type: 'string' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      false,
    ).values;
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message);
    throw e;
  }
  if (v.help === true) {
    io.out(COLLATERAL_FETCH_HELP);
    return 0;
  }
  const cache = v.cache;
  if (cache === undefined || cache === '') return usage('--cache: required');
  const url = (s: string | undefined, dflt: string): string | null => {
    if (s === undefined) return dflt;
    return /^https?:\/\/\S+$/.test(s) ? s.replace(/\/$/, '') : null;
  };
  const ocspUrl = url(v['ocsp-url'], NVIDIA_OCSP_URL);
  const kdsUrl = url(v['kds-url'], KDS_BASE);
  const pcsUrl = url(v['pcs-url'] ?? v['pccs-url'], INTEL_PCS_URL);
  if (ocspUrl === null) return usage(`--ocsp-url: expected an http(s) URL, got ${v['ocsp-url']}`);
  if (kdsUrl === null) return usage(`--kds-url: expected an http(s) URL, got ${v['kds-url']}`);
  if (pcsUrl === null)
    return usage(
      `--pcs-url/--pccs-url: expected an http(s) URL, got ${v['pcs-url'] ?? v['pccs-url']}`,
    );
  if (v['pcs-url'] !== undefined && v['pccs-url'] !== undefined)
    return usage('--pcs-url and --pccs-url: expected one, got both');
  const product = v['snp-product'];
  if (product !== undefined && !['milan', 'genoa', 'turin'].includes(product))
    return usage(`--snp-product: expected milan|genoa|turin, got ${product}`);
  const snpKey = v['snp-key'] ?? 'vcek';
  if (snpKey !== 'vcek' && snpKey !== 'vlek')
    return usage(`--snp-key: expected vcek|vlek, got ${snpKey}`);
  const tdxCa = v['tdx-ca'] ?? 'platform';
  if (tdxCa !== 'platform' && tdxCa !== 'processor')
    return usage(`--tdx-ca: expected platform|processor, got ${tdxCa}`);
  if (v['tdx-fmspc'] !== undefined && !/^[0-9a-fA-F]{12}$/.test(v['tdx-fmspc']))
    return usage(`--tdx-fmspc: expected 12 hex digits, got ${v['tdx-fmspc']}`);
  if (v['tdx-fmspc'] !== undefined && v['tdx-quote'] !== undefined)
    return usage('--tdx-fmspc and --tdx-quote: expected one, got both');
  const nvidia = v.nvidia === true || (v.chain?.length ?? 0) > 0 || v['from-nvml'] === true;
  const tdx = v['tdx-fmspc'] !== undefined || v['tdx-quote'] !== undefined;
  if (!nvidia && product === undefined && !tdx)
    return usage(
      'nothing to fetch: give --nvidia, --chain, --from-nvml, --snp-product or --tdx-fmspc/--tdx-quote',
    );

  const fetcher = io.fetch ?? httpCollateralFetcher;
  const now = (io.now ?? (() => new Date()))();
  const force = v.force === true;
  let failures = 0;
  const result = (
    item: string,
    status: Status,
    d: { path?: string; nextUpdate?: Date; error?: string },
  ): void => {
    if (status === 'failed') failures++;
    if (v.json === true)
      io.out(
        JSON.stringify({
          item,
          status,
          ...(d.path !== undefined ? { path: d.path } : {}),
          ...(d.nextUpdate !== undefined ? { nextUpdate: d.nextUpdate.toISOString() } : {}),
          ...(d.error !== undefined ? { error: d.error } : {}),
        }) + '\n',
      );
    else if (status !== 'failed')
      io.out(
        `${item}: ${status === 'cached' ? 'cached, fresh' : 'verified, stored'}${d.path !== undefined ? ` ${d.path}` : ''}${d.nextUpdate !== undefined ? ` (nextUpdate ${d.nextUpdate.toISOString()})` : ''}\n`,
      );
    if (status === 'failed') io.err(`${item}: ${d.error ?? ''}\n`);
  };

  // ---- NVIDIA OCSP
  if (nvidia) {
    const chains: { label: string; chain: Certificate[]; start: number }[] = [];
    try {
      for (const f of v.chain ?? [])
        chains.push({
          label: f,
          chain: normalizeChain(parseCertChain(trimChain(new Uint8Array(readFileSync(f))))),
          start: 1,
        });
      if (v['from-nvml'] === true) {
        if (io.chainsFromNvml === undefined)
          throw new Error('--from-nvml: NVML is not available here');
        (await io.chainsFromNvml()).forEach((b, i) =>
          chains.push({
            label: `gpu${i}`,
            chain: normalizeChain(parseCertChain(trimChain(b))),
            start: 1,
          }),
        );
      }
    } catch (e) {
      io.err(`teechat-server collateral fetch: ${msg(e)}\n`);
      return 1;
    }
    const rimDir = join(cache, 'rims');
    if (existsSync(rimDir))
      for (const f of readdirSync(rimDir)
        .filter((n) => n.endsWith('.xml'))
        .sort()) {
        const chain = rimChainOf(new Uint8Array(readFileSync(join(rimDir, f))), now);
        if (chain.length > 0) chains.push({ label: f, chain, start: 0 });
        else
          result(`rim ${f}`, 'failed', {
            error: 'RIM does not verify at this time: no signing chain',
          });
      }
    if (chains.length === 0 && v.nvidia === true)
      result('nvidia', 'failed', {
        error: `no chain to fetch OCSP for: ${rimDir} has no RIMs and no --chain/--from-nvml`,
      });
    const dir = join(cache, 'ocsp');
    const seen = new Set<string>();
    for (const { label, chain, start } of chains)
      for (let n = start; n + 1 < chain.length; n++) {
        const cert = chain[n]!;
        const issuer = chain[n + 1]!;
        const path = ocspCacheFile(dir, cert);
        if (seen.has(path)) continue;
        seen.add(path);
        const item = `ocsp ${label}[${n}] "${nameAttr(cert.subject) ?? ''}"`;
        const cached = freshCachedOcsp(dir, cert, issuer, now);
        if (!force && cached.der !== undefined) {
          result(item, 'cached', { path });
          continue;
        }
        try {
          const r = await fetcher({
            url: ocspUrl,
            method: 'POST',
            body: buildOcspRequest(cert, issuer),
            contentType: 'application/ocsp-request',
          });
          if (r.status !== 200)
            throw new Error(`POST ${ocspUrl}: expected HTTP 200, got ${r.status}`);
          const resp = parseOcspResponse(r.body);
          const problem = checkOcsp(nodeProvider, resp, cert, issuer, now);
          if (problem !== null) throw new Error(`response from ${ocspUrl}: ${problem}`);
          mkdirSync(dir, { recursive: true });
          atomicWrite(path, r.body);
          const single = resp.responses.find(
            (s) =>
              Buffer.compare(Buffer.from(s.serialNumber), Buffer.from(cert.serialNumber)) === 0,
          );
          result(item, 'stored', {
            path,
            ...(single?.nextUpdate ? { nextUpdate: single.nextUpdate } : {}),
          });
        } catch (e) {
          result(item, 'failed', { error: msg(e) });
        }
      }
  }

  // ---- SNP: the ARK-signed CRL
  if (product !== undefined) {
    const dir = join(cache, 'snp');
    const path = join(dir, 'crl.der');
    const item = `snp crl ${product}/${snpKey}`;
    let fresh: Date | undefined;
    try {
      if (existsSync(path)) fresh = crlFresh(new Uint8Array(readFileSync(path)), now, item);
    } catch {
      fresh = undefined;
    }
    if (!force && fresh !== undefined) result(item, 'cached', { path, nextUpdate: fresh });
    else {
      const u = crlUrl(product as SnpProduct, snpKey, kdsUrl);
      try {
        const r = await get(fetcher, u);
        const next = crlFresh(r.body, now, item);
        mkdirSync(dir, { recursive: true });
        atomicWrite(path, r.body);
        result(item, 'stored', { path, nextUpdate: next });
      } catch (e) {
        result(item, 'failed', { error: msg(e) });
      }
    }
  }

  // ---- TDX: PCS / PCCS v4 collateral
  if (tdx) {
    let fmspc = v['tdx-fmspc']?.toLowerCase();
    if (v['tdx-quote'] !== undefined) {
      try {
        fmspc = fmspcOfQuote(new Uint8Array(readFileSync(v['tdx-quote'])));
      } catch (e) {
        io.err(`teechat-server collateral fetch: --tdx-quote: ${msg(e)}\n`);
        return 1;
      }
    }
    const dir = join(cache, 'tdx');
    const pccs = v['pccs-url'] !== undefined;
    const chainHeader = (r: HttpResponse, names: readonly string[]): Uint8Array | undefined => {
      for (const n of names) {
        const h = r.headers[n];
        if (h !== undefined) return new TextEncoder().encode(decodeURIComponent(h));
      }
      return undefined;
    };
    const items: {
      item: string;
      file: string;
      url: string;
      check: (b: Uint8Array) => Date;
      chainFrom?: readonly string[];
    }[] = [
      {
        item: `tdx tcb_info ${fmspc}`,
        file: 'tcb_info.json',
        url: `${pcsUrl}/tdx/certification/v4/tcb?fmspc=${fmspc}`,
        check: (b) => {
          const t = parseTdxTcbInfo(b).body;
          if (Buffer.from(t.fmspc).toString('hex') !== fmspc)
            throw new Error(
              `tcbInfo.fmspc: expected ${fmspc}, got ${Buffer.from(t.fmspc).toString('hex')}`,
            );
          return freshDoc('tcbInfo', t.issueDate, t.nextUpdate, now);
        },
        chainFrom: ['tcb-info-issuer-chain', 'sgx-tcb-info-issuer-chain'],
      },
      {
        item: 'tdx qe_identity',
        file: 'qe_identity.json',
        url: `${pcsUrl}/tdx/certification/v4/qe/identity`,
        check: (b) => {
          const q = parseQeIdentity(b).body;
          return freshDoc('enclaveIdentity', q.issueDate, q.nextUpdate, now);
        },
      },
      {
        item: `tdx pck_crl ${tdxCa}`,
        file: 'pck_crl.der',
        url: `${pcsUrl}/sgx/certification/v4/pckcrl?ca=${tdxCa}&encoding=der`,
        check: (b) => crlFresh(b, now, 'pck_crl'),
      },
      {
        item: 'tdx root_ca_crl',
        file: 'root_ca_crl.der',
        url: pccs ? `${pcsUrl}/sgx/certification/v4/rootcacrl` : INTEL_ROOT_CA_CRL_URL,
        check: (b) => crlFresh(b, now, 'root_ca_crl'),
      },
    ];
    for (const it of items) {
      const path = join(dir, it.file);
      let fresh: Date | undefined;
      try {
        if (existsSync(path)) fresh = it.check(new Uint8Array(readFileSync(path)));
      } catch {
        fresh = undefined;
      }
      if (!force && fresh !== undefined) {
        result(it.item, 'cached', { path, nextUpdate: fresh });
        continue;
      }
      try {
        const r = await get(fetcher, it.url);
        // A PCCS serves the root CA CRL as hex text; PCS as DER.
        const body =
          it.file.endsWith('.der') && r.body[0] !== 0x30
            ? (hexToBytes(Buffer.from(r.body).toString('latin1')) ?? r.body)
            : r.body;
        const next = it.check(body);
        mkdirSync(dir, { recursive: true });
        atomicWrite(path, body);
        if (it.chainFrom !== undefined) {
          const chain = chainHeader(r, it.chainFrom);
          if (chain !== undefined) atomicWrite(join(dir, 'tcb_signing_chain.pem'), chain);
        }
        result(it.item, 'stored', { path, nextUpdate: next });
      } catch (e) {
        result(it.item, 'failed', { error: msg(e) });
      }
    }
  }
  return failures === 0 ? 0 : 1;
}

/** The FMSPC (12 hex digits) of a TDX quote's PCK leaf certificate. Throws on a bad quote. */
export function fmspcOfQuote(quote: Uint8Array): string {
  const q = parseTdxQuote(quote);
  const pem = Buffer.from(q.pckChainPem.filter((b) => b !== 0)).toString('latin1');
  const leaf = parseCertificate(pemBlocks(pem, 'CERTIFICATE')[0]!);
  return Buffer.from(parsePckExtension(leaf).fmspc).toString('hex');
}

/**
 * A TDX provider `refetch`: runs `collateral fetch --cache DIR --tdx-fmspc <quote's FMSPC>` (items
 * still fresh are kept, stale ones fetched); throws with the command's diagnostics when it fails.
 */
export function tdxCollateralRefetcher(
  cache: string,
  io: Pick<CollateralIo, 'fetch' | 'now'> & { readonly extraArgs?: readonly string[] } = {},
): (quote: Uint8Array) => Promise<void> {
  return async (quote) => {
    const errs: string[] = [];
    const rc = await collateralFetchCommand(
      ['--cache', cache, '--tdx-fmspc', fmspcOfQuote(quote), ...(io.extraArgs ?? [])],
      {
        out: () => undefined,
        err: (t) => errs.push(t.trim()),
        ...(io.fetch !== undefined ? { fetch: io.fetch } : {}),
        ...(io.now !== undefined ? { now: io.now } : {}),
      },
    );
    if (rc !== 0) throw new Error(`collateral fetch exited ${rc}: ${errs.join('; ')}`);
  };
}

function freshDoc(what: string, issueDate: Date, nextUpdate: Date, now: Date): Date {
  if (now < issueDate)
    throw new Error(
      `${what}.issueDate: expected <= ${now.toISOString()}, got ${issueDate.toISOString()}`,
    );
  if (now > nextUpdate)
    throw new Error(
      `${what}.nextUpdate: expected >= ${now.toISOString()}, got ${nextUpdate.toISOString()} (stale)`,
    );
  return nextUpdate;
}
