/**
 * protocol/xml: strict parser, inclusive C14N 1.1 (W3C C14N spec examples), enveloped XML-DSig,
 * and the RIM parser on go-nvattest-tools' synthetic fragments; tampered RIMs; properties.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { ProtocolError } from '../../protocol/errors';
import { parseXml, parseXmlBytes, childElements, type XmlElement } from '../../protocol/xml/parser';
import { c14n11 } from '../../protocol/xml/c14n';
import { parseEnvelopedSignature } from '../../protocol/xml/dsig';
import { parseRim, parseRimPayload, verifyRim } from '../../protocol/attestation/nvidia/rim';
import { nvidiaRimRoots } from '../../protocol/attestation/nvidia/verify';
import { sharedPath, skipUnlessShared } from '../helpers/shared';

const isPE = (e: unknown): boolean => e instanceof ProtocolError;

describe('XML parser: strictness', () => {
  const rejects: [string, string][] = [
    ['DTD', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'],
    ['external entity', '<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>'],
    ['undeclared entity', '<a>&x;</a>'],
    ['processing instruction', '<a><?php x ?></a>'],
    ['unbound prefix', '<p:a/>'],
    ['unbound attribute prefix', '<a p:x="1"/>'],
    ['duplicate attribute', '<a x="1" x="2"/>'],
    ['duplicate expanded attribute', '<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>'],
    ['mismatched end tag', '<a></b>'],
    ['unterminated', '<a><b></b>'],
    ['content after root', '<a/><b/>'],
    ['text before root', 'x<a/>'],
    ['< in attribute', '<a x="<"/>'],
    ['control character', '<a>\u0001</a>'],
    ['bad char ref', '<a>&#0;</a>'],
    ['-- in comment', '<a><!-- x -- y --></a>'],
    ['xml:base', '<a xml:base="http://x/"/>'],
    ['undeclaring a prefix', '<a xmlns:p="u"><b xmlns:p=""/></a>'],
    ['non-UTF-8 declaration', '<?xml version="1.0" encoding="ISO-8859-1"?><a/>'],
    ['missing space between attributes', '<a x="1"y="2"/>'],
  ];
  for (const [name, xml] of rejects) {
    test(`rejects ${name}`, () =>
      assert.throws(
        () => parseXml(xml),
        (e: unknown) => isPE(e) && (e as ProtocolError).code === 'xml_parse',
      ));
  }

  test('depth limit', () => {
    const deep = '<a>'.repeat(70) + '</a>'.repeat(70);
    assert.throws(() => parseXml(deep), isPE);
    assert.doesNotThrow(() => parseXml(deep, { maxLength: 1e6, maxDepth: 80, maxAttributes: 10 }));
  });

  test('accepts the XML declaration, BOM, comments, CDATA, predefined and numeric references', () => {
    const d = parseXml(
      '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><a x="&lt;&#x41;">t&amp;<![CDATA[<>]]></a>\n',
    );
    assert.equal(d.root.attributes[0]!.value, '<A');
    assert.deepEqual(d.root.children, [{ type: 'text', value: 't&<>' }]);
  });

  test('invalid UTF-8 bytes are rejected', () => {
    assert.throws(() => parseXmlBytes(Uint8Array.from([0x3c, 0x61, 0xff, 0x2f, 0x3e])), isPE);
  });
});

describe('C14N 1.1 (inclusive, without comments)', () => {
  test('W3C C14N §3.3 start and end tags (namespace and attribute ordering, xmlns="")', () => {
    const input = `<doc>
   <e1   />
   <e2   ></e2>
   <e3   name = "elem3"   id="elem3"   />
   <e4   name="elem4"   id="elem4"   ></e4>
   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm"
      xmlns:b="http://www.ietf.org"
      xmlns:a="http://www.w3.org"
      xmlns="http://example.org"/>
   <e6 xmlns="" xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="" xmlns:a="http://www.w3.org">
            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>
         </e8>
      </e7>
   </e6>
</doc>`;
    const expected = `<doc>
   <e1></e1>
   <e2></e2>
   <e3 id="elem3" name="elem3"></e3>
   <e4 id="elem4" name="elem4"></e4>
   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>
   <e6 xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="">
            <e9 xmlns:a="http://www.ietf.org"></e9>
         </e8>
      </e7>
   </e6>
</doc>`;
    assert.equal(c14n11(parseXml(input).root), expected);
  });

  test('W3C C14N §3.4 character modifications and character references', () => {
    const input =
      `<doc><text>First line&#x0d;&#10;Second line</text><value>&#x32;</value>` +
      `<compute><![CDATA[value>"0" && value<"10" ?"valid":"error"]]></compute>` +
      `<compute expr='value>"0" &amp;&amp; value&lt;"10" ?"valid":"error"'>valid</compute>` +
      `<norm attr=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/></doc>`;
    const expected =
      `<doc><text>First line&#xD;\nSecond line</text><value>2</value>` +
      `<compute>value&gt;"0" &amp;&amp; value&lt;"10" ?"valid":"error"</compute>` +
      `<compute expr="value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;">valid</compute>` +
      `<norm attr=" '    &#xD;&#xA;&#x9;   ' "></norm></doc>`;
    assert.equal(c14n11(parseXml(input).root), expected);
  });

  test('line endings are normalised; comments and whitespace outside the root are dropped', () => {
    assert.equal(
      c14n11(parseXml('<!-- x -->\r\n<a>1\r\n2\r3<!-- y --></a>\n<!-- z -->').root),
      '<a>1\n2\n3</a>',
    );
  });

  test('a document subset apex receives in-scope namespaces and inheritable xml:* attributes', () => {
    const d = parseXml('<a xmlns="urn:a" xmlns:p="urn:p" xml:lang="en"><p:b><c q="1"/></p:b></a>');
    const b = d.root.children[0] as XmlElement;
    const c = b.children[0] as XmlElement;
    assert.equal(c14n11(c), '<c xmlns="urn:a" xmlns:p="urn:p" q="1" xml:lang="en"></c>');
    assert.equal(c14n11(b), '<p:b xmlns="urn:a" xmlns:p="urn:p" xml:lang="en"><c q="1"></c></p:b>');
  });

  test('the excluded subtree is removed but its surrounding whitespace stays', () => {
    const d = parseXml('<a>\n <s><x/></s>\n</a>');
    assert.equal(c14n11(d.root, { exclude: d.root.children[1] as XmlElement }), '<a>\n \n</a>');
  });
});

const skip = skipUnlessShared('vectors', 'nvidia');
const vec = (p: string): Buffer => readFileSync(sharedPath('vectors', p)!);
const DRIVER = 'nvidia/go-nvattest-tools/rim/NV_GPU_DRIVER_GH100_550.90.07.xml';
const AT = new Date('2025-06-01T00:00:00Z');

describe('RIM parsing: go-nvattest-tools synthetic fragments', { skip }, () => {
  const dir = 'nvidia/go-nvattest-tools/rim/';
  const payloadFailures = [
    'duplicate_index',
    'empty_payload',
    'hash_empty_namespace',
    'invalid_alternatives',
    'invalid_index',
    'invalid_size',
    'missing_alternatives',
    'missing_hash',
    'missing_index',
    'missing_size',
    'no_payload',
  ];
  for (const n of payloadFailures) {
    test(`failure_${n}.xml: payload parse fails with ProtocolError`, () => {
      const doc = parseXmlBytes(vec(`${dir}failure_${n}.xml`));
      assert.throws(() => parseRimPayload(doc.root), isPE);
    });
  }
  for (const n of [
    'missing_meta',
    'missing_colloquial_version',
    'invalid_base64_cert',
    'invalid_cert_bytes',
    'invalid_pem_data',
    'missing_x509_certificate',
    'missing_x509_data',
  ]) {
    test(`failure_${n}.xml: not a valid signed RIM (parse check fails, no exception)`, () => {
      assert.throws(() => parseRim(vec(`${dir}failure_${n}.xml`)), isPE);
      const v = verifyRim(
        nodeProvider,
        vec(`${dir}failure_${n}.xml`),
        { roots: nvidiaRimRoots(), at: AT },
        'rim.driver',
      );
      assert.deepEqual(
        v.checks.map((c) => [c.id, c.ok]),
        [['rim.driver', false]],
      );
    });
  }
  test('success_payload_*: payload parses, alternatives kept in order', () => {
    const one = parseRimPayload(
      parseXmlBytes(vec(`${dir}success_payload_single_measurement.xml`)).root,
    );
    assert.equal(one.length, 1);
    const multi = parseRimPayload(
      parseXmlBytes(vec(`${dir}success_payload_multiple_measurements.xml`)).root,
    );
    assert.deepEqual(
      multi.map((m) => [m.index, m.active]),
      [
        [0, true],
        [1, false],
      ],
    );
    const alt = parseRimPayload(
      parseXmlBytes(vec(`${dir}success_payload_multiple_alternatives.xml`)).root,
    );
    assert.equal(alt[1]!.alternatives, 4);
    assert.equal(alt[1]!.hashes.length, 4);
    assert.match(alt[1]!.hashes[3]!, /^cb09606f/);
  });
});

describe('Signed RIM tamper cases', { skip }, () => {
  const verify = (b: Uint8Array, at = AT): Map<string, boolean> => {
    const m = new Map<string, boolean>();
    for (const c of verifyRim(nodeProvider, b, { roots: nvidiaRimRoots(), at }, 'rim.driver')
      .checks)
      m.set(c.id, (m.get(c.id) ?? true) && c.ok);
    return m;
  };
  test('the untouched driver RIM verifies', () => {
    assert.deepEqual([...verify(vec(DRIVER)).values()], [true, true, true, true]);
  });
  test('an edited golden hash breaks the digest (SignedInfo and its signature stay valid)', () => {
    const s = vec(DRIVER).toString('utf8');
    const i = s.indexOf('ns2:Hash0="80161aac');
    const edited = s.slice(0, i + 11) + '9' + s.slice(i + 12);
    const r = verify(Buffer.from(edited));
    assert.equal(r.get('rim.driver.digest'), false);
    assert.equal(r.get('rim.driver.signature'), true);
  });
  test('a stripped signature is rejected', () => {
    const s = vec(DRIVER).toString('utf8');
    const stripped = s.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '');
    assert.equal(verify(Buffer.from(stripped)).get('rim.driver'), false);
  });
  test('a second (wrapping) Signature is rejected', () => {
    const s = vec(DRIVER).toString('utf8');
    const sig = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(s)![0];
    const wrapped = s.replace(
      '</ns0:Payload>',
      `</ns0:Payload><ns0:Evidence>${sig}</ns0:Evidence>`,
    );
    assert.equal(verify(Buffer.from(wrapped)).get('rim.driver'), false);
  });
  test('an edited SignatureValue fails the signature check', () => {
    const s = vec(DRIVER).toString('utf8');
    const edited = s.replace(
      /<ds:SignatureValue>(.)/,
      (_m, c: string) => `<ds:SignatureValue>${c === 'A' ? 'B' : 'A'}`,
    );
    const r = verify(Buffer.from(edited));
    assert.equal(r.get('rim.driver.signature'), false);
    assert.equal(r.get('rim.driver.digest'), true);
  });
  test('an expired RIM signer at the verification time fails the chain check', () => {
    const r = verify(vec(DRIVER), new Date('2026-06-02T00:00:00Z'));
    assert.equal(r.get('rim.driver.cert_chain'), false);
    assert.equal(r.get('rim.driver.signature'), true);
  });
  test('a RIM whose chain does not reach the pinned root fails the chain check', () => {
    const r = verifyRim(nodeProvider, vec(DRIVER), { roots: [], at: AT }, 'rim.driver');
    assert.ok(r.checks.some((c) => c.id === 'rim.driver.cert_chain' && !c.ok));
  });
  test('the canonical document of a real RIM keeps the Payload and drops the signature', () => {
    const sig = parseEnvelopedSignature(parseXmlBytes(vec(DRIVER)));
    assert.ok(!sig.documentC14n.includes('ds:Signature'));
    assert.ok(
      sig.signedInfoC14n.startsWith(
        '<ds:SignedInfo xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" xmlns:ds=',
      ),
    );
    assert.equal(
      childElements(sig.signedInfo, 'http://www.w3.org/2000/09/xmldsig#', 'Reference').length,
      1,
    );
  });
});

describe('XML / RIM parsers: properties (only ProtocolError)', { skip }, () => {
  test('random strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          c14n11(parseXml(s).root);
        } catch (e) {
          assert.ok(isPE(e), String(e));
        }
      }),
      { numRuns: 1000 },
    );
  });
  test('XML-ish random token soup', () => {
    const tok = fc.constantFrom(
      '<',
      '>',
      '/',
      'a',
      'p:',
      ' ',
      '=',
      '"',
      "'",
      '&amp;',
      '&#x',
      ';',
      '<!--',
      '-->',
      '<![CDATA[',
      ']]>',
      'xmlns',
      'xmlns:p',
      '"u"',
      '<?',
      '?>',
      '\n',
    );
    fc.assert(
      fc.property(fc.array(tok, { maxLength: 60 }), (ts) => {
        try {
          c14n11(parseXml(ts.join('')).root);
        } catch (e) {
          assert.ok(isPE(e), String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
  test('mutated real RIM: parseRim / verifyRim never throw anything but ProtocolError', () => {
    const base = vec(DRIVER);
    fc.assert(
      fc.property(fc.nat(), fc.nat(255), (pos, val) => {
        const m = Uint8Array.from(base);
        m[pos % m.length] = val;
        try {
          parseRim(m);
        } catch (e) {
          assert.ok(isPE(e), String(e));
        }
        const v = verifyRim(nodeProvider, m, { roots: nvidiaRimRoots(), at: AT }, 'rim.driver');
        assert.ok(v.checks.length > 0);
      }),
      { numRuns: 60 },
    );
  });
});
