/**
 * Formatting of the connection state for the status bar, its tooltip and the webview header.
 * Pure functions: the status bar item (extension/status-bar.ts) only applies what these return.
 */
import type { StatusView } from '../ui-contract/messages';
import type { AttestationView } from './types';

/** "8f3a…c21d": first and last four hex digits. */
export function shortHex(hex: string, n = 4): string {
  const h = hex.toLowerCase();
  return h.length <= 2 * n + 1 ? h : `${h.slice(0, n)}…${h.slice(-n)}`;
}

export function gpuLabel(v: AttestationView): string {
  if (v.gpu === null) return 'no GPU evidence';
  return v.gpu.ccEnabled ? 'GPU CC' : 'GPU CC off';
}

export function verifiedStatus(
  v: AttestationView,
  relaxed: readonly string[],
  trustedOnce: boolean,
): StatusView {
  const label = `${v.cpuKind} ${shortHex(v.measurement)} · ${gpuLabel(v)}`;
  const warning =
    v.simulated || relaxed.length > 0 || trustedOnce || (v.gpu !== null && !v.gpu.ccEnabled);
  const lines = [
    v.simulated
      ? 'SIMULATED attestation (development root): no real hardware was verified.'
      : 'Verified confidential enclave.',
    `Product: ${v.product}`,
    `Measurement: ${v.measurement}`,
    `TCB: ${v.tcb}`,
    `GPU: ${v.gpu === null ? 'no GPU evidence' : `${v.gpu.count} GPU(s), CC ${v.gpu.ccEnabled ? 'on' : 'OFF'}`}`,
    `Model: ${v.model.id} (sha256 ${v.model.sha256})`,
  ];
  if (trustedOnce) lines.push('Measurement trusted for this session only.');
  for (const r of relaxed) lines.push(`Relaxed: ${r}`);
  lines.push('Click to show the attestation report.');
  return {
    state: v.simulated ? 'simulated' : 'verified',
    text: v.simulated ? `SIMULATED ${label}` : label,
    detail: lines.join('\n'),
    warning,
  };
}

export const IDLE_STATUS: StatusView = {
  state: 'idle',
  text: 'TEEChat: not connected',
  detail:
    'No session yet. The enclave is verified when you first send a message (or run "TEEChat: Reconnect").',
  warning: false,
};

export const CONNECTING_STATUS: StatusView = {
  state: 'connecting',
  text: 'TEEChat: verifying…',
  detail: 'Connecting and verifying the enclave attestation.',
  warning: false,
};

export function failedStatus(kind: 'failed' | 'unreachable', message: string): StatusView {
  return {
    state: kind,
    text: kind === 'failed' ? 'TEEChat: verification failed' : 'TEEChat: unreachable',
    detail: `${message}\nClick to show the attestation report; run "TEEChat: Reconnect" to try again.`,
    warning: false,
  };
}
