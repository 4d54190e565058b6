/**
 * Signing-identity pinning for releases. A release is signed keyless by GitHub Actions; Fulcio puts
 * the workflow's identity in the certificate:
 *   SAN    https://github.com/ORG/REPO/.github/workflows/release.yml@refs/tags/vX.Y.Z
 *   issuer https://token.actions.githubusercontent.com
 * The user configures repository + workflow + tag prefix; the expected identity is BUILT from those
 * and the manifest's own tag (which must be the prefix + a semantic version), then compared exactly
 * — never as a pattern, so another workflow, branch ref or a tag that merely starts the same way
 * is refused.
 */
import { ProtocolError } from '../../protocol/errors';
import { parseSemver } from '../../protocol/release/manifest';

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

export interface ReleaseSignerConfig {
  /** "ORG/REPO" on github.com. */
  readonly repository: string;
  /** Workflow path inside the repository. Default ".github/workflows/release.yml". */
  readonly workflow: string;
  /** Tags are this prefix + a semantic version. Default "v". */
  readonly tagPrefix: string;
  /** OIDC issuer. Default GitHub Actions. */
  readonly issuer: string;
}

export const DEFAULT_WORKFLOW = '.github/workflows/release.yml';

const fail = (field: string, expected: string, got: string): never => {
  throw new ProtocolError(
    'usage',
    `${field}: expected ${expected}, got ${JSON.stringify(got)}`,
    field,
  );
};

/** Validates a signer configuration (ProtocolError 'usage' naming the field). */
export function releaseSigner(c: {
  repository: string;
  workflow?: string | undefined;
  tagPrefix?: string | undefined;
  issuer?: string | undefined;
}): ReleaseSignerConfig {
  const repository = c.repository.replace(/^(?:https:\/\/)?github\.com\//, '');
  if (
    !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/.test(repository) ||
    repository.endsWith('/..')
  )
    fail('repository', '"ORG/REPO"', c.repository);
  const workflow = c.workflow ?? DEFAULT_WORKFLOW;
  if (!/^\.github\/workflows\/[A-Za-z0-9._-]{1,100}\.ya?ml$/.test(workflow))
    fail('workflow', '".github/workflows/NAME.yml"', workflow);
  const tagPrefix = c.tagPrefix ?? 'v';
  if (!/^[A-Za-z0-9._/-]{0,32}$/.test(tagPrefix))
    fail('tag-prefix', 'at most 32 of [A-Za-z0-9._/-]', tagPrefix);
  const issuer = c.issuer ?? GITHUB_ACTIONS_ISSUER;
  if (!/^https:\/\/[^\s]{1,200}$/.test(issuer)) fail('issuer', 'an https URL', issuer);
  return { repository, workflow, tagPrefix, issuer };
}

/** The exact certificate identity of `tag` built by the configured workflow. */
export function expectedIdentity(c: ReleaseSignerConfig, tag: string): string {
  if (!tag.startsWith(c.tagPrefix))
    fail('tag', `a tag starting with ${JSON.stringify(c.tagPrefix)}`, tag);
  try {
    parseSemver(tag.slice(c.tagPrefix.length), 'tag');
  } catch {
    fail('tag', `${JSON.stringify(c.tagPrefix)} followed by a semantic version`, tag);
  }
  return `https://github.com/${c.repository}/${c.workflow}@refs/tags/${tag}`;
}

/** The identity of freshness witnesses: the same workflow's scheduled job on the default branch. */
export function witnessIdentity(c: ReleaseSignerConfig, branch = 'main'): string {
  return `https://github.com/${c.repository}/${c.workflow}@refs/heads/${branch}`;
}

/** A stable key for per-signer state (rollback records): repository + workflow + issuer. */
export function signerKey(c: ReleaseSignerConfig): string {
  return `${c.issuer} ${c.repository} ${c.workflow} ${c.tagPrefix}`;
}
