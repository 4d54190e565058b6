/**
 * The host side of one chat panel, without any `vscode` dependency: owns the conversation, sends
 * turns through the verified session, streams deltas to the webview, and turns every failure into
 * an error notice (never into assistant text). A partial answer is kept and marked interrupted.
 */
import type {
  ChatMessage,
  ChatNotice,
  Conversation,
  HostEvent,
  InitState,
  MessageState,
  StatusView,
} from '../ui-contract/messages';
import { classifyError } from './errors';
import type { HistoryStore } from './history';
import { titleFrom } from './history';
import type { ChatParams, ChatTurn, TeeSession } from './types';

export interface ChatControllerOptions {
  readonly getSession: () => Promise<TeeSession>;
  readonly status: () => StatusView;
  readonly history: HistoryStore;
  readonly post: (e: HostEvent) => void;
  readonly params: () => ChatParams;
  readonly systemPrompt?: () => string | undefined;
  readonly now?: () => number;
  readonly newId?: () => string;
}

let counter = 0;
function defaultId(): string {
  counter = (counter + 1) % 1e9;
  return `${Date.now().toString(36)}-${counter.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export class ChatController {
  private conv: Conversation;
  private streaming: { id: string; abort: AbortController; done: Promise<void> } | null = null;
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(
    private readonly opts: ChatControllerOptions,
    conversationId?: string,
  ) {
    this.now = opts.now ?? Date.now;
    this.newId = opts.newId ?? defaultId;
    this.conv =
      (conversationId !== undefined ? opts.history.get(conversationId) : undefined) ?? this.fresh();
    // A message that was streaming when the window closed did not finish.
    for (const e of this.conv.entries)
      if (e.role !== 'error' && e.state === 'streaming') e.state = 'interrupted';
  }

  get conversation(): Conversation {
    return this.conv;
  }

  get isStreaming(): boolean {
    return this.streaming !== null;
  }

  init(): InitState {
    return {
      conversation: structuredClone(this.conv),
      history: this.opts.history.list(),
      status: this.opts.status(),
      streamingId: this.streaming?.id ?? null,
    };
  }

  /** Adds the user's message and streams the answer. Resolves with the assistant message id. */
  async send(text: string): Promise<string> {
    const trimmed = text.trim();
    if (trimmed === '') throw new Error('empty message');
    await this.stop();
    const user: ChatMessage = {
      id: this.newId(),
      role: 'user',
      content: trimmed,
      state: 'complete',
      createdAt: this.now(),
    };
    if (!this.conv.entries.some((e) => e.role === 'user')) this.conv.title = titleFrom(trimmed);
    this.push(user);
    return this.startAnswer();
  }

  /** Drops the last answer (and notices after the last user message) and asks again. */
  async regenerate(): Promise<string | null> {
    await this.stop();
    const entries = this.conv.entries;
    let lastUser = -1;
    for (let i = entries.length - 1; i >= 0; i--) {
      if (entries[i]?.role === 'user') {
        lastUser = i;
        break;
      }
    }
    if (lastUser < 0) return null;
    for (const e of entries.splice(lastUser + 1))
      this.opts.post({ type: 'removed', entryId: e.id });
    return this.startAnswer();
  }

  /** Stops the answer being streamed; its partial text stays, marked interrupted. */
  async stop(): Promise<boolean> {
    const s = this.streaming;
    if (!s) return false;
    s.abort.abort();
    await s.done;
    return true;
  }

  async newChat(): Promise<InitState> {
    await this.stop();
    await this.persist();
    this.conv = this.fresh();
    const init = this.init();
    this.opts.post({ type: 'conversation', init });
    return init;
  }

  async open(id: string): Promise<InitState> {
    const c = this.opts.history.get(id);
    if (!c) throw new Error(`no conversation ${id}`);
    await this.stop();
    await this.persist();
    this.conv = c;
    const init = this.init();
    this.opts.post({ type: 'conversation', init });
    return init;
  }

  /** Turns sent to the model: user and assistant messages with text; error notices are not. */
  modelTurns(): ChatTurn[] {
    const turns: ChatTurn[] = [];
    const sys = this.opts.systemPrompt?.();
    if (sys) turns.push({ role: 'system', content: sys });
    for (const e of this.conv.entries) {
      if (e.role === 'error' || e.content === '') continue;
      if (e.role === 'assistant' && e.state === 'streaming') continue;
      turns.push({ role: e.role, content: e.content });
    }
    return turns;
  }

  private fresh(): Conversation {
    const t = this.now();
    return { id: this.newId(), title: 'New chat', createdAt: t, updatedAt: t, entries: [] };
  }

  private push(e: ChatMessage | ChatNotice): void {
    this.conv.entries.push(e);
    this.conv.updatedAt = this.now();
    this.opts.post({ type: 'entry', entry: structuredClone(e) });
  }

  private async persist(): Promise<void> {
    try {
      await this.opts.history.save(this.conv);
      this.opts.post({ type: 'history', history: this.opts.history.list() });
    } catch (e) {
      console.error('teechat: saving history failed', e);
    }
  }

  private startAnswer(): string {
    const turns = this.modelTurns();
    const msg: ChatMessage = {
      id: this.newId(),
      role: 'assistant',
      content: '',
      state: 'streaming',
      createdAt: this.now(),
    };
    this.push(msg);
    const abort = new AbortController();
    const done = this.stream(msg, turns, abort.signal);
    this.streaming = { id: msg.id, abort, done };
    void this.persist();
    return msg.id;
  }

  private async stream(msg: ChatMessage, turns: ChatTurn[], signal: AbortSignal): Promise<void> {
    let end: MessageState = 'complete';
    let notice: ChatNotice | null = null;
    try {
      const session = await this.opts.getSession();
      if (signal.aborted) throw Object.assign(new Error('stopped'), { name: 'AbortError' });
      let finished = false;
      for await (const ev of session.chat(turns, this.opts.params(), signal)) {
        if (signal.aborted) break;
        if (ev.type === 'delta') {
          if (ev.text === '') continue;
          msg.content += ev.text;
          this.opts.post({ type: 'delta', messageId: msg.id, text: ev.text });
        } else if (ev.type === 'queued') {
          this.opts.post({ type: 'queued', messageId: msg.id, position: ev.position });
        } else {
          finished = true;
        }
      }
      if (signal.aborted) end = 'interrupted';
      else if (!finished) {
        end = 'interrupted';
        notice = this.notice(
          classifyError(
            Object.assign(new Error('the answer ended without an authenticated end of stream'), {
              code: 'truncation',
            }),
          ),
        );
      }
    } catch (e) {
      end = 'interrupted';
      const c = classifyError(e);
      if (c.kind !== 'cancelled' && !signal.aborted) notice = this.notice(c);
    } finally {
      if (this.streaming?.id === msg.id) this.streaming = null;
    }
    if (msg.content === '' && end === 'interrupted') {
      // Nothing arrived: drop the empty bubble; the notice (if any) tells what happened.
      const i = this.conv.entries.indexOf(msg);
      if (i >= 0) this.conv.entries.splice(i, 1);
      this.opts.post({ type: 'removed', entryId: msg.id });
    } else {
      msg.state = end;
      this.opts.post({ type: 'end', messageId: msg.id, state: end });
    }
    if (notice) this.push(notice);
    this.conv.updatedAt = this.now();
    await this.persist();
  }

  private notice(c: { kind: ChatNotice['kind']; message: string; code?: string }): ChatNotice {
    return {
      id: this.newId(),
      role: 'error',
      kind: c.kind,
      message: c.message,
      ...(c.code ? { code: c.code } : {}),
      createdAt: this.now(),
    };
  }
}
