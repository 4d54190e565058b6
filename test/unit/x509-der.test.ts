import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Tag,
  children,
  parseDer,
  readBitString,
  readBoolean,
  readIntegerBytes,
  readOid,
  readString,
  readTime,
  readUnsignedInteger,
  MAX_DEPTH,
} from '../../protocol/asn1/der';
import {
  fromBase64,
  fromHex,
  toBase64,
  fromBase64url,
  toHex,
  utf8Decode,
  utf8Encode,
} from '../../protocol/encoding';
import { ProtocolError } from '../../protocol/errors';
import { der } from '../../enclave-server/evidence/x509-writer';

const h = (s: string): Uint8Array => fromHex(s);
const rejects = (f: () => unknown, re: RegExp): void =>
  assert.throws(
    f,
    (e: unknown) => e instanceof ProtocolError && e.code === 'x509_parse' && re.test(e.message),
  );

describe('DER reader is strict', () => {
  test('definite, minimal lengths only; no trailing bytes', () => {
    assert.deepEqual([...parseDer(h('0403010203')).value], [1, 2, 3]);
    rejects(() => parseDer(h('0480010200')), /definite length/);
    rejects(() => parseDer(h('04810103')), /minimal length/); // long form for 3
    rejects(() => parseDer(h('0482000103')), /leading zero/);
    rejects(() => parseDer(h('040301')), /3 content bytes.*1 available/);
    rejects(() => parseDer(h('04010100')), /trailing bytes/);
    rejects(() => parseDer(h('0485ffffffffff')), /at most 4 octets/);
    rejects(() => parseDer(new Uint8Array(0)), /end of input/);
  });
  test('high tag numbers, nesting limit', () => {
    const t = parseDer(h('9f2a0100'));
    assert.equal(t.tagNumber, 42);
    rejects(() => parseDer(h('9f1e0100')), /minimal tag/);
    let nested = h('0500');
    for (let i = 0; i < MAX_DEPTH + 2; i++) nested = der.seq(nested);
    let node = parseDer(nested);
    assert.throws(() => {
      for (;;) node = children(node)[0]!;
    }, /nesting depth/);
  });
  test('INTEGER: minimal two’s complement; serial numbers may be 0', () => {
    assert.deepEqual([...readIntegerBytes(parseDer(h('020100')), 'serial')], [0]);
    assert.deepEqual([...readUnsignedInteger(parseDer(h('02020080')), 'n')], [0x80]);
    rejects(() => readUnsignedInteger(parseDer(h('02020001')), 'n'), /minimal INTEGER/);
    rejects(() => readUnsignedInteger(parseDer(h('0201ff')), 'n'), /non-negative/);
    rejects(() => readIntegerBytes(parseDer(h('0200')), 'n'), /non-empty/);
  });
  test('OID, BOOLEAN, BIT STRING, strings', () => {
    assert.equal(
      readOid(parseDer(der.oid('1.3.6.1.4.1.3704.1.3.9')), 'oid'),
      '1.3.6.1.4.1.3704.1.3.9',
    );
    assert.equal(readOid(parseDer(der.oid('2.999.3')), 'oid'), '2.999.3');
    rejects(() => readOid(parseDer(h('06022a86')), 'oid'), /truncated arc/);
    rejects(() => readOid(parseDer(h('0603808001')), 'oid'), /minimal OID/);
    assert.equal(readBoolean(parseDer(h('0101ff')), 'b'), true);
    rejects(() => readBoolean(parseDer(h('010101')), 'b'), /0x00 or 0xff/);
    assert.deepEqual(readBitString(parseDer(h('03020780')), 'ku', 'x509_parse', true), {
      bytes: h('80'),
      unusedBits: 7,
    });
    rejects(() => readBitString(parseDer(h('03020780')), 'k'), /0 unused bits/);
    assert.equal(readString(parseDer(der.utf8('Grüße')), 's'), 'Grüße');
    assert.equal(readString(parseDer(h('1e0400410042')), 's'), 'AB'); // BMPString
    rejects(() => readString(parseDer(h('1302c1c1')), 's'), /ASCII/);
    rejects(() => readString(parseDer(h('0c02c328')), 's'), /UTF-8/);
    rejects(() => readString(parseDer(h('0400')), 's'), /a string type/);
    assert.equal(Tag.SEQUENCE, 0x30);
  });
  test('UTCTime 1950–2049, GeneralizedTime (fractions), calendar checks', () => {
    const t = (tag: number, s: string): Date =>
      readTime(parseDer(der.tlv(tag, utf8Encode(s))), 't');
    assert.equal(t(Tag.UTCTime, '491231235959Z').toISOString(), '2049-12-31T23:59:59.000Z');
    assert.equal(t(Tag.UTCTime, '500101000000Z').toISOString(), '1950-01-01T00:00:00.000Z');
    assert.equal(
      t(Tag.GeneralizedTime, '99991231235959Z').toISOString(),
      '9999-12-31T23:59:59.000Z',
    );
    assert.equal(
      t(Tag.GeneralizedTime, '20240229120000.5Z').toISOString(),
      '2024-02-29T12:00:00.500Z',
    );
    rejects(() => t(Tag.GeneralizedTime, '20230229120000Z'), /calendar date/);
    rejects(() => t(Tag.UTCTime, '2401011200Z'), /YYMMDDHHMMSSZ/);
    rejects(() => t(Tag.UTCTime, '240101120000+0100'), /YYMMDDHHMMSSZ/);
    rejects(() => t(Tag.GeneralizedTime, '20241301000000Z'), /calendar time/);
    // The writer picks the same forms back.
    assert.equal(
      readTime(parseDer(der.time(new Date('2049-06-01T00:00:00Z'))), 't').toISOString(),
      '2049-06-01T00:00:00.000Z',
    );
    assert.equal(parseDer(der.time(new Date('2050-06-01T00:00:00Z'))).tag, Tag.GeneralizedTime);
  });
});

describe('byte encodings', () => {
  test('hex, base64/base64url, UTF-8 round trips and rejections', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        assert.deepEqual(fromHex(toHex(b)), b);
        assert.deepEqual(fromBase64(toBase64(b)), b);
        assert.deepEqual(fromBase64url(Buffer.from(b).toString('base64url')), b);
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) =>
        assert.equal(utf8Decode(utf8Encode(s)), s),
      ),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        // Agrees with the platform's strict decoder on arbitrary bytes.
        let want: string | null;
        try {
          want = new TextDecoder('utf-8', { fatal: true }).decode(b);
        } catch {
          want = null;
        }
        let got: string | null;
        try {
          got = utf8Decode(b);
        } catch (e) {
          assert.ok(e instanceof ProtocolError);
          got = null;
        }
        assert.equal(got, want);
      }),
      { numRuns: 3000 },
    );
    assert.throws(() => fromHex('abc'), ProtocolError);
    assert.throws(() => fromHex('zz'), ProtocolError);
    assert.throws(() => fromBase64('a'), ProtocolError);
    assert.throws(() => fromBase64('ab$c'), ProtocolError);
  });
});
