/**
 * The typed messages between the chat webview and the extension host (postMessage, JSON only).
 *
 * Shape (after the GitHub Pull Requests extension): the webview sends *requests* with an id and
 * the host answers each with exactly one *reply* carrying the same id; the host also pushes
 * *events* (streamed tokens, status changes). The webview sends `ready` first; the host sends
 * nothing before it has seen `ready` (the handshake avoids losing messages posted while the page
 * was still loading) and answers it with the full initial state.
 *
 * Nothing here carries key material, transcript secrets or raw evidence: the webview is a display.
 * The host imports this file for the types and the `isWebviewRequest` guard.
 */

export type Role = 'user' | 'assistant';

/** How a message ended. `interrupted`: the answer stopped early (stop, error); its text is kept. */
export type MessageState = 'streaming' | 'complete' | 'interrupted';

/** Error classes shown distinctly from model output (never inside an assistant bubble). */
export type ErrorKind =
  'verification' | 'handshake' | 'unreachable' | 'session_lost' | 'server' | 'cancelled' | 'other';

/**
 * The plain title of each error class, shown above the technical detail and code (chat notices,
 * the status bar tooltip, the language model provider's errors). "unreachable" means a network
 * failure only: a failed key exchange or a close before the secure session is "handshake".
 */
export const ERROR_TITLES: Readonly<Record<ErrorKind, string>> = {
  verification: "The server's hardware evidence was rejected",
  handshake: 'Could not set up a secure session with the server',
  unreachable: 'The server is unreachable',
  session_lost: 'The secure session was lost',
  server: 'The server reported an error',
  cancelled: 'Stopped',
  other: 'Error',
};

export interface ChatMessage {
  readonly id: string;
  readonly role: Role;
  content: string;
  state: MessageState;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** An error notice in the transcript; it is not sent to the model on later turns. */
export interface ChatNotice {
  readonly id: string;
  readonly role: 'error';
  readonly kind: ErrorKind;
  readonly message: string;
  /** ProtocolError code when there is one (e.g. `evidence_rejected`). */
  readonly code?: string;
  readonly createdAt: number;
}

export type TranscriptEntry = ChatMessage | ChatNotice;

export interface Conversation {
  readonly id: string;
  title: string;
  readonly createdAt: number;
  updatedAt: number;
  entries: TranscriptEntry[];
}

export interface ConversationSummary {
  readonly id: string;
  readonly title: string;
  readonly updatedAt: number;
}

export type ConnectionState =
  'idle' | 'connecting' | 'verified' | 'simulated' | 'failed' | 'unreachable';

/** What the webview shows about the connection (already formatted by the host). */
export interface StatusView {
  readonly state: ConnectionState;
  /** Short label, e.g. "SNP 8f3a…c21d · GPU CC". */
  readonly text: string;
  /** Longer explanation (tooltip). */
  readonly detail: string;
  /** True when simulated evidence was accepted or a check was relaxed by a setting. */
  readonly warning: boolean;
}

export interface InitState {
  readonly conversation: Conversation;
  readonly history: readonly ConversationSummary[];
  readonly status: StatusView;
  /** Id of the assistant message being streamed right now, if any. */
  readonly streamingId: string | null;
}

/** Requests from the webview and what the host answers. */
export interface RequestMap {
  ready: { params: Record<string, never>; result: InitState };
  send: { params: { text: string }; result: { messageId: string } };
  stop: { params: Record<string, never>; result: { stopped: boolean } };
  regenerate: { params: Record<string, never>; result: { messageId: string | null } };
  newChat: { params: Record<string, never>; result: InitState };
  openConversation: { params: { id: string }; result: InitState };
  copyCode: { params: { code: string }; result: { ok: boolean } };
  insertCode: { params: { code: string }; result: { ok: boolean } };
  openCode: { params: { code: string; language: string }; result: { ok: boolean } };
  showAttestation: { params: Record<string, never>; result: { ok: boolean } };
  reconnect: { params: Record<string, never>; result: { ok: boolean } };
}

export type RequestMethod = keyof RequestMap;

export type WebviewRequest = {
  [M in RequestMethod]: {
    readonly kind: 'request';
    readonly id: number;
    readonly method: M;
    readonly params: RequestMap[M]['params'];
  };
}[RequestMethod];

export type HostReply =
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: string };

/** Events pushed by the host. */
export type HostEvent =
  | { readonly type: 'status'; readonly status: StatusView }
  | { readonly type: 'entry'; readonly entry: TranscriptEntry }
  | { readonly type: 'delta'; readonly messageId: string; readonly text: string }
  | { readonly type: 'queued'; readonly messageId: string; readonly position: number }
  | { readonly type: 'end'; readonly messageId: string; readonly state: MessageState }
  | { readonly type: 'conversation'; readonly init: InitState }
  | { readonly type: 'history'; readonly history: readonly ConversationSummary[] }
  | { readonly type: 'removed'; readonly entryId: string }
  | { readonly type: 'focusInput' };

export type HostMessage = HostReply | { readonly kind: 'event'; readonly event: HostEvent };

/** State the webview stores through `vscode.setState` (restored by the panel serializer). */
export interface WebviewPersistedState {
  readonly conversationId: string;
  readonly draft?: string;
}

const METHODS: ReadonlySet<string> = new Set<RequestMethod>([
  'ready',
  'send',
  'stop',
  'regenerate',
  'newChat',
  'openConversation',
  'copyCode',
  'insertCode',
  'openCode',
  'showAttestation',
  'reconnect',
]);

/** Upper bounds on strings the webview may send (the host treats the webview as untrusted input). */
export const WEBVIEW_LIMITS = { textChars: 200_000, idChars: 128, languageChars: 64 } as const;

function isStr(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max;
}

/** Validates a message from the webview: shape, method and parameter types and sizes. */
export function isWebviewRequest(m: unknown): m is WebviewRequest {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as { kind?: unknown; id?: unknown; method?: unknown; params?: unknown };
  if (r.kind !== 'request' || typeof r.id !== 'number' || !Number.isSafeInteger(r.id)) return false;
  if (typeof r.method !== 'string' || !METHODS.has(r.method)) return false;
  if (typeof r.params !== 'object' || r.params === null) return false;
  const p = r.params as Record<string, unknown>;
  switch (r.method as RequestMethod) {
    case 'send':
      return isStr(p.text, WEBVIEW_LIMITS.textChars);
    case 'openConversation':
      return isStr(p.id, WEBVIEW_LIMITS.idChars);
    case 'copyCode':
    case 'insertCode':
      return isStr(p.code, WEBVIEW_LIMITS.textChars);
    case 'openCode':
      return (
        isStr(p.code, WEBVIEW_LIMITS.textChars) && isStr(p.language, WEBVIEW_LIMITS.languageChars)
      );
    default:
      return true;
  }
}
