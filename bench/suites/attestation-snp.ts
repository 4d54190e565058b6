/**
 * SEV-SNP attestation benchmark: verifying one real report (Turin v5, from the vectors) with its
 * 3-certificate chain (VCEK → pinned ASK → pinned ARK: two RSA-4096 PSS verifications and one
 * ECDSA P-384) plus the whole policy validation.
 *
 * - verify_snp_ms: warm, Node crypto provider, process CPU time per verification (target ≤ 3 ms).
 * - verify_snp_cold_ms: the FIRST verification in a fresh Node process (pinned roots parsed, keys
 *   imported, code not yet optimised), median over several child processes; process CPU time like
 *   every figure here (the wall clock is reported too: on the shared machine it mostly measures
 *   other processes); module loading excluded and reported separately (target ≤ 5 ms). The child
 *   runs this file bundled by esbuild under plain `node`, as the shipped dist/ bundles run: under
 *   tsx, the loader's own background work (transpile cache upkeep) would land in the measurement.
 * - verify_snp_noble_ms: warm, pure-JS provider (the browser path), for comparison.
 * Reads ../shared/vectors (absent: the suite reports nothing and says so on stderr).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readShared, repoRoot, sharedDir, sharedPath } from '../../test/helpers/shared';
import { cpuMs, median, msPerOp } from '../lib';

const CHILD_ENV = 'TEECHAT_BENCH_SNP_COLD_CHILD';

async function loadInputs() {
  const report = new Uint8Array(readShared('vectors', 'sev-snp', 'oak', 'turin_oc_report.bin'));
  const vcek = new Uint8Array(readShared('vectors', 'sev-snp', 'oak', 'turin_oc_vcek.der'));
  return { report, vcek, at: new Date('2026-01-01T00:00:00Z') };
}

/** Child mode: time the first verification in this process, print JSON, exit. */
async function child(): Promise<void> {
  const t0 = performance.now();
  const { nodeProvider } = await import('../../protocol-node/crypto-node');
  const { verifySnpEvidence } = await import('../../protocol/attestation/snp/verify');
  const { DEFAULT_POLICY } = await import('../../protocol/attestation/policy');
  const { report, vcek, at } = await loadInputs();
  const item = {
    kind: 'sev-snp' as const,
    label: '',
    parts: new Map([
      ['report', report],
      ['vcek', vcek],
    ]),
  };
  const ctx = { crypto: nodeProvider, now: () => at };
  const t1 = performance.now();
  const c1 = cpuMs();
  const r = verifySnpEvidence(item, ctx, DEFAULT_POLICY);
  const c2 = cpuMs();
  const t2 = performance.now();
  verifySnpEvidence(item, ctx, DEFAULT_POLICY);
  const c3 = cpuMs();
  const out = {
    ok: r.ok,
    import_ms: t1 - t0,
    cold_ms: c2 - c1,
    cold_wall_ms: t2 - t1,
    second_ms: c3 - c2,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

if (process.env[CHILD_ENV] === '1') {
  await child();
}

export default {
  name: 'attestation-snp',
  description:
    'SEV-SNP report + VCEK/ASK/ARK chain + policy verification (warm, cold fresh process, pure JS)',
  async run({ quick }: { quick: boolean }): Promise<Record<string, number>> {
    if (sharedPath('vectors', 'sev-snp') === null) {
      console.error('attestation-snp: ../shared/vectors/sev-snp is absent; skipped');
      return {};
    }
    const { nodeProvider } = await import('../../protocol-node/crypto-node');
    const { nobleProvider } = await import('../../protocol/crypto/noble');
    const { verifySnpEvidence } = await import('../../protocol/attestation/snp/verify');
    const { parseSnpReport } = await import('../../protocol/attestation/snp/report');
    const { DEFAULT_POLICY } = await import('../../protocol/attestation/policy');
    const { report, vcek, at } = await loadInputs();
    const item = {
      kind: 'sev-snp' as const,
      label: '',
      parts: new Map([
        ['report', report],
        ['vcek', vcek],
      ]),
    };
    const node = { crypto: nodeProvider, now: () => at };
    const noble = { crypto: nobleProvider, now: () => at };
    for (const ctx of [node, noble]) {
      const r = verifySnpEvidence(item, ctx, DEFAULT_POLICY);
      if (!r.ok)
        throw new Error(
          `attestation-snp: the vector did not verify (${ctx.crypto.name}); the benchmark would measure a failure path`,
        );
    }
    const runs = quick ? 3 : 7;
    const cold: number[] = [];
    const coldWall: number[] = [];
    const second: number[] = [];
    const imports: number[] = [];
    const { build } = await import('esbuild');
    const dir = mkdtempSync(join(tmpdir(), 'teechat-bench-snp-'));
    const bundle = join(dir, 'attestation-snp-cold.mjs');
    await build({
      entryPoints: [fileURLToPath(import.meta.url)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      external: ['esbuild'],
      logLevel: 'silent',
    });
    for (let i = 0; i < runs; i++) {
      const c = spawnSync(process.execPath, [bundle], {
        cwd: repoRoot,
        env: { ...process.env, [CHILD_ENV]: '1', TEECHAT_SHARED: sharedDir() ?? '' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      const line = c.stdout.trim().split('\n').pop() ?? '';
      const j = JSON.parse(line) as {
        ok: boolean;
        import_ms: number;
        cold_ms: number;
        cold_wall_ms: number;
        second_ms: number;
      };
      if (!j.ok) throw new Error('attestation-snp: cold child did not verify');
      cold.push(j.cold_ms);
      coldWall.push(j.cold_wall_ms);
      second.push(j.second_ms);
      imports.push(j.import_ms);
    }
    rmSync(dir, { recursive: true, force: true });
    return {
      verify_snp_ms: msPerOp(() => verifySnpEvidence(item, node, DEFAULT_POLICY), { quick }),
      verify_snp_cold_ms: median(cold),
      verify_snp_cold_wall_ms: median(coldWall),
      verify_snp_second_call_ms: median(second),
      verify_snp_cold_module_load_ms: median(imports),
      verify_snp_noble_ms: msPerOp(() => verifySnpEvidence(item, noble, DEFAULT_POLICY), {
        quick,
        minMs: quick ? 50 : 200,
        repeats: quick ? 3 : 5,
      }),
      parse_snp_report_ms: msPerOp(() => parseSnpReport(report), { quick }),
    };
  },
};
