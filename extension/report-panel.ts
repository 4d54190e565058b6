/**
 * The attestation report as a webview panel: the same document as the `teechat-attestation:`
 * Markdown (extension/attestation-report.ts) rendered by extension/report-html.ts, with a Copy
 * button next to every value and `teechat measure …` command. One panel, re-rendered whenever the
 * session changes. Messages from the page are untrusted: only a `copy` request for a value this
 * panel rendered is honoured. After a window reload VS Code restores the panel through its
 * serializer (`revive`) and it is rendered again from the current session.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { isReportRequest } from '../ui-contract/report';
import { makeNonce } from './chat-html';
import { reportHtml } from './report-html';

export const REPORT_VIEW_TYPE = 'teechat.report';
export const REPORT_TITLE = 'TEEChat Attestation Report';

export class ReportPanel {
  private static current: ReportPanel | undefined;
  private copyable: ReadonlySet<string> = new Set();
  private disposed = false;
  private readonly disposables: vscode.Disposable[] = [];

  /** Shows (or reveals and refreshes) the report panel. */
  static show(extensionUri: vscode.Uri, render: () => string): ReportPanel {
    if (ReportPanel.current) {
      ReportPanel.current.panel.reveal(undefined, false);
      ReportPanel.current.refresh();
      return ReportPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      REPORT_VIEW_TYPE,
      REPORT_TITLE,
      vscode.ViewColumn.Active,
      {
        enableScripts: true,
        enableCommandUris: false,
        localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')],
      },
    );
    ReportPanel.current = new ReportPanel(panel, extensionUri, render);
    return ReportPanel.current;
  }

  /**
   * Takes over a report panel VS Code restored after a window reload (its serializer): the page is
   * rendered again from the current session, never from anything the old page stored.
   */
  static revive(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    render: () => string,
  ): ReportPanel {
    ReportPanel.current?.dispose();
    panel.webview.options = {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')],
    };
    ReportPanel.current = new ReportPanel(panel, extensionUri, render);
    return ReportPanel.current;
  }

  /** Re-renders the open panel, if any (the session changed). */
  static refreshOpen(): void {
    ReportPanel.current?.refresh();
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly render: () => string,
  ) {
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
    );
    this.refresh();
  }

  refresh(): void {
    const nonce = makeNonce((n) => new Uint8Array(randomBytes(n)));
    const script = this.panel.webview.asWebviewUri(
      vscode.Uri.joinPath(this.extensionUri, 'dist', 'report.js'),
    );
    const r = reportHtml({
      cspSource: this.panel.webview.cspSource,
      nonce,
      scriptUri: script.toString(),
      markdown: this.render(),
      title: REPORT_TITLE,
    });
    this.copyable = r.copyable;
    this.panel.webview.html = r.html;
  }

  private async onMessage(m: unknown): Promise<void> {
    if (!isReportRequest(m) || !this.copyable.has(m.value)) return;
    await vscode.env.clipboard.writeText(m.value);
    const short = m.value.length > 24 ? `${m.value.slice(0, 12)}…${m.value.slice(-8)}` : m.value;
    vscode.window.setStatusBarMessage(`TEEChat: copied ${short}`, 4000);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (ReportPanel.current === this) ReportPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
