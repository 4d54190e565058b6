/**
 * The server's NVML confidential-computing status, carried as the evidence part `cc` (UTF-8 JSON):
 *   {"ccFeature":"on","devToolsMode":"off","environment":"production","multiGpuMode":"none","gpuCount":1}
 * Values mirror nvmlConfComputeSystemState_t / nvmlSystemConfComputeSettings_t. The SPDM report has
 * no CC-mode bit; this part is trusted only as far as the CVM (and its measured server) is.
 */
import { ProtocolError } from '../../errors';
import { utf8Decode, utf8Encode } from './bytes';

export type OnOff = 'on' | 'off';
export type CcEnvironment = 'production' | 'simulation' | 'unavailable';
export type MultiGpuMode = 'none' | 'protected-pcie' | 'unknown';

export interface CcStatus {
  readonly ccFeature: OnOff;
  readonly devToolsMode: OnOff;
  readonly environment: CcEnvironment;
  readonly multiGpuMode: MultiGpuMode;
  readonly gpuCount: number;
}

export const MAX_CC_STATUS_LEN = 4096;

function bad(field: string, expected: string, actual: unknown): never {
  throw new ProtocolError(
    'attestation_parse',
    `cc.${field}: expected ${expected}, got ${JSON.stringify(actual)?.slice(0, 60) ?? 'undefined'}`,
    `cc.${field}`,
  );
}

export function parseCcStatus(bytes: Uint8Array): CcStatus {
  if (bytes.length > MAX_CC_STATUS_LEN)
    bad('length', `at most ${MAX_CC_STATUS_LEN} bytes`, bytes.length);
  let v: unknown;
  try {
    v = JSON.parse(utf8Decode(bytes, 'cc'));
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    return bad('json', 'a JSON object', 'invalid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return bad('json', 'a JSON object', typeof v);
  const o = v as Record<string, unknown>;
  const pick = <T extends string>(k: string, allowed: readonly T[]): T => {
    const x = o[k];
    if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x))
      bad(k, allowed.join(' | '), x);
    return x as T;
  };
  const gpuCount = o['gpuCount'];
  if (typeof gpuCount !== 'number' || !Number.isInteger(gpuCount) || gpuCount < 0 || gpuCount > 64)
    bad('gpuCount', 'an integer 0..64', gpuCount);
  return {
    ccFeature: pick('ccFeature', ['on', 'off'] as const),
    devToolsMode: pick('devToolsMode', ['on', 'off'] as const),
    environment: pick('environment', ['production', 'simulation', 'unavailable'] as const),
    multiGpuMode: pick('multiGpuMode', ['none', 'protected-pcie', 'unknown'] as const),
    gpuCount,
  };
}

export function encodeCcStatus(s: CcStatus): Uint8Array {
  return utf8Encode(
    JSON.stringify({
      ccFeature: s.ccFeature,
      devToolsMode: s.devToolsMode,
      environment: s.environment,
      multiGpuMode: s.multiGpuMode,
      gpuCount: s.gpuCount,
    }),
  );
}
