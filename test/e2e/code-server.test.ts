/**
 * The extension in a real VS Code: code-server with the packaged .vsix, the real enclave server
 * (simulated attestation, tiny model), Chromium driving the workbench. Steps (each with a
 * screenshot in test-artifacts/e2e/): status bar at start → chat with a streamed answer (after the
 * unknown-measurement prompt) → status bar text → Ask Privately About Selection → attestation
 * report with the measurement → server killed: clear error, status unreachable → server back:
 * Reconnect, answer again → window reload: chat panel, conversation and report panel restored.
 * Run: npm run test:e2e (scripts/e2e-setup.sh first). Skips with a message when prerequisites are
 * missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import {
  ARTIFACTS,
  extensionHostLogs,
  cleanup,
  freePort,
  prepareCodeServer,
  startEnclave,
} from './harness';
import type { CodeServerSetup, Group } from './harness';
import * as wb from './workbench';

const skip = wb.e2eSkip('code-server e2e');

const GPU = (process.env.TEECHAT_E2E_GPU ?? 'simulated') as 'simulated' | 'none';
const SAMPLE = `export function fib(n: number): number {\n  return n < 2 ? n : fib(n - 1) + fib(n - 2);\n}\n`;

describe('TEEChat in code-server', { skip, timeout: 600_000 }, () => {
  let enclave: Group | undefined;
  let codeServer: Group | undefined;
  let setup: CodeServerSetup | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let enclavePort = 0;
  let measurementPrefix = '';
  let step = 0;

  const shot = async (name: string): Promise<void> => {
    step++;
    await page.screenshot({
      path: join(ARTIFACTS, `${String(step).padStart(2, '0')}-${name}.png`),
    });
  };
  const statusItem = () => wb.statusItem(page);
  const chatFrame = (): FrameLocator => wb.chatFrame(page);
  const runCommand = (title: string): Promise<void> => wb.runCommand(page, title);
  const send = (text: string): Promise<void> => wb.send(page, text);
  const lastAnswerDone = (n: number): Promise<string> => wb.answerDone(page, n);
  const maybeTrust = async (): Promise<boolean> => {
    const btn = page.locator('.monaco-dialog-box').getByRole('button', { name: 'Trust Always' });
    try {
      await btn.waitFor({ timeout: 20_000 });
    } catch {
      return false;
    }
    await shot('trust-prompt');
    const detail = (await page.locator('.monaco-dialog-box').textContent()) ?? '';
    assert.match(detail, /unknown enclave launch measurement/);
    assert.ok(
      detail.includes(measurementPrefix),
      `the prompt shows the measurement ${measurementPrefix}…`,
    );
    await btn.click();
    return true;
  };

  before(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    enclavePort = await freePort();
    enclave = startEnclave({
      port: enclavePort,
      gpu: GPU,
      log: join(ARTIFACTS, 'enclave-server.log'),
    });
    await enclave.waitFor(/listening on ws:\/\/\S+/, 120_000);
    measurementPrefix = /measurement ([0-9a-f]{16})/.exec(enclave.output)?.[1] ?? '';
    assert.ok(measurementPrefix, 'the server prints its simulated measurement');
    setup = prepareCodeServer(
      {
        'teechat.serverUrl': `ws://127.0.0.1:${enclavePort}`,
        'teechat.trust.allowSimulatedAttestation': true,
        'teechat.trust.requireGpuEvidence': GPU === 'simulated',
        'teechat.chat.maxTokens': 48,
        ...wb.QUIET_SETTINGS,
      },
      { 'sample.ts': SAMPLE },
    );
    ({ codeServer, browser, page } = await wb.openWorkbench(setup, 'code-server.log'));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await codeServer?.stop();
    await enclave?.stop();
    cleanup(setup);
  });

  test('status bar shows the extension before any session', async () => {
    await statusItem().waitFor({ timeout: 120_000 });
    assert.match((await statusItem().textContent()) ?? '', /TEEChat: not connected/);
    await shot('status-not-connected');
  });

  test('open the chat and get a streamed answer (after the unknown-measurement prompt)', async () => {
    await runCommand('TEEChat: Open Private Chat');
    await send('Once upon a time');
    assert.equal(await maybeTrust(), true, 'an unknown measurement prompts the user');
    const text = await lastAnswerDone(1);
    assert.ok(text.trim().length > 0, 'the answer has text');
    await shot('chat-answer');
  });

  test('status bar reads SIMULATED with the short measurement', async () => {
    const text = (await statusItem().textContent()) ?? '';
    const expected = GPU === 'simulated' ? 'GPU CC' : 'no GPU evidence';
    assert.match(
      text,
      new RegExp(`SIMULATED SNP ${measurementPrefix.slice(0, 4)}…[0-9a-f]{4} · ${expected}`),
    );
    await statusItem().hover();
    await shot('status-verified-simulated');
  });

  test('select code and Ask Privately About Selection', async () => {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input.input');
    await input.fill('sample.ts');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'sample.ts' })
      .first()
      .waitFor();
    await page.keyboard.press('Enter');
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.waitFor();
    await editor.locator('.view-lines').click();
    await page.keyboard.press('Control+A');
    await runCommand('TEEChat: Ask Privately About Selection');
    const box = page.locator('.quick-input-widget input.input');
    await box.waitFor({ state: 'visible' });
    // the command palette closes and the question box opens with its default question
    await page.waitForFunction(
      "document.querySelector('.quick-input-widget input.input')?.value.startsWith('Explain')",
      undefined,
      { timeout: 30_000 },
    );
    assert.match(await box.inputValue(), /Explain what this code does/);
    await shot('ask-selection-question');
    await page.keyboard.press('Enter');
    const userMsg = chatFrame().locator('.msg.user').last();
    await userMsg.locator('pre code').waitFor({ timeout: 30_000 });
    assert.match((await userMsg.textContent()) ?? '', /typescript from sample\.ts \(lines 1–3\)/);
    assert.match((await userMsg.locator('pre code').textContent()) ?? '', /function fib/);
    await lastAnswerDone(2);
    await shot('ask-selection-answer');
  });

  test('open the attestation report and read the measurement', async () => {
    await statusItem().click();
    const tab = page.locator('.tabs-container .tab', { hasText: 'TEEChat Attestation Report' });
    await tab.waitFor({ timeout: 30_000 });
    // The report opens as a webview page (extension/report-panel.ts: nested frames).
    const text = await wb.reportText(page, 'Launch measurement');
    const m = /Launch measurement \(SNP\)(?:\*\*)?:?\s*`?([0-9a-f]{96})/.exec(text);
    assert.ok(m, `a 48-byte measurement in the report: ${text.slice(0, 400)}`);
    assert.ok(
      m[1]?.startsWith(measurementPrefix),
      `report measurement ${m[1]} starts with the server's ${measurementPrefix}`,
    );
    assert.match(text, /SIMULATED/);
    await shot('attestation-report');
  });

  test('export the evidence bundle through the save dialog', async () => {
    assert.ok(setup);
    await runCommand('TEEChat: Export Attestation Evidence…');
    // code-server's save dialog is a quick input prefilled with the suggested path
    const box = page.locator('.quick-input-widget input.input');
    await page.waitForFunction(
      "(document.querySelector('.quick-input-widget input.input')?.value ?? '').includes('teechat-evidence-')",
      undefined,
      { timeout: 30_000 },
    );
    await shot('export-dialog');
    const target = await box.inputValue();
    await page.keyboard.press('Enter');
    const file = join(setup.workspace, target.split('/').pop() ?? '');
    for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    const bundle = JSON.parse(readFileSync(file, 'utf8')) as {
      format: string;
      items: { kind: string; parts: Record<string, string> }[];
      binding: { cpuReportData: string } | null;
      summary: { measurement: string };
    };
    assert.equal(bundle.format, 'teechat-evidence/1');
    assert.ok(
      bundle.items.some((i) => i.kind === 'sev-snp' && (i.parts.report ?? '').length > 1000),
    );
    assert.ok(bundle.summary.measurement.startsWith(measurementPrefix));
    // when the client reports the session's binding values, they are what the SNP report carries
    // (REPORT_DATA at offset 0x50, 64 bytes)
    if (bundle.binding) {
      const report = Buffer.from(
        bundle.items.find((i) => i.kind === 'sev-snp')?.parts.report ?? '',
        'base64',
      );
      assert.equal(report.subarray(0x50, 0x90).toString('hex'), bundle.binding.cpuReportData);
    }
  });

  test('kill the server: a clear error, status unreachable; bring it back and reconnect', async () => {
    await enclave?.stop();
    await runCommand('TEEChat: Open Private Chat');
    await send('Are you still there?');
    const alert = chatFrame().getByRole('alert').last();
    await alert.waitFor({ timeout: 60_000 });
    assert.match(
      (await alert.textContent()) ?? '',
      /The secure session was lost|The server is unreachable/,
    );
    await statusItem()
      .filter({ hasText: /unreachable/ })
      .waitFor({ timeout: 30_000 });
    await shot('server-killed-error');

    enclave = startEnclave({
      port: enclavePort,
      gpu: GPU,
      log: join(ARTIFACTS, 'enclave-server-2.log'),
    });
    await enclave.waitFor(/listening on ws:\/\/\S+/, 120_000);
    await alert.getByRole('button', { name: 'Reconnect to the enclave' }).click();
    await statusItem()
      .filter({ hasText: /SIMULATED SNP/ })
      .waitFor({ timeout: 60_000 });
    const before = await chatFrame().locator('.msg.assistant').count();
    await send('Once upon a time');
    const text = await lastAnswerDone(before + 1);
    assert.ok(text.trim().length > 0);
    await shot('reconnected-answer');
  });

  test('reload the window: the chat panel and its conversation are restored', async () => {
    const users = await chatFrame().locator('.msg.user').count();
    await page.reload();
    await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
    const restored = chatFrame().locator('.msg.user');
    await restored.nth(users - 1).waitFor({ timeout: 120_000 });
    assert.equal(await restored.count(), users);
    assert.match(
      (await chatFrame().locator('.msg.user').first().textContent()) ?? '',
      /Once upon a time/,
    );
    await shot('restored-after-reload');
    // the report panel comes back too, rendered again by the new extension host (no page state)
    const reportTab = page.locator('.tabs-container .tab', {
      hasText: 'TEEChat Attestation Report',
    });
    await reportTab.first().click({ timeout: 60_000 });
    assert.match(
      await wb.reportText(page, 'TEEChat attestation report'),
      /No evidence has been verified yet|Launch measurement \(SNP\)/,
    );
  });

  test('the extension host logged no TEEChat errors (activation, LM provider, participant)', () => {
    assert.ok(setup);
    const logs = extensionHostLogs(setup);
    assert.ok(logs.length > 0, 'extension host logs exist');
    for (const l of logs)
      writeFileSync(join(ARTIFACTS, `exthost-${l.file.replace(/[\\/]/g, '_')}`), l.text);
    const all = logs.map((l) => l.text).join('\n');
    assert.match(all, /teechat/i, 'the extension host loaded TEEChat');
    const bad = all.split('\n').filter((line) => /\[error\]/i.test(line) && /teechat/i.test(line));
    assert.deepEqual(bad, []);
  });
});
