/**
 * A grammar-based generator of XML documents for the C14N fuzz target: nested elements with and
 * without prefixes, namespace declarations (default, prefixed, undeclaring `xmlns=""`, rebinding a
 * prefix), prefixed and unprefixed attributes (duplicates across namespaces), xml:lang / xml:space,
 * text with entity and character references, CR/LF/tab, `]]>`-adjacent characters, non-ASCII and
 * astral characters, comments, CDATA sections and processing instructions, with either quote
 * character and irregular whitespace inside tags. Most documents are well-formed; some are not
 * (undeclared prefixes, duplicate attributes), which must be ProtocolErrors.
 */
import fc from 'fast-check';
import type { FuzzInput } from './mutate';

const PREFIXES = ['', '', 'a', 'b', 'ds'] as const;
const URIS = ['urn:a', 'urn:b', 'http://www.w3.org/2000/09/xmldsig#', 'urn:a#x', ''] as const;
const NAMES = ['r', 'x', 'y', 'Signature', 'SignedInfo', 'Resource'] as const;
const TEXT_PIECES = [
  'abc',
  ' ',
  '  ',
  '\n',
  '\r\n',
  '\r',
  '\t',
  '&amp;',
  '&lt;',
  '&gt;',
  '&quot;',
  '&apos;',
  '&#x41;',
  '&#65;',
  '&#xD;',
  '&#x9;',
  '&#xA;',
  '>',
  ']]',
  'é',
  '€',
  '😀',
  '"',
  "'",
] as const;

interface Node {
  readonly kind: 'el';
  readonly prefix: string;
  readonly name: string;
  readonly decls: readonly (readonly [string, string])[];
  readonly attrs: readonly (readonly [string, string, string])[];
  readonly children: readonly Child[];
  readonly quote: '"' | "'";
  readonly ws: string;
}
type Child =
  | Node
  | { readonly kind: 'text'; readonly pieces: readonly string[] }
  | { readonly kind: 'comment' | 'cdata' | 'pi'; readonly text: string };

const text = fc.array(fc.constantFrom(...TEXT_PIECES), { minLength: 1, maxLength: 6 });

const { node } = fc.letrec<{ node: Node; child: Child }>((tie) => ({
  node: fc.record({
    kind: fc.constant('el' as const),
    prefix: fc.constantFrom(...PREFIXES),
    name: fc.constantFrom(...NAMES),
    // unique prefixes; a prefixed declaration never undeclares (XML 1.0 namespaces)
    decls: fc
      .uniqueArray(fc.tuple(fc.constantFrom('', 'a', 'b', 'ds'), fc.constantFrom(...URIS)), {
        maxLength: 3,
        selector: (d) => d[0],
      })
      .map((ds) => ds.map(([p, u]) => [p, p !== '' && u === '' ? 'urn:z' : u] as const)),
    attrs: fc.array(
      fc.tuple(
        fc.constantFrom('', '', 'a', 'b', 'xml'),
        fc.constantFrom('id', 'lang', 'space', 'Algorithm', 'z', 'A'),
        fc.array(fc.constantFrom(...TEXT_PIECES), { maxLength: 4 }).map((p) => p.join('')),
      ),
      { maxLength: 4 },
    ),
    children: fc.array(tie('child'), { maxLength: 4 }),
    quote: fc.constantFrom('"' as const, "'" as const),
    ws: fc.constantFrom(' ', '  ', '\n', '\t'),
  }),
  child: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text.map((pieces) => ({ kind: 'text' as const, pieces })),
    tie('node'),
    fc.constantFrom('c', ' x ', '-x-').map((t) => ({ kind: 'comment' as const, text: t })),
    text.map((p) => ({ kind: 'cdata' as const, text: p.join('').replace(/\]\]>/g, '') })),
    // processing instructions are refused by the strict parser: rarely, for the rejection path
    fc
      .constantFrom('t', 'c', 'c', 'c')
      .map((t) =>
        t === 't'
          ? { kind: 'pi' as const, text: 't x' }
          : { kind: 'comment' as const, text: ' c ' },
      ),
  ),
}));

function esc(v: string, quote: string): string {
  // keep references as written; escape the quote and '<' so the attribute stays well-formed
  return v
    .replace(/</g, '&lt;')
    .replace(new RegExp(quote, 'g'), quote === '"' ? '&quot;' : '&apos;');
}

function serialize(n: Child): string {
  switch (n.kind) {
    case 'text':
      return n.pieces.join('').replace(/</g, '&lt;');
    case 'comment':
      return `<!--${n.text}-->`;
    case 'cdata':
      return `<![CDATA[${n.text}]]>`;
    case 'pi':
      return `<?${n.text}?>`;
    case 'el': {
      const q = n.quote;
      const tag = n.prefix ? `${n.prefix}:${n.name}` : n.name;
      const decls = n.decls.map(
        ([p, u]) => `${n.ws}${p ? `xmlns:${p}` : 'xmlns'}=${q}${esc(u, q)}${q}`,
      );
      const attrs = n.attrs.map(
        ([p, l, v]) => `${n.ws}${p ? `${p}:${l}` : l}=${q}${esc(v, q)}${q}`,
      );
      const open = `<${tag}${decls.join('')}${attrs.join('')}`;
      if (n.children.length === 0) return `${open}${n.ws}/>`;
      return `${open}>${n.children.map(serialize).join('')}</${tag}${n.ws}>`;
    }
  }
}

/** Generated documents (with an optional XML declaration and a leading comment / PI). */
export function xmlDocumentArb(): fc.Arbitrary<FuzzInput> {
  return fc
    .record({
      decl: fc.boolean(),
      pre: fc.constantFrom('', '', '', '<!--head-->', '<?pi x?>\n'),
      bindAll: fc.integer({ min: 0, max: 9 }),
      root: node,
    })
    .map(({ decl, pre, bindAll, root }) => {
      // most documents bind a, b and ds at the root (those the root does not declare itself)
      const bound: Node =
        bindAll < 8
          ? {
              ...root,
              decls: [
                ...root.decls,
                ...(['a', 'b', 'ds'] as const)
                  .filter((p) => !root.decls.some(([q]) => q === p))
                  .map((p) => [p, `urn:${p}`] as const),
              ],
            }
          : root;
      const s = `${decl ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}${pre}${serialize(bound)}`;
      return { bytes: new TextEncoder().encode(s), origin: 'xml grammar' };
    });
}
