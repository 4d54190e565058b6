/**
 * Incremental Markdown rendering for streamed answers. Work per token is bounded by the length of
 * the current line, never by the length of the message: complete lines are parsed once and
 * appended as DOM nodes; the incomplete last line is shown as one text node whose data is replaced
 * as tokens arrive. Only DOM APIs are used (no innerHTML), so model output can never inject markup;
 * links are limited to http(s) and mailto.
 *
 * Supported: paragraphs, ATX headings, fenced code blocks (``` and ~~~, with language), bullet and
 * ordered lists, block quotes, horizontal rules; inline code, **strong**, *em* / _em_,
 * ~~strike~~, [links](https://…) and bare https:// URLs.
 */

export interface MarkdownHooks {
  /** Called once when a code block opens; may add a toolbar around `pre`. */
  codeBlock?(pre: HTMLPreElement, code: HTMLElement, language: string): void;
}

type Block =
  | { type: 'none' }
  | { type: 'p'; el: HTMLElement }
  | { type: 'code'; el: HTMLElement; code: HTMLElement; fence: string }
  | { type: 'list'; el: HTMLElement; ordered: boolean; item: HTMLElement }
  | { type: 'quote'; el: HTMLElement; p: HTMLElement | null };

/** Top-level blocks per segment (a layout containment unit). */
export const SEGMENT_BLOCKS = 32;

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^ {0,3}[-*+]\s+(.*)$/;
const ORDERED = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;

export class StreamingMarkdown {
  private pending = '';
  private block: Block = { type: 'none' };
  private pendingText: Text;
  /** Where the pending text node currently lives when it is not inside a block. */
  private pendingHost: HTMLElement | null = null;
  private finished = false;
  /** Current segment: top-level blocks go into segments of SEGMENT_BLOCKS (see `target`). */
  private segment: HTMLElement | null = null;
  private segmentBlocks = 0;

  constructor(
    readonly root: HTMLElement,
    private readonly hooks: MarkdownHooks = {},
  ) {
    this.pendingText = root.ownerDocument.createTextNode('');
  }

  /**
   * Where the next top-level block goes. Blocks are grouped into segments (div.md-seg) of a fixed
   * number of blocks; a full segment is never touched again and is a layout containment boundary,
   * so the browser's layout work per token stays bounded as the answer grows.
   */
  private target(): HTMLElement {
    if (!this.segment || this.segmentBlocks >= SEGMENT_BLOCKS) {
      this.segment?.classList.add('md-seg-done');
      this.segment = this.doc.createElement('div');
      this.segment.className = 'md-seg';
      this.root.appendChild(this.segment);
      this.segmentBlocks = 0;
    }
    this.segmentBlocks++;
    return this.segment;
  }

  /** Appends streamed text. Cost: O(length of `text` + length of the current line). */
  append(text: string): void {
    if (this.finished || text === '') return;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = this.pending + text.slice(start, nl);
      this.pending = '';
      this.commitLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      start = nl + 1;
    }
    this.pending += text.slice(start);
    this.showPending();
  }

  /** Completes the last line and closes the open blocks. */
  finish(): void {
    if (this.finished) return;
    if (this.pending !== '') {
      const line = this.pending;
      this.pending = '';
      this.commitLine(line);
    }
    this.detachPending();
    this.finished = true;
  }

  private get doc(): Document {
    return this.root.ownerDocument;
  }

  private el<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    parent: HTMLElement,
    cls?: string,
  ): HTMLElementTagNameMap[K] {
    const e = this.doc.createElement(tag);
    if (cls) e.className = cls;
    parent.appendChild(e);
    return e;
  }

  private detachPending(): void {
    this.pendingText.remove();
    if (this.pendingHost) {
      this.pendingHost.remove();
      this.pendingHost = null;
    }
  }

  private showPending(): void {
    this.pendingText.data = this.pending;
    if (this.pending === '') {
      this.detachPending();
      return;
    }
    const b = this.block;
    let host: HTMLElement;
    if (b.type === 'code') host = b.code;
    else if (b.type === 'p') host = b.el;
    else if (b.type === 'list') host = b.item;
    else if (b.type === 'quote' && b.p) host = b.p;
    else {
      if (!this.pendingHost) {
        this.pendingHost = this.doc.createElement('p');
        this.pendingHost.className = 'pending';
        (this.segment ?? this.root).appendChild(this.pendingHost);
      }
      host = this.pendingHost;
    }
    if (this.pendingText.parentNode !== host || host.lastChild !== this.pendingText)
      host.appendChild(this.pendingText);
  }

  private close(): void {
    this.block = { type: 'none' };
  }

  private commitLine(line: string): void {
    this.detachPending();
    const b = this.block;
    if (b.type === 'code') {
      const close = line.trim();
      if (close.length >= b.fence.length && close[0] === b.fence[0] && /^(`+|~+)$/.test(close)) {
        this.close();
        return;
      }
      b.code.appendChild(this.doc.createTextNode(line + '\n'));
      return;
    }
    let m: RegExpExecArray | null;
    if ((m = FENCE.exec(line))) {
      const pre = this.doc.createElement('pre');
      const code = this.doc.createElement('code');
      const lang = (m[2] ?? '').slice(0, 40);
      if (lang) code.dataset.language = lang;
      pre.appendChild(code);
      this.target().appendChild(pre);
      this.hooks.codeBlock?.(pre, code, lang);
      this.block = { type: 'code', el: pre, code, fence: m[1] ?? '```' };
      return;
    }
    if (/^\s*$/.test(line)) {
      this.close();
      return;
    }
    if ((m = HEADING.exec(line))) {
      this.close();
      const level = Math.min(6, (m[1] ?? '#').length);
      const h = this.el(`h${level}` as 'h1', this.target());
      h.appendChild(inline(this.doc, m[2] ?? ''));
      return;
    }
    if (RULE.test(line)) {
      this.close();
      this.el('hr', this.target());
      return;
    }
    const bullet = BULLET.exec(line);
    const ordered = bullet ? null : ORDERED.exec(line);
    if (bullet || ordered) {
      const isOrdered = ordered !== null;
      let list = this.block.type === 'list' && this.block.ordered === isOrdered ? this.block : null;
      if (!list) {
        const el = this.el(isOrdered ? 'ol' : 'ul', this.target());
        if (ordered && ordered[1] !== '1') (el as HTMLOListElement).start = Number(ordered[1]);
        list = { type: 'list', el, ordered: isOrdered, item: el };
      }
      const li = this.el('li', list.el);
      li.appendChild(inline(this.doc, (bullet ? bullet[1] : ordered?.[2]) ?? ''));
      this.block = { ...list, item: li };
      return;
    }
    if ((m = QUOTE.exec(line))) {
      let q = this.block.type === 'quote' ? this.block : null;
      if (!q) {
        q = { type: 'quote', el: this.el('blockquote', this.target()), p: null };
        this.block = q;
      }
      const text = m[1] ?? '';
      if (text.trim() === '') q.p = null;
      else {
        if (q.p) q.p.appendChild(this.doc.createTextNode(' '));
        else q.p = this.el('p', q.el);
        q.p.appendChild(inline(this.doc, text));
      }
      return;
    }
    if (b.type === 'p' || b.type === 'list') {
      const target = b.type === 'p' ? b.el : b.item;
      target.appendChild(this.doc.createTextNode(' '));
      target.appendChild(inline(this.doc, line.trim()));
      return;
    }
    const p = this.el('p', this.target());
    p.appendChild(inline(this.doc, line.trim()));
    this.block = { type: 'p', el: p };
  }
}

const INLINE =
  /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__|\*(?=\S)([^*]*?\S)\*|(?<![A-Za-z0-9])_(?=\S)([^_]*?\S)_(?![A-Za-z0-9])|~~(?=\S)([\s\S]*?\S)~~|\[([^\]]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/;

export function safeHref(url: string): string | null {
  return /^(https?:\/\/|mailto:)/i.test(url) ? url : null;
}

/** Inline Markdown of one line as a DocumentFragment (text nodes and a few safe elements). */
export function inline(doc: Document, text: string, depth = 0): DocumentFragment {
  const frag = doc.createDocumentFragment();
  let rest = text;
  while (rest !== '') {
    const m = depth > 4 ? null : INLINE.exec(rest);
    if (!m) {
      frag.appendChild(doc.createTextNode(rest));
      break;
    }
    if (m.index > 0) frag.appendChild(doc.createTextNode(rest.slice(0, m.index)));
    if (m[1] !== undefined) {
      const c = doc.createElement('code');
      const inner = m[2] ?? '';
      c.textContent =
        inner.startsWith(' ') && inner.endsWith(' ') && inner.trim() !== ''
          ? inner.slice(1, -1)
          : inner;
      frag.appendChild(c);
    } else if (m[3] !== undefined || m[4] !== undefined) {
      const s = doc.createElement('strong');
      s.appendChild(inline(doc, m[3] ?? m[4] ?? '', depth + 1));
      frag.appendChild(s);
    } else if (m[5] !== undefined || m[6] !== undefined) {
      const e = doc.createElement('em');
      e.appendChild(inline(doc, m[5] ?? m[6] ?? '', depth + 1));
      frag.appendChild(e);
    } else if (m[7] !== undefined) {
      const d = doc.createElement('del');
      d.appendChild(inline(doc, m[7], depth + 1));
      frag.appendChild(d);
    } else if (m[8] !== undefined) {
      const href = safeHref(m[9] ?? '');
      if (href) {
        const a = doc.createElement('a');
        a.href = href;
        a.title = href;
        a.appendChild(inline(doc, m[8], depth + 1));
        frag.appendChild(a);
      } else frag.appendChild(doc.createTextNode(m[0]));
    } else if (m[10] !== undefined) {
      const a = doc.createElement('a');
      a.href = m[10];
      a.textContent = m[10];
      frag.appendChild(a);
    }
    rest = rest.slice(m.index + m[0].length);
  }
  return frag;
}
