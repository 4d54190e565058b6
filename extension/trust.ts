/**
 * Trust decisions the extension adds on top of the client's verification, like SSH's known_hosts:
 * the launch measurement of every verified session must be in the configured allowlist or in the
 * list the user accepted for this server before; otherwise the user is asked (trust once / always
 * / cancel) with the value and what it differs from. Never silently.
 */
import type { AttestationView, TrustSettings } from './types';

export type TrustAnswer = 'once' | 'always' | 'cancel';

export interface MeasurementPrompt {
  readonly serverUrl: string;
  readonly measurement: string;
  /** Measurements previously trusted for this server (the value it differs from), newest first. */
  readonly knownForServer: readonly string[];
  /** Allowlisted measurements from settings. */
  readonly allowlisted: readonly string[];
  readonly simulated: boolean;
  /** CPU TEE label of the session, e.g. "SNP", "TDX", "SNP/Azure". */
  readonly cpuKind: string;
  /** The server address comes from the workspace's settings and was never trusted before. */
  readonly serverFromWorkspace?: boolean;
}

/** The trust prompt's explanation: the value, what it differs from, and what it does (not) prove. */
export function trustPromptDetail(p: MeasurementPrompt): string {
  const origin = p.serverFromWorkspace
    ? '\n\nThis server address comes from the settings of the open workspace (a repository can set it), and you have never trusted a server at this address.'
    : '';
  const differs =
    p.knownForServer.length > 0
      ? `It differs from the measurement you trusted before for this server:\n${p.knownForServer[0]}`
      : p.allowlisted.length > 0
        ? p.allowlisted.includes(p.measurement)
          ? 'It is in teechat.trust.allowedMeasurements, but this server is new.'
          : `It is not in teechat.trust.allowedMeasurements:\n${p.allowlisted.join('\n')}`
        : 'No measurement has been trusted for this server yet.';
  const azure = p.cpuKind.includes('Azure')
    ? "\n\nOn Azure the value above is the guest's vTPM PCRs (in index order), not the SNP measurement: that covers Microsoft's paravisor firmware, which every Azure confidential VM shares."
    : p.cpuKind === 'TDX'
      ? '\n\nFor TDX the value above is MRTD ‖ RTMR1 ‖ RTMR2 (‖ MRCONFIGID ‖ MROWNER when set): MRTD alone names only the TD firmware, not the kernel or its command line.'
      : '';
  return `Server: ${p.serverUrl}${origin}\nThis server offers no signed release manifest (docs/RELEASES.md), so its measurement can only be trusted on first use.\nLaunch measurement:\n${p.measurement}\n\n${differs}\n\nThe hardware evidence verified${p.simulated ? ' (SIMULATED development root)' : ''}, but only the measurement tells which code runs in the enclave. Compare it with the value published for this deployment before trusting it.${azure}`;
}

/** Persistent store of accepted measurements per server URL (globalState in the extension). */
export interface KnownMeasurementStore {
  get(serverUrl: string): readonly string[];
  add(serverUrl: string, measurement: string): Promise<void>;
}

export type TrustDecision =
  | {
      readonly trusted: true;
      readonly how: 'release' | 'allowlist' | 'known' | 'once' | 'always';
    }
  | { readonly trusted: false };

export function normalizeHex(s: string): string {
  return s.trim().toLowerCase().replace(/^0x/, '');
}

export async function decideTrust(
  serverUrl: string,
  view: AttestationView,
  settings: TrustSettings,
  store: KnownMeasurementStore,
  ask: (p: MeasurementPrompt) => Promise<TrustAnswer>,
  origin: { readonly serverUrlFromWorkspace?: boolean } = {},
): Promise<TrustDecision> {
  // A verified signed release pinned every value exactly (the client refused any mismatch): no prompt.
  if (view.release) return { trusted: true, how: 'release' };
  // The identity that names the code (TDX: MRTD ‖ RTMR1 ‖ RTMR2; Azure: the vTPM PCRs, never the
  // paravisor's measurement); views without one fall back to the SNP-style measurement.
  const m = normalizeHex(view.identity ?? view.measurement);
  // No measurement to show is nothing the user could decide on (and an empty value once
  // trusted "always" would match every later session): fail closed without asking.
  if (!/^(?:[0-9a-f]{2})+$/.test(m)) return { trusted: false };
  const allow = settings.allowedMeasurements.map(normalizeHex);
  const known = store.get(serverUrl).map(normalizeHex);
  // A server address set by the workspace that the user never trusted always goes through the
  // decision, even with an allowlisted measurement: a repository chooses where prompts go.
  const newFromWorkspace = origin.serverUrlFromWorkspace === true && known.length === 0;
  if (allow.includes(m) && !newFromWorkspace) return { trusted: true, how: 'allowlist' };
  if (known.includes(m)) return { trusted: true, how: 'known' };
  const answer = await ask({
    ...(newFromWorkspace ? { serverFromWorkspace: true } : {}),
    serverUrl,
    measurement: m,
    knownForServer: known,
    allowlisted: allow,
    simulated: view.simulated,
    cpuKind: view.cpuKind,
  });
  if (answer === 'always') {
    await store.add(serverUrl, m);
    return { trusted: true, how: 'always' };
  }
  if (answer === 'once') return { trusted: true, how: 'once' };
  return { trusted: false };
}

/** Settings that weaken verification relative to the secure defaults (shown in warning colour). */
export function relaxedChecks(settings: TrustSettings): string[] {
  const r: string[] = [];
  if (settings.allowSimulated)
    r.push('simulated attestation allowed (teechat.trust.allowSimulatedAttestation)');
  if (settings.allowDebug) r.push('debug guests allowed (teechat.trust.allowDebug)');
  if (!settings.requireGpuEvidence)
    r.push('GPU evidence not required (teechat.trust.requireGpuEvidence)');
  // Release relaxations apply only when release checking is on (a signer is configured).
  if ((settings.releaseRepository ?? '') !== '') {
    const to = settings.releaseAllowDowngradeTo ?? '';
    if (to !== '') r.push(`downgrade to release ${to} allowed (teechat.release.allowDowngradeTo)`);
    const days = settings.releaseMaxAgeDays ?? 7;
    if (days === 0) r.push('release age not bounded (teechat.release.maxAgeDays 0)');
    else if (days > 7)
      r.push(`release maximum age ${days} days, default 7 (teechat.release.maxAgeDays)`);
  }
  return r;
}

/** The notice shown when a workspace tried to set trust settings. */
export function ignoredTrustNotice(keys: readonly string[]): string {
  return `TEEChat ignored trust settings set by this workspace: ${keys.map((k) => `teechat.${k}`).join(', ')}. Trust settings apply only from your user settings, so a repository cannot weaken verification.`;
}

/** In-memory store (tests; and the fallback when no globalState is available). */
export class MemoryMeasurementStore implements KnownMeasurementStore {
  private readonly map = new Map<string, string[]>();
  get(serverUrl: string): readonly string[] {
    return this.map.get(serverUrl) ?? [];
  }
  async add(serverUrl: string, measurement: string): Promise<void> {
    const cur = this.map.get(serverUrl) ?? [];
    this.map.set(serverUrl, [measurement, ...cur.filter((x) => x !== measurement)]);
  }
}
