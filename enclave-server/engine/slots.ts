/**
 * A fixed pool of engine slots (llama.cpp sequences in one context) shared by many sessions.
 * - A session gets back the slot it used last when that slot is free and nobody else used it
 *   since (its KV cache still holds the conversation, so the shared prefix is not evaluated again).
 * - Otherwise it takes a free slot: never-used or released ones first, then the least recently used.
 * - When every slot is busy the request waits in a FIFO queue and is told its position (and every
 *   later change of it). A request is never dropped: it waits until a slot frees or its signal aborts.
 */
import { ProtocolError } from '../../protocol/errors';

export interface Lease<S> {
  readonly slot: S;
  /** True when the slot's last user was this owner (its cached state belongs to the owner). */
  readonly sameOwner: boolean;
  /** True when the slot was last used by a different owner (its state must be cleared). */
  readonly foreignState: boolean;
}

interface Entry<S> {
  readonly slot: S;
  busy: boolean;
  owner: object | null;
  lastUsed: number;
}

interface Waiter<S> {
  readonly owner: object;
  readonly resolve: (l: Lease<S>) => void;
  readonly reject: (e: unknown) => void;
  readonly onQueued: ((position: number) => void) | undefined;
  position: number;
  readonly cleanup: () => void;
}

export class SlotPool<S> {
  private readonly entries: Entry<S>[];
  private readonly queue: Waiter<S>[] = [];
  private clock = 0;
  private closed = false;

  constructor(slots: readonly S[]) {
    this.entries = slots.map((slot) => ({ slot, busy: false, owner: null, lastUsed: 0 }));
  }

  get capacity(): number {
    return this.entries.length;
  }
  get busy(): number {
    return this.entries.filter((e) => e.busy).length;
  }
  get queued(): number {
    return this.queue.length;
  }

  acquire(
    owner: object,
    signal: AbortSignal,
    onQueued?: (position: number) => void,
  ): Promise<Lease<S>> {
    if (this.closed) return Promise.reject(new ProtocolError('shutting_down', 'engine is closed'));
    if (signal.aborted) return Promise.reject(cancelled());
    const free = this.pick(owner);
    if (free !== null) return Promise.resolve(this.take(free, owner));
    return new Promise<Lease<S>>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) {
          this.queue.splice(i, 1);
          this.renumber();
        }
        reject(cancelled());
      };
      const waiter: Waiter<S> = {
        owner,
        resolve,
        reject,
        onQueued,
        position: 0,
        cleanup: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.renumber();
    });
  }

  release(slot: S): void {
    const e = this.entries.find((x) => x.slot === slot);
    if (e === undefined || !e.busy) return;
    e.busy = false;
    const next = this.queue.shift();
    if (next !== undefined) {
      next.cleanup();
      this.renumber();
      next.resolve(this.take(e, next.owner));
    }
  }

  /** The owner is gone: its slots become "free, foreign state" for everyone else. */
  forget(owner: object): void {
    for (const e of this.entries) if (e.owner === owner) e.owner = null;
  }

  /**
   * The owner is gone: each free slot it used is held (busy) while `scrub` clears its state,
   * then released as never-used (no clearing needed by the next owner). Slots still busy for
   * this owner (a generation being cancelled) just lose their owner, as with `forget`.
   */
  scrub(owner: object, scrub: (slot: S) => Promise<void>): void {
    for (const e of this.entries) {
      if (e.owner !== owner) continue;
      e.owner = null;
      if (e.busy || this.closed) continue;
      e.busy = true;
      void scrub(e.slot)
        .then(
          () => {
            e.lastUsed = 0;
          },
          () => {
            // state unknown: the next owner clears it (lastUsed stays > 0 → foreignState)
          },
        )
        .finally(() => this.release(e.slot));
    }
  }

  /** Rejects every waiter (shutdown). Busy slots finish or are cancelled by their owners. */
  close(): void {
    this.closed = true;
    for (const w of this.queue.splice(0)) {
      w.cleanup();
      w.reject(new ProtocolError('shutting_down', 'server is shutting down'));
    }
  }

  private pick(owner: object): Entry<S> | null {
    let best: Entry<S> | null = null;
    for (const e of this.entries) {
      if (e.busy) continue;
      if (e.owner === owner) return e;
      if (best === null) best = e;
      else if ((best.owner !== null) !== (e.owner !== null)) {
        if (e.owner === null) best = e;
      } else if (e.lastUsed < best.lastUsed) best = e;
    }
    return best;
  }

  private take(e: Entry<S>, owner: object): Lease<S> {
    const sameOwner = e.owner === owner;
    const foreignState = !sameOwner && e.lastUsed > 0;
    e.busy = true;
    e.owner = owner;
    e.lastUsed = ++this.clock;
    return { slot: e.slot, sameOwner, foreignState };
  }

  private renumber(): void {
    this.queue.forEach((w, i) => {
      if (w.position !== i + 1) {
        w.position = i + 1;
        w.onQueued?.(i + 1);
      }
    });
  }
}

function cancelled(): ProtocolError {
  return new ProtocolError('cancelled', 'request cancelled while waiting for a free sequence');
}
