/**
 * Formatting of the connection state for the status bar, its tooltip and the webview header.
 * Pure functions: the status bar item (extension/status-bar.ts) only applies what these return.
 */
import type { ErrorKind, StatusView } from '../ui-contract/messages';
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
  const rel = v.release ?? null;
  const label = `${rel ? `v${rel.version} · ` : ''}${v.cpuKind} ${shortHex(v.measurement)} · ${gpuLabel(v)}`;
  const warning =
    v.simulated ||
    relaxed.length > 0 ||
    (rel !== null && rel.relaxations.length > 0) ||
    trustedOnce ||
    (v.gpu !== null && !v.gpu.ccEnabled);
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
  if (rel) {
    lines.push(
      `Release v${rel.version} (signed manifest, matched exactly): ${rel.repository}@${rel.commit.slice(0, 12)}, Rekor log index ${rel.logIndex}, signed ${rel.signedAt}`,
    );
    for (const r of rel.relaxations) lines.push(`Relaxed: ${r}`);
  }
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

/** The status after a failed connect or a lost session: the text names the error class. */
export function failedStatus(kind: ErrorKind, message: string): StatusView {
  const text =
    kind === 'verification'
      ? 'TEEChat: evidence rejected'
      : kind === 'handshake'
        ? 'TEEChat: no secure session'
        : kind === 'unreachable' || kind === 'session_lost'
          ? 'TEEChat: unreachable'
          : 'TEEChat: error';
  return {
    state: kind === 'unreachable' || kind === 'session_lost' ? 'unreachable' : 'failed',
    text,
    detail: `${message}\nClick to show the attestation report; run "TEEChat: Reconnect" to try again.`,
    warning: false,
  };
}
