/** Polling for a condition in tests, bounded: the one helper instead of hand-written loops. */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves once `cond()` is true; polls every `intervalMs` and rejects with an Error naming `what`
 * after `timeoutMs`, so a stuck test fails with a reason rather than a later, unrelated assertion.
 */
export async function waitFor(
  cond: () => boolean,
  what: string,
  { timeoutMs = 30_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= deadline) throw new Error(`waitFor: ${what} not true after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
