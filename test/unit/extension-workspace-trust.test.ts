/**
 * Trust comes from the user, never from the workspace: every trust setting is machine-scoped in
 * package.json and restricted in untrusted workspaces; a value a workspace sets is ignored (read
 * through `inspect()`) with a visible notice; a server address from the workspace that was never
 * trusted goes through the trust decision even with an allowlisted measurement.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { register } from 'node:module';
import type * as ShimModule from '../helpers/vscode-shim';
import type * as ConfigModule from '../../extension/config';
import { SessionManager } from '../../extension/session-manager';
import { MemoryMeasurementStore, decideTrust, trustPromptDetail } from '../../extension/trust';
import type { MeasurementPrompt } from '../../extension/trust';
import type { TrustSettings } from '../../extension/types';
import {
  FakeSession,
  MEASUREMENT,
  connectReturning,
  fakeView,
  words,
} from '../helpers/fake-session';
import { repoRoot } from '../helpers/shared';
import { STRICT_TRUST } from '../helpers/fake-session';

register('../helpers/vscode-hooks.mjs', import.meta.url);

const TRUST = STRICT_TRUST;

interface Prop {
  scope?: string;
}
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, Prop> } };
  capabilities?: {
    untrustedWorkspaces?: { supported: unknown; restrictedConfigurations?: string[] };
  };
};

describe('package.json declares the trust settings user-only', () => {
  let config: typeof ConfigModule;
  before(async () => {
    await import('../helpers/vscode-shim');
    config = await import('../../extension/config');
  });
  test('every trust setting exists and is machine- or application-scoped; every trust.* key is listed', () => {
    const props = pkg.contributes.configuration.properties;
    for (const k of config.TRUST_SETTING_KEYS) {
      const p = props[`teechat.${k}`];
      assert.ok(p, `teechat.${k} declared`);
      assert.ok(
        p.scope === 'machine' || p.scope === 'application',
        `teechat.${k}: scope ${p.scope}`,
      );
    }
    // Every trust.* setting, and the release repository (it decides which values need no prompt).
    const trustKeys = Object.keys(props).filter(
      (k) => k.startsWith('teechat.trust.') || k.startsWith('teechat.release.'),
    );
    assert.deepEqual(
      trustKeys.sort(),
      config.TRUST_SETTING_KEYS.map((k) => `teechat.${k}`).sort(),
      'a new trust.* or release.* setting must be added to TRUST_SETTING_KEYS',
    );
  });
  test('untrusted workspaces: limited support, the server URL and every trust setting restricted', () => {
    const u = pkg.capabilities?.untrustedWorkspaces;
    assert.equal(u?.supported, 'limited');
    for (const k of ['serverUrl', ...config.TRUST_SETTING_KEYS])
      assert.ok(u?.restrictedConfigurations?.includes(`teechat.${k}`), `teechat.${k} restricted`);
  });
});

describe('readSettings ignores trust settings set by a workspace', () => {
  let shim: typeof ShimModule;
  let config: typeof ConfigModule;
  before(async () => {
    shim = await import('../helpers/vscode-shim');
    config = await import('../../extension/config');
  });

  test('a workspace allowSimulatedAttestation (and every other relaxation) is ignored and named', () => {
    shim.resetShim();
    shim.shim.workspaceConfig['teechat.trust.allowSimulatedAttestation'] = true;
    shim.shim.workspaceConfig['teechat.trust.allowDebug'] = true;
    shim.shim.workspaceConfig['teechat.trust.requireGpuEvidence'] = false;
    shim.shim.workspaceConfig['teechat.trust.allowedMeasurements'] = [MEASUREMENT];
    shim.shim.workspaceConfig['teechat.trust.minimumTcb'] = { snp: 0 };
    shim.shim.workspaceConfig['teechat.release.repository'] = 'evil/releases';
    shim.shim.workspaceConfig['teechat.release.trustedRoot'] = '/tmp/evil-root.json';
    shim.shim.workspaceConfig['teechat.release.certificateOidcIssuer'] = 'https://evil.example';
    shim.shim.workspaceConfig['teechat.release.allowDowngradeTo'] = '0.0.1';
    shim.shim.workspaceConfig['teechat.release.maxAgeDays'] = 0;
    shim.shim.workspaceConfig['teechat.serverUrl'] = 'wss://evil.example/';
    const s = config.readSettings();
    assert.deepEqual(s.trust, TRUST);
    assert.deepEqual([...s.ignoredWorkspaceTrust].sort(), [...config.TRUST_SETTING_KEYS].sort());
    // The server URL may come from the workspace; it is marked as such.
    assert.equal(s.serverUrl, 'wss://evil.example/');
    assert.equal(s.serverUrlFromWorkspace, true);
  });

  test('the same values in the user settings apply; nothing is reported ignored', () => {
    shim.resetShim();
    shim.shim.config['teechat.trust.allowSimulatedAttestation'] = true;
    shim.shim.config['teechat.trust.allowDebug'] = true;
    shim.shim.config['teechat.trust.requireGpuEvidence'] = false;
    shim.shim.config['teechat.serverUrl'] = 'ws://127.0.0.1:5';
    const s = config.readSettings();
    assert.equal(s.trust.allowSimulated, true);
    assert.equal(s.trust.allowDebug, true);
    assert.equal(s.trust.requireGpuEvidence, false);
    assert.deepEqual(s.ignoredWorkspaceTrust, []);
    assert.equal(s.serverUrlFromWorkspace, false);
  });

  test('user true + workspace false: the user value holds (and the workspace value is still reported)', () => {
    shim.resetShim();
    shim.shim.config['teechat.trust.allowSimulatedAttestation'] = true;
    shim.shim.workspaceConfig['teechat.trust.allowSimulatedAttestation'] = false;
    const s = config.readSettings();
    assert.equal(s.trust.allowSimulated, true);
    assert.deepEqual(s.ignoredWorkspaceTrust, ['trust.allowSimulatedAttestation']);
  });

  test('userScopedValue: only explicit booleans relax; no inspect data means the default', () => {
    const reader = (i: Record<string, unknown> | undefined): ConfigModule.ConfigReader => ({
      get: () => undefined,
      inspect: () => i as never,
    });
    const s1 = config.settingsFrom(reader({ globalValue: 'true' }));
    assert.equal(s1.trust.allowSimulated, false);
    assert.equal(s1.trust.requireGpuEvidence, true);
    const s2 = config.settingsFrom(reader(undefined));
    assert.deepEqual(s2.trust, TRUST);
    const s3 = config.settingsFrom(reader({ workspaceFolderValue: true, defaultValue: false }));
    assert.equal(s3.trust.allowSimulated, false);
    assert.equal(s3.ignoredWorkspaceTrust.length, config.TRUST_SETTING_KEYS.length);
  });
});

describe('a server never seen before goes through the trust decision', () => {
  const allow: TrustSettings = { ...TRUST, allowedMeasurements: [MEASUREMENT] };
  test('URL from the workspace + allowlisted measurement + never trusted: the user is asked, told why', async () => {
    const store = new MemoryMeasurementStore();
    const prompts: MeasurementPrompt[] = [];
    const ask = async (p: MeasurementPrompt) => (prompts.push(p), 'cancel' as const);
    const d = await decideTrust('wss://new/', fakeView(), allow, store, ask, {
      serverUrlFromWorkspace: true,
    });
    assert.equal(d.trusted, false);
    assert.equal(prompts.length, 1);
    assert.equal(prompts[0]?.serverFromWorkspace, true);
    assert.match(trustPromptDetail(prompts[0]!), /comes from the settings of the open workspace/);
    assert.match(
      trustPromptDetail(prompts[0]!),
      /in teechat\.trust\.allowedMeasurements, but this server is new/,
    );
  });
  test('after "always" the server is known (no more asking); a URL from the user settings uses the allowlist without asking', async () => {
    const store = new MemoryMeasurementStore();
    let asked = 0;
    const always = async () => (asked++, 'always' as const);
    const o = { serverUrlFromWorkspace: true };
    assert.deepEqual(await decideTrust('wss://new/', fakeView(), allow, store, always, o), {
      trusted: true,
      how: 'always',
    });
    assert.deepEqual(await decideTrust('wss://new/', fakeView(), allow, store, always, o), {
      trusted: true,
      how: 'allowlist',
    });
    assert.deepEqual(await decideTrust('wss://mine/', fakeView(), allow, store, always), {
      trusted: true,
      how: 'allowlist',
    });
    assert.equal(asked, 1);
  });
});

describe('SessionManager shows the ignored-settings notice', () => {
  test('once per distinct set, and in the log, on every connect attempt', async () => {
    const notices: string[] = [];
    const log: string[] = [];
    const m = new SessionManager({
      connect: connectReturning(() => new FakeSession(fakeView(), words(['a']))),
      settings: () => ({
        serverUrl: 'ws://127.0.0.1:9',
        trust: { ...TRUST, allowedMeasurements: [MEASUREMENT] },
        connectTimeoutMs: 1000,
        ignoredWorkspaceTrust: ['trust.allowSimulatedAttestation'],
      }),
      store: new MemoryMeasurementStore(),
      askTrust: async () => 'cancel',
      log: (l) => log.push(l),
      notify: (t) => notices.push(t),
    });
    await m.getSession();
    await m.reconnect();
    assert.equal(notices.length, 1);
    assert.match(
      notices[0] ?? '',
      /ignored trust settings set by this workspace: teechat\.trust\.allowSimulatedAttestation/,
    );
    assert.equal(log.filter((l) => l.includes('ignored trust settings')).length, 2);
    await m.disconnect();
  });
});
