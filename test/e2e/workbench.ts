/**
 * Driving the code-server workbench from Playwright: opening it, the status bar item, the command
 * palette, the chat webview and the attestation report (a webview page: nested frames). Shared by
 * the e2e tests.
 */
import { join } from 'node:path';
import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/webview-harness';
import { ARTIFACTS, freePort, missingPrerequisites, startCodeServer } from './harness';
import type { CodeServerSetup, Group } from './harness';

/** The skip reason of an e2e suite (printed once), or false when everything it needs is there. */
export function e2eSkip(suite: string): string | false {
  const missing = missingPrerequisites();
  if (missing.length === 0) return false;
  const why = `e2e prerequisites missing (run scripts/e2e-setup.sh): ${missing.join('; ')}`;
  console.error(`# SKIP ${suite}: ${why}`);
  return why;
}

/** Workbench settings that keep first-run UI (tips, updates, trust dialogs, chat) out of the way. */
export const QUIET_SETTINGS: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

/** code-server on `setup` (log under test-artifacts/e2e/) and a Chromium page on its workbench. */
export async function openWorkbench(
  setup: CodeServerSetup,
  log: string,
): Promise<{ codeServer: Group; browser: Browser; page: Page }> {
  const csPort = await freePort();
  const codeServer = startCodeServer(setup, csPort, join(ARTIFACTS, log));
  await codeServer.waitFor(/HTTP server listening on (http:\/\/\S+)/, 60_000);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  const context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${csPort}/?folder=${encodeURIComponent(setup.workspace)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
  return { codeServer, browser, page };
}

export const statusItem = (page: Page): Locator =>
  page.locator('#workbench\\.parts\\.statusbar [aria-label^="TEEChat:"]').first();

export const chatFrame = (page: Page): FrameLocator =>
  page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');

export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page
    .locator('.quick-input-list .monaco-list-row', { hasText: title })
    .first()
    .waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

export async function send(page: Page, text: string): Promise<void> {
  const ta = chatFrame(page).locator('#input textarea');
  await ta.waitFor({ timeout: 30_000 });
  await ta.fill(text);
  await ta.press('Enter');
}

/** The text of the n-th (1-based) assistant answer once it is complete. */
export async function answerDone(page: Page, n: number, timeout = 120_000): Promise<string> {
  const f = chatFrame(page);
  const answer = f.locator('.msg.assistant').nth(n - 1);
  await answer.waitFor({ timeout });
  await answer.and(f.locator('.msg.assistant:not([aria-busy])')).waitFor({ timeout });
  return (await answer.locator('.body').textContent()) ?? '';
}

/**
 * The text of the open attestation report: the body of whichever frame contains `marker` (the
 * rendered preview is a webview, nested frames), non-breaking spaces as spaces; '' after ~30 s.
 */
export async function reportText(page: Page, marker: string): Promise<string> {
  let text = '';
  for (let t = 0; t < 60 && !text.includes(marker); t++) {
    for (const f of page.frames()) {
      const body = await f
        .locator('body')
        .textContent({ timeout: 1000 })
        .catch(() => null);
      if (body?.includes(marker)) text = body;
    }
    if (!text) await new Promise((r) => setTimeout(r, 500));
  }
  return text.replace(/\u00a0/g, ' ');
}
