/**
 * protocol/encoding.ts: the one encoding module. Each place where the former copies disagreed has
 * one decided behaviour, tested here: strict hex, lone surrogates rejected, separate base64 and
 * base64url alphabets with canonical padding, and an unterminated PEM block throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  fromBase64,
  fromBase64url,
  fromHex,
  isHex,
  latin1Decode,
  pemBlocks,
  toBase64,
  toBase64url,
  toHex,
  utf8Decode,
  utf8Encode,
} from '../../protocol/encoding';
import { ProtocolError } from '../../protocol/errors';

const malformed = (f: () => unknown, field: string): void =>
  void assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.equal(e.code, 'malformed');
    assert.equal(e.field, field);
    return true;
  });

test('hex: round trip and agreement with Buffer', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      assert.equal(toHex(b), Buffer.from(b).toString('hex'));
      assert.deepEqual(fromHex(toHex(b)), b);
      assert.deepEqual(fromHex(toHex(b).toUpperCase()), b);
    }),
  );
});

test('hex is strict: odd length, non-hex digits, whitespace and a 0x prefix are rejected', () => {
  for (const bad of ['abc', 'zz', '0xab', 'ab cd', ' ab', 'ab\n', '+1'])
    malformed(() => fromHex(bad, 'nonce'), 'nonce');
  assert.equal(isHex('0xab'), false);
  assert.equal(isHex('aB09'), true);
  assert.deepEqual(fromHex(''), new Uint8Array(0));
});

test('UTF-8 encoding rejects lone surrogates and agrees with Buffer on well-formed strings', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (s) =>
      assert.deepEqual(Buffer.from(utf8Encode(s)), Buffer.from(s, 'utf8')),
    ),
  );
  for (const s of ['\ud800', 'a\udc00', '\udc00\ud800', 'x\ud83d'])
    malformed(() => utf8Encode(s, 'prompt'), 'prompt');
  assert.deepEqual(Buffer.from(utf8Encode('\ud83d\ude00')), Buffer.from('😀'));
});

test('UTF-8 decoding is strict: valid exactly when Buffer round-trips the bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      const lossy = Buffer.from(b).toString('utf8');
      if (Buffer.from(lossy, 'utf8').equals(b)) assert.equal(utf8Decode(b), lossy);
      else malformed(() => utf8Decode(b, 'f'), 'f');
    }),
    { numRuns: 3000 },
  );
  // overlong, surrogate, truncated, above U+10FFFF; a BOM is kept, not stripped
  for (const b of [
    [0xc0, 0x80],
    [0xed, 0xa0, 0x80],
    [0xe2, 0x82],
    [0xf4, 0x90, 0x80, 0x80],
  ])
    malformed(() => utf8Decode(Uint8Array.from(b), 'f'), 'f');
  assert.equal(utf8Decode(Uint8Array.from([0xef, 0xbb, 0xbf, 0x41])), '\ufeffA');
});

test('latin1Decode maps every byte to its code point', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 9000 }), (b) =>
      assert.equal(latin1Decode(b), Buffer.from(b).toString('latin1')),
    ),
    { numRuns: 50 },
  );
});

test('base64 and base64url: round trips, padded or not, and agreement with Buffer', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const std = Buffer.from(b).toString('base64');
      const url = Buffer.from(b).toString('base64url');
      assert.equal(toBase64(b), std);
      assert.equal(toBase64url(b), url);
      assert.deepEqual(fromBase64(std), b);
      assert.deepEqual(fromBase64(std.replace(/=+$/, '')), b);
      assert.deepEqual(fromBase64url(url), b);
      // PEM-style line breaks are skipped
      assert.deepEqual(fromBase64(std.replace(/(.{64})/g, '$1\r\n')), b);
    }),
  );
});

test('base64 is strict: one alphabet per decoder, right padding, zero unused bits', () => {
  malformed(() => fromBase64('a', 'f'), 'f'); // length 1 (mod 4)
  malformed(() => fromBase64('ab$c', 'f'), 'f');
  malformed(() => fromBase64('-_8=', 'f'), 'f'); // base64url characters in base64
  malformed(() => fromBase64url('+/8', 'f'), 'f'); // base64 characters in base64url
  malformed(() => fromBase64('QQ=', 'f'), 'f'); // short padding
  malformed(() => fromBase64('QQ===', 'f'), 'f'); // long padding
  malformed(() => fromBase64('QQ==QQ==', 'f'), 'f'); // data after padding
  malformed(() => fromBase64('QR==', 'f'), 'f'); // non-zero unused bits
  assert.deepEqual(fromBase64('QQ=='), Uint8Array.from([0x41]));
});

const blk = (s: string, label = 'CERTIFICATE'): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(s).toString('base64')}\n-----END ${label}-----`;

test('PEM: blocks in order, text around them ignored, other labels skipped', () => {
  const text = `junk\n${blk('one')}\nmiddle ${blk('x', 'X509 CRL')}\n${blk('two')}${blk('three')}\0`;
  assert.deepEqual(
    pemBlocks(text).map((b) => Buffer.from(b).toString()),
    ['one', 'two', 'three'],
  );
  assert.deepEqual(
    pemBlocks(text, 'X509 CRL').map((b) => Buffer.from(b).toString()),
    ['x'],
  );
  assert.deepEqual(pemBlocks('no blocks here'), []);
});

test('PEM: an unterminated block throws, naming the field', () => {
  malformed(
    () => pemBlocks(`${blk('one')}\n-----BEGIN CERTIFICATE-----\nQUFB\n`, 'CERTIFICATE', 'chain'),
    'chain',
  );
  malformed(
    () => pemBlocks('-----BEGIN CERTIFICATE-----\n*AAA\n-----END CERTIFICATE-----'),
    'PEM CERTIFICATE',
  );
});
