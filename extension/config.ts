/**
 * Reads the `teechat.*` settings (declared in package.json `contributes.configuration`).
 *
 * Trust comes from the user, never from the workspace: every trust setting is `machine`-scoped in
 * package.json, and is read here from the user's own settings only (`inspect()`: default or
 * global value). A value a workspace (or workspace folder) sets is ignored and named in
 * `ignoredWorkspaceTrust`, which the extension shows as a notice. The server URL may come from a
 * workspace; `serverUrlFromWorkspace` says so, and such a server goes through the trust decision
 * on first use even when its measurement is allowlisted (extension/trust.ts).
 */
import * as vscode from 'vscode';
import pkg from '../package.json' with { type: 'json' };
import type { ChatParams, TrustSettings } from './types';

type SettingProperties = typeof pkg.contributes.configuration.properties;
type SettingName = keyof SettingProperties extends `teechat.${infer K}` ? K : never;

/**
 * A setting's default as package.json declares it (the one place defaults are written; VS Code
 * shows and applies the same value). Used where a value is missing or of the wrong type.
 */
export function settingDefault<K extends SettingName>(
  key: K,
): SettingProperties[`teechat.${K}`]['default'] {
  return pkg.contributes.configuration.properties[`teechat.${key}`].default;
}

/** Every setting that can relax verification or trust (all `machine`-scoped in package.json). */
export const TRUST_SETTING_KEYS = [
  'trust.allowedMeasurements',
  'trust.minimumTcb',
  'trust.requireGpuEvidence',
  'trust.allowDebug',
  'trust.allowSimulatedAttestation',
  'release.repository',
  'release.trustedRoot',
  'release.certificateOidcIssuer',
  'release.allowDowngradeTo',
  'release.maxAgeDays',
] as const;

/** The default maximum age of a release signature, in days (client/release DEFAULT_MAX_AGE_MS). */
export const DEFAULT_RELEASE_MAX_AGE_DAYS = 7;

/** The part of `vscode.WorkspaceConfiguration` this module reads. */
export interface ConfigReader {
  get<T>(key: string): T | undefined;
  inspect<T>(key: string):
    | {
        readonly defaultValue?: T;
        readonly globalValue?: T;
        readonly workspaceValue?: T;
        readonly workspaceFolderValue?: T;
        readonly defaultLanguageValue?: T;
        readonly globalLanguageValue?: T;
        readonly workspaceLanguageValue?: T;
        readonly workspaceFolderLanguageValue?: T;
      }
    | undefined;
}

/**
 * The value of `key` from the user's settings only (global, else the default), and whether a
 * workspace tried to set it. Without `inspect` data the default applies (fail closed).
 */
export function userScopedValue<T>(
  c: ConfigReader,
  key: string,
): { readonly value: T | undefined; readonly setByWorkspace: boolean } {
  const i = c.inspect<T>(key);
  if (i === undefined) return { value: undefined, setByWorkspace: false };
  const setByWorkspace =
    i.workspaceValue !== undefined ||
    i.workspaceFolderValue !== undefined ||
    i.workspaceLanguageValue !== undefined ||
    i.workspaceFolderLanguageValue !== undefined;
  return { value: i.globalValue ?? i.defaultValue, setByWorkspace };
}

/** Where the server URL comes from. */
export function serverUrlFromWorkspace(c: ConfigReader): boolean {
  const i = c.inspect<unknown>('serverUrl');
  const set = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '';
  return i !== undefined && (set(i.workspaceFolderValue) || set(i.workspaceValue));
}

export const PATH_MODES = ['none', 'fileName', 'relativePath'] as const;
export type PathMode = (typeof PATH_MODES)[number];
export const HISTORY_MODES = ['global', 'workspace', 'none'] as const;
export type HistoryMode = (typeof HISTORY_MODES)[number];

/** `v` when it is one of `allowed`, else the fallback (which must be one of them too). */
function oneOf<T extends string>(v: unknown, allowed: readonly T[], fallback: string): T {
  const ok = (x: unknown): x is T =>
    typeof x === 'string' && (allowed as readonly string[]).includes(x);
  if (ok(v)) return v;
  if (ok(fallback)) return fallback;
  throw new Error(`package.json default ${fallback}: expected one of ${allowed.join(', ')}`);
}

export interface Settings {
  readonly serverUrl: string;
  /** The server URL is set by the workspace (or a workspace folder), not by the user. */
  readonly serverUrlFromWorkspace: boolean;
  readonly connectTimeoutMs: number;
  readonly trust: TrustSettings;
  /** Trust settings a workspace set, ignored (e.g. `trust.allowSimulatedAttestation`). */
  readonly ignoredWorkspaceTrust: readonly string[];
  readonly selectionPath: PathMode;
  readonly historyMode: HistoryMode;
  readonly historyMax: number;
  readonly chat: ChatParams;
  readonly systemPrompt: string;
}

/** SEV-SNP TCB components (protocol/attestation/policy.ts TcbFloor); others are ignored. */
const TCB_KEYS: ReadonlySet<string> = new Set(['bl', 'tee', 'snp', 'microcode', 'fmc']);

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

export function readSettings(): Settings {
  return settingsFrom(vscode.workspace.getConfiguration('teechat') as unknown as ConfigReader);
}

export function settingsFrom(c: ConfigReader): Settings {
  const ignored: string[] = [];
  const user = <T>(key: (typeof TRUST_SETTING_KEYS)[number]): T | undefined => {
    const r = userScopedValue<T>(c, key);
    if (r.setByWorkspace) ignored.push(key);
    return r.value;
  };
  const tcb = user<Record<string, unknown>>('trust.minimumTcb') ?? {};
  const minimumTcb: Record<string, number> = {};
  for (const [k, v] of Object.entries(tcb))
    if (TCB_KEYS.has(k) && typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255)
      minimumTcb[k] = v;
  const pathMode = c.get<string>('selection.includePath');
  const historyMode = c.get<string>('history.storage');
  const allowed = user<unknown>('trust.allowedMeasurements');
  const requireGpu = user<unknown>('trust.requireGpuEvidence');
  const allowDebug = user<unknown>('trust.allowDebug');
  const allowSimulated = user<unknown>('trust.allowSimulatedAttestation');
  return {
    serverUrl: (c.get<string>('serverUrl') ?? '').trim() || settingDefault('serverUrl'),
    serverUrlFromWorkspace: serverUrlFromWorkspace(c),
    connectTimeoutMs: num(c.get('connectTimeoutMs'), settingDefault('connectTimeoutMs')),
    trust: {
      allowedMeasurements: (Array.isArray(allowed) ? allowed : []).filter(
        (x): x is string => typeof x === 'string',
      ),
      minimumTcb,
      // Only an explicit boolean relaxes anything.
      requireGpuEvidence: requireGpu !== false,
      allowDebug: allowDebug === true,
      allowSimulated: allowSimulated === true,
      // Which repository's releases are trusted decides which values are accepted without a
      // prompt: only the user's own (global) settings may name it, never a workspace.
      releaseRepository: str(user<unknown>('release.repository')),
      releaseTrustedRoot: str(user<unknown>('release.trustedRoot')),
      releaseIssuer: str(user<unknown>('release.certificateOidcIssuer')),
      releaseAllowDowngradeTo: str(user<unknown>('release.allowDowngradeTo')),
      releaseMaxAgeDays: (() => {
        const v = user<unknown>('release.maxAgeDays');
        // Anything but a whole number of days from 0 to 3650 keeps the safe default.
        return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 3650
          ? v
          : DEFAULT_RELEASE_MAX_AGE_DAYS;
      })(),
    },
    ignoredWorkspaceTrust: ignored,
    selectionPath: oneOf(pathMode, PATH_MODES, settingDefault('selection.includePath')),
    historyMode: oneOf(historyMode, HISTORY_MODES, settingDefault('history.storage')),
    historyMax: Math.max(
      1,
      Math.floor(
        num(c.get('history.maxConversations'), settingDefault('history.maxConversations')),
      ),
    ),
    chat: {
      maxTokens: num(c.get('chat.maxTokens'), settingDefault('chat.maxTokens')),
      temperature: num(c.get('chat.temperature'), settingDefault('chat.temperature')),
    },
    systemPrompt: c.get<string>('chat.systemPrompt') ?? settingDefault('chat.systemPrompt'),
  };
}
