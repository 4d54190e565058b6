/**
 * The attestation report as a webview page (extension/report-panel.ts): the Markdown document of
 * extension/attestation-report.ts (one source of truth, also readable as text) rendered to HTML
 * here, on the host, with every value a user compares or reproduces carrying a Copy button: each
 * hex value (measurements, digests, expected and observed values, commits, hashes) and each
 * `teechat measure …` / `sha256sum …` command. Pure (no vscode).
 *
 * Safety: every piece of text is HTML-escaped (evidence strings never become markup); the page
 * has a strict Content-Security-Policy: one bundled script and one style element, both admitted
 * by a fresh nonce, no inline handlers, no network. The buttons carry their value in a data
 * attribute; the host copies only values in the `copyable` set it rendered.
 *
 * Markdown handled (what the report generators write): `#`–`###` headings, `- ` bullets nested by
 * two spaces, `|` tables (the separator row skipped), fenced blocks (``` or ~~~, indented up to
 * three spaces; one Copy button for the block), paragraphs (anything else, e.g. `1. ` steps);
 * inline `code`, **strong**.
 */

export interface ReportHtmlInput {
  /** `webview.cspSource`. */
  readonly cspSource: string;
  readonly nonce: string;
  readonly scriptUri: string;
  readonly markdown: string;
  readonly title?: string;
}

export interface ReportHtml {
  readonly html: string;
  /** The values the page offers to copy (the host refuses any other). */
  readonly copyable: ReadonlySet<string>;
}

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A code span worth a Copy button: a hex value of 16+ digits, or a reproduce command. */
export function isCopyable(v: string): boolean {
  return /^(0x)?[0-9a-fA-F]{16,}$/.test(v) || /^(teechat measure|sha256sum) /.test(v);
}

function copyButton(value: string, label: string): string {
  return `<vscode-button class="copy" secondary data-copy="${escapeHtml(value)}" aria-label="${escapeHtml(`Copy ${label}`.trim())}" title="Copy to the clipboard">Copy</vscode-button>`;
}

function inline(text: string, copyable: Set<string>, label: string): string {
  let out = '';
  // Split into code spans and the rest; code spans are literal.
  const parts = text.split(/(`[^`]*`)/);
  for (const p of parts) {
    if (p.length >= 2 && p.startsWith('`') && p.endsWith('`')) {
      const v = p.slice(1, -1);
      out += `<code>${escapeHtml(v)}</code>`;
      if (isCopyable(v)) {
        copyable.add(v);
        out += copyButton(v, label);
      }
      continue;
    }
    out += escapeHtml(p).replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
  }
  return out;
}

/** The text of a line's label (`- **Name**: …` → Name), for the buttons' accessible names. */
function labelOf(line: string): string {
  return /\*\*([^*]+)\*\*/.exec(line)?.[1] ?? '';
}

function cells(row: string): string[] {
  const t = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  return t.split('|').map((c) => c.trim());
}

export function markdownToHtml(md: string, copyable: Set<string>): string {
  const out: string[] = [];
  const lines = md.split('\n');
  let depth = 0; // open <ul> levels
  const closeLists = (to: number): void => {
    while (depth > to) {
      out.push('</li></ul>');
      depth--;
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const fence = /^( {0,3})(```|~~~)\s*([\w-]*)\s*$/.exec(line);
    if (fence) {
      // A fenced block (e.g. the commands of an "explain" section): literal text, one Copy button
      // for the whole block. Content lines lose the fence's indentation.
      closeLists(0);
      const indent = (fence[1] ?? '').length;
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const l = lines[j] ?? '';
        if (l.trim() === fence[2]) break;
        body.push(l.slice(Math.min(indent, l.length - l.trimStart().length)));
      }
      i = j;
      const text = body.join('\n');
      out.push(`<pre><code>${escapeHtml(text)}</code></pre>`);
      if (text.trim() !== '') {
        copyable.add(text);
        out.push(copyButton(text, 'the block above'));
      }
      continue;
    }
    const h = /^(#{1,3}) (.*)$/.exec(line);
    const li = /^((?: {2})*)- (.*)$/.exec(line);
    if (h) {
      closeLists(0);
      const n = (h[1] ?? '#').length;
      out.push(`<h${n}>${inline(h[2] ?? '', copyable, '')}</h${n}>`);
    } else if (li) {
      const level = (li[1] ?? '').length / 2 + 1;
      if (level > depth) {
        while (depth < level) {
          out.push('<ul><li>');
          depth++;
        }
      } else {
        closeLists(level);
        out.push('</li><li>');
      }
      out.push(inline(li[2] ?? '', copyable, labelOf(li[2] ?? '')));
    } else if (line.startsWith('|')) {
      closeLists(0);
      const head = cells(line);
      const rows: string[][] = [];
      let j = i + 1;
      if (/^\|[\s|:-]+\|?$/.test(lines[j] ?? '')) j++;
      for (; j < lines.length && (lines[j] ?? '').startsWith('|'); j++)
        rows.push(cells(lines[j] ?? ''));
      i = j - 1;
      out.push(
        '<table><thead><tr>',
        ...head.map((c) => `<th>${inline(c, copyable, '')}</th>`),
        '</tr></thead><tbody>',
      );
      for (const r of rows) {
        const name = (r[0] ?? '').replace(/`/g, '');
        out.push(
          '<tr>',
          ...r.map((c, k) => `<td>${inline(c, copyable, `${name} ${head[k] ?? ''}`)}</td>`),
          '</tr>',
        );
      }
      out.push('</tbody></table>');
    } else if (line.trim() === '') {
      closeLists(0);
    } else {
      closeLists(0);
      out.push(`<p>${inline(line, copyable, '')}</p>`);
    }
  }
  closeLists(0);
  return out.join('\n');
}

const STYLE = `
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 1.5em 2em; line-height: 1.5; }
code { font-family: var(--vscode-editor-font-family); background: var(--vscode-textCodeBlock-background); padding: 0 .25em; border-radius: 3px; word-break: break-all; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid var(--vscode-panel-border, #8884); padding: .25em .5em; text-align: left; vertical-align: top; }
h1, h2 { border-bottom: 1px solid var(--vscode-panel-border, #8884); }
vscode-button.copy { margin-left: .4em; vertical-align: middle; }
pre { background: var(--vscode-textCodeBlock-background); padding: .5em; overflow-x: auto; margin-bottom: .25em; }
pre code { background: none; padding: 0; word-break: normal; }
`;

export function reportHtml(i: ReportHtmlInput): ReportHtml {
  if (!/^[A-Za-z0-9_-]{16,}$/.test(i.nonce))
    throw new Error('reportHtml: nonce must be ≥16 base64url characters');
  const copyable = new Set<string>();
  const body = markdownToHtml(i.markdown, copyable);
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${i.nonce}'`,
    `style-src ${i.cspSource} 'nonce-${i.nonce}'`,
    `font-src ${i.cspSource}`,
    "img-src 'none'",
    "connect-src 'none'",
    "frame-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp).replace(/&#39;/g, "'")}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(i.title ?? 'TEEChat Attestation Report')}</title>
<style nonce="${escapeHtml(i.nonce)}">${STYLE}</style>
</head>
<body>
<main id="report">
${body}
</main>
<script nonce="${escapeHtml(i.nonce)}" src="${escapeHtml(i.scriptUri)}"></script>
</body>
</html>`;
  return { html, copyable };
}
