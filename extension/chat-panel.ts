/**
 * One chat panel (webview) and its host-side controller. Follows the webview sample: one class per
 * panel, HTML with a strict CSP and a fresh nonce, state restore through a WebviewPanelSerializer
 * (extension/extension.ts registers it). Messages are validated (`isWebviewRequest`) because the
 * webview is treated as untrusted input; nothing sent to it contains keys or raw evidence.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type {
  HostEvent,
  HostMessage,
  RequestMap,
  WebviewPersistedState,
  WebviewRequest,
} from '../ui-contract/messages';
import { isWebviewRequest } from '../ui-contract/messages';
import { ChatController } from './chat-controller';
import { chatHtml, makeNonce } from './chat-html';
import type { Services } from './services';

export const CHAT_VIEW_TYPE = 'teechat.chat';

export class ChatPanel {
  private static readonly panels = new Set<ChatPanel>();
  private static lastActive: ChatPanel | undefined;

  readonly controller: ChatController;
  private ready = false;
  private queue: HostMessage[] = [];
  private readonly disposables: vscode.Disposable[] = [];

  /** The panel that was active most recently, or a new one. */
  static show(services: Services, preserveFocus = false): ChatPanel {
    const existing = ChatPanel.lastActive ?? [...ChatPanel.panels].at(-1);
    if (existing) {
      existing.panel.reveal(undefined, preserveFocus);
      return existing;
    }
    return ChatPanel.create(services);
  }

  static create(services: Services): ChatPanel {
    const panel = vscode.window.createWebviewPanel(
      CHAT_VIEW_TYPE,
      'TEEChat',
      vscode.ViewColumn.Beside,
      ChatPanel.options(services.extensionUri),
    );
    return new ChatPanel(panel, services);
  }

  static revive(panel: vscode.WebviewPanel, services: Services, state: unknown): ChatPanel {
    const id =
      typeof state === 'object' &&
      state !== null &&
      typeof (state as WebviewPersistedState).conversationId === 'string'
        ? (state as WebviewPersistedState).conversationId
        : undefined;
    panel.webview.options = ChatPanel.options(services.extensionUri);
    return new ChatPanel(panel, services, id);
  }

  static all(): readonly ChatPanel[] {
    return [...ChatPanel.panels];
  }

  private static options(
    extensionUri: vscode.Uri,
  ): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')],
      retainContextWhenHidden: true,
    };
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly services: Services,
    conversationId?: string,
  ) {
    ChatPanel.panels.add(this);
    ChatPanel.lastActive = this;
    this.controller = new ChatController(
      {
        getSession: () => services.sessions.getSession(),
        status: () => services.sessions.snapshot.status,
        history: services.history(),
        post: (e) => this.event(e),
        params: () => services.settings().chat,
        systemPrompt: () => services.settings().systemPrompt || undefined,
      },
      conversationId,
    );
    panel.title =
      this.controller.conversation.title === 'New chat'
        ? 'TEEChat'
        : `TEEChat: ${this.controller.conversation.title}`;
    const nonce = makeNonce((n) => new Uint8Array(randomBytes(n)));
    const script = panel.webview.asWebviewUri(
      vscode.Uri.joinPath(services.extensionUri, 'dist', 'webview.js'),
    );
    panel.webview.html = chatHtml({
      cspSource: panel.webview.cspSource,
      nonce,
      scriptUri: script.toString(),
    });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m)),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.active) ChatPanel.lastActive = this;
      }),
      panel.onDidDispose(() => this.dispose()),
      services.sessions.onDidChange((snap) => this.event({ type: 'status', status: snap.status })),
    );
  }

  /** Puts a question into this panel's conversation and starts the answer. */
  async ask(text: string): Promise<void> {
    this.panel.reveal(undefined, false);
    await this.controller.send(text);
    this.updateTitle();
  }

  private updateTitle(): void {
    const t = this.controller.conversation.title;
    this.panel.title = t === 'New chat' ? 'TEEChat' : `TEEChat: ${t}`;
  }

  private event(e: HostEvent): void {
    this.postRaw({ kind: 'event', event: e });
  }

  private postRaw(m: HostMessage): void {
    if (!this.ready) {
      // Before `ready`, only replies matter; events are superseded by the init state.
      if (m.kind === 'reply') this.queue.push(m);
      return;
    }
    void this.panel.webview.postMessage(m);
  }

  private async onMessage(m: unknown): Promise<void> {
    if (!isWebviewRequest(m)) {
      this.services.log('ignored a malformed message from the webview');
      return;
    }
    if (m.method === 'ready') {
      // Synchronous on purpose: the init state and the switch to "ready" happen in one turn, so
      // no event can fall between the snapshot and the first event the webview receives.
      const init = this.controller.init();
      this.ready = true;
      void this.panel.webview.postMessage({
        kind: 'reply',
        id: m.id,
        ok: true,
        result: init,
      } satisfies HostMessage);
      for (const q of this.queue.splice(0)) void this.panel.webview.postMessage(q);
      return;
    }
    try {
      const result = await this.handle(m);
      this.postRaw({ kind: 'reply', id: m.id, ok: true, result });
    } catch (e) {
      this.postRaw({
        kind: 'reply',
        id: m.id,
        ok: false,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  private async handle(m: WebviewRequest): Promise<RequestMap[typeof m.method]['result']> {
    const c = this.controller;
    switch (m.method) {
      case 'ready':
        return c.init();
      case 'send': {
        const messageId = await c.send(m.params.text);
        this.updateTitle();
        return { messageId };
      }
      case 'stop':
        return { stopped: await c.stop() };
      case 'regenerate':
        return { messageId: await c.regenerate() };
      case 'newChat': {
        const r = await c.newChat();
        this.updateTitle();
        return r;
      }
      case 'openConversation': {
        const r = await c.open(m.params.id);
        this.updateTitle();
        return r;
      }
      case 'copyCode':
        await vscode.env.clipboard.writeText(m.params.code);
        return { ok: true };
      case 'insertCode': {
        const editor = this.services.lastEditor();
        if (!editor) {
          void vscode.window.showWarningMessage(
            'TEEChat: open a text editor to insert the code into.',
          );
          return { ok: false };
        }
        const ok = await editor.edit((b) => {
          for (const sel of editor.selections) b.replace(sel, m.params.code);
        });
        await vscode.window.showTextDocument(editor.document, editor.viewColumn);
        return { ok };
      }
      case 'openCode': {
        const doc = await vscode.workspace.openTextDocument({
          content: m.params.code,
          language: m.params.language || 'plaintext',
        });
        await vscode.window.showTextDocument(doc, {
          preview: false,
          viewColumn: vscode.ViewColumn.One,
        });
        return { ok: true };
      }
      case 'showAttestation':
        await vscode.commands.executeCommand('teechat.showAttestation');
        return { ok: true };
      case 'reconnect':
        await vscode.commands.executeCommand('teechat.reconnect');
        return { ok: true };
    }
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    ChatPanel.panels.delete(this);
    if (ChatPanel.lastActive === this) ChatPanel.lastActive = undefined;
    void this.controller.stop();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
