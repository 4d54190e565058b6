/**
 * The one rule for `ok` (issue #13 item 6): a report is accepted exactly when it has at least one
 * check and every check passed. Every verifier (SEV-SNP, Azure HCL, TDX, NVIDIA) builds its `ok`
 * with `okFromChecks`, and the client recomputes it with `normalizeReport` instead of trusting a
 * stored `ok` — a report whose checks fail is refused whatever its `ok` says, and one that says
 * `ok: false` without a failing check gets one (`verifier.ok`), so the checks stay the whole story.
 */
import type { Check, VerificationReport } from './types';

/** True exactly when there is at least one check and every check passed. */
export function okFromChecks(checks: readonly Check[]): boolean {
  return checks.length > 0 && checks.every((c) => c.ok);
}

/** The report with `ok` recomputed from its checks (never trusted as stored). */
export function normalizeReport(r: VerificationReport): VerificationReport {
  const checks: Check[] = [...r.checks];
  if (!r.ok && okFromChecks(checks))
    checks.push({
      id: 'verifier.ok',
      ok: false,
      message: `verifier.ok: expected ok: true for a report whose ${checks.length} checks all passed, got ok: false (refused: the verifier said no without naming why)`,
    });
  if (checks.length === 0)
    checks.push({
      id: 'verifier.checks',
      ok: false,
      message:
        'verifier.checks: expected at least one check, got none (refused: nothing was verified)',
    });
  return { ...r, checks, ok: okFromChecks(checks) };
}
