/**
 * Explain a TDX RTMR1/RTMR2 mismatch: compare the events a CCEL log recorded (optionally checked
 * against a quote's RTMRs first) with the events the direct-boot inputs produce
 * (protocol/measure/tdx-boot.ts), and name the input that differs: the kernel (and, when another
 * kernel load mode or guest-memory size reproduces the logged kernel digest, which), the command
 * line (the log holds only its digest; a few common slips are tried), the initrd, or the firmware
 * boot path (a different event sequence, e.g. a GRUB boot).
 *
 * Pure: no Node/DOM imports.
 */
import { sha384 } from '@noble/hashes/sha2.js';
import { toHex } from '../encoding';
import { fail } from '../errors';
import { EV_NO_ACTION, TPM_ALG_SHA384, type CcelLog } from '../attestation/tdx/ccel';
import {
  EV_EFI_BOOT_SERVICES_APPLICATION,
  EV_EVENT_TAG,
  extendRtmr,
  KERNEL_LOADS,
  kernelDigestFor,
  measureTdxDirectBoot,
  TAG_LINUX_INITRD,
  TAG_LOAD_OPTIONS,
  utf16leNul,
  type KernelLoad,
  type TdxBootEvent,
  type TdxBootInput,
  type TdxDirectBootInput,
} from './tdx-boot';

export interface LoggedEvent {
  readonly index: number;
  readonly eventType: number;
  readonly digest: Uint8Array;
  /** EV_EVENT_TAG: the tagged event id. */
  readonly tag?: number;
}

export interface TdxInputCheck {
  readonly input: TdxBootInput;
  readonly rtmr: 1 | 2;
  readonly same: boolean;
  readonly computed: Uint8Array | null;
  readonly logged: Uint8Array | null;
  /** Index of the log event compared (null: the log has no such event). */
  readonly event: number | null;
  /** When the input differs: what reproduces the logged digest, or why nothing can be tried. */
  readonly hint: string | null;
}

export interface TdxRtmrCheck {
  readonly rtmr: 1 | 2;
  readonly computed: Uint8Array;
  /** The log replayed. */
  readonly logged: Uint8Array;
  /** The quote's value, when a quote was given. */
  readonly quoted: Uint8Array | null;
  readonly same: boolean;
}

export interface TdxExplainResult {
  readonly match: boolean;
  readonly rtmrs: readonly TdxRtmrCheck[];
  readonly inputs: readonly TdxInputCheck[];
  readonly verdict: string;
}

const eq = (a: Uint8Array | null, b: Uint8Array | null): boolean => a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i]);

/** The SHA-384 events a log recorded into CCEL MR index `mr` (2 = RTMR1, 3 = RTMR2). */
export function loggedEvents(log: CcelLog, mr: number): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  log.events.forEach((e, index) => {
    if (e.mrIndex !== mr || e.eventType === EV_NO_ACTION) return;
    const digest = e.digests.get(TPM_ALG_SHA384);
    if (digest === undefined) fail('malformed', `ccel.events[${index}].digests`, 'a SHA-384 digest', 'none');
    const tag = e.eventType === EV_EVENT_TAG && e.data.length >= 4 ? (e.data[0]! | (e.data[1]! << 8) | (e.data[2]! << 16) | (e.data[3]! << 24)) >>> 0 : undefined;
    out.push({ index, eventType: e.eventType, digest, ...(tag !== undefined ? { tag } : {}) });
  });
  return out;
}

/** Memory sizes tried when the QEMU-patched kernel digest differs (the initrd address depends on RAM below 4 GiB). */
export const EXPLAIN_MEMORY_CANDIDATES: readonly bigint[] = [
  ...[1, 1.5, 2, 2.5].map((g) => BigInt(g * 1024) * 1024n * 1024n),
  0xb000_0000n, // from here up QEMU caps RAM below 4 GiB at 2 GiB: one digest for all larger sizes
];

const GiB = (n: bigint): string => {
  const mib = Number(n / (1024n * 1024n));
  return mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
};

function kernelHint(input: TdxDirectBootInput, logged: Uint8Array): string {
  if (input.kernel === undefined) return 'the kernel digest was given, not the kernel: nothing to try';
  const given = input.kernelLoad ?? 'qemu-patched';
  const tried: string[] = [];
  for (const load of KERNEL_LOADS as readonly KernelLoad[]) {
    const mems = load === 'raw' ? [undefined] : [input.memoryBytes, ...EXPLAIN_MEMORY_CANDIDATES.filter((m) => m !== input.memoryBytes)];
    for (const mem of mems) {
      if (load === given && mem === input.memoryBytes) continue;
      if (load === 'qemu-patched' && mem === undefined) continue;
      let d: Uint8Array;
      try {
        d = kernelDigestFor(input.kernel, input.initrd.length, load, mem, input.acpiDataSize, input.hash).digest;
      } catch {
        continue;
      }
      tried.push(load === 'raw' ? 'raw' : `qemu-patched at ${GiB(mem!)}`);
      if (eq(d, logged)) {
        return load === 'raw'
          ? 'matches with --kernel-load raw (the firmware measured the kernel file unpatched: OVMF edk2-stable202505 or later)'
          : `matches with --kernel-load qemu-patched --memory ${GiB(mem!).replace(' GiB', 'G').replace(' MiB', 'M')}${mem === 0xb000_0000n ? ' (or any size ≥ 2.75 GiB, or exactly 2 GiB)' : ''}`;
      }
    }
  }
  return `no kernel load mode or memory size tried reproduces the logged digest (${tried.join(', ')}): the kernel file differs`;
}

function cmdlineHint(append: string, logged: Uint8Array): string {
  const variants: [string, string][] = [
    [append, 'without " initrd=initrd" (the firmware did not append it: booted without an initrd?)'],
    [`${append.trim()} initrd=initrd`, 'with the command line trimmed'],
    [`${append}\n initrd=initrd`, 'with a trailing newline in the command line'],
    [` initrd=initrd`, 'with an empty command line'],
  ];
  for (const [s, what] of variants) if (s !== `${append} initrd=initrd` && eq(sha384(utf16leNul(s)), logged)) return `matches ${what}`;
  return 'the log holds only the digest of the command line: compare the exact string (spaces, quotes, order of options) with the one the launcher passed';
}

export function explainTdxBoot(log: CcelLog, input: TdxDirectBootInput, quoteRtmrs?: readonly Uint8Array[]): TdxExplainResult {
  const computed = measureTdxDirectBoot(input);
  const l1 = loggedEvents(log, 2);
  const l2 = loggedEvents(log, 3);
  const replay1 = extendRtmr(l1.map((e) => e.digest));
  const replay2 = extendRtmr(l2.map((e) => e.digest));
  if (quoteRtmrs !== undefined) {
    for (const [k, replay] of [[1, replay1], [2, replay2]] as const) {
      const q = quoteRtmrs[k];
      if (q === undefined || !eq(q, replay)) {
        fail('binding_mismatch', `ccel.rtmr${k}`, `the log to replay to the quote's RTMR${k} ${q === undefined ? '(absent)' : toHex(q)}`, toHex(replay));
      }
    }
  }
  const rtmrs: TdxRtmrCheck[] = [
    { rtmr: 1, computed: computed.rtmr1, logged: replay1, quoted: quoteRtmrs?.[1] ?? null, same: eq(computed.rtmr1, replay1) },
    { rtmr: 2, computed: computed.rtmr2, logged: replay2, quoted: quoteRtmrs?.[2] ?? null, same: eq(computed.rtmr2, replay2) },
  ];
  const inputs: TdxInputCheck[] = [];
  const check = (rtmr: 1 | 2, ev: TdxBootEvent, logged: LoggedEvent | undefined, hint: (d: Uint8Array) => string): void => {
    const same = logged !== undefined && eq(ev.digest, logged.digest);
    inputs.push({
      input: ev.input,
      rtmr,
      same,
      computed: ev.digest,
      logged: logged?.digest ?? null,
      event: logged?.index ?? null,
      hint: same ? null : logged === undefined ? `the log has no ${ev.description} event` : hint(logged.digest),
    });
  };
  // RTMR1: the kernel is the EV_EFI_BOOT_SERVICES_APPLICATION event; the rest must match in order.
  const kernelEvents = l1.filter((e) => e.eventType === EV_EFI_BOOT_SERVICES_APPLICATION);
  check(1, computed.rtmr1Events[0]!, kernelEvents.length === 1 ? kernelEvents[0] : undefined, (d) => kernelHint(input, d));
  const rest = l1.filter((e) => e.eventType !== EV_EFI_BOOT_SERVICES_APPLICATION);
  const fwSame = kernelEvents.length === 1 && rest.length === 4 && computed.rtmr1Events.slice(1).every((e, i) => eq(e.digest, rest[i]!.digest));
  inputs.push({
    input: 'firmware',
    rtmr: 1,
    same: fwSame,
    computed: null,
    logged: null,
    event: null,
    hint: fwSame
      ? null
      : `the log's RTMR1 has ${kernelEvents.length} EFI application event(s) and ${rest.length} other event(s), a direct boot 1 and 4 (Calling EFI Application, separator, Exit Boot Services ×2): another boot path (GRUB, shim, a UKI) or firmware`,
  });
  // RTMR2: the EFI stub's two tagged events.
  check(2, computed.rtmr2Events[0]!, l2.find((e) => e.tag === TAG_LOAD_OPTIONS), (d) => cmdlineHint(input.append, d));
  check(2, computed.rtmr2Events[1]!, l2.find((e) => e.tag === TAG_LINUX_INITRD), () => 'the initrd file differs');
  const extra2 = l2.filter((e) => e.tag !== TAG_LOAD_OPTIONS && e.tag !== TAG_LINUX_INITRD);
  if (extra2.length > 0) {
    inputs.push({
      input: 'firmware',
      rtmr: 2,
      same: false,
      computed: null,
      logged: null,
      event: extra2[0]!.index,
      hint: `the log's RTMR2 has ${extra2.length} event(s) besides the EFI stub's command line and initrd (first: #${extra2[0]!.index}, type 0x${extra2[0]!.eventType.toString(16)}): another boot path`,
    });
  }
  const match = rtmrs.every((r) => r.same) && inputs.every((i) => i.same);
  const differing = inputs.filter((i) => !i.same);
  const verdict = match
    ? 'the inputs reproduce RTMR1 and RTMR2'
    : `${differing.map((i) => `${i.input} (RTMR${i.rtmr}${i.event !== null ? `, log event #${i.event}` : ''}) differs: ${i.hint ?? ''}`).join('; ')}`;
  return { match, rtmrs, inputs, verdict };
}
