/**
 * The attestation report page (extension/report-html.ts): the report Markdown rendered to HTML on
 * the host with a Copy button for every expected/observed value and every reproduce command;
 * strict CSP; all text escaped (property test over arbitrary text); only `copy` requests for a
 * rendered value pass the host's guard (ui-contract/report.ts).
 */
import { before, describe, test } from 'node:test';
import { register } from 'node:module';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { renderAttestationDocument, renderRelease } from '../../extension/attestation-report';
import { makeNonce } from '../../extension/chat-html';
import { escapeHtml, isCopyable, markdownToHtml, reportHtml } from '../../extension/report-html';
import { verifiedStatus } from '../../extension/status-format';
import type { SessionSnapshot } from '../../extension/session-manager';
import { isReportRequest, REPORT_COPY_MAX } from '../../ui-contract/report';
import { fakeRelease, fakeView } from '../helpers/fake-session';
import type * as ShimModule from '../helpers/vscode-shim';
import type * as PanelModule from '../../extension/report-panel';

register('../helpers/vscode-hooks.mjs', import.meta.url);

const NONCE = makeNonce((n) => new Uint8Array(n).map((_, i) => i * 13));
const page = (markdown: string) =>
  reportHtml({
    cspSource: 'vscode-resource:',
    nonce: NONCE,
    scriptUri: 'vscode-resource:/dist/report.js',
    markdown,
  });

const M = fakeView().measurement;
const release = fakeRelease({
  rollback: 'new',
  previousVersion: null,
  expected: { 'snp.launch_digest[qemu-8]': M, 'model.sha256': 'ab'.repeat(32) },
});

/** The values of the Copy buttons in `html`, in order (attribute unescaped). */
const buttons = (html: string): string[] =>
  [...html.matchAll(/<vscode-button class="copy"[^>]* data-copy="([^"]*)"/g)].map((m) =>
    (m[1] ?? '')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&'),
  );

describe('report page', () => {
  test('strict CSP: one nonce script, one nonce style, no network, no inline handlers', () => {
    const { html } = page('# T\n\n- **a**: `b`\n');
    assert.match(html, /default-src 'none'/);
    assert.match(html, new RegExp(`script-src 'nonce-${NONCE}'`));
    assert.match(html, /connect-src 'none'/);
    assert.doesNotMatch(html, /unsafe-inline|unsafe-eval/);
    assert.equal((html.match(/<script /g) ?? []).length, 1);
    assert.match(
      html,
      new RegExp(`<script nonce="${NONCE}" src="vscode-resource:/dist/report.js">`),
    );
    assert.match(html, new RegExp(`<style nonce="${NONCE}">`));
    assert.doesNotMatch(html, /\son[a-z]+=/i);
    assert.throws(
      () => reportHtml({ cspSource: 'x', nonce: 'short', scriptUri: 'y', markdown: '' }),
      /nonce/,
    );
  });

  test('the release section: a Copy button for each expected and observed value and each command', () => {
    const a = fakeView({ release, model: { id: 'm', sha256: 'ab'.repeat(32) } });
    const out: string[] = [];
    renderRelease(a, out);
    const { html, copyable } = page(out.join('\n'));
    const b = buttons(html);
    // expected and observed launch digest, expected and observed model digest
    assert.equal(b.filter((v) => v === M).length, 2, b.join('\n'));
    assert.equal(b.filter((v) => v === 'ab'.repeat(32)).length, 2);
    assert.ok(b.some((v) => v.startsWith('teechat measure snp --ovmf')));
    assert.ok(b.some((v) => v.startsWith('sha256sum MODEL.gguf')));
    assert.ok(b.includes(release.commit) && b.includes(release.manifestSha256));
    assert.deepEqual(new Set(b), copyable);
    assert.match(html, /<table><thead><tr>/);
    assert.match(html, /<td>PASS<\/td>/);
    // accessible names say what is copied
    assert.match(html, /aria-label="Copy snp\.launch_digest\[qemu-8\] expected \(manifest\)"/);
    assert.match(html, /aria-label="Copy snp\.launch_digest\[qemu-8\] observed"/);
  });

  test('the whole document renders: headings, nested lists, the measurement with its button', () => {
    const view = fakeView({ release });
    const snap: SessionSnapshot = {
      status: verifiedStatus(view, [], false),
      attestation: view,
      serverUrl: 'ws://h:1',
      lastError: null,
    };
    const md = renderAttestationDocument(
      snap,
      {
        allowedMeasurements: [],
        minimumTcb: {},
        requireGpuEvidence: true,
        allowDebug: false,
        allowSimulated: false,
      },
      new Date(),
    );
    const { html } = page(md);
    assert.match(html, /<h1>TEEChat attestation report<\/h1>/);
    assert.match(html, /<h2>Release<\/h2>/);
    assert.match(
      html,
      new RegExp(`<strong>Launch measurement \\(SNP\\)</strong>: <code>${M}</code><vscode-button`),
    );
    assert.equal((html.match(/<ul>/g) ?? []).length, (html.match(/<\/ul>/g) ?? []).length);
    assert.equal((html.match(/<li>/g) ?? []).length, (html.match(/<\/li>/g) ?? []).length);
  });

  test('evidence text is escaped, in text and in code spans and button values', () => {
    const { html } = page(
      '- **x**: <img src=x onerror=alert(1)> `"><script>alert(1)</script>`\n| a | b |\n|---|---|\n| <b>`x` | `teechat measure "<x>"` |',
    );
    assert.doesNotMatch(html, /<img|<script>alert|<b>/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.deepEqual(buttons(html), ['teechat measure "<x>"']);
  });

  test("property: arbitrary report text never produces markup other than the renderer's own", () => {
    const own =
      /<\/?(?:h[1-3]|ul|li|p|pre|table|thead|tbody|tr|th|td|code|strong)>|<vscode-button class="copy" secondary data-copy="[^"<>]*" aria-label="[^"<>]*" title="Copy to the clipboard">Copy<\/vscode-button>/g;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 60 }),
            fc.constantFrom(
              '```',
              '   ```sh',
              '~~~',
              '- **k**: `ab`',
              '  - x',
              '| a | b |',
              '|---|---|',
              '# h',
            ),
            fc.string({ maxLength: 40 }).map((t) => `- \`${t}\``),
          ),
          { maxLength: 12 },
        ),
        (lines) => {
          const set = new Set<string>();
          const html = markdownToHtml(lines.join('\n'), set);
          assert.doesNotMatch(html.replace(own, ''), /[<>"]/);
          // the host's set is exactly the page's buttons
          for (const v of set) assert.ok(html.includes(`data-copy="${escapeHtml(v)}"`), v);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("fenced blocks (an explain section's commands): literal, de-indented, one Copy button each", () => {
    const cmd = "teechat measure snp --ovmf OVMF.fd --cmdline 'a <b>'";
    const md = [
      '## Explain a mismatch (SNP)',
      '',
      '```',
      `${'ab'.repeat(32)}  OVMF.fd`,
      '```',
      '',
      '1. Recompute the launch digest:',
      '',
      '   ```sh',
      `   ${cmd}`,
      '   ```',
      '- after',
    ].join('\n');
    const { html, copyable } = page(md);
    assert.match(html, /<h2>Explain a mismatch \(SNP\)<\/h2>/);
    assert.match(html, /<p>1\. Recompute the launch digest:<\/p>/);
    assert.match(
      html,
      /<pre><code>teechat measure snp --ovmf OVMF\.fd --cmdline &#39;a &lt;b&gt;&#39;<\/code><\/pre>/,
    );
    assert.deepEqual(buttons(html), [`${'ab'.repeat(32)}  OVMF.fd`, cmd]);
    assert.deepEqual([...copyable], [`${'ab'.repeat(32)}  OVMF.fd`, cmd]);
    assert.match(html, /<li>\s*after/);
    // an unterminated fence runs to the end, still escaped
    assert.match(page('```\n<x>').html, /<pre><code>&lt;x&gt;<\/code><\/pre>/);
  });

  test('what is copyable: hex values of 16+ digits and reproduce commands only', () => {
    assert.ok(isCopyable('ab'.repeat(8)) && isCopyable('0x' + 'AB'.repeat(24)));
    assert.ok(isCopyable('teechat measure tdx --ovmf OVMF.fd') && isCopyable('sha256sum m.gguf'));
    for (const v of [
      'ab'.repeat(7) + 'a',
      'signature',
      'ws://h:1',
      'rm -rf /',
      'ab'.repeat(8) + ' x',
    ])
      assert.equal(isCopyable(v), false, v);
    assert.equal(escapeHtml(`<&>"'`), '&lt;&amp;&gt;&quot;&#39;');
  });
});

describe('report messages (host guard)', () => {
  test('only { type: "copy", value: non-empty string ≤ limit } passes', () => {
    assert.ok(isReportRequest({ type: 'copy', value: 'ab' }));
    for (const m of [
      null,
      'copy',
      [],
      { type: 'copy' },
      { type: 'copy', value: '' },
      { type: 'copy', value: 1 },
      { type: 'paste', value: 'x' },
      { type: 'copy', value: 'x', extra: 1 },
      { type: 'copy', value: 'x'.repeat(REPORT_COPY_MAX + 1) },
    ])
      assert.equal(isReportRequest(m), false, JSON.stringify(m));
  });
});

describe('report panel (vscode shim): copies only values it rendered', () => {
  let shim: typeof ShimModule;
  let panels: typeof PanelModule;
  before(async () => {
    shim = await import('../helpers/vscode-shim');
    panels = await import('../../extension/report-panel');
  });
  test('one panel, strict page, copy of a rendered value; anything else is ignored', async () => {
    shim.resetShim();
    let md = `# R\n\n- **Launch measurement (SNP)**: \`${M}\`\n`;
    const ext = shim.Uri.file('/ext');
    const p = panels.ReportPanel.show(ext as never, () => md);
    const fake = shim.shim.panels[0];
    assert.ok(fake);
    assert.equal(fake.viewType, 'teechat.report');
    assert.equal(fake.title, 'TEEChat Attestation Report');
    assert.match(fake.webview.html, /src="https:\/\/webview\.test\/ext\/dist\/report\.js"/);
    assert.deepEqual(
      (fake.webview.options as { enableCommandUris?: boolean }).enableCommandUris,
      false,
    );
    const settle = () => new Promise((r) => setImmediate(r));
    fake.receive({ type: 'copy', value: M });
    await settle();
    assert.deepEqual(shim.shim.clipboard, [M]);
    assert.deepEqual(shim.shim.statusMessages, [
      `TEEChat: copied ${M.slice(0, 12)}…${M.slice(-8)}`,
    ]);
    for (const m of [
      { type: 'copy', value: 'cd'.repeat(48) }, // well-formed, but not in the report
      { type: 'copy', value: M, extra: true },
      { type: 'paste', value: M },
      'copy',
    ])
      fake.receive(m);
    await settle();
    assert.deepEqual(shim.shim.clipboard, [M]);
    // A refresh renders the new document; the old value is no longer copyable.
    md = '# R\n\n- **Launch measurement (SNP)**: `' + 'cd'.repeat(48) + '`\n';
    panels.ReportPanel.refreshOpen();
    fake.receive({ type: 'copy', value: M });
    fake.receive({ type: 'copy', value: 'cd'.repeat(48) });
    await settle();
    assert.deepEqual(shim.shim.clipboard, [M, 'cd'.repeat(48)]);
    // show() again reveals the same panel
    assert.equal(
      panels.ReportPanel.show(ext as never, () => md),
      p,
    );
    assert.equal(shim.shim.panels.length, 1);
    assert.equal(fake.revealed, 1);
    fake.dispose();
    panels.ReportPanel.show(ext as never, () => md);
    assert.equal(shim.shim.panels.length, 2, 'a closed panel is replaced by a new one');
  });

  test('a panel restored after a window reload is rendered again from the session (serializer)', () => {
    shim.resetShim();
    const ext = shim.Uri.file('/ext');
    // what VS Code hands the serializer: a panel whose page is gone
    const restored = shim.fakeWebviewPanel('teechat.report', 'TEEChat Attestation Report');
    const md = `# R\n\n- **Launch measurement (SNP)**: \`${M}\`\n`;
    const p = panels.ReportPanel.revive(restored as never, ext as never, () => md);
    assert.match(restored.webview.html, new RegExp(M));
    assert.deepEqual(
      restored.webview.options as { enableScripts?: boolean; enableCommandUris?: boolean },
      {
        enableScripts: true,
        enableCommandUris: false,
        localResourceRoots: [shim.Uri.joinPath(ext, 'dist')],
      },
    );
    // it is the one panel from now on: show() reveals it instead of opening another
    assert.equal(
      panels.ReportPanel.show(ext as never, () => md),
      p,
    );
    assert.equal(shim.shim.panels.length, 1);
    restored.dispose();
  });
});
