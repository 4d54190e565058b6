/** Assertions on verification reports shared by the attestation tests. */
import assert from 'node:assert/strict';
import type { Check } from '../../protocol/attestation/types';

interface HasChecks {
  readonly ok: boolean;
  readonly checks: readonly Check[];
}

/** The ids of the failed checks, each once, sorted. */
export function failedIds(r: Pick<HasChecks, 'checks'>): string[] {
  return [...new Set(r.checks.filter((c) => !c.ok).map((c) => c.id))].sort();
}

/** Asserts the report is accepted; when it is not, the message lists every failed check. */
export function assertAccepted(r: HasChecks, what = ''): void {
  const failed = r.checks.filter((c) => !c.ok).map((c) => c.message);
  assert.equal(r.ok, true, [what, ...failed].filter((x) => x !== '').join('\n'));
}
