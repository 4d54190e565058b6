/**
 * Replays the fuzz regression corpus (test/fuzz/regressions/) through the same targets and oracle
 * as `npm run fuzz`: each input must be accepted or rejected with a ProtocolError, must satisfy the
 * target's invariants (no forged frame or handshake accepted, canonical re-encoding), and must run
 * within a time bound.
 *
 * File names: `<decoder>--<label>.bin`. The corpus holds every crash the fuzzer has found (none so
 * far: see BENCHMARKS.md §Fuzzing for the runs and counts) and, per decoder, the slowest input of a
 * 20,000-input run with seed 777 (`DIR/slowest/<decoder>.bin` from run.ts; files over 25 kB left
 * out) — except inputs mutated from the real vectors in ../shared/ (SNP, Azure HCL, TDX, NVIDIA,
 * X.509/CRL/PEM, RIM XML), which stay out of the repository like the vectors themselves; the
 * short fuzz run in `npm test` (fuzz-short.test.ts) regenerates such inputs from ../shared/. On the shared 2-core machine most of those timings were scheduling noise (10–400 ms); they
 * are kept as a replay corpus so a decoder that turns quadratic on them fails here. Adding a finding: copy `test-artifacts/fuzz/<decoder>-<kind>-<hash>.bin` to
 * `test/fuzz/regressions/<decoder>--<kind>-<hash>.bin`, fix the decoder, and this test guards it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProtocolError } from '../../protocol/errors';
import { buildTarget, TARGET_NAMES } from '../fuzz/targets';
import { repoRoot } from '../helpers/shared';

const DIR = join(repoRoot, 'test', 'fuzz', 'regressions');
const LIMIT_MS = 2_000;

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.bin'))
  .sort();

describe(`fuzz regression corpus (${files.length} inputs)`, () => {
  test('every corpus file names a known decoder', () => {
    assert.ok(files.length > 0, 'the corpus is empty');
    for (const f of files) {
      const decoder = f.replace(/\.bin$/, '').split('--')[0] as string;
      assert.ok(
        (TARGET_NAMES as readonly string[]).includes(decoder),
        `${f}: unknown decoder ${decoder}`,
      );
    }
  });
  for (const f of files) {
    const decoder = f.replace(/\.bin$/, '').split('--')[0] as string;
    if (!(TARGET_NAMES as readonly string[]).includes(decoder)) continue;
    test(f, async () => {
      const target = await buildTarget(decoder);
      const bytes = new Uint8Array(readFileSync(join(DIR, f)));
      const t0 = performance.now();
      try {
        await target.run(bytes);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e; // a crash or an oracle violation fails the test
      }
      const ms = performance.now() - t0;
      assert.ok(ms < LIMIT_MS, `${f}: ${ms.toFixed(0)} ms (limit ${LIMIT_MS} ms)`);
    });
  }
});
