/**
 * The Sigstore trusted root used to verify releases: the public-good `trusted_root.json` embedded
 * in the build (the TUF seed shipped in `@sigstore/tuf`, bundled by esbuild into the CLI and the
 * extension), optionally refreshed through TUF when online. A refresh failure falls back to the
 * embedded copy and says so; a `--trusted-root FILE` replaces both.
 */
import { readFileSync } from 'node:fs';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import seeds from '@sigstore/tuf/seeds.json';
import { ProtocolError } from '../../protocol/errors';

export const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';

/** The embedded public-good trusted_root.json (JSON value). */
export function embeddedTrustedRoot(): unknown {
  const repo = (seeds as Record<string, { targets?: Record<string, string> }>)[
    PUBLIC_GOOD_TUF_MIRROR
  ];
  const b64 = repo?.targets?.['trusted_root.json'];
  if (b64 === undefined)
    throw new ProtocolError(
      'release_rejected',
      'trusted_root: expected the embedded public-good root, got none',
      'trusted_root',
    );
  return JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as unknown;
}

/**
 * A trusted_root.json from a file (a private Sigstore deployment's root, as cosign's
 * --trusted-root): read and checked for the trusted-root media type. `field` names the option or
 * setting in the error (fail closed: a configured root that cannot be read is a refusal, never a
 * fallback to another root).
 */
export function readTrustedRootFile(
  path: string,
  field: string,
  read: (p: string) => Uint8Array = (p) => readFileSync(p),
): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(read(path));
  } catch (e) {
    throw new ProtocolError(
      'release_rejected',
      `${field}: expected a readable trusted_root.json, got ${(e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : 'error')} for ${path}`,
      field,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError(
      'release_rejected',
      `${field}: expected JSON, got unparsable text in ${path}`,
      field,
    );
  }
  const mediaType =
    typeof json === 'object' && json !== null && !Array.isArray(json)
      ? (json as Record<string, unknown>)['mediaType']
      : undefined;
  if (
    typeof mediaType !== 'string' ||
    !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')
  )
    throw new ProtocolError(
      'release_rejected',
      `${field}: expected mediaType application/vnd.dev.sigstore.trustedroot+json, got ${JSON.stringify(mediaType ?? null)} in ${path}`,
      field,
    );
  return json;
}

/** Fetches a fresh trusted root (JSON value); injected in tests. */
export type TrustedRootFetcher = () => Promise<unknown>;

/** The default fetcher: a TUF update from the public-good repository into `cachePath`. */
export function tufFetcher(cachePath: string): TrustedRootFetcher {
  return async () => {
    // Loaded only when a refresh is asked for (tuf-js and its HTTP stack are the heaviest part).
    const { getTrustedRoot } = await import('@sigstore/tuf');
    return TrustedRoot.toJSON(
      await getTrustedRoot({
        cachePath,
        mirrorURL: PUBLIC_GOOD_TUF_MIRROR,
        retry: 0,
        timeout: 10_000,
      }),
    );
  };
}

export interface ResolvedTrustedRoot {
  readonly json: unknown;
  readonly source: 'file' | 'tuf' | 'embedded';
  /** Why TUF was not used (offline, refresh failed), when source is "embedded". */
  readonly note: string | null;
}

/** The trusted root to use: a given one, else a TUF refresh when `fetcher` is given, else the embedded copy. */
export async function resolveTrustedRoot(opts: {
  readonly given?: unknown;
  readonly fetcher?: TrustedRootFetcher;
}): Promise<ResolvedTrustedRoot> {
  if (opts.given !== undefined) return { json: opts.given, source: 'file', note: null };
  if (opts.fetcher === undefined)
    return { json: embeddedTrustedRoot(), source: 'embedded', note: null };
  try {
    const json = await opts.fetcher();
    if (typeof json !== 'object' || json === null) throw new Error('TUF returned no trusted root');
    return { json, source: 'tuf', note: null };
  } catch (e) {
    return {
      json: embeddedTrustedRoot(),
      source: 'embedded',
      note: `TUF refresh failed (${e instanceof Error ? e.message.slice(0, 120) : String(e)}); using the embedded public-good root`,
    };
  }
}
