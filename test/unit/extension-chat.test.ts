import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatController } from '../../extension/chat-controller';
import { MementoHistory, MemoryHistory, titleFrom } from '../../extension/history';
import type { MementoLike } from '../../extension/history';
import type { ChatEvent, TeeSession } from '../../extension/types';
import type { HostEvent, StatusView } from '../../ui-contract/messages';
import { isWebviewRequest } from '../../ui-contract/messages';
import { IDLE_STATUS } from '../../extension/status-format';
import { FakeSession, fakeView, protocolError, words } from '../helpers/fake-session';

class MapMemento implements MementoLike {
  readonly map = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.map.get(key) as T | undefined;
  }
  async update(key: string, value: unknown): Promise<void> {
    if (value === undefined) this.map.delete(key);
    else this.map.set(key, structuredClone(value));
  }
}

function setup(session: TeeSession | (() => Promise<TeeSession>), history = new MemoryHistory()) {
  const events: HostEvent[] = [];
  let id = 0;
  const c = new ChatController({
    getSession: typeof session === 'function' ? session : async () => session,
    status: (): StatusView => IDLE_STATUS,
    history,
    post: (e) => events.push(e),
    params: () => ({ maxTokens: 16 }),
    now: () => 1000 + id,
    newId: () => `id${++id}`,
  });
  return { c, events, history };
}

async function settle(c: ChatController): Promise<void> {
  for (let i = 0; i < 50 && c.isStreaming; i++) await new Promise((r) => setTimeout(r, 1));
}

describe('ChatController', () => {
  test('streams deltas, completes the answer and saves the conversation', async () => {
    const s = new FakeSession(fakeView(), words(['Hel', 'lo', '!']));
    const { c, events, history } = setup(s);
    const mid = await c.send('  Say hello  ');
    await settle(c);
    const deltas = events
      .filter((e) => e.type === 'delta')
      .map((e) => (e.type === 'delta' ? e.text : ''));
    assert.deepEqual(deltas, ['Hel', 'lo', '!']);
    assert.deepEqual(
      events.find((e) => e.type === 'end'),
      { type: 'end', messageId: mid, state: 'complete' },
    );
    const conv = c.conversation;
    assert.equal(conv.title, 'Say hello');
    assert.deepEqual(
      conv.entries.map((e) => [e.role, e.role === 'error' ? e.message : e.content]),
      [
        ['user', 'Say hello'],
        ['assistant', 'Hello!'],
      ],
    );
    assert.deepEqual(s.calls[0], [{ role: 'user', content: 'Say hello' }]);
    assert.equal(history.get(conv.id)?.entries.length, 2);
  });

  test('a failure mid-stream keeps the partial answer, marks it interrupted and adds an error notice', async () => {
    const s = new FakeSession(fakeView(), async function* (): AsyncGenerator<ChatEvent> {
      yield { type: 'delta', text: 'partial ' };
      throw protocolError('decrypt_failed', 'frame 7: tag mismatch');
    });
    const { c, events } = setup(s);
    await c.send('q');
    await settle(c);
    const [, answer, notice] = c.conversation.entries;
    assert.equal(answer?.role, 'assistant');
    assert.equal(answer?.role === 'assistant' && answer.content, 'partial ');
    assert.equal(answer?.role === 'assistant' && answer.state, 'interrupted');
    assert.equal(notice?.role, 'error');
    assert.equal(notice?.role === 'error' && notice.kind, 'session_lost');
    assert.equal(notice?.role === 'error' && notice.code, 'decrypt_failed');
    // the error text never went out as a delta
    assert.ok(events.every((e) => e.type !== 'delta' || !e.text.includes('tag mismatch')));
  });

  test('a stream that ends without `done` is reported as truncated', async () => {
    const s = new FakeSession(fakeView(), async function* (): AsyncGenerator<ChatEvent> {
      yield { type: 'delta', text: 'cut' };
    });
    const { c } = setup(s);
    await c.send('q');
    await settle(c);
    const notice = c.conversation.entries[2];
    assert.equal(notice?.role === 'error' && notice.code, 'truncation');
  });

  test('verification failure before any text: no empty bubble, only the error', async () => {
    const { c, events } = setup(async () => {
      throw protocolError('evidence_rejected', 'measurement: expected aa…, got bb…');
    });
    const mid = await c.send('q');
    await settle(c);
    assert.deepEqual(
      c.conversation.entries.map((e) => e.role),
      ['user', 'error'],
    );
    assert.ok(events.some((e) => e.type === 'removed' && e.entryId === mid));
    const n = c.conversation.entries[1];
    assert.equal(n?.role === 'error' && n.kind, 'verification');
  });

  test('stop aborts the stream, keeps the text and marks it interrupted without an error', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = new FakeSession(fakeView(), async function* (_t, signal): AsyncGenerator<ChatEvent> {
      yield { type: 'delta', text: 'one ' };
      await Promise.race([gate, new Promise((r) => signal?.addEventListener('abort', r))]);
      if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      yield { type: 'delta', text: 'two' };
      yield { type: 'done' };
    });
    const { c, events } = setup(s);
    await c.send('q');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await c.stop(), true);
    release();
    const a = c.conversation.entries[1];
    assert.equal(a?.role === 'assistant' && a.content, 'one ');
    assert.equal(a?.role === 'assistant' && a.state, 'interrupted');
    assert.equal(c.conversation.entries.length, 2);
    assert.ok(events.some((e) => e.type === 'end' && e.state === 'interrupted'));
    assert.equal(await c.stop(), false);
  });

  test('regenerate replaces the last answer and excludes error notices from the model context', async () => {
    let n = 0;
    const s = new FakeSession(fakeView(), async function* (): AsyncGenerator<ChatEvent> {
      n++;
      if (n === 1) throw protocolError('busy', 'server busy');
      yield { type: 'delta', text: `answer${n}` };
      yield { type: 'done' };
    });
    const { c, events } = setup(s);
    await c.send('q1');
    await settle(c);
    assert.equal(c.conversation.entries[1]?.role, 'error');
    await c.regenerate();
    await settle(c);
    assert.deepEqual(
      c.conversation.entries.map((e) => (e.role === 'error' ? 'error' : e.content)),
      ['q1', 'answer2'],
    );
    assert.ok(events.some((e) => e.type === 'removed'));
    await c.send('q2');
    await settle(c);
    assert.deepEqual(s.calls[2], [
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'answer2' },
      { role: 'user', content: 'q2' },
    ]);
  });

  test('new chat and reopening a saved conversation', async () => {
    const s = new FakeSession(fakeView(), words(['a']));
    const { c } = setup(s);
    await c.send('first');
    await settle(c);
    const firstId = c.conversation.id;
    const init = await c.newChat();
    assert.notEqual(init.conversation.id, firstId);
    assert.equal(init.conversation.entries.length, 0);
    assert.equal(init.history[0]?.id, firstId);
    const back = await c.open(firstId);
    assert.equal(back.conversation.entries.length, 2);
    await assert.rejects(c.open('nope'));
  });

  test('a conversation restored while streaming shows the answer as interrupted', async () => {
    const mem = new MapMemento();
    const history = new MementoHistory(mem, 10);
    await history.save({
      id: 'c1',
      title: 't',
      createdAt: 1,
      updatedAt: 2,
      entries: [
        { id: 'u', role: 'user', content: 'q', state: 'complete', createdAt: 1 },
        { id: 'a', role: 'assistant', content: 'half', state: 'streaming', createdAt: 2 },
      ],
    });
    const c = new ChatController(
      {
        getSession: async () => new FakeSession(fakeView(), words([])),
        status: () => IDLE_STATUS,
        history,
        post: () => undefined,
        params: () => ({}),
      },
      'c1',
    );
    const a = c.conversation.entries[1];
    assert.equal(a?.role === 'assistant' && a.state, 'interrupted');
  });

  test('empty messages are refused', async () => {
    const { c } = setup(new FakeSession(fakeView(), words([])));
    await assert.rejects(c.send('   '), /empty/);
  });
});

describe('history', () => {
  test('Memento history keeps the newest N conversations, lists newest first, clears', async () => {
    const mem = new MapMemento();
    const h = new MementoHistory(mem, 2);
    const conv = (id: string, t: number) => ({
      id,
      title: id,
      createdAt: t,
      updatedAt: t,
      entries: [
        {
          id: 'u' + id,
          role: 'user' as const,
          content: 'x',
          state: 'complete' as const,
          createdAt: t,
        },
      ],
    });
    await h.save(conv('a', 1));
    await h.save(conv('b', 2));
    await h.save(conv('c', 3));
    assert.deepEqual(
      h.list().map((s) => s.id),
      ['c', 'b'],
    );
    assert.equal(h.get('a'), undefined);
    assert.equal(mem.map.has('teechat.history.conv.a'), false);
    await h.remove('b');
    assert.deepEqual(
      h.list().map((s) => s.id),
      ['c'],
    );
    await h.clear();
    assert.deepEqual(h.list(), []);
    assert.equal(
      [...mem.map.keys()].filter((k) => k.startsWith('teechat.history.conv.')).length,
      0,
    );
  });
  test('a conversation without a user message is not saved', async () => {
    const h = new MementoHistory(new MapMemento(), 5);
    await h.save({ id: 'x', title: 't', createdAt: 1, updatedAt: 1, entries: [] });
    assert.deepEqual(h.list(), []);
  });
  test('titles come from the first line, shortened', () => {
    assert.equal(titleFrom('  Hello world\nmore'), 'Hello world');
    assert.equal(titleFrom('x'.repeat(100)).length, 60);
    assert.equal(titleFrom('   '), 'New chat');
  });
});

describe('webview message validation', () => {
  test('accepts well-formed requests and rejects everything else', () => {
    assert.equal(isWebviewRequest({ kind: 'request', id: 1, method: 'ready', params: {} }), true);
    assert.equal(
      isWebviewRequest({ kind: 'request', id: 2, method: 'send', params: { text: 'hi' } }),
      true,
    );
    assert.equal(
      isWebviewRequest({ kind: 'request', id: 2, method: 'send', params: { text: 5 } }),
      false,
    );
    assert.equal(
      isWebviewRequest({
        kind: 'request',
        id: 2,
        method: 'send',
        params: { text: 'x'.repeat(200_001) },
      }),
      false,
    );
    assert.equal(
      isWebviewRequest({ kind: 'request', id: 3, method: 'getKeys', params: {} }),
      false,
    );
    assert.equal(
      isWebviewRequest({ kind: 'request', id: 1.5, method: 'ready', params: {} }),
      false,
    );
    assert.equal(
      isWebviewRequest({ kind: 'request', id: 4, method: 'openCode', params: { code: 'x' } }),
      false,
    );
    assert.equal(
      isWebviewRequest({
        kind: 'request',
        id: 4,
        method: 'openCode',
        params: { code: 'x', language: 'ts' },
      }),
      true,
    );
    assert.equal(isWebviewRequest(null), false);
    assert.equal(isWebviewRequest('ready'), false);
  });
});
