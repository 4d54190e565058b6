/**
 * Canonical XML 1.1 (W3C REC 2008, https://www.w3.org/TR/xml-c14n11/), inclusive, without comments,
 * for the two node-sets XML-DSig needs here:
 *  - a whole document with one subtree excluded (the enveloped-signature transform), and
 *  - one element's subtree (SignedInfo) as a document subset: the apex receives every namespace
 *    declaration in scope from its ancestors, and the inheritable xml:* attributes (xml:lang,
 *    xml:space) of its ancestors (§2.4; xml:base is rejected by the parser, xml:id not inherited).
 *
 * Namespace nodes are emitted only where they differ from the nearest output ancestor; namespace
 * declarations sort by prefix (default first), attributes by (namespace URI, local name).
 */
import { XML_NS, type XmlElement } from './parser';

export interface C14nOptions {
  /** An element whose subtree is left out (enveloped signature). */
  readonly exclude?: XmlElement;
}

const TEXT_SPECIAL = /[&<>\r]/;
const ATTR_SPECIAL = /[&<"\t\n\r]/;

function escText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return s.replace(/[&<>\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#xD;',
  );
}

function escAttr(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  return s.replace(/[&<"\t\n\r]/g, (c) =>
    c === '&'
      ? '&amp;'
      : c === '<'
        ? '&lt;'
        : c === '"'
          ? '&quot;'
          : c === '\t'
            ? '&#x9;'
            : c === '\n'
              ? '&#xA;'
              : '&#xD;',
  );
}

function cmpCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Attr {
  readonly ns: string;
  readonly local: string;
  readonly qname: string;
  readonly value: string;
}

function render(
  el: XmlElement,
  rendered: ReadonlyMap<string, string>,
  apex: boolean,
  opts: C14nOptions,
  out: string[],
): void {
  if (el === opts.exclude) return;
  // Namespace axis: all in-scope bindings, plus an empty default when the default was undeclared.
  const nsOut: [string, string][] = [];
  for (const [p, u] of el.inScope) if (rendered.get(p) !== u) nsOut.push([p, u]);
  // xmlns="" is output when the element has no default namespace but the output parent had one.
  if (!el.inScope.has('') && (rendered.get('') ?? '') !== '') nsOut.push(['', '']);
  let now = rendered;
  if (nsOut.length > 0) {
    const m = new Map<string, string>(rendered);
    for (const [p, u] of nsOut) m.set(p, u);
    now = m;
  }
  nsOut.sort((a, b) => cmpCodeUnits(a[0], b[0]));
  const attrs: Attr[] = el.attributes.map((a) => ({
    ns: a.ns ?? '',
    local: a.local,
    qname: a.qname,
    value: a.value,
  }));
  if (apex) {
    // Inherit xml:lang / xml:space from ancestors not themselves in the node-set.
    for (const name of ['lang', 'space']) {
      if (attrs.some((a) => a.ns === XML_NS && a.local === name)) continue;
      for (let p = el.parent; p !== null; p = p.parent) {
        const v = p.attributes.find((a) => a.ns === XML_NS && a.local === name);
        if (v !== undefined) {
          attrs.push({ ns: XML_NS, local: name, qname: `xml:${name}`, value: v.value });
          break;
        }
      }
    }
  }
  attrs.sort((a, b) => cmpCodeUnits(a.ns, b.ns) || cmpCodeUnits(a.local, b.local));
  out.push('<', el.qname);
  for (const [p, u] of nsOut) out.push(p === '' ? ' xmlns="' : ` xmlns:${p}="`, escAttr(u), '"');
  for (const a of attrs) out.push(' ', a.qname, '="', escAttr(a.value), '"');
  out.push('>');
  for (const c of el.children) {
    if (c.type === 'text') out.push(escText(c.value));
    else if (c.type === 'element') render(c, now, false, opts, out);
    // comments are omitted (canonicalization without comments)
  }
  out.push('</', el.qname, '>');
}

/**
 * Canonicalizes the subtree rooted at `el` (for the document element: the whole document, since
 * text, comments and PIs outside it produce no output when comments are omitted and PIs are not
 * accepted by the parser).
 */
export function c14n11(el: XmlElement, opts: C14nOptions = {}): string {
  const out: string[] = [];
  render(el, new Map(), true, opts, out);
  return out.join('');
}
