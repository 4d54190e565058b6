/**
 * The lazily loaded part of the extension: builds the services on first use and implements the
 * commands. Loaded by extension.ts through a dynamic import so activation does not pay for it.
 */
import * as vscode from 'vscode';
import type { StatusView } from '../ui-contract/messages';
import { renderAttestationDocument } from './attestation-report';
import { ChatPanel } from './chat-panel';
import { ReportPanel } from './report-panel';
import {
  connectWithClient,
  readBundledRelease,
  setBundledRelease,
  setReleaseStore,
} from './client-adapter';
import { ReleaseState } from '../client/release/state';
import { renderReleaseLog } from './attestation-report';
import { buildEvidenceBundle } from './evidence-export';
import { DEFAULT_QUESTION, selectionPrompt } from './selection';
import { createServices } from './services';
import type { Runtime } from './runtime-types';

export const ATTESTATION_URI = vscode.Uri.parse(
  'teechat-attestation:/TEEChat%20Attestation%20Report.md',
);

export function createRuntime(
  context: vscode.ExtensionContext,
  applyStatus: (s: StatusView) => void,
): Runtime {
  const output = vscode.window.createOutputChannel('TEEChat');
  context.subscriptions.push(output);
  // Rollback state for signed releases (highest version per signer, accepted log): globalState.
  setReleaseStore(context.globalState);
  // The release manifest + bundle shipped in the .vsix, for servers that offer none (read per connect).
  setBundledRelease(() => readBundledRelease(context.extensionUri.fsPath));
  const services = createServices(context, connectWithClient, output);
  const watchers = new Set<() => void>();
  const renderReport = (): string =>
    renderAttestationDocument(services.sessions.snapshot, services.settings().trust, new Date());
  context.subscriptions.push(
    services.sessions.onDidChange((snap) => {
      applyStatus(snap.status);
      for (const w of watchers) w();
      ReportPanel.refreshOpen();
    }),
  );
  applyStatus(services.sessions.snapshot.status);
  // A changed server or trust policy applies at once: the next use connects and verifies again.
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (
        e.affectsConfiguration('teechat.serverUrl') ||
        e.affectsConfiguration('teechat.trust') ||
        e.affectsConfiguration('teechat.release')
      ) {
        output.appendLine('settings changed: dropping the session; the next use verifies again');
        void services.sessions.disconnect();
      }
    }),
  );

  return {
    services,
    openChat() {
      ChatPanel.show(services);
    },
    async newChat() {
      const p = ChatPanel.show(services);
      await p.controller.newChat();
    },
    async askAboutSelection() {
      const editor = vscode.window.activeTextEditor ?? services.lastEditor();
      if (!editor) {
        void vscode.window.showWarningMessage('TEEChat: select some code in an editor first.');
        return;
      }
      const doc = editor.document;
      const sel = editor.selection;
      const range = sel.isEmpty ? doc.lineAt(sel.active.line).range : sel;
      const text = doc.getText(range);
      if (text.trim() === '') {
        void vscode.window.showWarningMessage('TEEChat: the selection is empty.');
        return;
      }
      const question = await vscode.window.showInputBox({
        title: 'Ask Privately About Selection',
        prompt: `Your question about the selected ${doc.languageId} code (sent end-to-end encrypted to the verified enclave)`,
        value: DEFAULT_QUESTION,
        valueSelection: [0, DEFAULT_QUESTION.length],
      });
      if (question === undefined) return;
      const s = services.settings();
      const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
      const prompt = selectionPrompt(
        {
          text,
          languageId: doc.languageId,
          filePath: doc.isUntitled ? '' : doc.uri.path,
          ...(folder ? { relativePath: vscode.workspace.asRelativePath(doc.uri, false) } : {}),
          startLine: range.start.line + 1,
          endLine:
            range.end.line +
            1 -
            (range.end.character === 0 && range.end.line > range.start.line ? 1 : 0),
          question,
        },
        s.selectionPath,
      );
      const panel = ChatPanel.show(services);
      await panel.ask(prompt);
    },
    showAttestation() {
      // A webview rendering of the report document with Copy buttons (extension/report-panel.ts).
      ReportPanel.show(context.extensionUri, renderReport);
      return Promise.resolve();
    },
    reviveReport(panel) {
      ReportPanel.revive(panel, context.extensionUri, renderReport);
    },
    async showAttestationSource() {
      // The same report as Markdown text (kept current by the `teechat-attestation:` provider): to
      // save, diff or paste it whole.
      const doc = await vscode.workspace.openTextDocument(ATTESTATION_URI);
      await vscode.window.showTextDocument(doc, { preview: true });
    },
    async showReleaseLog() {
      const doc = await vscode.workspace.openTextDocument({
        language: 'markdown',
        content: renderReleaseLog(new ReleaseState(context.globalState).log()),
      });
      try {
        await vscode.commands.executeCommand('markdown.showPreview', doc.uri);
      } catch {
        await vscode.window.showTextDocument(doc, { preview: true });
      }
    },
    async exportEvidence() {
      const snap = services.sessions.snapshot;
      if (!snap.attestation) {
        void vscode.window.showWarningMessage(
          'TEEChat: no evidence yet. Connect first (send a message or run "TEEChat: Reconnect").',
        );
        return;
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const base =
        vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(process.env.HOME ?? '/');
      const uri = await vscode.window.showSaveDialog({
        title: 'Export TEEChat evidence bundle',
        defaultUri: vscode.Uri.joinPath(base, `teechat-evidence-${stamp}.json`),
        filters: { 'TEEChat evidence': ['json'] },
      });
      if (!uri) return;
      const json = JSON.stringify(
        buildEvidenceBundle(snap.serverUrl, snap.attestation, new Date()),
        null,
        2,
      );
      await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(json + '\n'));
      void vscode.window.showInformationMessage(
        `TEEChat: evidence exported to ${uri.fsPath} (format teechat-evidence/1; see docs/EXTENSION.md for offline verification with teechat attest verify).`,
      );
    },
    async reconnect() {
      try {
        await services.sessions.reconnect();
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        const pick = await vscode.window.showErrorMessage(
          `TEEChat: ${msg}`,
          'Show Attestation Report',
          'Retry',
        );
        if (pick === 'Retry') await vscode.commands.executeCommand('teechat.reconnect');
        else if (pick === 'Show Attestation Report')
          await vscode.commands.executeCommand('teechat.showAttestation');
      }
    },
    async clearHistory() {
      const yes = 'Clear History';
      const pick = await vscode.window.showWarningMessage(
        'TEEChat: delete all saved conversations on this machine?',
        { modal: true },
        yes,
      );
      if (pick !== yes) return;
      await services.history().clear();
      for (const p of ChatPanel.all()) await p.controller.newChat();
      void vscode.window.showInformationMessage('TEEChat: conversation history cleared.');
    },
    attestationDocument() {
      return renderAttestationDocument(
        services.sessions.snapshot,
        services.settings().trust,
        new Date(),
      );
    },
    watchAttestation(fire) {
      watchers.add(fire);
    },
    revivePanel(panel, state) {
      ChatPanel.revive(panel, services, state);
    },
    dispose() {
      for (const p of ChatPanel.all()) p.dispose();
      services.sessions.dispose();
    },
  };
}
