/** Reads the `teechat.*` settings (declared in package.json `contributes.configuration`). */
import * as vscode from 'vscode';
import type { ChatParams, TrustSettings } from './types';

export type PathMode = 'none' | 'fileName' | 'relativePath';
export type HistoryMode = 'global' | 'workspace' | 'none';

export interface Settings {
  readonly serverUrl: string;
  readonly connectTimeoutMs: number;
  readonly trust: TrustSettings;
  readonly selectionPath: PathMode;
  readonly historyMode: HistoryMode;
  readonly historyMax: number;
  readonly chat: ChatParams;
  readonly systemPrompt: string;
}

/** SEV-SNP TCB components (protocol/attestation/policy.ts TcbFloor); others are ignored. */
const TCB_KEYS: ReadonlySet<string> = new Set(['bl', 'tee', 'snp', 'microcode', 'fmc']);

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('teechat');
  const tcb = c.get<Record<string, unknown>>('trust.minimumTcb') ?? {};
  const minimumTcb: Record<string, number> = {};
  for (const [k, v] of Object.entries(tcb))
    if (TCB_KEYS.has(k) && typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255)
      minimumTcb[k] = v;
  const pathMode = c.get<string>('selection.includePath');
  const historyMode = c.get<string>('history.storage');
  return {
    serverUrl: (c.get<string>('serverUrl') ?? '').trim() || 'ws://127.0.0.1:8787',
    connectTimeoutMs: num(c.get('connectTimeoutMs'), 15000),
    trust: {
      allowedMeasurements: (c.get<unknown[]>('trust.allowedMeasurements') ?? []).filter(
        (x): x is string => typeof x === 'string',
      ),
      minimumTcb,
      requireGpuEvidence: c.get<boolean>('trust.requireGpuEvidence') ?? true,
      allowDebug: c.get<boolean>('trust.allowDebug') ?? false,
      allowSimulated: c.get<boolean>('trust.allowSimulatedAttestation') ?? false,
      // Which repository's releases are trusted decides which values are accepted without a
      // prompt: only the user's own (global) settings may name it, never a workspace.
      releaseRepository: (() => {
        const v = c.inspect<string>('release.repository')?.globalValue;
        return typeof v === 'string' ? v.trim() : '';
      })(),
    },
    selectionPath: pathMode === 'none' || pathMode === 'relativePath' ? pathMode : 'fileName',
    historyMode: historyMode === 'workspace' || historyMode === 'none' ? historyMode : 'global',
    historyMax: Math.max(1, Math.floor(num(c.get('history.maxConversations'), 50))),
    chat: {
      maxTokens: num(c.get('chat.maxTokens'), 1024),
      temperature: num(c.get('chat.temperature'), 0.7),
    },
    systemPrompt: c.get<string>('chat.systemPrompt') ?? '',
  };
}
