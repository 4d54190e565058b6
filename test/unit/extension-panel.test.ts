import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import type * as ShimModule from '../helpers/vscode-shim';
import type * as PanelModule from '../../extension/chat-panel';
import type { Services } from '../../extension/services';
import { MemoryHistory } from '../../extension/history';
import { IDLE_STATUS } from '../../extension/status-format';
import type { InitState } from '../../ui-contract/messages';
import { FakeSession, fakeView, words } from '../helpers/fake-session';

register('../helpers/vscode-hooks.mjs', import.meta.url);

describe('ChatPanel (vscode shim)', () => {
  let shim: typeof ShimModule;
  let panels: typeof PanelModule;
  before(async () => {
    shim = await import('../helpers/vscode-shim');
    panels = await import('../../extension/chat-panel');
  });

  function services(session = new FakeSession(fakeView(), words(['Hel', 'lo']))): Services {
    const history = new MemoryHistory();
    return {
      extensionUri: shim.Uri.file('/ext') as never,
      context: {} as never,
      sessions: {
        getSession: async () => session,
        snapshot: { status: IDLE_STATUS },
        onDidChange: () => ({ dispose() {} }),
      } as never,
      settings: () => ({ chat: { maxTokens: 8 }, systemPrompt: '' }) as never,
      history: () => history,
      lastEditor: () => undefined,
      log: () => undefined,
    };
  }

  const replies = (p: ShimModule.FakeWebviewPanel) =>
    p.posted.filter((m) => (m as { kind: string }).kind === 'reply') as {
      id: number;
      ok: boolean;
      result?: unknown;
      error?: string;
    }[];
  const tick = () => new Promise((r) => setTimeout(r, 5));

  test('HTML: strict CSP with a fresh nonce per panel and the bundled script', () => {
    shim.resetShim();
    const a = panels.ChatPanel.create(services());
    const b = panels.ChatPanel.create(services());
    const [pa, pb] = shim.shim.panels;
    const nonce = (html: string) => /'nonce-([^']+)'/.exec(html)?.[1];
    assert.ok(nonce(pa?.webview.html ?? ''));
    assert.notEqual(nonce(pa?.webview.html ?? ''), nonce(pb?.webview.html ?? ''));
    assert.match(pa?.webview.html ?? '', /src="https:\/\/webview\.test\/ext\/dist\/webview\.js"/);
    assert.equal((pa?.webview.options as { enableCommandUris?: boolean }).enableCommandUris, false);
    a.dispose();
    b.dispose();
  });

  test('nothing is posted before ready; ready is answered with the state; malformed messages are ignored', async () => {
    shim.resetShim();
    const panel = panels.ChatPanel.create(services());
    const p = shim.shim.panels[0];
    assert.ok(p);
    await panel.ask('early question');
    await tick();
    assert.equal(p.posted.length, 0, 'no events before ready');
    p.receive({ kind: 'request', id: 1, method: 'getSecrets', params: {} });
    p.receive({ kind: 'request', id: 2, method: 'send', params: { text: 42 } });
    await tick();
    assert.equal(p.posted.length, 0, 'malformed requests get no answer');
    p.receive({ kind: 'request', id: 3, method: 'ready', params: {} });
    await tick();
    const first = p.posted[0] as { kind: string; id: number; result: InitState };
    assert.equal(first.kind, 'reply');
    assert.equal(first.id, 3);
    assert.deepEqual(
      first.result.conversation.entries.map((e) => e.role),
      ['user', 'assistant'],
    );
    assert.equal(p.title, 'TEEChat: early question');
    assert.ok(p.revealed > 0);
    panel.dispose();
    assert.equal(p.disposed, true);
  });

  test('send streams events to the webview; code actions go to VS Code', async () => {
    shim.resetShim();
    const panel = panels.ChatPanel.create(services());
    const p = shim.shim.panels[0];
    assert.ok(p);
    p.receive({ kind: 'request', id: 1, method: 'ready', params: {} });
    p.receive({ kind: 'request', id: 2, method: 'send', params: { text: 'hi' } });
    for (
      let i = 0;
      i < 50 && !p.posted.some((m) => (m as { event?: { type: string } }).event?.type === 'end');
      i++
    )
      await tick();
    const deltas = p.posted
      .filter((m) => (m as { event?: { type: string } }).event?.type === 'delta')
      .map((m) => (m as { event: { text: string } }).event.text);
    assert.deepEqual(deltas, ['Hel', 'lo']);
    assert.ok(replies(p).some((r) => r.id === 2 && r.ok));
    p.receive({ kind: 'request', id: 3, method: 'insertCode', params: { code: 'x' } });
    p.receive({
      kind: 'request',
      id: 4,
      method: 'openCode',
      params: { code: 'let a = 1;', language: 'typescript' },
    });
    await tick();
    assert.deepEqual(replies(p).find((r) => r.id === 3)?.result, { ok: false });
    assert.ok(
      shim.shim.messages.some((m) => m.level === 'warning' && /open a text editor/.test(m.text)),
    );
    assert.deepEqual(shim.shim.opened, [{ content: 'let a = 1;', language: 'typescript' }]);
    p.receive({ kind: 'request', id: 5, method: 'openConversation', params: { id: 'nope' } });
    await tick();
    assert.equal(replies(p).find((r) => r.id === 5)?.ok, false);
    panel.dispose();
  });

  test('the serializer restores the saved conversation', async () => {
    shim.resetShim();
    const svc = services();
    const first = panels.ChatPanel.create(svc);
    await first.controller.send('remember me');
    for (let i = 0; i < 50 && first.controller.isStreaming; i++) await tick();
    const id = first.controller.conversation.id;
    first.dispose();
    const revived = panels.ChatPanel.revive(
      shim.fakeWebviewPanel('teechat.chat', 'TEEChat') as never,
      svc,
      { conversationId: id },
    );
    assert.equal(revived.controller.conversation.id, id);
    assert.equal(
      revived.controller.conversation.entries[0]?.role === 'user' &&
        revived.controller.conversation.entries[0].content,
      'remember me',
    );
    revived.dispose();
  });
});

describe('settings (vscode shim)', () => {
  test('defaults are the secure choices; malformed values fall back or are dropped', async () => {
    const shim = await import('../helpers/vscode-shim');
    const { readSettings } = await import('../../extension/config');
    shim.resetShim();
    const d = readSettings();
    assert.equal(d.serverUrl, 'ws://127.0.0.1:8443');
    assert.deepEqual(d.trust, {
      allowedMeasurements: [],
      minimumTcb: {},
      requireGpuEvidence: true,
      allowDebug: false,
      allowSimulated: false,
      releaseRepository: '',
      releaseTrustedRoot: '',
      releaseIssuer: '',
      releaseAllowDowngradeTo: '',
      releaseMaxAgeDays: 7,
    });
    assert.equal(d.selectionPath, 'fileName');
    assert.equal(d.historyMode, 'global');
    shim.shim.config['teechat.trust.minimumTcb'] = {
      bl: 7,
      snp: 14,
      bootloader: 3,
      tee: -1,
      microcode: 1.5,
      fmc: 300,
    };
    shim.shim.config['teechat.trust.allowedMeasurements'] = ['aa', 5, null];
    shim.shim.config['teechat.selection.includePath'] = 'everything';
    shim.shim.config['teechat.history.storage'] = 'none';
    shim.shim.config['teechat.serverUrl'] = '  ';
    const s = readSettings();
    assert.deepEqual(s.trust.minimumTcb, { bl: 7, snp: 14 });
    assert.deepEqual(s.trust.allowedMeasurements, ['aa']);
    assert.equal(s.selectionPath, 'fileName');
    assert.equal(s.historyMode, 'none');
    assert.equal(s.serverUrl, 'ws://127.0.0.1:8443');
  });

  test("fallback defaults are package.json's, and the server URL uses the server's port", async () => {
    const { readFileSync } = await import('node:fs');
    const { settingsFrom, settingDefault, PATH_MODES, HISTORY_MODES } =
      await import('../../extension/config');
    const { DEFAULTS } = await import('../../enclave-server/config');
    const props = (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        contributes: {
          configuration: { properties: Record<string, { default: unknown; enum?: string[] }> };
        };
      }
    ).contributes.configuration.properties;
    // A reader that has nothing (no VS Code defaults): every value is package.json's default.
    const s = settingsFrom({ get: () => undefined, inspect: () => undefined });
    assert.equal(s.serverUrl, props['teechat.serverUrl']!.default);
    assert.equal(s.connectTimeoutMs, props['teechat.connectTimeoutMs']!.default);
    assert.equal(s.historyMax, props['teechat.history.maxConversations']!.default);
    assert.equal(s.chat.maxTokens, props['teechat.chat.maxTokens']!.default);
    assert.equal(s.chat.temperature, props['teechat.chat.temperature']!.default);
    assert.equal(s.selectionPath, props['teechat.selection.includePath']!.default);
    assert.equal(s.historyMode, props['teechat.history.storage']!.default);
    assert.equal(s.systemPrompt, props['teechat.chat.systemPrompt']!.default);
    assert.equal(settingDefault('serverUrl'), props['teechat.serverUrl']!.default);
    assert.deepEqual(
      [...PATH_MODES].sort(),
      [...props['teechat.selection.includePath']!.enum!].sort(),
    );
    assert.deepEqual(
      [...HISTORY_MODES].sort(),
      [...props['teechat.history.storage']!.enum!].sort(),
    );
    assert.equal(new URL(s.serverUrl).port, String(DEFAULTS.port));
  });

  test('the release signer comes from user settings only, never from a workspace', async () => {
    const shim = await import('../helpers/vscode-shim');
    const { readSettings } = await import('../../extension/config');
    shim.resetShim();
    shim.shim.config['workspace:teechat.release.repository'] = 'evil/repo';
    assert.equal(readSettings().trust.releaseRepository, '');
    shim.shim.config['teechat.release.repository'] = ' teechat/teechat ';
    assert.equal(readSettings().trust.releaseRepository, 'teechat/teechat');
  });
});
