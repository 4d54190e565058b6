/**
 * CCEL (Confidential Computing Event Log, ACPI table "CCEL") parsing and replay for TDX.
 *
 * The log is a TCG PC Client crypto-agile event log (TCG PFP spec §10): one legacy TCG_PCR_EVENT
 * header carrying the "Spec ID Event03" (which lists the digest algorithms and their sizes),
 * followed by TCG_PCR_EVENT2 records: mr_index u32 ‖ event_type u32 ‖ digest count u32 ‖
 * {alg_id u16 ‖ digest}… ‖ event_size u32 ‖ event. In the CCEL, mr_index 1..4 are RTMR0..3
 * (index 0 is MRTD, measured by the TDX module, never extended by the log).
 * Replay: RTMR[i] = SHA-384(RTMR[i] ‖ digest), starting from 48 zero bytes.
 * The log area is a fixed-size buffer; the unused tail is 0xFF (or 0x00) filled.
 */
import type { CryptoProvider } from '../../crypto/provider';
import { fail } from '../../errors';
import { ByteReader, concatBytes, utf8Decode } from './bytes';

export const TPM_ALG_SHA1 = 0x0004;
export const TPM_ALG_SHA256 = 0x000b;
export const TPM_ALG_SHA384 = 0x000c;
export const TPM_ALG_SHA512 = 0x000d;
export const EV_NO_ACTION = 0x00000003;
export const SPEC_ID_SIGNATURE = 'Spec ID Event03';

/** Offsets within the legacy first event (TCG_PCR_EVENT). */
export const LEGACY_EVENT = {
  PCR_INDEX: 0,
  EVENT_TYPE: 4,
  DIGEST: 8,
  EVENT_SIZE: 28,
  EVENT: 32,
} as const;
/** Offsets within the Spec ID event data. */
export const SPEC_ID = {
  SIGNATURE: 0,
  PLATFORM_CLASS: 16,
  VERSION_MINOR: 20,
  VERSION_MAJOR: 21,
  ERRATA: 22,
  UINTN_SIZE: 23,
  NUM_ALGS: 24,
  ALGS: 28,
} as const;

export const CCEL_LIMITS = {
  maxEvents: 100_000,
  maxAlgorithms: 16,
  maxDigestSize: 64,
} as const;

export interface CcelEvent {
  /** CCEL MR index: 1..4 = RTMR0..3. */
  readonly mrIndex: number;
  readonly eventType: number;
  /** Digests by TPM algorithm id. */
  readonly digests: ReadonlyMap<number, Uint8Array>;
  readonly data: Uint8Array;
}

export interface CcelLog {
  readonly algorithms: ReadonlyMap<number, number>;
  /** The TCG_PCR_EVENT2 records (the Spec ID header is not included). */
  readonly events: readonly CcelEvent[];
  /** Number of records including the Spec ID header event. */
  readonly recordCount: number;
}

function tailIsFiller(b: Uint8Array, from: number): boolean {
  if (from >= b.length) return true;
  const f = b[from];
  if (f !== 0xff && f !== 0x00) return false;
  for (let i = from; i < b.length; i++) if (b[i] !== f) return false;
  return true;
}

export function parseCcel(bytes: Uint8Array): CcelLog {
  const r = new ByteReader(bytes, 'ccel');
  // Legacy header event: must be EV_NO_ACTION carrying the Spec ID event.
  const hdrType = r.u32(LEGACY_EVENT.EVENT_TYPE, 'header.event_type');
  if (hdrType !== EV_NO_ACTION)
    fail('malformed', 'ccel.header.event_type', 'EV_NO_ACTION (3)', hdrType);
  const hdrSize = r.u32(LEGACY_EVENT.EVENT_SIZE, 'header.event_size');
  const spec = new ByteReader(r.take(LEGACY_EVENT.EVENT, hdrSize, 'header.event'), 'ccel.spec_id');
  const sig = utf8Decode(spec.take(SPEC_ID.SIGNATURE, 16, 'signature'), 'ccel.spec_id.signature');
  if (sig !== `${SPEC_ID_SIGNATURE}\u0000`)
    fail('bad_magic', 'ccel.spec_id.signature', SPEC_ID_SIGNATURE, sig);
  const numAlgs = spec.u32(SPEC_ID.NUM_ALGS, 'number_of_algorithms');
  if (numAlgs === 0 || numAlgs > CCEL_LIMITS.maxAlgorithms) {
    fail(
      'malformed',
      'ccel.spec_id.number_of_algorithms',
      `1..${CCEL_LIMITS.maxAlgorithms}`,
      numAlgs,
    );
  }
  const algorithms = new Map<number, number>();
  for (let i = 0; i < numAlgs; i++) {
    const id = spec.u16(SPEC_ID.ALGS + 4 * i, `algorithms[${i}].id`);
    const size = spec.u16(SPEC_ID.ALGS + 4 * i + 2, `algorithms[${i}].digest_size`);
    if (size === 0 || size > CCEL_LIMITS.maxDigestSize) {
      fail(
        'malformed',
        `ccel.spec_id.algorithms[${i}].digest_size`,
        `1..${CCEL_LIMITS.maxDigestSize}`,
        size,
      );
    }
    algorithms.set(id, size);
  }

  const events: CcelEvent[] = [];
  let off = LEGACY_EVENT.EVENT + hdrSize;
  while (off < bytes.length && !tailIsFiller(bytes, off)) {
    if (events.length >= CCEL_LIMITS.maxEvents)
      fail('too_large', 'ccel.events', `at most ${CCEL_LIMITS.maxEvents}`, 'more');
    const at = `events[${events.length}]`;
    const mrIndex = r.u32(off, `${at}.mr_index`);
    const eventType = r.u32(off + 4, `${at}.event_type`);
    if (mrIndex === 0xffffffff || eventType === 0xffffffff) break; // end marker
    const count = r.u32(off + 8, `${at}.digest_count`);
    if (count > CCEL_LIMITS.maxAlgorithms)
      fail('malformed', `ccel.${at}.digest_count`, `at most ${CCEL_LIMITS.maxAlgorithms}`, count);
    let p = off + 12;
    const digests = new Map<number, Uint8Array>();
    for (let i = 0; i < count; i++) {
      const alg = r.u16(p, `${at}.digests[${i}].alg`);
      const size = algorithms.get(alg);
      if (size === undefined)
        fail(
          'unknown_type',
          `ccel.${at}.digests[${i}].alg`,
          `one of ${[...algorithms.keys()].join(', ')}`,
          alg,
        );
      digests.set(alg, r.take(p + 2, size, `${at}.digests[${i}]`));
      p += 2 + size;
    }
    const size = r.u32(p, `${at}.event_size`);
    const data = r.take(p + 4, size, `${at}.event`);
    events.push({ mrIndex, eventType, digests, data });
    off = p + 4 + size;
  }
  return { algorithms, events, recordCount: events.length + 1 };
}

/** Replays the log's SHA-384 digests into RTMR0..3. Events for other MR indexes are ignored. */
export function replayRtmrs(
  crypto: CryptoProvider,
  log: CcelLog,
): [Uint8Array, Uint8Array, Uint8Array, Uint8Array] {
  const rtmrs: [Uint8Array, Uint8Array, Uint8Array, Uint8Array] = [
    new Uint8Array(48),
    new Uint8Array(48),
    new Uint8Array(48),
    new Uint8Array(48),
  ];
  log.events.forEach((e, i) => {
    if (e.eventType === EV_NO_ACTION) return; // never extended (TCG PFP §10.4.5)
    if (e.mrIndex < 1 || e.mrIndex > 4) return;
    const d = e.digests.get(TPM_ALG_SHA384);
    if (d === undefined) fail('malformed', `ccel.events[${i}].digests`, 'a SHA-384 digest', 'none');
    const k = (e.mrIndex - 1) as 0 | 1 | 2 | 3;
    rtmrs[k] = crypto.hash('SHA-384', concatBytes(rtmrs[k], d));
  });
  return rtmrs;
}
