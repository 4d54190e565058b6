/**
 * `teechat measure tdx`: MRTD of a TDVF image; with a CCEL event log, which event produced each
 * RTMR value and where the log departs from an expected log or expected RTMR values.
 */
import { parseCcel } from '../../protocol/attestation/tdx/ccel';
import { diffRtmrTraces, tdxMrtd, traceRtmrs, type RtmrStep } from '../../protocol/measure/tdx';
import { UsageError, parseCli } from '../../protocol-node/args';
import type { CliIo } from './attest-common';
import { decodeInput } from './attest-common';
import { EXIT_ERROR, EXIT_OK, guarded, readInput } from './measure-common';

export const TDX_MEASURE_HELP = `Usage: teechat measure tdx [--tdvf FILE [--two-pass]] [--ccel FILE [--expect-ccel FILE]
         [--expect-rtmr0 HEX] [--expect-rtmr1 HEX] [--expect-rtmr2 HEX] [--expect-rtmr3 HEX]] [--json]

  --tdvf FILE          TDVF (OVMF with TDX metadata): prints MRTD (SHA-384 of TDH.MEM.PAGE.ADD and
                       TDH.MR.EXTEND over the metadata sections, in image order)
  --two-pass           add every page first, then extend (some QEMU / TDX module combinations;
                       virtee/tdx-measure#18): a different MRTD
  --ccel FILE          a CCEL event log (the ACPI CCEL data): prints RTMR0..3 and the events that
                       produced each one
  --expect-ccel FILE   compare with an expected log: the first event where each RTMR diverges
  --expect-rtmrN HEX   compare RTMR N with an expected value
  --json               everything as JSON
Exit status: 0 computed (and every expectation met), 1 an expectation differs or bad input, 2 usage.
RTMR1/RTMR2 for a direct boot (kernel/initrd/cmdline) are not computed yet (docs/MEASUREMENTS.md).
`;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const stepJson = (s: RtmrStep | null): unknown =>
  s === null ? null : { event: s.event, eventType: `0x${s.eventType.toString(16)}`, digest: hex(s.digest), after: hex(s.after) };

export function measureTdxCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'measure tdx', TDX_MEASURE_HELP, () => {
    const parsed = parseCli(
      argv,
      {
        tdvf: { type: 'string' },
        'two-pass': { type: 'boolean' },
        ccel: { type: 'string' },
        'expect-ccel': { type: 'string' },
        'expect-rtmr0': { type: 'string' },
        'expect-rtmr1': { type: 'string' },
        'expect-rtmr2': { type: 'string' },
        'expect-rtmr3': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      false,
    );
    const v = parsed.values;
    if (v.help === true) {
      io.out(TDX_MEASURE_HELP);
      return EXIT_OK;
    }
    if (v.tdvf === undefined && v.ccel === undefined) throw new UsageError('--tdvf/--ccel: expected at least one, got none');
    const expects = [v['expect-rtmr0'], v['expect-rtmr1'], v['expect-rtmr2'], v['expect-rtmr3']].map((x, i) => {
      if (x === undefined) return undefined;
      if (!/^[0-9a-fA-F]{96}$/.test(x)) throw new UsageError(`--expect-rtmr${i}: expected 96 hex digits, got ${JSON.stringify(x)}`);
      return x.toLowerCase();
    });
    if ((v['expect-ccel'] !== undefined || expects.some((x) => x !== undefined)) && v.ccel === undefined) {
      throw new UsageError('--expect-*: expected --ccel with it, got none');
    }
    const out: Record<string, unknown> = { kind: 'tdx' };
    const text: string[] = [];
    let ok = true;
    if (v.tdvf !== undefined) {
      const r = tdxMrtd(readInput(v.tdvf, '--tdvf'), { order: v['two-pass'] === true ? 'two-pass' : 'interleaved' });
      out['mrtd'] = hex(r.mrtd);
      out['order'] = r.order;
      out['pagesAdded'] = r.pagesAdded;
      out['chunksExtended'] = r.chunksExtended;
      out['sections'] = r.sections.map((s) => ({
        type: s.type,
        dataOffset: s.dataOffset,
        rawSize: s.rawSize,
        memoryAddress: `0x${s.memoryAddress.toString(16)}`,
        memorySize: s.memorySize,
        attributes: s.attributes,
      }));
      text.push(`MRTD   ${hex(r.mrtd)}`);
    }
    if (v.ccel !== undefined) {
      const trace = traceRtmrs(parseCcel(decodeInput(readInput(v.ccel, '--ccel'))));
      const finals = trace.map((t) => (t.length === 0 ? '00'.repeat(48) : hex(t[t.length - 1]!.after)));
      out['rtmrs'] = finals;
      out['events'] = trace.map((t) => t.map(stepJson));
      finals.forEach((f, i) => {
        text.push(`RTMR${i}  ${f}  (${trace[i]!.length} events${trace[i]!.length ? `: #${trace[i]!.map((s) => s.event).join(', #')}` : ''})`);
      });
      const rtmrChecks = expects.map((x, i) => {
        if (x === undefined) return null;
        const same = finals[i] === x;
        if (!same) {
          ok = false;
          text.push(`RTMR${i} DIFFERS: expected ${x}, replayed ${finals[i]} (produced by events #${trace[i]!.map((s) => s.event).join(', #') || 'none'})`);
        }
        return { rtmr: i, same, expected: x, actual: finals[i] };
      });
      out['rtmrChecks'] = rtmrChecks.filter((x) => x !== null);
      if (v['expect-ccel'] !== undefined) {
        const exp = traceRtmrs(parseCcel(decodeInput(readInput(v['expect-ccel'], '--expect-ccel'))));
        const diffs = diffRtmrTraces(trace, exp);
        out['logDiff'] = diffs.map((d) => ({ ...d, actual: stepJson(d.actual), expected: stepJson(d.expected) }));
        for (const d of diffs) {
          if (d.same) continue;
          ok = false;
          text.push(
            `RTMR${d.rtmr} diverges at its extend #${d.firstDifference}: log event ${d.actual ? `#${d.actual.event} (type 0x${d.actual.eventType.toString(16)}) digest ${hex(d.actual.digest)}` : 'none'}, expected ${d.expected ? `event #${d.expected.event} (type 0x${d.expected.eventType.toString(16)}) digest ${hex(d.expected.digest)}` : 'none'}`,
          );
        }
      }
    }
    out['ok'] = ok;
    io.out(v.json === true ? `${JSON.stringify(out, null, 2)}\n` : `${text.join('\n')}\n`);
    return ok ? EXIT_OK : EXIT_ERROR;
  });
}
