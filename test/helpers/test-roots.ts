/**
 * The production trust path in integration tests: the real server is started with
 * `--simulated-roots-out` (development only), and the roots its simulated providers generated are
 * injected into the client as pinned trust anchors (`connect({ trustAnchors })`) with
 * `allowSimulated: false`. The evidence then verifies exactly as vendor-rooted evidence does, and
 * the session is NOT marked simulated.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrustAnchors } from '../../protocol/attestation/types';
import { DEFAULT_CLIENT_POLICY } from '../../client/index';
import type { Policy } from '../../client/verifier';
import { startServerProcess, type ServerProcess } from './server-process';

export interface PinnedServer extends ServerProcess {
  /** The server's generated roots, to pin with `connect({ trustAnchors })`. */
  readonly trustAnchors: TrustAnchors;
}

/** Starts the real server (testServerArgs…) and reads the simulated roots it wrote at start. */
export async function startPinnedServer(
  args: readonly string[],
  opts: Parameters<typeof startServerProcess>[1] = {},
): Promise<PinnedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'teechat-test-roots-'));
  const file = join(dir, 'roots.json');
  try {
    const srv = await startServerProcess([...args, '--simulated-roots-out', file], opts);
    const trustAnchors = JSON.parse(readFileSync(file, 'utf8')) as TrustAnchors;
    return { ...srv, trustAnchors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Client options on the production trust path: the server's roots pinned, no development switch. */
export function pinnedOptions(
  srv: PinnedServer,
  extra: { readonly timeoutMs?: number; readonly policy?: Policy } = {},
): {
  policy: Policy;
  allowSimulated: false;
  trustAnchors: TrustAnchors;
  timeoutMs?: number;
} {
  return {
    policy: extra.policy ?? DEFAULT_CLIENT_POLICY,
    allowSimulated: false,
    trustAnchors: srv.trustAnchors,
    ...(extra.timeoutMs !== undefined ? { timeoutMs: extra.timeoutMs } : {}),
  };
}
