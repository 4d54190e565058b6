/**
 * Loads the real chat webview (webview/main.ts bundled by esbuild, the real HTML from
 * extension/chat-html.ts with its CSP and nonce) into headless Chromium (Debian `chromium` via
 * playwright-core) with a fake `acquireVsCodeApi`, so tests act as the extension host: they read
 * the requests the webview posts and answer them / push events. Skips visibly without chromium.
 */
import { existsSync } from 'node:fs';
import * as esbuild from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chatHtml } from '../../extension/chat-html';
import type { HostEvent, InitState, WebviewRequest } from '../../ui-contract/messages';

// Browser globals used inside page.evaluate callbacks (test files are type-checked without the DOM lib).
declare const window: { postMessage(m: unknown, origin: string): void };
declare const document: {
  querySelector(s: string): { textContent: string | null } | null;
  querySelectorAll(s: string): { length: number };
};

export const CHROMIUM = process.env.TEECHAT_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM)
    ? false
    : `chromium not found at ${CHROMIUM} (apt-get install chromium, or run scripts/e2e-setup.sh); webview tests skipped`;
}

let bundle: string | undefined;
export async function webviewBundle(): Promise<string> {
  if (bundle === undefined) {
    const r = await esbuild.build({
      entryPoints: ['webview/main.ts'],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    bundle = r.outputFiles[0]?.text ?? '';
  }
  return bundle;
}

export interface Harness {
  readonly browser: Browser;
  close(): Promise<void>;
  open(opts?: { extraHead?: string; state?: unknown }): Promise<WebviewPage>;
}

export interface WebviewPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Uncaught exceptions and console errors of the page. */
  readonly errors: string[];
  /** Requests posted by the webview so far. */
  requests(): Promise<WebviewRequest[]>;
  /** Waits for the next request with this method (after `since` requests). */
  waitRequest(method: WebviewRequest['method'], since?: number): Promise<WebviewRequest>;
  reply(id: number, result: unknown): Promise<void>;
  replyError(id: number, error: string): Promise<void>;
  event(e: HostEvent): Promise<void>;
  /** Waits for `ready` and answers it with `init`. */
  handshake(init: InitState): Promise<void>;
  state(): Promise<unknown>;
}

const ORIGIN = 'https://webview.test';

export async function launch(): Promise<Harness> {
  const { chromium } = await import('playwright-core');
  // launch() gives every browser a fresh temporary profile and removes it on close.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  const js = await webviewBundle();
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
    },
    async open(opts = {}) {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      const nonce = 'TestNonce_0123456789abcdef';
      let html = chatHtml({ cspSource: ORIGIN, nonce, scriptUri: `${ORIGIN}/dist/webview.js` });
      if (opts.extraHead) html = html.replace('</head>', `${opts.extraHead}</head>`);
      await page.route(`${ORIGIN}/**`, async (route) => {
        const url = route.request().url();
        if (url.endsWith('/dist/webview.js'))
          await route.fulfill({ status: 200, contentType: 'text/javascript', body: js });
        else if (url === `${ORIGIN}/` || url.endsWith('/index.html'))
          await route.fulfill({ status: 200, contentType: 'text/html', body: html });
        else await route.fulfill({ status: 404, body: '' });
      });
      // A string, not a function: tsx's transpiled helpers (`__name`) do not exist in the page.
      await page.addInitScript(`(() => {
        const w = window;
        w.__posted = [];
        w.__state = ${JSON.stringify(opts.state ?? null)};
        w.acquireVsCodeApi = () => ({
          postMessage: (m) => w.__posted.push(JSON.parse(JSON.stringify(m))),
          getState: () => w.__state,
          setState: (s) => { w.__state = s; },
        });
      })();`);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${ORIGIN}/index.html`);
      const post = (m: unknown) => page.evaluate((msg) => window.postMessage(msg, '*'), m as never);
      const requests = () =>
        page.evaluate(() => (window as unknown as { __posted: WebviewRequest[] }).__posted);
      const wp: WebviewPage = {
        page,
        errors,
        context,
        requests,
        async waitRequest(method, since = 0) {
          const h = await page.waitForFunction(
            ([m, s]) =>
              (window as unknown as { __posted: { method: string }[] }).__posted
                .slice(s as number)
                .find((r) => r.method === m) ?? false,
            [method, since] as const,
            { timeout: 5000 },
          );
          return (await h.jsonValue()) as WebviewRequest;
        },
        reply: (id, result) => post({ kind: 'reply', id, ok: true, result }),
        replyError: (id, error) => post({ kind: 'reply', id, ok: false, error }),
        event: (e) => post({ kind: 'event', event: e }),
        async handshake(init) {
          const r = await wp.waitRequest('ready');
          await wp.reply(r.id, init);
          await page.waitForFunction(
            () =>
              document.querySelector('#history') !== null &&
              document.querySelector('.empty, .msg, .notice') !== null,
          );
        },
        state: () => page.evaluate(() => (window as unknown as { __state: unknown }).__state),
      };
      return wp;
    },
  };
}
