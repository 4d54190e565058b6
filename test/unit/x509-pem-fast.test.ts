/**
 * The PEM fast path (pemBase64Fast) must never disagree with the general decoder: on canonical
 * PEM bodies it returns the same bytes, on anything else it declines (undefined) and pemBlocks
 * falls back to fromBase64.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromBase64 } from '../../protocol/asn1/encoding';
import { pemBase64Fast, pemBlocks } from '../../protocol/x509/index';
import { AMD_CA, AMD_PRODUCTS } from '../../protocol/attestation/roots/amd';
import { ProtocolError } from '../../protocol/errors';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function wrap(b64: string, width: number, eol: string): string {
  let s = eol;
  for (let i = 0; i < b64.length; i += width) s += b64.slice(i, i + width) + eol;
  return s;
}

test('pinned AMD certificates: fast path taken and equal to the general decoder', () => {
  for (const p of AMD_PRODUCTS)
    for (const k of ['ark', 'ask', 'asvk'] as const) {
      const body = AMD_CA[p][k].split('-----')[2]!;
      const fast = pemBase64Fast(body);
      assert.ok(fast, `${p}.${k}: fast path declined`);
      assert.equal(hex(fast), hex(fromBase64(body)));
    }
});

test('canonical bodies (any length, 64/76-column LF/CRLF lines) decode like fromBase64', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 400 }),
      fc.constantFrom(64, 76, 4, 8),
      fc.constantFrom('\n', '\r\n'),
      (bytes, width, eol) => {
        const body = wrap(Buffer.from(bytes).toString('base64'), width, eol);
        const fast = pemBase64Fast(body);
        assert.ok(fast, 'declined a canonical body');
        assert.equal(hex(fast), hex(bytes));
        assert.equal(hex(fast), hex(fromBase64(body)));
      },
    ),
    { numRuns: 500 },
  );
});

test('arbitrary bodies: the fast path either declines or agrees with fromBase64', () => {
  const alphabet = fc.constantFrom(
    ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\r\t*'.split(''),
  );
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 40 }), (chars) => {
      const body = chars.join('');
      const fast = pemBase64Fast(body);
      if (fast === undefined) return;
      assert.equal(hex(fast), hex(fromBase64(body)), JSON.stringify(body));
    }),
    { numRuns: 3000 },
  );
});

test('pemBlocks: non-canonical but valid bodies still decode (fallback); invalid ones are x509_parse', () => {
  const b64 = Buffer.from('hello world!!').toString('base64'); // 'aGVsbG8gd29ybGQhIQ=='
  const odd = `-----BEGIN CERTIFICATE-----\n ${b64.slice(0, 5)}\t${b64.slice(5)} \n-----END CERTIFICATE-----`;
  assert.equal(Buffer.from(pemBlocks(odd)[0]!).toString(), 'hello world!!');
  try {
    pemBlocks('-----BEGIN CERTIFICATE-----\n*AAA\n-----END CERTIFICATE-----');
    assert.fail('accepted an invalid character');
  } catch (e) {
    assert.ok(e instanceof ProtocolError);
    assert.equal(e.code, 'x509_parse');
  }
});

test('pemBlocks finds the same blocks as the PEM grammar: several, unterminated, text around', () => {
  const blk = (s: string): string =>
    `-----BEGIN CERTIFICATE-----\n${Buffer.from(s).toString('base64')}\n-----END CERTIFICATE-----`;
  const text = `junk\n${blk('one')}\nmiddle -----BEGIN X-----\n${blk('two')}${blk('three')}\n-----BEGIN CERTIFICATE-----\nQUFB\n`;
  assert.deepEqual(
    pemBlocks(text).map((b) => Buffer.from(b).toString()),
    ['one', 'two', 'three'],
  );
  assert.deepEqual(pemBlocks('no blocks here'), []);
});

/** The previous regex-based scanner, as the reference for which spans are blocks. */
function regexBodies(text: string): string[] {
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  const out: string[] = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(m[1] ?? '');
  return out;
}

test('pemBlocks selects the same spans as the PEM regex on random texts', () => {
  const piece = fc.constantFrom(
    '-----BEGIN CERTIFICATE-----',
    '-----END CERTIFICATE-----',
    '\n',
    'QUFB',
    'QQ==',
    'junk ',
    '-----BEGIN X-----',
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
      const text = parts.join('');
      let want: string[] | 'error';
      try {
        want = regexBodies(text).map((b) => hex(fromBase64(b)));
      } catch {
        want = 'error';
      }
      let got: string[] | 'error';
      try {
        got = pemBlocks(text).map(hex);
      } catch (e) {
        assert.ok(e instanceof ProtocolError);
        got = 'error';
      }
      assert.deepEqual(got, want, JSON.stringify(text));
    }),
    { numRuns: 2000 },
  );
});
