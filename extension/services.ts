/**
 * Everything the extension builds on first use (lazy-loaded by extension.ts so activation stays
 * cheap): settings, the session manager with its trust prompt, history stores, the attestation
 * document provider and the commands' implementations.
 */
import * as vscode from 'vscode';
import type { Settings } from './config';
import { readSettings } from './config';
import type { HistoryStore } from './history';
import { MementoHistory, MemoryHistory } from './history';
import { SessionManager } from './session-manager';
import { trustPromptDetail } from './trust';
import type { KnownMeasurementStore, MeasurementPrompt, TrustAnswer } from './trust';
import type { ConnectFn } from './types';

export interface Services {
  readonly extensionUri: vscode.Uri;
  readonly context: vscode.ExtensionContext;
  readonly sessions: SessionManager;
  settings(): Settings;
  history(): HistoryStore;
  lastEditor(): vscode.TextEditor | undefined;
  log(line: string): void;
}

const KNOWN_KEY = 'teechat.knownMeasurements';

/** known_hosts-like store in globalState: { [serverUrl]: measurements, newest first }. */
export class GlobalStateMeasurementStore implements KnownMeasurementStore {
  constructor(private readonly state: vscode.Memento) {}
  private all(): Record<string, string[]> {
    const v = this.state.get<Record<string, string[]>>(KNOWN_KEY);
    return v && typeof v === 'object' ? v : {};
  }
  get(serverUrl: string): readonly string[] {
    const v = this.all()[serverUrl];
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  }
  async add(serverUrl: string, measurement: string): Promise<void> {
    const all = this.all();
    all[serverUrl] = [
      measurement,
      ...(all[serverUrl] ?? []).filter((x) => x !== measurement),
    ].slice(0, 20);
    await this.state.update(KNOWN_KEY, all);
  }
}

/** The unknown-measurement prompt: modal, shows the value and what it differs from. */
export async function askTrust(p: MeasurementPrompt): Promise<TrustAnswer> {
  const detail = trustPromptDetail(p);
  // Cancel comes first so that it is the default button: Enter or Escape never trusts.
  const cancel: vscode.MessageItem = { title: 'Cancel', isCloseAffordance: true };
  const once: vscode.MessageItem = { title: 'Trust Once' };
  const always: vscode.MessageItem = { title: 'Trust Always' };
  const pick = await vscode.window.showWarningMessage(
    'TEEChat: unknown enclave launch measurement',
    { modal: true, detail },
    cancel,
    once,
    always,
  );
  return pick === always ? 'always' : pick === once ? 'once' : 'cancel';
}

export function createServices(
  context: vscode.ExtensionContext,
  connect: ConnectFn,
  output: vscode.OutputChannel,
): Services {
  let lastEditor = vscode.window.activeTextEditor;
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor((e) => {
      if (e) lastEditor = e;
    }),
  );
  let cached: { mode: string; max: number; store: HistoryStore } | null = null;
  const memory = new MemoryHistory();
  const log = (line: string): void => output.appendLine(`[${new Date().toISOString()}] ${line}`);
  const sessions = new SessionManager({
    connect,
    settings: () => {
      const s = readSettings();
      return {
        serverUrl: s.serverUrl,
        trust: s.trust,
        connectTimeoutMs: s.connectTimeoutMs,
        serverUrlFromWorkspace: s.serverUrlFromWorkspace,
        ignoredWorkspaceTrust: s.ignoredWorkspaceTrust,
      };
    },
    store: new GlobalStateMeasurementStore(context.globalState),
    askTrust,
    log,
    notify: (text) => void vscode.window.showWarningMessage(text),
  });
  context.subscriptions.push({ dispose: () => sessions.dispose() });
  return {
    extensionUri: context.extensionUri,
    context,
    sessions,
    settings: readSettings,
    history() {
      const s = readSettings();
      if (!cached || cached.mode !== s.historyMode || cached.max !== s.historyMax) {
        const store =
          s.historyMode === 'none'
            ? memory
            : new MementoHistory(
                s.historyMode === 'workspace' ? context.workspaceState : context.globalState,
                s.historyMax,
              );
        cached = { mode: s.historyMode, max: s.historyMax, store };
      }
      return cached.store;
    },
    lastEditor: () => lastEditor,
    log,
  };
}
