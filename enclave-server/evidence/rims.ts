/**
 * The GPU RIM cache and the `teechat-server rims fetch` step.
 *
 * The server ships the driver and VBIOS RIMs of its GPUs with every GPU evidence item, so the client
 * verifies fully offline. RIMs are fetched ahead of time (at image build or first boot) from NVIDIA's
 * RIM service, `GET <base>/<id>` → JSON {"id", "rim": base64(SWID XML)}, checked (parse, XML-DSig,
 * chain to the pinned NVIDIA CoRIM root) and written to `<cache>/<id>.xml`.
 *
 * RIM ids (NVIDIA naming):
 *   driver  NV_GPU_DRIVER_<CHIP>_<driver version>           e.g. NV_GPU_DRIVER_GH100_550.90.07
 *   VBIOS   NV_GPU_VBIOS_<PROJECT>_<PROJECT_SKU>_<CHIP_SKU>_<VBIOS without dots>
 *                                                           e.g. NV_GPU_VBIOS_1010_0200_882_96009F0001
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeProvider } from '../../protocol-node/crypto-node';
import type { NvidiaOpaque } from '../../protocol/attestation/nvidia/opaque';
import { verifyRim } from '../../protocol/attestation/nvidia/rim';
import { parseNvidiaReport, reportBytesFromInput } from '../../protocol/attestation/nvidia/spdm';
import { nvidiaRimRoots } from '../../protocol/attestation/nvidia/verify';

export const NVIDIA_RIM_SERVICE = 'https://rim.attestation.nvidia.com/v1/rim/';
/** Largest RIM response accepted from the service. */
export const MAX_RIM_RESPONSE = 1 << 20;

export interface RimIds {
  readonly driver: string;
  readonly vbios: string;
}

const ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

/** The RIM ids for a report's opaque fields. Throws Error when a needed field is missing. */
export function rimIdsFor(o: NvidiaOpaque): RimIds {
  const chip = o.chipInfo ?? 'GH100';
  if (
    o.driverVersion === undefined ||
    o.vbiosVersion === undefined ||
    o.project === undefined ||
    o.projectSku === undefined ||
    o.chipSku === undefined
  ) {
    throw new Error(
      'report lacks DRIVER_VERSION / VBIOS_VERSION / PROJECT / PROJECT_SKU / CHIP_SKU (an NVSwitch report has no RIM ids)',
    );
  }
  const ids = {
    driver: `NV_GPU_DRIVER_${chip}_${o.driverVersion}`,
    vbios:
      `NV_GPU_VBIOS_${o.project}_${o.projectSku}_${o.chipSku}_${o.vbiosVersion.replace(/\./g, '')}`.toUpperCase(),
  };
  for (const id of [ids.driver, ids.vbios])
    if (!ID_RE.test(id)) throw new Error(`RIM id ${JSON.stringify(id)}: unexpected characters`);
  return ids;
}

/** Reads the cached RIMs for a report (absent ones are undefined). */
export function loadCachedRims(
  dir: string,
  o: NvidiaOpaque,
): { ids: RimIds; driver?: Uint8Array; vbios?: Uint8Array } {
  const ids = rimIdsFor(o);
  const read = (id: string): Uint8Array | undefined => {
    const p = join(dir, `${id}.xml`);
    return existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;
  };
  const driver = read(ids.driver);
  const vbios = read(ids.vbios);
  return { ids, ...(driver ? { driver } : {}), ...(vbios ? { vbios } : {}) };
}

export type Fetcher = (url: string) => Promise<Uint8Array>;

/** Default fetcher: Node's fetch with a timeout and a size cap. */
export const httpFetcher: Fetcher = async (url) => {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(30_000),
    headers: { accept: 'application/json' },
  });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const b = new Uint8Array(await res.arrayBuffer());
  if (b.length > MAX_RIM_RESPONSE)
    throw new Error(`GET ${url}: response larger than ${MAX_RIM_RESPONSE} bytes`);
  return b;
};

/**
 * Fetches one RIM by id, checks it (parse, XML-DSig digest + signature, chain to the pinned root at
 * `now`, colloquialVersion as expected) and returns the XML bytes. Throws Error naming the problem.
 */
export async function fetchRim(
  id: string,
  opts: { fetch: Fetcher; baseUrl?: string; now?: Date; expectVersion?: string },
): Promise<Uint8Array> {
  if (!ID_RE.test(id)) throw new Error(`RIM id ${JSON.stringify(id)}: unexpected characters`);
  const url = `${opts.baseUrl ?? NVIDIA_RIM_SERVICE}${encodeURIComponent(id)}`;
  const body = await opts.fetch(url);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new Error(
      `${url}: expected JSON {"id","rim"}, got ${body.length} bytes of something else`,
    );
  }
  const rimB64 =
    typeof json === 'object' && json !== null
      ? (json as Record<string, unknown>)['rim']
      : undefined;
  if (typeof rimB64 !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(rimB64))
    throw new Error(`${url}: expected a base64 "rim" field`);
  const xml = new Uint8Array(Buffer.from(rimB64, 'base64'));
  const v = verifyRim(
    nodeProvider,
    xml,
    { roots: nvidiaRimRoots(), at: opts.now ?? new Date() },
    'rim',
  );
  const bad = v.checks.filter((c) => !c.ok);
  if (bad.length > 0)
    throw new Error(`${id}: RIM does not verify: ${bad.map((c) => c.message).join('; ')}`);
  if (
    opts.expectVersion !== undefined &&
    v.rim !== null &&
    v.rim.colloquialVersion.toLowerCase() !== opts.expectVersion.toLowerCase()
  ) {
    throw new Error(
      `${id}: expected colloquialVersion ${opts.expectVersion}, got ${v.rim.colloquialVersion}`,
    );
  }
  return xml;
}

/** Writes a RIM into the cache atomically. */
export function storeRim(dir: string, id: string, xml: Uint8Array): string {
  if (!ID_RE.test(id)) throw new Error(`RIM id ${JSON.stringify(id)}: unexpected characters`);
  mkdirSync(dir, { recursive: true });
  const p = join(dir, `${id}.xml`);
  const tmp = `${p}.tmp-${process.pid}`;
  writeFileSync(tmp, xml);
  renameSync(tmp, p);
  return p;
}

export interface RimsIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Injected fetcher (tests); default httpFetcher. */
  readonly fetch?: Fetcher;
  readonly now?: () => Date;
  /** Reads the RIM ids of the local GPUs (NVML); injected by the server CLI. */
  readonly idsFromNvml?: () => Promise<
    { ids: RimIds; driverVersion: string; vbiosVersion: string }[]
  >;
}

export const RIMS_FETCH_HELP = `Usage: teechat-server rims fetch --cache DIR (--from-nvml | --report FILE... | --id ID...) [options]

Downloads the NVIDIA driver and VBIOS RIMs the server ships with its GPU evidence, verifies each
(XML-DSig, chain to the pinned NVIDIA CoRIM signing Root CA) and stores it as DIR/<id>.xml.

Options:
  --cache DIR        RIM cache directory (the server reads <--evidence-cache>/rims)
  --from-nvml        read driver / VBIOS versions from the local GPUs (NVML)
  --report FILE      derive the RIM ids from an attestation report (binary or hex); repeatable
  --id ID            fetch this RIM id (e.g. NV_GPU_DRIVER_GH100_550.90.07); repeatable
  --base-url URL     RIM service (default ${NVIDIA_RIM_SERVICE})
  --force            re-fetch RIMs already in the cache
  --json             one JSON object per RIM id on stdout: {"id", "status": "cached" | "stored" |
                     "failed", "path"?, "error"?} (failures are also named on stderr)
  -h, --help         this help

Exit status: 0 all fetched and verified, 1 a fetch or verification failed, 2 usage error.
`;

/**
 * RIM ids of the local GPUs: opens NVML (fails closed like the evidence provider), reads one report
 * per GPU over a random nonce and derives the ids from its opaque fields.
 */
export async function idsFromLocalNvml(): Promise<
  { ids: RimIds; driverVersion: string; vbiosVersion: string }[]
> {
  // Imported lazily: nvml.ts imports this module (the RIM cache), and koffi is needed only here.
  const { loadNvml, NvmlEvidenceProvider } = await import('./nvml');
  const provider = NvmlEvidenceProvider.open({ api: await loadNvml() });
  try {
    const out: { ids: RimIds; driverVersion: string; vbiosVersion: string }[] = [];
    for (const item of await provider.probe()) {
      const o = parseNvidiaReport(item.parts.get('report')!).opaque;
      out.push({
        ids: rimIdsFor(o),
        driverVersion: o.driverVersion ?? '',
        vbiosVersion: o.vbiosVersion ?? '',
      });
    }
    return out;
  } finally {
    provider.close();
  }
}

/** `teechat-server rims fetch`. Returns the exit status. */
export async function rimsFetchCommand(argv: readonly string[], io: RimsIo): Promise<number> {
  let cache: string | undefined;
  let fromNvml = false;
  let force = false;
  let json = false;
  let baseUrl = NVIDIA_RIM_SERVICE;
  const reports: string[] = [];
  const ids: { id: string; version?: string }[] = [];
  const usage = (msg: string): number => {
    io.err(`teechat-server rims fetch: ${msg}\n\n${RIMS_FETCH_HELP}`);
    return 2;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    const val = (): string | undefined => {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) return undefined;
      i++;
      return v;
    };
    if (f === '-h' || f === '--help') {
      io.out(RIMS_FETCH_HELP);
      return 0;
    } else if (f === '--cache') {
      cache = val();
      if (cache === undefined) return usage('--cache: expected a directory');
    } else if (f === '--from-nvml') fromNvml = true;
    else if (f === '--force') force = true;
    else if (f === '--json') json = true;
    else if (f === '--report') {
      const v = val();
      if (v === undefined) return usage('--report: expected a file');
      reports.push(v);
    } else if (f === '--id') {
      const v = val();
      if (v === undefined || !ID_RE.test(v))
        return usage(`--id: expected a RIM id, got ${v ?? 'nothing'}`);
      ids.push({ id: v });
    } else if (f === '--base-url') {
      const v = val();
      if (v === undefined || !/^https?:\/\/\S+\/$/.test(v))
        return usage('--base-url: expected an http(s) URL ending in /');
      baseUrl = v;
    } else return usage(`unknown option ${f}`);
  }
  if (cache === undefined) return usage('--cache: required');
  if (!fromNvml && reports.length === 0 && ids.length === 0)
    return usage('nothing to fetch: give --from-nvml, --report or --id');
  try {
    for (const r of reports) {
      const rep = parseNvidiaReport(reportBytesFromInput(new Uint8Array(readFileSync(r))));
      const x = rimIdsFor(rep.opaque);
      ids.push(
        { id: x.driver, version: rep.opaque.driverVersion },
        { id: x.vbios, version: rep.opaque.vbiosVersion },
      );
    }
    if (fromNvml) {
      for (const g of await (io.idsFromNvml ?? idsFromLocalNvml)())
        ids.push(
          { id: g.ids.driver, version: g.driverVersion },
          { id: g.ids.vbios, version: g.vbiosVersion },
        );
    }
  } catch (e) {
    io.err(`teechat-server rims fetch: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const seen = new Set<string>();
  let failures = 0;
  const result = (
    id: string,
    status: 'cached' | 'stored' | 'failed',
    detail: { path?: string; error?: string },
  ): void => {
    if (json) io.out(JSON.stringify({ id, status, ...detail }) + '\n');
    else if (status === 'cached') io.out(`${id}: cached\n`);
    else if (status === 'stored') io.out(`${id}: verified, stored ${detail.path ?? ''}\n`);
    if (status === 'failed') io.err(`${id}: ${detail.error ?? ''}\n`);
  };
  for (const { id, version } of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    const cached = join(cache, `${id}.xml`);
    if (!force && existsSync(cached)) {
      result(id, 'cached', { path: cached });
      continue;
    }
    try {
      const xml = await fetchRim(id, {
        fetch: io.fetch ?? httpFetcher,
        baseUrl,
        now: (io.now ?? (() => new Date()))(),
        ...(version ? { expectVersion: version } : {}),
      });
      result(id, 'stored', { path: storeRim(cache, id, xml) });
    } catch (e) {
      failures++;
      result(id, 'failed', { error: e instanceof Error ? e.message : String(e) });
    }
  }
  return failures === 0 ? 0 : 1;
}

/** The device certificate chains of the local GPUs (for `collateral fetch --from-nvml`). */
export async function chainsFromLocalNvml(): Promise<Uint8Array[]> {
  const { loadNvml, NvmlEvidenceProvider } = await import('./nvml');
  const provider = NvmlEvidenceProvider.open({ api: await loadNvml() });
  try {
    return (await provider.probe()).map((item) => item.parts.get('chain')!);
  } finally {
    provider.close();
  }
}
