/**
 * The GPU RIM cache (fetch, verify, store, load); the `teechat-server rims fetch` command line is
 * rims-cli.ts.
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
import { nvidiaRimRoots } from '../../protocol/attestation/nvidia/verify';

export const NVIDIA_RIM_SERVICE = 'https://rim.attestation.nvidia.com/v1/rim/';
/** Largest RIM response accepted from the service. */
export const MAX_RIM_RESPONSE = 1 << 20;

export interface RimIds {
  readonly driver: string;
  readonly vbios: string;
}

export const ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

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
