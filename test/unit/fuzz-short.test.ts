/**
 * The short run of the decoder fuzzer (test/fuzz/): every decoder gets 2,000 inputs (random bytes
 * and structure-aware mutations of real vectors and simulated evidence) with a fixed seed, so the
 * run is bounded and reproducible. The oracle is the full one (targets.ts): only ProtocolError,
 * bounded time per input, no mutated frame or handshake message accepted, canonical re-encoding.
 * `npm run fuzz` runs 1,000,000 inputs per decoder with a random seed.
 *
 * Override with FUZZ_RUNS / FUZZ_SEED. Decoders whose seeds come only from ../shared/vectors still
 * run (random bytes) when it is absent; the vector-seeded ones say so visibly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzTarget } from '../fuzz/engine';
import { buildTarget, TARGET_NAMES } from '../fuzz/targets';
import { sharedDir } from '../helpers/shared';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261123);

describe(`fuzz (short run: ${RUNS} inputs per decoder, seed ${SEED})`, () => {
  if (sharedDir() === null)
    console.error(
      'NOTE: ../shared/vectors is absent: attestation decoders are fuzzed from random and simulated seeds only',
    );
  for (const name of TARGET_NAMES) {
    test(name, async () => {
      const target = await buildTarget(name);
      const r = await fuzzTarget(target, { runs: RUNS, seed: SEED, chunk: RUNS, slowMs: 5_000 });
      const detail = r.findings
        .map(
          (f) =>
            `${f.kind}: ${f.message.split('\n')[0]} (input ${f.inputLength} bytes: ${f.inputHex.slice(0, 200)})`,
        )
        .join('\n');
      assert.equal(r.findings.length, 0, `findings in ${name}:\n${detail}`);
      assert.ok(r.inputs >= RUNS, `${name}: ran ${r.inputs} of ${RUNS} inputs`);
      // the generator must reach both outcomes, or the target is not exercising the decoder
      assert.ok(r.rejected > 0, `${name}: no input was rejected`);
      if (target.seeds.length > 0)
        assert.ok(r.accepted > 0, `${name}: no input was accepted (seeds never decode)`);
    });
  }
});
