/**
 * The chat webview: renders the conversation the host owns, streams answers incrementally, and
 * sends the user's actions to the host as typed requests (webview/messages.ts). It never holds
 * keys, evidence or any protocol state; errors arrive as notices and are rendered as alerts,
 * visually and semantically distinct from model output.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type {
  ChatMessage,
  ChatNotice,
  ConversationSummary,
  HostEvent,
  HostMessage,
  InitState,
  MessageState,
  RequestMap,
  RequestMethod,
  StatusView,
  TranscriptEntry,
  WebviewPersistedState,
} from './messages';
import { ERROR_TITLES } from './messages';
import { StreamingMarkdown } from './markdown';
import { STYLES } from './styles';

interface VsCodeApi {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const doc = document;

// ---------------------------------------------------------------------------------------------
// request / reply

let nextId = 1;
const pendingReplies = new Map<
  number,
  { resolve: (v: unknown) => void; reject: (e: Error) => void }
>();

function request<M extends RequestMethod>(
  method: M,
  params: RequestMap[M]['params'],
): Promise<RequestMap[M]['result']> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pendingReplies.set(id, { resolve: resolve as (v: unknown) => void, reject });
    vscode.postMessage({ kind: 'request', id, method, params });
  });
}

// ---------------------------------------------------------------------------------------------
// DOM skeleton

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function button(
  label: string,
  aria: string,
  onClick: () => void,
  opts: { secondary?: boolean; id?: string } = {},
): HTMLElement {
  const b = doc.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('aria-label', aria);
  b.setAttribute('title', aria);
  if (opts.secondary) b.setAttribute('secondary', '');
  if (opts.id) b.id = opts.id;
  b.addEventListener('click', onClick);
  return b;
}

const style = doc.createElement('style');
// The CSP admits styles by nonce only: reuse the nonce of the script that loaded this bundle.
style.nonce = (doc.currentScript as HTMLScriptElement | null)?.nonce ?? '';
style.textContent = STYLES;
doc.head.appendChild(style);

const app = doc.getElementById('app') ?? doc.body.appendChild(h('div', { id: 'app' }));
const statusEl = h('button', {
  id: 'status',
  class: 'status idle',
  'aria-label': 'Attestation status. Activate to show the attestation report.',
  type: 'button',
});
statusEl.addEventListener('click', () => void request('showAttestation', {}));
const historySelect = doc.createElement('vscode-single-select');
historySelect.id = 'history';
historySelect.setAttribute('aria-label', 'Conversation history');
historySelect.addEventListener('change', () => {
  const id = (historySelect as unknown as { value: string }).value;
  if (id && id !== currentId) void request('openConversation', { id }).then(load);
});
const newChatBtn = button(
  'New Chat',
  'Start a new chat',
  () => void request('newChat', {}).then(load),
  { secondary: true, id: 'new-chat' },
);
const header = h('header', { class: 'toolbar' }, statusEl, historySelect, newChatBtn);
const transcript = h('main', {
  id: 'transcript',
  role: 'log',
  'aria-label': 'Conversation',
  'aria-live': 'polite',
  'aria-relevant': 'additions',
});
const emptyHint = h(
  'p',
  { class: 'empty' },
  'Ask anything. Your message is end-to-end encrypted to a verified confidential enclave.',
);
const input = doc.createElement('vscode-textarea') as HTMLElement & {
  value: string;
  focus(): void;
};
input.id = 'input';
input.setAttribute(
  'aria-label',
  'Message to the private model (Enter to send, Shift+Enter for a new line)',
);
input.setAttribute('placeholder', 'Ask privately… (Enter to send, Shift+Enter for a new line)');
input.setAttribute('rows', '3');
input.setAttribute('resize', 'vertical');
const sendBtn = button('Send', 'Send message', () => void send(), { id: 'send' });
const stopBtn = button('Stop', 'Stop generating', () => void request('stop', {}), {
  secondary: true,
  id: 'stop',
});
const regenBtn = button(
  'Regenerate',
  'Regenerate the last answer',
  () => void request('regenerate', {}),
  { secondary: true, id: 'regenerate' },
);
const queuedEl = h('span', { id: 'queued', class: 'queued', role: 'status' });
const footer = h(
  'footer',
  { class: 'composer' },
  input,
  h('div', { class: 'actions' }, sendBtn, stopBtn, regenBtn, queuedEl),
);
app.append(header, transcript, footer);

// ---------------------------------------------------------------------------------------------
// state

let currentId = '';
let streamingId: string | null = null;
const renderers = new Map<string, StreamingMarkdown>();
let scrollScheduled = false;

function persist(): void {
  const s: WebviewPersistedState = { conversationId: currentId, draft: input.value ?? '' };
  vscode.setState(s);
}

function nearBottom(): boolean {
  return transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
}

function scrollSoon(force = false): void {
  if (scrollScheduled) return;
  if (!force && !nearBottom()) return;
  scrollScheduled = true;
  requestAnimationFrame(() => {
    scrollScheduled = false;
    transcript.scrollTop = transcript.scrollHeight;
  });
}

function setStreaming(id: string | null): void {
  streamingId = id;
  app.classList.toggle('streaming', id !== null);
  stopBtn.toggleAttribute('disabled', id === null);
  regenBtn.toggleAttribute('disabled', id !== null || !transcript.querySelector('.msg.user'));
  if (id === null) queuedEl.textContent = '';
}

function setStatus(s: StatusView): void {
  statusEl.textContent = s.text;
  statusEl.title = s.detail;
  statusEl.className = `status ${s.state}${s.warning ? ' warning' : ''}`;
  statusEl.setAttribute(
    'aria-label',
    `Attestation status: ${s.text}. Activate to show the attestation report.`,
  );
}

function setHistory(list: readonly ConversationSummary[]): void {
  historySelect.replaceChildren();
  const cur = doc.createElement('vscode-option');
  cur.setAttribute('value', currentId);
  cur.textContent = list.some((c) => c.id === currentId)
    ? (list.find((c) => c.id === currentId)?.title ?? 'Current chat')
    : 'Current chat';
  historySelect.appendChild(cur);
  for (const c of list) {
    if (c.id === currentId) continue;
    const o = doc.createElement('vscode-option');
    o.setAttribute('value', c.id);
    o.textContent = `${c.title} · ${new Date(c.updatedAt).toLocaleDateString()}`;
    historySelect.appendChild(o);
  }
  (historySelect as unknown as { value: string }).value = currentId;
}

function codeToolbar(pre: HTMLPreElement, code: HTMLElement, language: string): void {
  const wrap = doc.createElement('div');
  wrap.className = 'code-block';
  pre.replaceWith(wrap);
  const bar = h(
    'div',
    { class: 'code-toolbar', role: 'toolbar', 'aria-label': `${language || 'code'} block actions` },
    h('span', { class: 'lang' }, language || 'code'),
  );
  const text = (): string => (code.textContent ?? '').replace(/\n$/, '');
  bar.append(
    button(
      'Copy',
      'Copy code to the clipboard',
      () =>
        void request('copyCode', { code: text() }).then((r) =>
          flash(bar, r.ok ? 'Copied' : 'Copy failed'),
        ),
      { secondary: true },
    ),
    button(
      'Insert',
      'Insert code at the cursor in the last active editor',
      () => void request('insertCode', { code: text() }),
      { secondary: true },
    ),
    button(
      'Open',
      'Open code in a new editor',
      () => void request('openCode', { code: text(), language }),
      { secondary: true },
    ),
  );
  wrap.append(bar, pre);
}

function flash(bar: HTMLElement, msg: string): void {
  const s = h('span', { class: 'flash', role: 'status' }, msg);
  bar.appendChild(s);
  setTimeout(() => s.remove(), 1500);
}

function renderEntry(e: TranscriptEntry): HTMLElement {
  emptyHint.remove();
  if (e.role === 'error') return renderNotice(e);
  return renderMessage(e);
}

/** "The server is unreachable: x" under the title "The server is unreachable" reads "x". */
function stripPrefix(message: string, title: string | undefined): string {
  return title && message.startsWith(`${title}: `) ? message.slice(title.length + 2) : message;
}

function renderNotice(e: ChatNotice): HTMLElement {
  const el = h(
    'div',
    { class: `notice error ${e.kind}`, role: 'alert', id: `e-${e.id}`, 'data-kind': e.kind },
    h('strong', { class: 'notice-title' }, ERROR_TITLES[e.kind] ?? 'Error'),
    h('span', { class: 'notice-message' }, stripPrefix(e.message, ERROR_TITLES[e.kind])),
  );
  if (e.code) el.appendChild(h('code', { class: 'notice-code' }, e.code));
  if (e.kind !== 'cancelled') {
    el.appendChild(
      h(
        'div',
        { class: 'notice-actions' },
        button('Reconnect', 'Reconnect to the enclave', () => void request('reconnect', {}), {
          secondary: true,
        }),
        button(
          'Attestation Report',
          'Show the attestation report',
          () => void request('showAttestation', {}),
          { secondary: true },
        ),
      ),
    );
  }
  transcript.appendChild(el);
  return el;
}

function renderMessage(m: ChatMessage): HTMLElement {
  const body = h('div', { class: 'body' });
  const el = h(
    'article',
    {
      class: `msg ${m.role}`,
      id: `e-${m.id}`,
      'aria-label': m.role === 'user' ? 'You' : 'Private model',
    },
    h('div', { class: 'who', 'aria-hidden': 'true' }, m.role === 'user' ? 'You' : 'TEEChat'),
    body,
  );
  transcript.appendChild(el);
  const r = new StreamingMarkdown(body, { codeBlock: codeToolbar });
  if (m.content) r.append(m.content);
  if (m.state === 'streaming') {
    renderers.set(m.id, r);
    el.setAttribute('aria-busy', 'true');
  } else {
    r.finish();
    markEnd(el, m.state);
  }
  return el;
}

function markEnd(el: HTMLElement, state: MessageState): void {
  el.removeAttribute('aria-busy');
  el.classList.toggle('interrupted', state === 'interrupted');
  if (state === 'interrupted' && !el.querySelector('.interrupted-mark')) {
    el.appendChild(
      h(
        'div',
        { class: 'interrupted-mark', role: 'note' },
        'Answer interrupted — the text above is incomplete.',
      ),
    );
  }
}

function load(init: InitState): void {
  currentId = init.conversation.id;
  renderers.clear();
  transcript.replaceChildren();
  if (init.conversation.entries.length === 0) transcript.appendChild(emptyHint);
  for (const e of init.conversation.entries) renderEntry(e);
  setStatus(init.status);
  setHistory(init.history);
  setStreaming(init.streamingId);
  persist();
  scrollSoon(true);
}

function onEvent(e: HostEvent): void {
  switch (e.type) {
    case 'status':
      setStatus(e.status);
      break;
    case 'entry':
      renderEntry(e.entry);
      if (e.entry.role === 'assistant' && e.entry.state === 'streaming') setStreaming(e.entry.id);
      scrollSoon(true);
      break;
    case 'delta': {
      const r = renderers.get(e.messageId);
      if (r) {
        r.append(e.text);
        queuedEl.textContent = '';
        scrollSoon();
      }
      break;
    }
    case 'queued':
      queuedEl.textContent = `Queued at the server (position ${e.position})…`;
      break;
    case 'end': {
      renderers.get(e.messageId)?.finish();
      renderers.delete(e.messageId);
      const el = doc.getElementById(`e-${e.messageId}`);
      if (el) markEnd(el, e.state);
      if (streamingId === e.messageId) setStreaming(null);
      break;
    }
    case 'removed': {
      renderers.delete(e.entryId);
      doc.getElementById(`e-${e.entryId}`)?.remove();
      if (streamingId === e.entryId) setStreaming(null);
      break;
    }
    case 'conversation':
      load(e.init);
      break;
    case 'history':
      setHistory(e.history);
      break;
    case 'focusInput':
      input.focus();
      break;
  }
}

async function send(): Promise<void> {
  const text = (input.value ?? '').trim();
  if (text === '') return;
  input.value = '';
  persist();
  try {
    await request('send', { text });
  } catch (err) {
    input.value = text;
    renderNotice({
      id: `local-${Date.now()}`,
      role: 'error',
      kind: 'other',
      message: err instanceof Error ? err.message : String(err),
      createdAt: Date.now(),
    });
  }
}

input.addEventListener('keydown', (ev: KeyboardEvent) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    void send();
  } else if (ev.key === 'Escape' && streamingId !== null) {
    ev.preventDefault();
    void request('stop', {});
  }
});
input.addEventListener('input', () => persist());

window.addEventListener('message', (ev: MessageEvent) => {
  const m = ev.data as HostMessage;
  if (typeof m !== 'object' || m === null) return;
  if (m.kind === 'reply') {
    const p = pendingReplies.get(m.id);
    if (!p) return;
    pendingReplies.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  } else if (m.kind === 'event') {
    onEvent(m.event);
  }
});

// The handshake: nothing is rendered until the host answers `ready` with the full state.
const saved = vscode.getState() as WebviewPersistedState | undefined;
if (saved?.draft) input.value = saved.draft;
setStreaming(null);
void request('ready', {}).then((init) => {
  load(init);
  input.focus();
});
