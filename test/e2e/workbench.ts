/**
 * Driving the code-server workbench from Playwright: the status bar item, the command palette, the
 * chat webview and the attestation report (a rendered Markdown preview: nested webview frames).
 * Shared by the e2e tests.
 */
import type { FrameLocator, Locator, Page } from 'playwright-core';

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
