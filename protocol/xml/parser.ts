/**
 * A small, strict, namespace-aware XML 1.0 parser, sufficient for signed SWID/RIM documents.
 *
 * Strict by design (attacker-supplied input): no DTD (`<!DOCTYPE` is rejected, so no entity
 * declarations and no external entities), only the five predefined entities and numeric character
 * references, no processing instructions other than the leading XML declaration, unbound prefixes
 * and duplicate attributes rejected, bounded size and depth. Line endings are normalised (XML 1.0
 * §2.11) and attribute values whitespace-normalised (§3.3.3, CDATA type) as a conforming parser
 * would, so that canonicalization (c14n.ts) sees the same data model as other implementations.
 *
 * Errors: ProtocolError('xml_parse') naming the position.
 */
import { ProtocolError } from '../errors';
import { utf8Decode } from '../wire/bytes';

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface XmlLimits {
  /** Maximum document length in UTF-16 code units. Default 4 MiB. */
  readonly maxLength: number;
  /** Maximum element nesting depth. Default 64. */
  readonly maxDepth: number;
  /** Maximum attributes (including namespace declarations) on one element. Default 256. */
  readonly maxAttributes: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = {
  maxLength: 4 * 1024 * 1024,
  maxDepth: 64,
  maxAttributes: 256,
};

export interface XmlAttribute {
  readonly qname: string;
  readonly prefix: string | null;
  readonly local: string;
  /** Namespace URI (null for unprefixed attributes). */
  readonly ns: string | null;
  readonly value: string;
}

export interface XmlElement {
  readonly type: 'element';
  readonly qname: string;
  readonly prefix: string | null;
  readonly local: string;
  readonly ns: string | null;
  /** Ordinary attributes in document order (namespace declarations are in `nsDecls`). */
  readonly attributes: readonly XmlAttribute[];
  /** Namespace declarations made on this element: prefix ('' = default) → URI ('' = undeclare default). */
  readonly nsDecls: ReadonlyMap<string, string>;
  /** All namespace bindings in scope at this element ('' = default namespace; empty URI omitted). */
  readonly inScope: ReadonlyMap<string, string>;
  readonly children: XmlNode[];
  readonly parent: XmlElement | null;
}

export interface XmlText {
  readonly type: 'text';
  readonly value: string;
}

export interface XmlComment {
  readonly type: 'comment';
  readonly value: string;
}

export type XmlNode = XmlElement | XmlText | XmlComment;

export interface XmlDocument {
  readonly root: XmlElement;
}

function err(msg: string, pos: number): never {
  throw new ProtocolError('xml_parse', `xml at offset ${pos}: ${msg}`, 'xml');
}

function isNameStart(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 95 ||
    (c >= 0xc0 && c !== 0xd7 && c !== 0xf7)
  );
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 0xb7;
}
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
/** XML 1.0 Char production. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** Characters that need the slow path: references, '<' (attributes) and literal whitespace to normalise. */
const ATTR_NEEDS_DECODE = /[&<\t\n\r]/;
const TEXT_NEEDS_DECODE = /&/;
/** Anything checkChars must look at in detail: C0 controls other than TAB/LF/CR, surrogates, U+FFFE/U+FFFF. */
// eslint-disable-next-line no-control-regex -- matching the forbidden control characters is the point
const BAD_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/;

interface RawAttr {
  qname: string;
  value: string;
  pos: number;
}

class Parser {
  pos = 0;
  depth = 0;
  constructor(
    readonly s: string,
    readonly limits: XmlLimits,
  ) {}

  peek(str: string): boolean {
    return this.s.startsWith(str, this.pos);
  }
  expect(str: string): void {
    if (!this.peek(str)) err(`expected ${JSON.stringify(str)}`, this.pos);
    this.pos += str.length;
  }
  skipSpace(): void {
    while (this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos))) this.pos++;
  }
  name(): string {
    const start = this.pos;
    if (this.pos >= this.s.length || !isNameStart(this.s.charCodeAt(this.pos)))
      err('expected a name', this.pos);
    this.pos++;
    while (
      this.pos < this.s.length &&
      (isNameChar(this.s.charCodeAt(this.pos)) || this.s.charCodeAt(this.pos) === 58)
    )
      this.pos++;
    const n = this.s.slice(start, this.pos);
    const colon = n.indexOf(':');
    if (colon === 0 || colon === n.length - 1 || (colon >= 0 && n.indexOf(':', colon + 1) >= 0))
      err(`malformed qualified name ${JSON.stringify(n)}`, start);
    return n;
  }

  /** Decodes entity and character references in text or attribute values. */
  decode(raw: string, at: number, attr: boolean): string {
    if (!(attr ? ATTR_NEEDS_DECODE : TEXT_NEEDS_DECODE).test(raw)) return raw;
    let out = '';
    let i = 0;
    while (i < raw.length) {
      const c = raw.charCodeAt(i);
      if (c === 38) {
        const semi = raw.indexOf(';', i);
        if (semi < 0 || semi - i > 12) err('unterminated reference', at + i);
        const ref = raw.slice(i + 1, semi);
        if (ref === 'lt') out += '<';
        else if (ref === 'gt') out += '>';
        else if (ref === 'amp') out += '&';
        else if (ref === 'quot') out += '"';
        else if (ref === 'apos') out += "'";
        else if (/^#[0-9]{1,7}$/.test(ref) || /^#x[0-9a-fA-F]{1,6}$/.test(ref)) {
          const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
          if (!isXmlChar(cp)) err(`character reference to a non-XML character ${ref}`, at + i);
          out += String.fromCodePoint(cp);
        } else err(`undeclared entity &${ref}; (DTDs and entities are not accepted)`, at + i);
        i = semi + 1;
      } else if (c === 60 && attr) {
        err("'<' in an attribute value", at + i);
      } else {
        // Attribute-value normalisation for CDATA attributes: literal whitespace → space.
        out += attr && (c === 0x09 || c === 0x0a || c === 0x0d) ? ' ' : raw[i]!;
        i++;
      }
    }
    return out;
  }

  checkChars(from: number, to: number): void {
    if (!BAD_CHARS.test(this.s.slice(from, to))) return;
    for (let i = from; i < to; i++) {
      const c = this.s.charCodeAt(i);
      if (c < 0x20 && c !== 0x9 && c !== 0xa && c !== 0xd)
        err(`control character 0x${c.toString(16)}`, i);
      if (c === 0xfffe || c === 0xffff) err('non-character', i);
      if (c >= 0xd800 && c <= 0xdbff) {
        const d = this.s.charCodeAt(i + 1);
        if (!(d >= 0xdc00 && d <= 0xdfff)) err('unpaired surrogate', i);
        i++;
      } else if (c >= 0xdc00 && c <= 0xdfff) err('unpaired surrogate', i);
    }
  }

  /** Skips comments and whitespace between top-level constructs; returns comment nodes. */
  misc(): void {
    for (;;) {
      this.skipSpace();
      if (this.peek('<!--')) this.comment();
      else if (this.peek('<?')) err('processing instructions are not accepted', this.pos);
      else if (this.peek('<!')) err('DTDs and declarations are not accepted', this.pos);
      else return;
    }
  }

  comment(): XmlComment {
    const start = this.pos;
    this.expect('<!--');
    const end = this.s.indexOf('-->', this.pos);
    if (end < 0) err('unterminated comment', start);
    const value = this.s.slice(this.pos, end);
    if (value.includes('--') || value.endsWith('-')) err("'--' inside a comment", start);
    this.checkChars(this.pos, end);
    this.pos = end + 3;
    return { type: 'comment', value };
  }

  document(): XmlDocument {
    if (this.s.length > this.limits.maxLength)
      err(`document longer than ${this.limits.maxLength}`, 0);
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    if (this.peek('<?xml') && isSpace(this.s.charCodeAt(this.pos + 5))) {
      const end = this.s.indexOf('?>', this.pos);
      if (end < 0) err('unterminated XML declaration', this.pos);
      const decl = this.s.slice(this.pos + 5, end);
      if (
        !/^\s+version\s*=\s*(["'])1\.[0-9]+\1(\s+encoding\s*=\s*(["'])(utf-8|UTF-8)\3)?(\s+standalone\s*=\s*(["'])(yes|no)\6)?\s*$/.test(
          decl,
        )
      ) {
        err('unsupported XML declaration (version 1.x, UTF-8 only)', this.pos);
      }
      this.pos = end + 2;
    }
    this.misc();
    if (!this.peek('<')) err('expected the document element', this.pos);
    const root = this.element(null);
    this.misc();
    if (this.pos !== this.s.length) err('content after the document element', this.pos);
    return { root };
  }

  element(parent: XmlElement | null): XmlElement {
    const start = this.pos;
    if (++this.depth > this.limits.maxDepth)
      err(`nesting deeper than ${this.limits.maxDepth}`, start);
    this.expect('<');
    const qname = this.name();
    const raws: RawAttr[] = [];
    let selfClosing = false;
    for (;;) {
      const hadSpace = this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos));
      this.skipSpace();
      if (this.peek('/>')) {
        this.pos += 2;
        selfClosing = true;
        break;
      }
      if (this.peek('>')) {
        this.pos++;
        break;
      }
      if (!hadSpace) err('expected whitespace before an attribute', this.pos);
      const apos = this.pos;
      const aname = this.name();
      this.skipSpace();
      this.expect('=');
      this.skipSpace();
      const q = this.s[this.pos];
      if (q !== '"' && q !== "'") err('expected a quoted attribute value', this.pos);
      const vend = this.s.indexOf(q, this.pos + 1);
      if (vend < 0) err('unterminated attribute value', this.pos);
      this.checkChars(this.pos + 1, vend);
      const value = this.decode(this.s.slice(this.pos + 1, vend), this.pos + 1, true);
      this.pos = vend + 1;
      if (raws.some((a) => a.qname === aname)) err(`duplicate attribute ${aname}`, apos);
      raws.push({ qname: aname, value, pos: apos });
      if (raws.length > this.limits.maxAttributes)
        err(`more than ${this.limits.maxAttributes} attributes`, apos);
    }
    // Namespace declarations.
    const nsDecls = new Map<string, string>();
    for (const a of raws) {
      if (a.qname === 'xmlns') {
        if (a.value === XML_NS || a.value === XMLNS_NS) err('reserved namespace as default', a.pos);
        nsDecls.set('', a.value);
      } else if (a.qname.startsWith('xmlns:')) {
        const p = a.qname.slice(6);
        if (p === 'xmlns') err('the xmlns prefix cannot be declared', a.pos);
        if (p === 'xml' ? a.value !== XML_NS : a.value === XML_NS || a.value === XMLNS_NS)
          err(`invalid binding for prefix ${p}`, a.pos);
        if (a.value === '')
          err(`prefix ${p} undeclared (XML 1.0 namespaces do not allow it)`, a.pos);
        nsDecls.set(p, a.value);
      }
    }
    const inScope = new Map<string, string>(parent ? parent.inScope : []);
    for (const [p, u] of nsDecls) {
      if (u === '') inScope.delete(p);
      else inScope.set(p, u);
    }
    const resolve = (prefix: string | null, isAttr: boolean, at: number): string | null => {
      if (prefix === null) return isAttr ? null : (inScope.get('') ?? null);
      if (prefix === 'xml') return XML_NS;
      const u = inScope.get(prefix);
      if (u === undefined) err(`unbound namespace prefix ${prefix}`, at);
      return u;
    };
    const split = (q: string): [string | null, string] => {
      const i = q.indexOf(':');
      return i < 0 ? [null, q] : [q.slice(0, i), q.slice(i + 1)];
    };
    const [prefix, local] = split(qname);
    const ns = resolve(prefix, false, start);
    const attributes: XmlAttribute[] = [];
    const expanded = new Set<string>();
    for (const a of raws) {
      if (a.qname === 'xmlns' || a.qname.startsWith('xmlns:')) continue;
      const [ap, al] = split(a.qname);
      const ans = resolve(ap, true, a.pos);
      if (ap === 'xml' && al === 'base') err('xml:base is not supported', a.pos);
      const key = `${ans ?? ''}|${al}`;
      if (expanded.has(key)) err(`duplicate attribute {${ans ?? ''}}${al}`, a.pos);
      expanded.add(key);
      attributes.push({ qname: a.qname, prefix: ap, local: al, ns: ans, value: a.value });
    }
    const el: XmlElement = {
      type: 'element',
      qname,
      prefix,
      local,
      ns,
      attributes,
      nsDecls,
      inScope,
      children: [],
      parent,
    };
    if (!selfClosing) this.content(el);
    this.depth--;
    return el;
  }

  content(el: XmlElement): void {
    let text = '';
    const flush = (): void => {
      if (text !== '') {
        const last = el.children[el.children.length - 1];
        if (last !== undefined && last.type === 'text')
          el.children[el.children.length - 1] = { type: 'text', value: last.value + text };
        else el.children.push({ type: 'text', value: text });
        text = '';
      }
    };
    for (;;) {
      if (this.pos >= this.s.length) err(`unterminated element <${el.qname}>`, this.pos);
      const lt = this.s.indexOf('<', this.pos);
      if (lt < 0) err(`unterminated element <${el.qname}>`, this.pos);
      if (lt > this.pos) {
        const raw = this.s.slice(this.pos, lt);
        if (raw.includes(']]>')) err("']]>' in text", this.pos);
        this.checkChars(this.pos, lt);
        text += this.decode(raw, this.pos, false);
        this.pos = lt;
      }
      if (this.peek('</')) {
        flush();
        this.pos += 2;
        const n = this.name();
        if (n !== el.qname) err(`end tag </${n}> does not match <${el.qname}>`, this.pos);
        this.skipSpace();
        this.expect('>');
        return;
      }
      if (this.peek('<!--')) {
        flush();
        el.children.push(this.comment());
      } else if (this.peek('<![CDATA[')) {
        const end = this.s.indexOf(']]>', this.pos + 9);
        if (end < 0) err('unterminated CDATA section', this.pos);
        this.checkChars(this.pos + 9, end);
        text += this.s.slice(this.pos + 9, end);
        this.pos = end + 3;
      } else if (this.peek('<?')) {
        err('processing instructions are not accepted', this.pos);
      } else if (this.peek('<!')) {
        err('declarations are not accepted', this.pos);
      } else {
        flush();
        el.children.push(this.element(el));
      }
    }
  }
}

/** Parses an XML document from a string. Throws ProtocolError('xml_parse') only. */
export function parseXml(input: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlDocument {
  // XML 1.0 §2.11 end-of-line handling.
  const s = input.includes('\r') ? input.replace(/\r\n?/g, '\n') : input;
  try {
    return new Parser(s, limits).document();
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    // Defensive: anything unexpected (e.g. a RangeError from String.fromCodePoint) is a parse error.
    throw new ProtocolError(
      'xml_parse',
      `xml: ${e instanceof Error ? e.message : String(e)}`,
      'xml',
    );
  }
}

/** Parses UTF-8 bytes (strict decoding). */
export function parseXmlBytes(
  bytes: Uint8Array,
  limits: XmlLimits = DEFAULT_XML_LIMITS,
): XmlDocument {
  if (bytes.length > limits.maxLength * 3)
    throw new ProtocolError('xml_parse', `xml: document longer than ${limits.maxLength}`, 'xml');
  let s: string;
  try {
    s = utf8Decode(bytes, 'xml');
  } catch {
    throw new ProtocolError('xml_parse', 'xml: not valid UTF-8', 'xml');
  }
  return parseXml(s, limits);
}

/** Child elements with the given namespace and local name. */
export function childElements(el: XmlElement, ns: string | null, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children)
    if (c.type === 'element' && c.ns === ns && c.local === local) out.push(c);
  return out;
}

/** Concatenated text content of an element (descendant text nodes). */
export function textContent(el: XmlElement): string {
  let s = '';
  for (const c of el.children) {
    if (c.type === 'text') s += c.value;
    else if (c.type === 'element') s += textContent(c);
  }
  return s;
}

/** Attribute value by namespace and local name. */
export function getAttr(el: XmlElement, ns: string | null, local: string): string | undefined {
  for (const a of el.attributes) if (a.ns === ns && a.local === local) return a.value;
  return undefined;
}
