/**
 * `teechat-server --simulated-roots-out FILE` (development only): the roots the simulated providers
 * generated at start, written for tests that pin them through the client's `trustAnchors` and so
 * run the production trust path (docs/ATTESTATION.md "Injected test roots").
 */
import { writeFileSync } from 'node:fs';
import type { EvidenceProvider, TrustAnchors } from '../../protocol/attestation/types';
import type { Logger } from '../log';
import { SimulatedNvidiaProvider } from './simulated-nvidia';
import { SimulatedSnpProvider } from './simulated-snp';
import { toPem } from './x509-writer';
import { UsageError } from '../../protocol-node/args';

/**
 * Development only (--simulated-roots-out): writes the roots the simulated providers generated at
 * start as a JSON TrustAnchors object of PEM certificates, for tests that pin them through the
 * client's `trustAnchors` and so run the production trust path. Public certificates only; refused
 * (usage) when no provider is simulated.
 */
export function writeSimulatedRoots(
  file: string,
  providers: readonly EvidenceProvider[],
  log: Logger,
): TrustAnchors {
  const amdArk: Record<string, string[]> = {};
  const nvidiaDevice: string[] = [];
  const nvidiaRim: string[] = [];
  for (const p of providers) {
    if (p instanceof SimulatedSnpProvider)
      (amdArk[p.chain.product] ??= []).push(toPem(p.chain.ark));
    if (p instanceof SimulatedNvidiaProvider) {
      nvidiaDevice.push(toPem(p.deviceRootDer));
      nvidiaRim.push(toPem(p.rimRootDer));
    }
  }
  if (Object.keys(amdArk).length === 0 && nvidiaDevice.length === 0)
    throw new UsageError(
      'simulated-roots-out: expected a simulated evidence provider (--attestation simulated or --gpu-attestation simulated), got none',
      'simulated-roots-out',
    );
  const anchors: TrustAnchors = {
    amdArk,
    ...(nvidiaDevice.length > 0 ? { nvidiaDevice, nvidiaRim } : {}),
  };
  try {
    writeFileSync(file, JSON.stringify(anchors, null, 2) + '\n', { mode: 0o644 });
  } catch (e) {
    throw new UsageError(
      `simulated-roots-out: expected a writable file at ${JSON.stringify(file)}, got ${e instanceof Error ? e.message : String(e)}`,
      'simulated-roots-out',
    );
  }
  log.warn(
    'simulated roots written (development only: a client that pins them trusts this server)',
    {
      file,
    },
  );
  return anchors;
}
