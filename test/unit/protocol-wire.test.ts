/**
 * The wire codec, the limits object, and channel checks that only a misbehaving key holder can
 * trigger (frames built here independently from docs/PROTOCOL.md §6 with the raw AEAD).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { ProtocolError } from '../../protocol/errors';
import { DEFAULT_LIMITS, resolveLimits } from '../../protocol/limits';
import { Reader, Writer } from '../../protocol/wire/codec';
import { SecureChannel } from '../../protocol/channel/channel';

function err(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `non-ProtocolError ${String(e)}`);
    return e;
  }
  assert.fail('expected a ProtocolError');
}

describe('wire codec', () => {
  test('round trip of every primitive', () => {
    const w = new Writer('T', 1);
    w.u8(0xab)
      .u16(0xbeef)
      .u32(0xdeadbeef)
      .u64(0x0102030405060708n)
      .f64(-1.5)
      .vec8(Uint8Array.of(1), 'a')
      .vec16(Uint8Array.of(2, 3), 'b')
      .vec32(new Uint8Array(300), 'c', 300)
      .str8('é', 's')
      .str16('x', 't')
      .str32('yz', 'u', 10);
    const r = new Reader(w.finish(), 'T');
    assert.equal(r.u8('a'), 0xab);
    assert.equal(r.u16('b'), 0xbeef);
    assert.equal(r.u32('c'), 0xdeadbeef);
    assert.equal(r.u64('d'), 0x0102030405060708n);
    assert.equal(r.f64('e'), -1.5);
    assert.deepEqual(r.vec8('f'), Uint8Array.of(1));
    assert.deepEqual(r.vec16('g'), Uint8Array.of(2, 3));
    assert.equal(r.vec32('h', 300).length, 300);
    assert.equal(r.str8('i'), 'é');
    assert.equal(r.str16('j'), 'x');
    assert.equal(r.str32('k', 10), 'yz');
    r.end();
  });

  test('reader errors name the field and both values', () => {
    const e1 = err(() => new Reader(Uint8Array.of(1), 'Msg').u16('len'));
    assert.equal(e1.code, 'truncated');
    assert.equal(e1.field, 'Msg.len');
    assert.match(e1.message, /expected "2 more bytes at offset 0", got "1"/);
    const e2 = err(() => new Reader(Uint8Array.of(5, 1, 2, 3, 4, 5), 'Msg').vec8('name', 4));
    assert.equal(e2.code, 'too_large');
    assert.match(e2.message, /Msg\.name: expected "at most 4 bytes", got "5 bytes"/);
    const r = new Reader(Uint8Array.of(1, 2), 'Msg');
    r.u8('a');
    assert.equal(err(() => r.end()).code, 'trailing_bytes');
    assert.equal(
      err(() => new Reader(Uint8Array.of(7), 'Msg').enum8('kind', [1, 2])).code,
      'malformed',
    );
    const nan = new Writer('x').u32(0x7ff80000).u32(0).finish();
    assert.equal(err(() => new Reader(nan, 'Msg').f64('t')).code, 'malformed');
    assert.equal(err(() => new Reader('x' as never, 'Msg')).code, 'malformed');
  });

  test('writer refuses out-of-range values', () => {
    assert.equal(err(() => new Writer('W').u8(256, 'f')).code, 'too_large');
    assert.equal(err(() => new Writer('W').u16(-1, 'f')).code, 'too_large');
    assert.equal(err(() => new Writer('W').u32(1.5, 'f')).code, 'too_large');
    assert.equal(err(() => new Writer('W').u64(-1n, 'f')).code, 'too_large');
    assert.equal(err(() => new Writer('W').f64(Infinity, 'f')).code, 'malformed');
    assert.equal(err(() => new Writer('W').vec8(new Uint8Array(256), 'f')).code, 'too_large');
    assert.equal(err(() => new Writer('W').vec32(new Uint8Array(11), 'f', 10)).code, 'too_large');
    assert.equal(err(() => new Writer('W').bytes(new Uint8Array(3), 'f', 4)).code, 'bad_length');
  });
});

describe('limits', () => {
  test('defaults, overrides and refusals', () => {
    assert.equal(resolveLimits().maxFramePlaintext, DEFAULT_LIMITS.maxFramePlaintext);
    assert.equal(resolveLimits({ maxClientHello: 10 }).maxClientHello, 10);
    assert.equal(err(() => resolveLimits({ maxClientHello: 0 })).code, 'usage');
    assert.equal(err(() => resolveLimits({ maxServerInfo: 1.5 })).code, 'usage');
    assert.equal(err(() => resolveLimits({ rekeyAfterFrames: 2 ** 21 })).code, 'usage');
    assert.equal(err(() => resolveLimits({ maxFramesPerEpoch: 2 ** 21 })).code, 'usage');
    assert.ok(Object.isFrozen(DEFAULT_LIMITS));
  });
});

describe('channel checks against a misbehaving key holder', () => {
  const key = nodeProvider.randomBytes(32);
  const aead = nodeProvider.aead('aes-256-gcm', key);
  /** Builds a client→server frame exactly as docs/PROTOCOL.md §6.1 describes. */
  function frame(
    seq: number,
    body: Uint8Array,
    o: { type?: number; flags?: number; epoch?: number } = {},
  ): Uint8Array {
    const h = new Uint8Array(16);
    h[0] = 1;
    h[1] = o.type ?? 1;
    h[2] = 1;
    h[3] = o.flags ?? 0;
    new DataView(h.buffer).setUint32(4, o.epoch ?? 0);
    new DataView(h.buffer).setBigUint64(8, BigInt(seq));
    const nonce = new Uint8Array(12);
    nonce[3] = 1;
    nonce.set(h.subarray(8), 4);
    const ct = aead.seal(nonce, body, h);
    const out = new Uint8Array(16 + ct.length);
    out.set(h);
    out.set(ct, 16);
    return out;
  }
  const body = (content: Uint8Array, size = 256): Uint8Array => {
    const b = new Uint8Array(size);
    new DataView(b.buffer).setUint32(0, content.length);
    b.set(content, 4);
    return b;
  };
  const receiver = (limits = {}) =>
    new SecureChannel({
      crypto: nodeProvider,
      aead: 'aes-256-gcm',
      role: 'server',
      sendKey: nodeProvider.randomBytes(32),
      recvKey: key,
      limits,
    });

  test('an independently built frame opens', () => {
    assert.deepEqual(receiver().open(frame(0, body(Uint8Array.of(7, 8)))), Uint8Array.of(7, 8));
  });
  test('bad_padding: non-zero padding, oversized content length', () => {
    const b = body(Uint8Array.of(1));
    b[100] = 1;
    assert.equal(err(() => receiver().open(frame(0, b))).code, 'bad_padding');
    const c = new Uint8Array(256);
    new DataView(c.buffer).setUint32(0, 253);
    assert.equal(err(() => receiver().open(frame(0, c))).code, 'bad_padding');
  });
  test('a close frame must be empty and carry no flags', () => {
    assert.equal(
      err(() => receiver().open(frame(0, body(Uint8Array.of(1)), { type: 2 }))).code,
      'malformed',
    );
    assert.equal(
      err(() => receiver().open(frame(0, body(new Uint8Array(0)), { type: 2, flags: 1 }))).code,
      'reserved_nonzero',
    );
  });
  test('rekey_required: a peer that never sends key_update', () => {
    const rx = receiver({ maxFramesPerEpoch: 5 });
    for (let i = 0; i < 5; i++) rx.open(frame(i, body(new Uint8Array(0))));
    const e = err(() => rx.open(frame(5, body(new Uint8Array(0)))));
    assert.equal(e.code, 'rekey_required');
    assert.match(e.message, /frame 6 in epoch 0/);
  });
  test('a body length that is not a bucket is bad_length', () => {
    assert.equal(
      err(() => receiver().open(frame(0, body(new Uint8Array(0), 300)))).code,
      'bad_length',
    );
  });
  test('a seq beyond 2^53 is a gap, never accepted', () => {
    assert.equal(err(() => receiver().open(frame(2 ** 60, body(new Uint8Array(0))))).code, 'gap');
  });
});
