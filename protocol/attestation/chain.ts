/**
 * Checks worded from `verifyChain`'s data. The X.509 layer returns the path, the pinned root it
 * ends at and the problems; each verifier names the check id, the field a failure starts with and
 * the anchor (pinned ARK, injected test root, simulated root) here instead of patching text.
 */
import { certLabel } from '../x509/index';
import type { Certificate, ChainVerification } from '../x509/index';
import type { Check } from './types';

export interface ChainWording {
  /** The check id (default `cert_chain`). */
  readonly id?: string;
  /** The field a failure message starts with (default: the id). */
  readonly field?: string;
  /** How a passing message names the root the path ends at (default `trusted root`). */
  readonly anchor?: string | ((root: Certificate) => string);
  /** Appended to every message (e.g. why a root supplied by the server was trusted). */
  readonly note?: string;
}

/**
 * One passing check naming the path, its anchor and the time it was valid at, or one failed check
 * per problem. A result without a root is a failure even if it lists no problem (fail closed).
 */
export function chainChecks(r: ChainVerification, at: Date, w: ChainWording = {}): Check[] {
  const id = w.id ?? 'cert_chain';
  const field = w.field ?? id;
  const note = w.note === undefined ? '' : ` ${w.note}`;
  if (r.problems.length > 0 || r.root === undefined) {
    const problems =
      r.problems.length > 0 ? r.problems : ['root: expected a pinned root, got none'];
    return problems.map((p) => ({ id, ok: false, message: `${field}: ${p}${note}` }));
  }
  const anchor =
    w.anchor === undefined
      ? 'trusted root'
      : typeof w.anchor === 'string'
        ? w.anchor
        : w.anchor(r.root);
  return [
    {
      id,
      ok: true,
      message: `${r.path.map(certLabel).join(' <- ')} (${anchor}), ${r.path.length} certificates valid at ${at.toISOString()}${note}`,
    },
  ];
}
