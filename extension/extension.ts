/**
 * Activation: cheap by design (≤ 50 ms budget, measured in bench/suites/extension.ts). It creates
 * the status bar item and registers commands, the panel serializer, the attestation document
 * provider, the chat participant and the language model provider; everything heavier (client,
 * crypto, chat panel, history) is loaded on first use through `runtime()`.
 */
import * as vscode from 'vscode';
import { IDLE_STATUS } from './status-format';
import type { StatusView } from '../ui-contract/messages';
import type { Runtime } from './runtime-types';
import type * as RuntimeModule from './runtime';
import { registerLanguageModel } from './lm-register';

export const ATTESTATION_SCHEME = 'teechat-attestation';

let runtimePromise: Promise<Runtime> | undefined;

/**
 * The runtime is a separate bundle (dist/extension-runtime.cjs, built from extension/runtime.ts by
 * esbuild.mjs) that is required on first use, so activation only parses this small file.
 */
function loadRuntimeModule(): typeof RuntimeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazily required sibling bundle
  return require('./extension-runtime.cjs') as typeof RuntimeModule;
}

export function applyStatus(item: vscode.StatusBarItem, s: StatusView): void {
  const icon = {
    idle: '$(shield)',
    connecting: '$(sync~spin)',
    verified: '$(verified-filled)',
    simulated: '$(warning)',
    failed: '$(error)',
    unreachable: '$(debug-disconnect)',
  }[s.state];
  item.text = `${icon} ${s.text}`;
  item.tooltip = s.detail;
  item.accessibilityInformation = { label: `TEEChat: ${s.text}. ${s.detail}`, role: 'button' };
  item.backgroundColor =
    s.state === 'failed' || s.state === 'unreachable'
      ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : s.warning || s.state === 'simulated'
        ? new vscode.ThemeColor('statusBarItem.warningBackground')
        : undefined;
}

export function activate(context: vscode.ExtensionContext): { runtime: () => Promise<Runtime> } {
  const item = vscode.window.createStatusBarItem(
    'teechat.status',
    vscode.StatusBarAlignment.Right,
    100,
  );
  item.name = 'TEEChat attestation';
  item.command = 'teechat.showAttestation';
  applyStatus(item, IDLE_STATUS);
  item.show();
  context.subscriptions.push(item);

  const runtime = (): Promise<Runtime> => {
    runtimePromise ??= Promise.resolve().then(() =>
      loadRuntimeModule().createRuntime(context, (s) => applyStatus(item, s)),
    );
    return runtimePromise;
  };
  const command = (id: string, run: (r: Runtime, ...args: unknown[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await run(await runtime(), ...args);
      } catch (e) {
        void vscode.window.showErrorMessage(
          `TEEChat: ${e instanceof Error ? e.message : String(e)}`,
        );
        return undefined;
      }
    });

  const changed = new vscode.EventEmitter<vscode.Uri>();
  let watching = false;
  context.subscriptions.push(
    changed,
    command('teechat.openChat', (r) => r.openChat()),
    command('teechat.newChat', (r) => r.newChat()),
    command('teechat.askAboutSelection', (r) => r.askAboutSelection()),
    command('teechat.showAttestation', (r) => r.showAttestation()),
    command('teechat.showAttestationSource', (r) => r.showAttestationSource()),
    command('teechat.exportEvidence', (r) => r.exportEvidence()),
    command('teechat.showReleaseLog', (r) => r.showReleaseLog()),
    command('teechat.reconnect', (r) => r.reconnect()),
    command('teechat.clearHistory', (r) => r.clearHistory()),
    vscode.workspace.registerTextDocumentContentProvider(ATTESTATION_SCHEME, {
      onDidChange: changed.event,
      provideTextDocumentContent: async (uri) => {
        const r = await runtime();
        // Keep the open report current: VS Code asks again after each change event.
        if (!watching) {
          watching = true;
          r.watchAttestation(() => changed.fire(uri));
        }
        return r.attestationDocument();
      },
    }),
    vscode.window.registerWebviewPanelSerializer('teechat.chat', {
      deserializeWebviewPanel: async (panel, state) => {
        (await runtime()).revivePanel(panel, state);
      },
    }),
    vscode.window.registerWebviewPanelSerializer('teechat.report', {
      deserializeWebviewPanel: async (panel) => {
        (await runtime()).reviveReport(panel);
      },
    }),
  );
  registerLanguageModel(context, runtime);
  return { runtime };
}

export function deactivate(): Promise<void> | undefined {
  return runtimePromise?.then((r) => r.dispose());
}
