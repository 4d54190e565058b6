/**
 * A signed release in a real VS Code (code-server with the packaged .vsix): the enclave server
 * (simulated attestation, tiny model) presents a release manifest signed by a local test Sigstore
 * (a Fulcio-like CA + CT log and a Rekor-like log: test/helpers/test-sigstore.ts). The test
 * Sigstore's trusted root reaches the extension only through the production trust path: the
 * machine-scoped user setting `teechat.release.trustedRoot` (a private Sigstore deployment's
 * root), with `teechat.release.repository` naming the signer, written where code-server reads
 * machine settings. Steps (screenshots in test-artifacts/e2e/release-*.png):
 *   chat without any trust prompt (the session matched the release) → the status bar shows
 *   `SIMULATED v2.0.0 · SNP …` → the report shows the release section (version, provenance, each
 *   expected vs observed value with PASS, the `teechat measure` command) → the server comes back
 *   with an older signed release: refused as a downgrade, the status bar says so.
 * A second suite packages a .vsix carrying a signed manifest (as the release workflow does) and
 * checks that a server offering none is matched against it (release-bundled-report.png).
 * Run: npm run test:e2e (or node --import tsx --test test/e2e/release.test.ts after
 * scripts/e2e-setup.sh). Skips with a message when prerequisites are missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { expectedIdentity, releaseSigner } from '../../client/release/identity';
import { sampleManifest } from '../helpers/release-manifest';
import { testSigstore, type TestSigstore } from '../helpers/test-sigstore';
import {
  ARTIFACTS,
  cleanup,
  freePort,
  MODEL,
  prepareCodeServer,
  ROOT,
  startEnclave,
} from './harness';
import type { CodeServerSetup, Group } from './harness';
import {
  answerDone,
  chatFrame,
  e2eSkip,
  openWorkbench,
  QUIET_SETTINGS,
  reportText,
  runCommand,
  send,
  statusItem,
} from './workbench';

const skip = e2eSkip('code-server release e2e');

const REPO = 'teechat/teechat';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const signer = releaseSigner({ repository: REPO });
/** The launch digest of the server's simulated SNP guest (enclave-server simulated provider). */
const SIM_DIGEST = createHash('sha384').update('teechat simulated guest').digest('hex');

/** Writes a manifest for `version` pinning the simulated digest and the tiny model, signed by `ts`. */
async function signedRelease(
  ts: TestSigstore,
  dir: string,
  version: string,
): Promise<{ manifest: string; bundle: string }> {
  const m = sampleManifest({ version });
  (m['source'] as Record<string, unknown>)['tag'] = `v${version}`;
  (m['expected'] as Record<string, unknown>)['snp'] = [
    { shape: 'qemu-8', launch_digest: SIM_DIGEST },
  ];
  (m['model'] as Record<string, unknown>)['sha256'] = createHash('sha256')
    .update(readFileSync(MODEL))
    .digest('hex');
  const bytes = new TextEncoder().encode(JSON.stringify(m));
  const manifest = join(dir, `teechat-release-${version}.json`);
  writeFileSync(manifest, bytes);
  writeFileSync(
    `${manifest}.sigstore.json`,
    await ts.sign(bytes, {
      identity: expectedIdentity(signer, `v${version}`),
      repository: `https://github.com/${REPO}`,
      ref: `refs/tags/v${version}`,
      sha: COMMIT,
      // the mock CA's root is valid from its creation (the real now): sign just after it
      at: new Date(Date.now() + 1000),
    }),
  );
  return { manifest, bundle: `${manifest}.sigstore.json` };
}

/** User (and machine) settings: the release signer and the test Sigstore's root, user-only. */
const settings = (port: number, rootFile: string): Record<string, unknown> => ({
  'teechat.serverUrl': `ws://127.0.0.1:${port}`,
  'teechat.trust.allowSimulatedAttestation': true,
  'teechat.release.repository': REPO,
  'teechat.release.trustedRoot': rootFile,
  'teechat.chat.maxTokens': 32,
  ...QUIET_SETTINGS,
});

describe('TEEChat in code-server: a signed release', { skip, timeout: 600_000 }, () => {
  let enclave: Group | undefined;
  let codeServer: Group | undefined;
  let setup: CodeServerSetup | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let dir = '';
  let enclavePort = 0;
  const releases: Record<string, string[]> = {};

  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(ARTIFACTS, `release-${name}.png`) });
  };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'teechat-e2e-release-'));
    const ts = await testSigstore();
    const rootFile = join(dir, 'trusted_root.json');
    writeFileSync(rootFile, JSON.stringify(ts.trustedRoot));
    for (const version of ['2.0.0', '1.0.0']) {
      const r = await signedRelease(ts, dir, version);
      releases[version] = ['--release-manifest', r.manifest, '--release-bundle', r.bundle];
    }
    enclavePort = await freePort();
    enclave = startEnclave({
      port: enclavePort,
      gpu: 'simulated',
      log: join(ARTIFACTS, 'release-enclave-server.log'),
      extraArgs: releases['2.0.0'],
    });
    await enclave.waitFor(/listening on ws:\/\/\S+/, 120_000);
    setup = prepareCodeServer(settings(enclavePort, rootFile), {});
    ({ codeServer, browser, page } = await openWorkbench(setup, 'release-code-server.log'));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await codeServer?.stop();
    await enclave?.stop();
    cleanup(setup);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('chat: the session matches the signed release, no trust prompt', async () => {
    await statusItem(page).waitFor({ timeout: 120_000 });
    await runCommand(page, 'TEEChat: Open Private Chat');
    await send(page, 'Once upon a time');
    const text = await answerDone(page, 1);
    assert.ok(text.trim().length > 0, 'the answer has text');
    assert.equal(
      await page.locator('.monaco-dialog-box').count(),
      0,
      'no trust-on-first-use dialog for a release-matched session',
    );
  });

  test('the status bar shows the release version first', async () => {
    const item = statusItem(page).filter({ hasText: /v2\.0\.0/ });
    await item.waitFor({ timeout: 30_000 });
    const text = (await item.textContent()) ?? '';
    assert.match(
      text,
      new RegExp(
        `SIMULATED v2\\.0\\.0 · SNP ${SIM_DIGEST.slice(0, 4)}…${SIM_DIGEST.slice(-4)} · GPU CC`,
      ),
    );
    await item.hover();
    await shot('status-bar');
  });

  test('the report shows the release section: provenance, expected vs observed, measure commands', async () => {
    await statusItem(page).click();
    await page
      .locator('.tabs-container .tab', { hasText: 'TEEChat Attestation Report' })
      .waitFor({ timeout: 30_000 });
    const text = await reportText(page, 'Rekor log index');
    assert.ok(text, 'the report renders with its release section');
    assert.match(text, /Version:?\s*v2\.0\.0 \(signed manifest sent by the server\)/);
    assert.match(text, new RegExp(`github\\.com/${REPO}\\W+at commit\\W+${COMMIT}`));
    assert.ok(text.includes(expectedIdentity(signer, 'v2.0.0')), 'the signing identity');
    assert.match(text, /Rekor log index \d+; signed 20\d\d-/);
    assert.match(text, /Relaxations:?\s*none/);
    // the private trusted root is named (it came from the machine-scoped user setting)
    assert.match(text, /trusted_root\.json\W+\(teechat\.release\.trustedRoot\)/);
    assert.match(
      text,
      new RegExp(
        `snp\\.launch_digest\\[qemu-8\\]\\s*${SIM_DIGEST}\\s*(?:Copy)?\\s*${SIM_DIGEST}\\s*(?:Copy)?\\s*PASS`,
      ),
    );
    assert.match(
      text,
      /model\.sha256\s*[0-9a-f]{64}\s*(?:Copy)?\s*[0-9a-f]{64}\s*(?:Copy)?\s*PASS/,
    );
    assert.match(text, /teechat measure snp --ovmf/);
    await shot('report');
  });

  test('the report copies an expected value and a teechat measure command', async () => {
    // the report page is the webview frame that has the Copy buttons
    let report: Frame | undefined;
    for (let t = 0; t < 60 && !report; t++) {
      for (const f of page.frames())
        if (
          (await f
            .locator('vscode-button.copy')
            .count()
            .catch(() => 0)) > 0
        )
          report = f;
      if (!report) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(report, 'the report page with Copy buttons');
    const digestCopy = report.locator(
      'vscode-button.copy[aria-label="Copy snp.launch_digest[qemu-8] expected (manifest)"]',
    );
    await digestCopy.waitFor({ timeout: 30_000 });
    assert.equal(await digestCopy.getAttribute('data-copy'), SIM_DIGEST);
    await digestCopy.click();
    await page
      .locator('#workbench\\.parts\\.statusbar', {
        hasText: `TEEChat: copied ${SIM_DIGEST.slice(0, 12)}…${SIM_DIGEST.slice(-8)}`,
      })
      .waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), SIM_DIGEST);
    const cmd = report.locator('vscode-button.copy[data-copy^="teechat measure snp"]').first();
    await cmd.click();
    await page
      .locator('#workbench\\.parts\\.statusbar', { hasText: 'TEEChat: copied teechat meas' })
      .waitFor({ timeout: 15_000 });
    assert.match(
      await page.evaluate('navigator.clipboard.readText()'),
      /^teechat measure snp --ovmf /,
    );
    await shot('report-copied');
  });

  test('an older signed release is refused as a downgrade', async () => {
    await enclave?.stop();
    enclave = startEnclave({
      port: enclavePort,
      gpu: 'simulated',
      log: join(ARTIFACTS, 'release-enclave-server-2.log'),
      extraArgs: releases['1.0.0'],
    });
    await enclave.waitFor(/listening on ws:\/\/\S+/, 120_000);
    await runCommand(page, 'TEEChat: Reconnect (Verify Enclave Again)');
    await statusItem(page)
      .filter({ hasText: /evidence rejected/ })
      .waitFor({ timeout: 60_000 });
    await runCommand(page, 'TEEChat: Open Private Chat');
    await send(page, 'Are you the same release?');
    const alert = chatFrame(page).getByRole('alert').last();
    await alert.waitFor({ timeout: 60_000 });
    assert.match(
      (await alert.textContent()) ?? '',
      /rollback\.version: expected version >= 2\.0\.0 .*got 1\.0\.0 \(set the user setting teechat\.release\.allowDowngradeTo to "1\.0\.0" to accept it\)/,
    );
    await shot('downgrade-refused');
  });
});

/**
 * The manifest packaged in the .vsix (release/manifest.json + .sigstore.json, as the release
 * workflow writes them before `vsce package`): a server that offers no manifest is checked against
 * it, verified exactly like a served one (the same private root and pinned identity).
 */
describe(
  'TEEChat in code-server: the manifest packaged in the .vsix',
  { skip, timeout: 600_000 },
  () => {
    let enclave: Group | undefined;
    let codeServer: Group | undefined;
    let setup: CodeServerSetup | undefined;
    let browser: Browser | undefined;
    let page: Page;
    let dir = '';

    before(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      dir = mkdtempSync(join(tmpdir(), 'teechat-e2e-bundled-'));
      const ts = await testSigstore();
      const rootFile = join(dir, 'trusted_root.json');
      writeFileSync(rootFile, JSON.stringify(ts.trustedRoot));
      const r = await signedRelease(ts, dir, '3.0.0');
      // A .vsix like the release workflow's: the built extension plus the signed manifest.
      const pkg = join(dir, 'pkg');
      for (const d of ['dist', 'release']) mkdirSync(join(pkg, d), { recursive: true });
      for (const f of ['package.json', '.vscodeignore', 'CHANGELOG.md'])
        copyFileSync(join(ROOT, f), join(pkg, f));
      for (const f of ['extension.cjs', 'extension-runtime.cjs', 'webview.js', 'report.js'])
        copyFileSync(join(ROOT, 'dist', f), join(pkg, 'dist', f));
      writeFileSync(
        join(pkg, 'README.md'),
        '# TEEChat (e2e build with a packaged release manifest)\n',
      );
      copyFileSync(r.manifest, join(pkg, 'release', 'manifest.json'));
      copyFileSync(r.bundle, join(pkg, 'release', 'manifest.sigstore.json'));
      const vsix = join(dir, 'teechat-bundled.vsix');
      execFileSync(
        join(ROOT, 'scripts', 'with-node.sh'),
        [
          '22',
          join(ROOT, 'node_modules', '.bin', 'vsce'),
          'package',
          '--no-dependencies',
          '--skip-license',
          '--allow-missing-repository',
          '--out',
          vsix,
        ],
        { cwd: pkg, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
      );
      const port = await freePort();
      enclave = startEnclave({
        port,
        gpu: 'simulated',
        log: join(ARTIFACTS, 'release-bundled-enclave-server.log'),
      });
      await enclave.waitFor(/listening on ws:\/\/\S+/, 120_000);
      setup = prepareCodeServer(settings(port, rootFile), {}, vsix);
      ({ codeServer, browser, page } = await openWorkbench(
        setup,
        'release-bundled-code-server.log',
      ));
    });

    after(async () => {
      await browser?.close().catch(() => undefined);
      await codeServer?.stop();
      await enclave?.stop();
      cleanup(setup);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('a server without a manifest is matched against the packaged one', async () => {
      await statusItem(page).waitFor({ timeout: 120_000 });
      await runCommand(page, 'TEEChat: Open Private Chat');
      await send(page, 'Once upon a time');
      assert.ok((await answerDone(page, 1)).trim().length > 0);
      assert.equal(await page.locator('.monaco-dialog-box').count(), 0, 'no trust prompt');
      const item = statusItem(page).filter({ hasText: /v3\.0\.0/ });
      await item.waitFor({ timeout: 30_000 });
      assert.match((await item.textContent()) ?? '', /SIMULATED v3\.0\.0 · SNP /);
      await statusItem(page).click();
      const text = await reportText(page, 'Rekor log index');
      assert.match(
        text,
        /Version:?\s*v3\.0\.0 \(signed manifest shipped with the extension: the server offered none\)/,
      );
      assert.match(
        text,
        new RegExp(
          `snp\\.launch_digest\\[qemu-8\\]\\s*${SIM_DIGEST}\\s*(?:Copy)?\\s*${SIM_DIGEST}\\s*(?:Copy)?\\s*PASS`,
        ),
      );
      await page.screenshot({ path: join(ARTIFACTS, 'release-bundled-report.png') });
    });
  },
);
