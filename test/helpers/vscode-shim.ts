/**
 * A small fake of the `vscode` module for unit tests and the activation benchmark: records
 * registrations (commands, providers, serializers, participants), keeps a status bar item's
 * properties, serves configuration from a plain object, and lets tests answer prompts.
 * Only what the extension uses is implemented; anything else is absent on purpose.
 */
type Listener<T> = (e: T) => unknown;

export class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private ls = new Set<Listener<T>>();
  readonly event = (l: Listener<T>): Disposable => {
    this.ls.add(l);
    return new Disposable(() => this.ls.delete(l));
  };
  fire(e: T): void {
    for (const l of [...this.ls]) l(e);
  }
  dispose(): void {
    this.ls.clear();
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static parse(s: string): Uri {
    const i = s.indexOf(':');
    return new Uri(s.slice(0, i), decodeURIComponent(s.slice(i + 1)));
  }
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static joinPath(u: Uri, ...parts: string[]): Uri {
    return new Uri(u.scheme, [u.path.replace(/\/$/, ''), ...parts].join('/'));
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}:${this.path}`;
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}
export class ThemeIcon {
  constructor(readonly id: string) {}
}
export class LanguageModelTextPart {
  constructor(readonly value: string) {}
}
export class ChatRequestTurn {
  constructor(
    readonly prompt: string,
    readonly participant: string,
  ) {}
}
export class ChatResponseMarkdownPart {
  readonly value: { value: string };
  constructor(v: string) {
    this.value = { value: v };
  }
}
export class ChatResponseTurn {
  constructor(
    readonly response: unknown[],
    readonly participant: string,
  ) {}
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}
export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
}

export interface FakeStatusBarItem {
  id: string;
  text: string;
  tooltip: unknown;
  command: unknown;
  name: string;
  backgroundColor: ThemeColor | undefined;
  accessibilityInformation: unknown;
  visible: boolean;
  show(): void;
  hide(): void;
  dispose(): void;
}

/** Everything the fake records; reset with `resetShim()`. */
export const shim = {
  commands: new Map<string, (...a: unknown[]) => unknown>(),
  statusItems: [] as FakeStatusBarItem[],
  contentProviders: new Map<string, { provideTextDocumentContent(u: Uri): unknown }>(),
  serializers: new Map<string, unknown>(),
  participants: [] as { id: string; handler: unknown; iconPath?: unknown; dispose(): void }[],
  lmProviders: [] as { vendor: string; provider: unknown }[],
  /** User (global) settings, e.g. `teechat.serverUrl`. */
  config: {} as Record<string, unknown>,
  /** Workspace settings (`.vscode/settings.json`); `get()` prefers them, as VS Code does. */
  workspaceConfig: {} as Record<string, unknown>,
  messages: [] as { level: string; text: string }[],
  /** Answer for showWarningMessage/showInformationMessage/showErrorMessage prompts. */
  answer: undefined as string | undefined,
  lmApi: true,
  chatApi: true,
  panels: [] as FakeWebviewPanel[],
  opened: [] as unknown[],
  /** Documents passed to window.showTextDocument. */
  shown: [] as unknown[],
  clipboard: [] as string[],
  statusMessages: [] as string[],
};

export function resetShim(): void {
  shim.commands.clear();
  shim.statusItems.length = 0;
  shim.contentProviders.clear();
  shim.serializers.clear();
  shim.participants.length = 0;
  shim.lmProviders.length = 0;
  shim.config = {};
  shim.workspaceConfig = {};
  shim.messages.length = 0;
  shim.answer = undefined;
  shim.lmApi = true;
  shim.chatApi = true;
  shim.panels.length = 0;
  shim.opened.length = 0;
  shim.shown.length = 0;
  shim.clipboard.length = 0;
  shim.statusMessages.length = 0;
}

const say =
  (level: string) =>
  async (text: string, ..._rest: unknown[]): Promise<string | undefined> => {
    shim.messages.push({ level, text });
    return shim.answer;
  };

export interface FakeWebviewPanel {
  viewType: string;
  title: string;
  iconPath: unknown;
  visible: boolean;
  active: boolean;
  revealed: number;
  disposed: boolean;
  readonly posted: unknown[];
  readonly webview: {
    html: string;
    options: unknown;
    readonly cspSource: string;
    asWebviewUri(u: Uri): Uri;
    postMessage(m: unknown): Promise<boolean>;
    onDidReceiveMessage: EventEmitter<unknown>['event'];
  };
  /** Test side: deliver a message from the webview. */
  receive(m: unknown): void;
  reveal(): void;
  onDidDispose: EventEmitter<void>['event'];
  onDidChangeViewState: EventEmitter<unknown>['event'];
  dispose(): void;
}

export function fakeWebviewPanel(viewType: string, title: string): FakeWebviewPanel {
  const received = new EventEmitter<unknown>();
  const disposed = new EventEmitter<void>();
  const viewState = new EventEmitter<unknown>();
  const posted: unknown[] = [];
  const panel: FakeWebviewPanel = {
    viewType,
    title,
    iconPath: undefined,
    visible: true,
    active: true,
    revealed: 0,
    disposed: false,
    posted,
    webview: {
      html: '',
      options: undefined,
      cspSource: 'https://webview.test',
      asWebviewUri: (u: Uri) => Uri.parse(`https://webview.test${u.path}`),
      postMessage: async (m: unknown) => {
        posted.push(JSON.parse(JSON.stringify(m)));
        return true;
      },
      onDidReceiveMessage: received.event,
    },
    receive: (m) => received.fire(m),
    reveal() {
      panel.revealed++;
    },
    onDidDispose: disposed.event,
    onDidChangeViewState: viewState.event,
    dispose() {
      if (panel.disposed) return;
      panel.disposed = true;
      disposed.fire();
    },
  };
  shim.panels.push(panel);
  return panel;
}

export const window = {
  activeTextEditor: undefined as unknown,
  createWebviewPanel(
    viewType: string,
    title: string,
    _column: unknown,
    options?: unknown,
  ): FakeWebviewPanel {
    const p = fakeWebviewPanel(viewType, title);
    p.webview.options = options;
    return p;
  },
  createStatusBarItem(id: string): FakeStatusBarItem {
    const item: FakeStatusBarItem = {
      id,
      text: '',
      tooltip: undefined,
      command: undefined,
      name: '',
      backgroundColor: undefined,
      accessibilityInformation: undefined,
      visible: false,
      show() {
        item.visible = true;
      },
      hide() {
        item.visible = false;
      },
      dispose() {
        item.visible = false;
      },
    };
    shim.statusItems.push(item);
    return item;
  },
  createOutputChannel(_name: string) {
    const lines: string[] = [];
    return { lines, appendLine: (l: string) => lines.push(l), dispose: () => undefined };
  },
  registerWebviewPanelSerializer(viewType: string, s: unknown): Disposable {
    shim.serializers.set(viewType, s);
    return new Disposable(() => shim.serializers.delete(viewType));
  },
  setStatusBarMessage(text: string, _ms?: number): Disposable {
    shim.statusMessages.push(text);
    return new Disposable(() => undefined);
  },
  onDidChangeActiveTextEditor: new EventEmitter<unknown>().event,
  showWarningMessage: say('warning'),
  showInformationMessage: say('info'),
  showErrorMessage: say('error'),
  async showTextDocument(doc: unknown): Promise<unknown> {
    shim.shown.push(doc);
    return { document: doc };
  },
};

export const commands = {
  registerCommand(id: string, fn: (...a: unknown[]) => unknown): Disposable {
    if (shim.commands.has(id)) throw new Error(`command ${id} already registered`);
    shim.commands.set(id, fn);
    return new Disposable(() => shim.commands.delete(id));
  },
  async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
    const fn = shim.commands.get(id);
    if (!fn) throw new Error(`command ${id} not found`);
    return fn(...args);
  },
};

/** Fire with `fireConfigChange('teechat.serverUrl')` after changing `shim.config`. */
const configChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();
export function fireConfigChange(key: string): void {
  configChanged.fire({ affectsConfiguration: (s: string) => key === s || key.startsWith(`${s}.`) });
}

export const workspace = {
  getConfiguration(section: string) {
    return {
      get<T>(key: string, dflt?: T): T | undefined {
        const k = `${section}.${key}`;
        const v = shim.workspaceConfig[k] ?? shim.config[k];
        return (v === undefined ? dflt : v) as T | undefined;
      },
      /** User (global) values come from `config`; workspace values from `workspaceConfig` (or a
       *  `workspace:KEY` entry in `config`). */
      inspect<T>(key: string) {
        const k = `${section}.${key}`;
        return {
          key: k,
          globalValue: shim.config[k] as T | undefined,
          workspaceValue: (shim.workspaceConfig[k] ?? shim.config[`workspace:${k}`]) as
            T | undefined,
        };
      },
    };
  },
  registerTextDocumentContentProvider(
    scheme: string,
    p: { provideTextDocumentContent(u: Uri): unknown },
  ): Disposable {
    shim.contentProviders.set(scheme, p);
    return new Disposable(() => shim.contentProviders.delete(scheme));
  },
  onDidOpenTextDocument: new EventEmitter<unknown>().event,
  onDidChangeConfiguration: configChanged.event,
  async openTextDocument(
    arg: Uri | { content: string; language?: string },
  ): Promise<{ uri?: Uri; getText(): string }> {
    if (arg instanceof Uri) {
      const p = shim.contentProviders.get(arg.scheme);
      if (!p) throw new Error(`no provider for ${arg.scheme}`);
      const text = String(await p.provideTextDocumentContent(arg));
      return { uri: arg, getText: () => text };
    }
    shim.opened.push(arg);
    return { getText: () => arg.content };
  },
  workspaceFolders: undefined as unknown,
  getWorkspaceFolder: () => undefined,
  asRelativePath: (u: Uri) => u.path,
  fs: { writeFile: async () => undefined },
};

/** Clipboard writes and status bar messages are recorded in `shim.clipboard` / `shim.statusMessages`. */
export const env = {
  clipboard: {
    writeText: async (t: string): Promise<void> => {
      shim.clipboard.push(t);
    },
  },
};

export const chat = {
  createChatParticipant(id: string, handler: unknown) {
    const p = { id, handler, iconPath: undefined as unknown, dispose: () => undefined };
    shim.participants.push(p);
    return p;
  },
};

export const lm = {
  registerLanguageModelChatProvider(vendor: string, provider: unknown): Disposable {
    shim.lmProviders.push({ vendor, provider });
    return new Disposable();
  },
};

/** The module object the extension sees; `chat` / `lm.registerLanguageModelChatProvider` can be hidden. */
export function moduleObject(): Record<string, unknown> {
  const m: Record<string, unknown> = {
    Disposable,
    EventEmitter,
    Uri,
    ThemeColor,
    ThemeIcon,
    LanguageModelTextPart,
    ChatRequestTurn,
    ChatResponseTurn,
    ChatResponseMarkdownPart,
    StatusBarAlignment,
    ViewColumn,
    window,
    commands,
    workspace,
    env,
    lm: shim.lmApi ? lm : {},
  };
  if (shim.chatApi) m.chat = chat;
  return m;
}

export function fakeContext(): {
  subscriptions: { dispose(): void }[];
  extensionUri: Uri;
  globalState: FakeMemento;
  workspaceState: FakeMemento;
} {
  return {
    subscriptions: [],
    extensionUri: Uri.file('/ext'),
    globalState: new FakeMemento(),
    workspaceState: new FakeMemento(),
  };
}

export class FakeMemento {
  readonly map = new Map<string, unknown>();
  get<T>(k: string): T | undefined {
    return this.map.get(k) as T | undefined;
  }
  async update(k: string, v: unknown): Promise<void> {
    if (v === undefined) this.map.delete(k);
    else this.map.set(k, v);
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
}
