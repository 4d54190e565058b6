/**
 * The headline figures at the top level of the bench JSON (issue #7 names them; BENCHMARKS.md
 * tabulates them). Suites nest their results; this picks each headline key from the first source
 * path that exists, so the JSON written by `npm run bench` carries them flat:
 *
 *   seal_262k_ms, open_262k_ms, frame_overhead_us   protocol / "node (aes-256-gcm)"
 *   handshake_ms, handshake_cold_ms                  e2e / handshake_ms.warm, .cold
 *   secure_vs_plain_tokens_per_s_ratio,
 *   secure_vs_plain_ttft_ratio, second_turn_ttft_ratio   e2e
 *   concurrency_scaling                              e2e / aggregate_tokens_per_s (1, 2, 4, 8, 16)
 *   verify_snp_ms, verify_gpu_ms                     attestation-snp, attestation-gpu
 *
 * Keys whose suite did not run are listed in `headline_missing` instead of being invented.
 */
export const HEADLINE_SOURCES: Readonly<Record<string, readonly string[][]>> = {
  seal_262k_ms: [['protocol', 'node (aes-256-gcm)', 'seal_262k_ms']],
  open_262k_ms: [['protocol', 'node (aes-256-gcm)', 'open_262k_ms']],
  frame_overhead_us: [['protocol', 'node (aes-256-gcm)', 'frame_overhead_us']],
  handshake_ms: [
    ['e2e', 'handshake_ms', 'warm'],
    ['e2e', 'handshake_ms'],
  ],
  handshake_cold_ms: [
    ['e2e', 'handshake_ms', 'cold'],
    ['e2e', 'handshake_cold_ms'],
  ],
  secure_vs_plain_tokens_per_s_ratio: [['e2e', 'secure_vs_plain_tokens_per_s_ratio']],
  secure_vs_plain_ttft_ratio: [['e2e', 'secure_vs_plain_ttft_ratio']],
  concurrency_scaling: [
    ['e2e', 'aggregate_tokens_per_s'],
    ['e2e', 'concurrency_scaling'],
  ],
  second_turn_ttft_ratio: [['e2e', 'second_turn_ttft_ratio']],
  verify_snp_ms: [['attestation-snp', 'verify_snp_ms']],
  verify_gpu_ms: [['attestation-gpu', 'verify_gpu_ms']],
};

function at(v: unknown, path: readonly string[]): unknown {
  let x = v;
  for (const k of path) {
    if (x === null || typeof x !== 'object') return undefined;
    x = (x as Record<string, unknown>)[k];
  }
  return x;
}

/** The headline keys found in `results` (per-suite objects), plus the list of missing ones. */
export function headline(results: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const [key, paths] of Object.entries(HEADLINE_SOURCES)) {
    const v = paths
      .map((p) => at(results, p))
      .find((x) => typeof x === 'number' || (typeof x === 'object' && x !== null));
    if (v === undefined) missing.push(key);
    else out[key] = v;
  }
  out['headline_missing'] = missing;
  return out;
}
