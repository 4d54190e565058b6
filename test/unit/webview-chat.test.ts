import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage, InitState, StatusView } from '../../ui-contract/messages';
import { chromiumMissing, launch } from '../helpers/webview-harness';
import type { Harness, WebviewPage } from '../helpers/webview-harness';

// Browser globals used inside page.evaluate callbacks (test files are type-checked without the DOM lib).
declare const window: { postMessage(m: unknown, origin: string): void };
declare const document: {
  querySelector(s: string): { textContent: string | null } | null;
  querySelectorAll(s: string): { length: number };
};

const skip = chromiumMissing();
if (skip) console.error(`# SKIP webview-chat: ${skip}`);

const STATUS: StatusView = {
  state: 'verified',
  text: 'SNP 8f3a…c21d · GPU CC',
  detail: 'Verified',
  warning: false,
};

function init(
  entries: InitState['conversation']['entries'] = [],
  streamingId: string | null = null,
): InitState {
  return {
    conversation: { id: 'c1', title: 't', createdAt: 1, updatedAt: 1, entries },
    history: [{ id: 'c0', title: 'Older chat', updatedAt: 1 }],
    status: STATUS,
    streamingId,
  };
}

const user = (id: string, content: string): ChatMessage => ({
  id,
  role: 'user',
  content,
  state: 'complete',
  createdAt: 1,
});
const streaming = (id: string): ChatMessage => ({
  id,
  role: 'assistant',
  content: '',
  state: 'streaming',
  createdAt: 2,
});

describe('chat webview in headless Chromium', { skip }, () => {
  let h: Harness;
  let w: WebviewPage;
  before(async () => {
    h = await launch();
  });
  after(async () => {
    await h?.close();
  });

  test('sends ready first, renders nothing until the reply, then the restored conversation', async () => {
    w = await h.open();
    const first = await w.waitRequest('ready');
    assert.equal(first.id, 1);
    assert.equal(await w.page.locator('.msg').count(), 0);
    await w.reply(
      first.id,
      init([
        user('u1', 'Explain:\n\n```ts\nlet x = 1;\n```'),
        {
          id: 'a1',
          role: 'assistant',
          content: 'Half an answ',
          state: 'interrupted',
          createdAt: 2,
        },
      ]),
    );
    await w.page.waitForSelector('.msg.assistant');
    assert.equal(await w.page.locator('.msg.user pre code').textContent(), 'let x = 1;\n');
    assert.equal(await w.page.locator('.msg.assistant.interrupted .interrupted-mark').count(), 1);
    assert.equal(await w.page.locator('#status').textContent(), 'SNP 8f3a…c21d · GPU CC');
    assert.deepEqual(await w.state(), { conversationId: 'c1', draft: '' });
  });

  test('streams tokens into markdown incrementally and finishes', async () => {
    w = await h.open();
    await w.handshake(init());
    await w.event({ type: 'entry', entry: user('u1', 'hi') });
    await w.event({ type: 'entry', entry: streaming('a1') });
    assert.equal(await w.page.locator('#e-a1').getAttribute('aria-busy'), 'true');
    assert.equal(await w.page.locator('#stop').isVisible(), true);
    const tokens = [
      'Hello ',
      '**wor',
      'ld**',
      ' and `co',
      'de`.\n',
      '\n- one\n- t',
      'wo\n\n```',
      'py\nprint(',
      '1)\n``',
      '`\nDone',
    ];
    for (const t of tokens) await w.event({ type: 'delta', messageId: 'a1', text: t });
    // the incomplete last line is visible while streaming
    await w.page.waitForFunction(() =>
      document.querySelector('#e-a1 .body')?.textContent?.endsWith('Done'),
    );
    await w.event({ type: 'end', messageId: 'a1', state: 'complete' });
    const body = w.page.locator('#e-a1 .body');
    assert.equal(await body.locator('p strong').first().textContent(), 'world');
    assert.equal(await body.locator('p code').first().textContent(), 'code');
    assert.deepEqual(await body.locator('ul li').allTextContents(), ['one', 'two']);
    assert.equal(await body.locator('pre code').textContent(), 'print(1)\n');
    assert.equal(await body.locator('pre code').getAttribute('data-language'), 'py');
    assert.equal(await body.locator('p').last().textContent(), 'Done');
    assert.equal(await w.page.locator('#e-a1').getAttribute('aria-busy'), null);
    assert.equal(await w.page.locator('#stop').isVisible(), false);
  });

  test('code block buttons ask the host to copy, insert and open the code', async () => {
    w = await h.open();
    await w.handshake(
      init([
        {
          id: 'a1',
          role: 'assistant',
          content: '```js\nconst a = 1;\n```',
          state: 'complete',
          createdAt: 1,
        },
      ]),
    );
    const n = (await w.requests()).length;
    const toolbar = w.page.locator('.code-toolbar');
    assert.equal(await toolbar.getAttribute('role'), 'toolbar');
    await toolbar.getByRole('button', { name: 'Copy code to the clipboard' }).click();
    const copy = await w.waitRequest('copyCode', n);
    assert.deepEqual(copy.params, { code: 'const a = 1;' });
    await w.reply(copy.id, { ok: true });
    await w.page.waitForSelector('.code-toolbar .flash');
    await toolbar
      .getByRole('button', { name: 'Insert code at the cursor in the last active editor' })
      .click();
    assert.deepEqual((await w.waitRequest('insertCode', n)).params, { code: 'const a = 1;' });
    await toolbar.getByRole('button', { name: 'Open code in a new editor' }).click();
    assert.deepEqual((await w.waitRequest('openCode', n)).params, {
      code: 'const a = 1;',
      language: 'js',
    });
  });

  test('Enter sends, Shift+Enter does not, Escape stops a streaming answer', async () => {
    w = await h.open();
    await w.handshake(init());
    const ta = w.page.locator('#input textarea');
    await ta.fill('line one');
    await ta.press('Shift+Enter');
    await ta.press('End');
    await ta.pressSequentially('more');
    assert.equal((await w.requests()).filter((r) => r.method === 'send').length, 0);
    await ta.press('Enter');
    const send = await w.waitRequest('send');
    assert.deepEqual(send.params, { text: 'line one\nmore' });
    assert.equal(await ta.inputValue(), '');
    await w.event({ type: 'entry', entry: streaming('a9') });
    await ta.press('Escape');
    await w.waitRequest('stop');
  });

  test('errors are alerts outside any answer; partial answers are marked interrupted', async () => {
    w = await h.open();
    await w.handshake(init());
    await w.event({ type: 'entry', entry: streaming('a1') });
    await w.event({ type: 'delta', messageId: 'a1', text: 'partial answer' });
    await w.event({ type: 'end', messageId: 'a1', state: 'interrupted' });
    await w.event({
      type: 'entry',
      entry: {
        id: 'n1',
        role: 'error',
        kind: 'session_lost',
        message: 'Secure session lost: frame 7: tag mismatch',
        code: 'decrypt_failed',
        createdAt: 3,
      },
    });
    const alert = w.page.getByRole('alert');
    assert.equal(await alert.count(), 1);
    assert.match((await alert.textContent()) ?? '', /Secure session lost.*decrypt_failed/);
    assert.equal(await w.page.locator('.msg.assistant .notice').count(), 0);
    assert.equal(await w.page.locator('#e-a1 .body').textContent(), 'partial answer');
    assert.equal(await w.page.locator('#e-a1 .interrupted-mark').count(), 1);
    const n = (await w.requests()).length;
    await alert.getByRole('button', { name: 'Reconnect to the enclave' }).click();
    await w.waitRequest('reconnect', n);
  });

  test('model output cannot inject markup or script links', async () => {
    w = await h.open();
    await w.handshake(init());
    await w.event({ type: 'entry', entry: streaming('a1') });
    await w.event({
      type: 'delta',
      messageId: 'a1',
      text: '<img src=x onerror="window.__pwned=1"> [x](javascript:alert(1)) [ok](https://example.com)\n',
    });
    await w.event({ type: 'end', messageId: 'a1', state: 'complete' });
    assert.equal(await w.page.locator('#e-a1 img').count(), 0);
    assert.deepEqual(
      await w.page
        .locator('#e-a1 a')
        .evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href)),
      ['https://example.com/'],
    );
    assert.equal(
      await w.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
      undefined,
    );
  });

  test("the CSP blocks scripts and styles without the nonce; the panel's own style applies", async () => {
    w = await h.open({
      extraHead:
        '<script>window.__inline = 1;</script><style>#app { outline: 7px solid rgb(1, 2, 3); }</style>',
    });
    await w.handshake(init());
    assert.equal(
      await w.page.evaluate(() => (window as unknown as { __inline?: number }).__inline),
      undefined,
    );
    const css = (await w.page.evaluate(
      "(() => { const a = getComputedStyle(document.getElementById('app')); const t = getComputedStyle(document.getElementById('transcript')); return [a.outlineStyle, t.overflowY]; })()",
    )) as string[];
    assert.deepEqual(css, ['none', 'auto']);
    assert.ok(
      w.errors.every((e) => !/webview\.js|main\.ts/.test(e)),
      w.errors.join('\n'),
    );
  });

  test('status, queue position, history and new chat', async () => {
    w = await h.open();
    await w.handshake(init());
    await w.event({
      type: 'status',
      status: {
        state: 'simulated',
        text: 'SIMULATED SNP 8f3a…c21d · GPU CC',
        detail: 'sim',
        warning: true,
      },
    });
    assert.match(
      (await w.page.locator('#status').getAttribute('class')) ?? '',
      /simulated warning/,
    );
    await w.event({ type: 'entry', entry: streaming('a1') });
    await w.event({ type: 'queued', messageId: 'a1', position: 2 });
    assert.match((await w.page.locator('#queued').textContent()) ?? '', /position 2/);
    const n = (await w.requests()).length;
    await w.page.getByRole('button', { name: 'Start a new chat' }).click();
    const req = await w.waitRequest('newChat', n);
    await w.reply(req.id, {
      ...init(),
      conversation: { id: 'c2', title: 'New chat', createdAt: 5, updatedAt: 5, entries: [] },
    });
    await w.page.waitForFunction(() => document.querySelectorAll('.msg').length === 0);
    assert.deepEqual(await w.state(), { conversationId: 'c2', draft: '' });
    assert.equal(await w.page.locator('#history vscode-option').count(), 2);
    // choosing an older conversation asks the host for it
    const m = (await w.requests()).length;
    await w.page.evaluate(
      "(() => { const s = document.querySelector('#history'); s.value = 'c0'; s.dispatchEvent(new Event('change')); })()",
    );
    const open = await w.waitRequest('openConversation', m);
    assert.deepEqual(open.params, { id: 'c0' });
  });
});
