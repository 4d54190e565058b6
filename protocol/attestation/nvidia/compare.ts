/**
 * Measurements vs golden values (nvtrust local_gpu_verifier rules):
 *  - RIM `Resource index` i (0-based) ↔ SPDM measurement block i + 1;
 *  - only `active="True"` entries are golden; driver and VBIOS active indexes must not overlap;
 *  - `alternatives=N` gives Hash0..HashN-1 and any one may match; `size` must be 48 (SHA-384);
 *  - index 35 is skipped when the report says NVDEC0 is disabled (0x55);
 *  - the RIMs' colloquialVersion must equal the report's driver / VBIOS version.
 */
import type { Check } from '../types';
import { isHex, toHex } from './bytes';
import { STATUS_DISABLED } from './opaque';
import type { Rim } from './rim';
import type { NvidiaReport } from './spdm';

export const MEASUREMENT_SIZE = 48;
/** RIM index of the NVDEC0 measurement, skipped when NVDEC0 is disabled. */
export const NVDEC0_RIM_INDEX = 35;

export type RimSource = 'driver' | 'vbios';

export interface Mismatch {
  /** 0-based RIM index. */
  readonly index: number;
  readonly source: RimSource;
  readonly reason: string;
}

export interface Comparison {
  readonly checks: Check[];
  readonly mismatches: readonly Mismatch[];
  /** Active golden entries in both RIMs (skipped ones included). */
  readonly goldenActive: number;
  readonly matched: number;
  readonly skipped: readonly number[];
}

function versionCheck(
  id: string,
  what: string,
  rimVersion: string,
  reportVersion: string | undefined,
): Check {
  const ok =
    reportVersion !== undefined && rimVersion.toLowerCase() === reportVersion.toLowerCase();
  return {
    id,
    ok,
    message: ok
      ? `${id}: RIM version ${rimVersion} equals the report's ${what} version`
      : `${id}: expected the report's ${what} version ${reportVersion ?? '(absent)'}, got RIM colloquialVersion ${rimVersion}`,
  };
}

/** Compares a parsed report with the (already verified) driver and VBIOS RIMs. */
export function compareMeasurements(report: NvidiaReport, driver: Rim, vbios: Rim): Comparison {
  const checks: Check[] = [];
  checks.push(
    versionCheck(
      'rim.driver.version',
      'driver',
      driver.colloquialVersion,
      report.opaque.driverVersion,
    ),
  );
  checks.push(
    versionCheck('rim.vbios.version', 'VBIOS', vbios.colloquialVersion, report.opaque.vbiosVersion),
  );
  const blocks = new Map(report.blocks.map((b) => [b.index, b]));
  const mismatches: Mismatch[] = [];
  const skipped: number[] = [];
  const driverActive = new Set(driver.measurements.filter((m) => m.active).map((m) => m.index));
  const overlap = vbios.measurements
    .filter((m) => m.active && driverActive.has(m.index))
    .map((m) => m.index);
  checks.push({
    id: 'rim.overlap',
    ok: overlap.length === 0,
    message:
      overlap.length === 0
        ? 'rim.overlap: driver and VBIOS active indexes are disjoint'
        : `rim.overlap: expected disjoint driver and VBIOS active indexes, got both at ${overlap.join(', ')}`,
  });
  let goldenActive = 0;
  let matched = 0;
  const nvdecDisabled = report.opaque.nvdec0Status === STATUS_DISABLED;
  const all: [RimSource, Rim][] = [
    ['driver', driver],
    ['vbios', vbios],
  ];
  for (const [source, rim] of all) {
    for (const m of rim.measurements) {
      if (!m.active) continue;
      goldenActive++;
      if (m.index === NVDEC0_RIM_INDEX && nvdecDisabled) {
        skipped.push(m.index);
        continue;
      }
      const block = blocks.get(m.index + 1);
      let reason: string | null = null;
      if (m.size !== MEASUREMENT_SIZE) reason = `size: expected ${MEASUREMENT_SIZE}, got ${m.size}`;
      else if (block === undefined)
        reason = `report block ${m.index + 1}: expected present, got absent`;
      else if (block.value.length !== MEASUREMENT_SIZE)
        reason = `report block ${m.index + 1}: expected ${MEASUREMENT_SIZE} bytes, got ${block.value.length}`;
      else {
        const bad = m.hashes.find((h) => h.length !== 2 * MEASUREMENT_SIZE || !isHex(h));
        if (bad !== undefined)
          reason = `golden value: expected ${2 * MEASUREMENT_SIZE} hex digits, got ${JSON.stringify(bad.slice(0, 100))}`;
        else {
          const actual = toHex(block.value);
          if (!m.hashes.includes(actual)) {
            reason = `expected ${m.hashes.length > 1 ? `one of ${m.hashes.join(' | ')}` : m.hashes[0]}, got ${actual}`;
          }
        }
      }
      if (reason === null) matched++;
      else mismatches.push({ index: m.index, source, reason });
    }
  }
  mismatches.sort((a, b) => a.index - b.index);
  const ok = mismatches.length === 0 && goldenActive > 0;
  checks.push({
    id: 'measurements',
    ok,
    message: ok
      ? `measurements: ${matched} of ${goldenActive} active golden measurements match${skipped.length ? ` (index ${skipped.join(', ')} skipped: NVDEC0 disabled)` : ''}`
      : goldenActive === 0
        ? 'measurements: expected at least one active golden measurement, got none'
        : `measurements: ${mismatches.length} of ${goldenActive} differ: ${mismatches.map((x) => `[${x.source} ${x.index}] ${x.reason}`).join('; ')}`,
  });
  return { checks, mismatches, goldenActive, matched, skipped };
}
