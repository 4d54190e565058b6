import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildExtensionBundle, loadExtension } from '../helpers/load-extension';
import type { ThemeColor } from '../helpers/vscode-shim';
import {
  fakeContext,
  fireConfigChange,
  moduleObject,
  resetShim,
  shim,
} from '../helpers/vscode-shim';
import type { StatusView } from '../../ui-contract/messages';

interface ExtModule {
  activate(ctx: unknown): { runtime: () => Promise<unknown> };
  deactivate(): Promise<void> | undefined;
  applyStatus(item: unknown, s: StatusView): void;
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  contributes: {
    commands: { command: string }[];
    chatParticipants: { id: string }[];
    languageModelChatProviders: { vendor: string }[];
  };
  activationEvents: string[];
};

describe('extension activation (bundled, with a vscode shim)', () => {
  let bundle: string;
  before(async () => {
    bundle = await buildExtensionBundle();
  });

  function activate(): { ext: ExtModule; ctx: ReturnType<typeof fakeContext> } {
    const ext = loadExtension<ExtModule>(bundle, moduleObject);
    const ctx = fakeContext();
    ext.activate(ctx);
    return { ext, ctx };
  }

  test('registers exactly the commands of package.json, the serializer and the attestation scheme', () => {
    resetShim();
    activate();
    const declared = pkg.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual([...shim.commands.keys()].sort(), declared);
    for (const id of [
      'teechat.openChat',
      'teechat.askAboutSelection',
      'teechat.showAttestation',
      'teechat.exportEvidence',
      'teechat.reconnect',
      'teechat.clearHistory',
    ])
      assert.ok(declared.includes(id), id);
    assert.ok(shim.serializers.has('teechat.chat'));
    assert.ok(shim.serializers.has('teechat.report'));
    assert.ok(pkg.activationEvents.includes('onWebviewPanel:teechat.report'));
    assert.ok(pkg.activationEvents.includes('onWebviewPanel:teechat.chat'));
    assert.ok(shim.contentProviders.has('teechat-attestation'));
  });

  test('shows the status bar item at once, linked to the attestation report', () => {
    resetShim();
    activate();
    const item = shim.statusItems[0];
    assert.ok(item?.visible);
    assert.match(item?.text ?? '', /TEEChat: not connected/);
    assert.equal(item?.command, 'teechat.showAttestation');
    assert.equal(item?.backgroundColor, undefined);
  });

  test('registers the @teechat participant and the LM provider with the ids package.json declares', () => {
    resetShim();
    activate();
    assert.deepEqual(
      shim.participants.map((p) => p.id),
      [pkg.contributes.chatParticipants[0]?.id],
    );
    assert.deepEqual(
      shim.lmProviders.map((p) => p.vendor),
      [pkg.contributes.languageModelChatProviders[0]?.vendor],
    );
  });

  test('older VS Code without the LM provider or chat API: activation still succeeds', () => {
    resetShim();
    shim.lmApi = false;
    shim.chatApi = false;
    activate();
    assert.equal(shim.lmProviders.length, 0);
    assert.equal(shim.participants.length, 0);
    assert.ok(shim.commands.has('teechat.openChat'));
  });

  test('status colours: simulated and relaxed warn, failures are errors, verified is plain', () => {
    resetShim();
    const { ext } = activate();
    const item = shim.statusItems[0];
    const bg = () => (item?.backgroundColor as ThemeColor | undefined)?.id;
    ext.applyStatus(item, {
      state: 'simulated',
      text: 'SIMULATED SNP 8f3a…c21d · GPU CC',
      detail: 'd',
      warning: true,
    });
    assert.equal(bg(), 'statusBarItem.warningBackground');
    assert.match(item?.text ?? '', /SIMULATED SNP 8f3a…c21d · GPU CC/);
    ext.applyStatus(item, {
      state: 'verified',
      text: 'SNP 8f3a…c21d · GPU CC',
      detail: 'd',
      warning: true,
    });
    assert.equal(bg(), 'statusBarItem.warningBackground');
    ext.applyStatus(item, {
      state: 'verified',
      text: 'SNP 8f3a…c21d · GPU CC',
      detail: 'Product: Genoa',
      warning: false,
    });
    assert.equal(bg(), undefined);
    assert.equal(item?.tooltip, 'Product: Genoa');
    ext.applyStatus(item, {
      state: 'failed',
      text: 'TEEChat: verification failed',
      detail: 'd',
      warning: false,
    });
    assert.equal(bg(), 'statusBarItem.errorBackground');
  });

  test('the attestation document opens before any session and says nothing is verified', async () => {
    resetShim();
    activate();
    const p = shim.contentProviders.get('teechat-attestation');
    const text = String(await p?.provideTextDocumentContent({} as never));
    assert.match(text, /No evidence has been verified yet/);
  });

  test('the report opens as Markdown text too (to save or diff it whole), from the same provider', async () => {
    resetShim();
    activate();
    await shim.commands.get('teechat.showAttestationSource')?.();
    const seen = shim.shown;
    assert.equal(seen.length, 1);
    const doc = seen[0] as { uri: { scheme: string }; getText(): string };
    assert.equal(doc.uri.scheme, 'teechat-attestation');
    assert.match(doc.getText(), /No evidence has been verified yet/);
  });

  test('reconnect to a closed port: status turns to unreachable (error colour) and the user is told', async () => {
    resetShim();
    shim.config['teechat.serverUrl'] = 'ws://127.0.0.1:9';
    shim.config['teechat.connectTimeoutMs'] = 2000;
    activate();
    const provider = shim.contentProviders.get('teechat-attestation') as unknown as {
      provideTextDocumentContent(u: unknown): Promise<string>;
      onDidChange(l: (u: unknown) => void): unknown;
    };
    const uri = { scheme: 'teechat-attestation', path: '/r.md' };
    let changes = 0;
    provider.onDidChange(() => changes++);
    await provider.provideTextDocumentContent(uri);
    await shim.commands.get('teechat.reconnect')?.();
    assert.ok(changes > 0, 'the open attestation document is told to refresh');
    assert.match(await provider.provideTextDocumentContent(uri), /Last error\*\*: unreachable/);
    const item = shim.statusItems[0];
    assert.match(item?.text ?? '', /unreachable/);
    assert.equal(
      (item?.backgroundColor as ThemeColor | undefined)?.id,
      'statusBarItem.errorBackground',
    );
    assert.ok(shim.messages.some((m) => m.level === 'error'));
    // changing the server or the trust settings drops the session state: the next use verifies again
    shim.config['teechat.serverUrl'] = 'ws://127.0.0.1:10';
    fireConfigChange('teechat.serverUrl');
    await new Promise((r) => setTimeout(r, 10));
    assert.match(item?.text ?? '', /not connected/);
  });
});
