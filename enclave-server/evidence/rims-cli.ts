/**
 * `teechat-server rims fetch`: the command line over the RIM cache of rims.ts. The NVML reader is
 * injected (RimsIo.idsFromNvml; the server CLI passes nvml.ts idsFromLocalNvml), so this module and
 * rims.ts never import nvml.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNvidiaReport, reportBytesFromInput } from '../../protocol/attestation/nvidia/spdm';
import {
  type Fetcher,
  ID_RE,
  NVIDIA_RIM_SERVICE,
  type RimIds,
  fetchRim,
  httpFetcher,
  rimIdsFor,
  storeRim,
} from './rims';
import { EXIT_USAGE, UsageError, parseCli, usageLine } from '../../protocol-node/args';

export interface RimsIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Injected fetcher (tests); default httpFetcher. */
  readonly fetch?: Fetcher;
  readonly now?: () => Date;
  /** Reads the RIM ids of the local GPUs (NVML: nvml.ts idsFromLocalNvml); injected by the server CLI. */
  readonly idsFromNvml: () => Promise<
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

/** `teechat-server rims fetch`. Returns the exit status. */
export async function rimsFetchCommand(argv: readonly string[], io: RimsIo): Promise<number> {
  const usage = (msg: string): number => {
    io.err(usageLine('teechat-server rims fetch', msg));
    return EXIT_USAGE;
  };
  let v;
  try {
    v = parseCli(
      argv,
      {
        cache: { type: 'string' },
        'from-nvml': { type: 'boolean' },
        report: { type: 'string', multiple: true },
        id: { type: 'string', multiple: true },
        'base-url': { type: 'string' },
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
    io.out(RIMS_FETCH_HELP);
    return 0;
  }
  const cache = v.cache;
  const fromNvml = v['from-nvml'] === true;
  const force = v.force === true;
  const json = v.json === true;
  const reports: string[] = v.report ?? [];
  const ids: { id: string; version?: string }[] = [];
  for (const id of v.id ?? []) {
    if (!ID_RE.test(id)) return usage(`--id: expected a RIM id, got ${JSON.stringify(id)}`);
    ids.push({ id });
  }
  const baseUrl = v['base-url'] ?? NVIDIA_RIM_SERVICE;
  if (!/^https?:\/\/\S+\/$/.test(baseUrl))
    return usage(`--base-url: expected an http(s) URL ending in /, got ${JSON.stringify(baseUrl)}`);
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
      for (const g of await io.idsFromNvml())
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
