import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotPool } from '../../enclave-server/engine/slots';
import { ProtocolError } from '../../protocol/errors';

const sig = (): AbortSignal => new AbortController().signal;

test('a session gets its own previous slot back (KV affinity)', async () => {
  const pool = new SlotPool(['a', 'b']);
  const s1 = {};
  const s2 = {};
  const l1 = await pool.acquire(s1, sig());
  assert.deepEqual(l1, { slot: 'a', sameOwner: false, foreignState: false });
  const l2 = await pool.acquire(s2, sig());
  assert.equal(l2.slot, 'b');
  pool.release('a');
  pool.release('b');
  const again = await pool.acquire(s2, sig());
  assert.deepEqual(again, { slot: 'b', sameOwner: true, foreignState: false });
});

test('a slot used by someone else is reported as foreign state; released slots are preferred over owned ones', async () => {
  const pool = new SlotPool(['a', 'b']);
  const s1 = {};
  const s2 = {};
  await pool.acquire(s1, sig());
  pool.release('a');
  await pool.acquire(s2, sig()); // takes 'b' (never used beats owned by s1)
  pool.release('b');
  pool.forget(s2);
  const s3 = {};
  const l3 = await pool.acquire(s3, sig());
  assert.deepEqual(l3, { slot: 'b', sameOwner: false, foreignState: true });
});

test('FIFO queue with positions; abort while queued removes the waiter with a typed error', async () => {
  const pool = new SlotPool(['a']);
  await pool.acquire({}, sig());
  const p1: number[] = [];
  const p2: number[] = [];
  const p3: number[] = [];
  const ac2 = new AbortController();
  const w1 = pool.acquire({}, sig(), (p) => p1.push(p));
  const w2 = pool.acquire({}, ac2.signal, (p) => p2.push(p));
  const w3 = pool.acquire({}, sig(), (p) => p3.push(p));
  assert.equal(pool.queued, 3);
  ac2.abort();
  await assert.rejects(w2, (e: unknown) => e instanceof ProtocolError && e.code === 'cancelled');
  assert.deepEqual(p3, [3, 2]);
  pool.release('a');
  assert.equal((await w1).slot, 'a');
  assert.deepEqual(p3, [3, 2, 1]);
  pool.release('a');
  assert.equal((await w3).slot, 'a');
  assert.deepEqual(p1, [1]);
  assert.equal(pool.queued, 0);
});

test('close rejects waiters with shutting_down and refuses new requests', async () => {
  const pool = new SlotPool(['a']);
  await pool.acquire({}, sig());
  const w = pool.acquire({}, sig());
  pool.close();
  await assert.rejects(w, (e: unknown) => e instanceof ProtocolError && e.code === 'shutting_down');
  await assert.rejects(
    pool.acquire({}, sig()),
    (e: unknown) => e instanceof ProtocolError && e.code === 'shutting_down',
  );
});

test('an already aborted signal is rejected without taking a slot', async () => {
  const pool = new SlotPool(['a']);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    pool.acquire({}, ac.signal),
    (e: unknown) => e instanceof ProtocolError && e.code === 'cancelled',
  );
  assert.equal(pool.busy, 0);
});

test('scrub: a departed owner’s free slots are held while cleared, then handed out as clean', async () => {
  const pool = new SlotPool(['a', 'b']);
  const s1 = {};
  await pool.acquire(s1, sig());
  pool.release('a');
  let finishScrub: () => void = () => {};
  const scrubbed: string[] = [];
  pool.scrub(s1, (slot) => {
    scrubbed.push(slot);
    return new Promise<void>((r) => (finishScrub = r));
  });
  assert.deepEqual(scrubbed, ['a']);
  assert.equal(pool.busy, 1);
  const other = await pool.acquire({}, sig());
  assert.equal(other.slot, 'b');
  const waiting = pool.acquire({}, sig());
  finishScrub();
  const l = await waiting;
  assert.deepEqual(l, { slot: 'a', sameOwner: false, foreignState: false });
});

test('scrub failure leaves the state marked foreign for the next owner', async () => {
  const pool = new SlotPool(['a']);
  const s1 = {};
  await pool.acquire(s1, sig());
  pool.release('a');
  pool.scrub(s1, () => Promise.reject(new Error('x')));
  const l = await pool.acquire({}, sig());
  assert.equal(l.foreignState, true);
});
