/**
 * Conversation history on this machine: VS Code's globalState or workspaceState (a Memento), or
 * nothing at all (`teechat.history.storage: "none"`: conversations live only in memory until the
 * window closes). Never holds keys or evidence; only what the user typed and what the model said.
 */
import type { Conversation, ConversationSummary } from '../ui-contract/messages';

/** The part of vscode.Memento used here. */
export interface MementoLike {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void> | Promise<void>;
}

export interface HistoryStore {
  readonly persistent: boolean;
  list(): ConversationSummary[];
  get(id: string): Conversation | undefined;
  save(c: Conversation): Promise<void>;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
}

const INDEX_KEY = 'teechat.history.index';
const CONV_PREFIX = 'teechat.history.conv.';

export class MementoHistory implements HistoryStore {
  readonly persistent = true;
  constructor(
    private readonly memento: MementoLike,
    private readonly maxConversations: number,
  ) {}

  list(): ConversationSummary[] {
    const idx = this.memento.get<ConversationSummary[]>(INDEX_KEY);
    return Array.isArray(idx) ? [...idx].sort((a, b) => b.updatedAt - a.updatedAt) : [];
  }

  get(id: string): Conversation | undefined {
    const c = this.memento.get<Conversation>(CONV_PREFIX + id);
    return c && Array.isArray(c.entries) ? structuredClone(c) : undefined;
  }

  async save(c: Conversation): Promise<void> {
    if (!c.entries.some((e) => e.role === 'user')) return; // nothing worth keeping yet
    await this.memento.update(CONV_PREFIX + c.id, structuredClone(c));
    const idx = this.list().filter((s) => s.id !== c.id);
    idx.unshift({ id: c.id, title: c.title, updatedAt: c.updatedAt });
    const keep = idx.slice(0, Math.max(1, this.maxConversations));
    for (const dropped of idx.slice(keep.length))
      await this.memento.update(CONV_PREFIX + dropped.id, undefined);
    await this.memento.update(INDEX_KEY, keep);
  }

  async remove(id: string): Promise<void> {
    await this.memento.update(CONV_PREFIX + id, undefined);
    await this.memento.update(
      INDEX_KEY,
      this.list().filter((s) => s.id !== id),
    );
  }

  async clear(): Promise<void> {
    for (const s of this.list()) await this.memento.update(CONV_PREFIX + s.id, undefined);
    await this.memento.update(INDEX_KEY, []);
  }
}

/** Keeps conversations in memory only (setting "none"). */
export class MemoryHistory implements HistoryStore {
  readonly persistent = false;
  private readonly map = new Map<string, Conversation>();
  list(): ConversationSummary[] {
    return [...this.map.values()]
      .map((c) => ({ id: c.id, title: c.title, updatedAt: c.updatedAt }))
      .sort((a, b) => b.updatedAt - a.updatedAt);
  }
  get(id: string): Conversation | undefined {
    const c = this.map.get(id);
    return c ? structuredClone(c) : undefined;
  }
  async save(c: Conversation): Promise<void> {
    if (c.entries.some((e) => e.role === 'user')) this.map.set(c.id, structuredClone(c));
  }
  async remove(id: string): Promise<void> {
    this.map.delete(id);
  }
  async clear(): Promise<void> {
    this.map.clear();
  }
}

/** A title from the first user message: first line, at most 60 characters. */
export function titleFrom(text: string): string {
  const line = text.trim().split('\n', 1)[0] ?? '';
  const t = line.replace(/\s+/g, ' ').trim();
  return t.length > 60 ? `${t.slice(0, 59)}…` : t || 'New chat';
}
