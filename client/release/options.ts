/**
 * Release options from the CLI's flags (`teechat chat` / `attest show --server`): a signer to
 * require, optionally a pinned manifest + bundle, the rollback state file, and the explicit
 * downgrade switch. Trusted root: the embedded public-good root (offline).
 */
import { readFileSync } from 'node:fs';
import { ProtocolError } from '../../protocol/errors';
import { releaseSigner } from './identity';
import { DEFAULT_MAX_AGE_MS } from './release';
import type { ReleaseSessionOptions } from './session';
import { fileStore, ReleaseState, releaseStatePath } from './state';
import { embeddedTrustedRoot } from './trusted-root';

export function cliReleaseOptions(f: {
  readonly repository: string;
  readonly manifest: string;
  readonly bundle: string;
  readonly state: string;
  readonly allowDowngrade: boolean;
}): ReleaseSessionOptions | undefined {
  if (f.repository === '') {
    if (f.manifest !== '' || f.bundle !== '' || f.state !== '' || f.allowDowngrade)
      throw new ProtocolError(
        'usage',
        '--release-repository: expected ORG/REPO with the other --release-* options, got none',
        'release-repository',
      );
    return undefined;
  }
  if ((f.manifest === '') !== (f.bundle === ''))
    throw new ProtocolError(
      'usage',
      '--release-manifest / --release-bundle: expected both or neither, got one',
      'release-manifest',
    );
  const read = (p: string, flag: string): Uint8Array => {
    try {
      return readFileSync(p);
    } catch (e) {
      throw new ProtocolError(
        'usage',
        `--${flag}: expected a readable file, got ${(e as NodeJS.ErrnoException).code ?? 'error'} for ${p}`,
        flag,
      );
    }
  };
  return {
    signer: releaseSigner({ repository: f.repository }),
    trustedRoot: embeddedTrustedRoot(),
    state: new ReleaseState(fileStore(f.state !== '' ? f.state : releaseStatePath())),
    maxAgeMs: DEFAULT_MAX_AGE_MS,
    allowDowngrade: f.allowDowngrade,
    require: true,
    ...(f.manifest !== ''
      ? {
          pinned: {
            manifest: read(f.manifest, 'release-manifest'),
            bundle: read(f.bundle, 'release-bundle'),
          },
        }
      : {}),
  };
}
