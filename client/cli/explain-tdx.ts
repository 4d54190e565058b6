/**
 * `teechat attest explain tdx`: given a CCEL event log (and the quote it belongs to) and the
 * direct-boot inputs believed to have been launched, recompute RTMR1/RTMR2 and name the input that
 * differs (protocol/measure/explain-tdx.ts).
 */
import { UsageError, parseCli } from '../../protocol-node/args';
import { parseCcel } from '../../protocol/attestation/tdx/ccel';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import { explainTdxBoot } from '../../protocol/measure/explain-tdx';
import { tdxMrtd } from '../../protocol/measure/tdx';
import type { CliIo } from './attest-common';
import { decodeInput } from './attest-common';
import { EXIT_ERROR, EXIT_OK, guarded, readInput } from './measure-common';
import { DIRECT_BOOT_OPTIONS, directBootInput, explainJson } from './measure-tdx';

export const EXPLAIN_TDX_HELP = `Usage: teechat attest explain tdx --ccel FILE [--quote FILE [--tdvf FILE]]
         --kernel FILE --initrd FILE --append CMDLINE [--memory SIZE] [--kernel-load MODE]
         [--acpi-data-size N] [--json]

Recomputes RTMR1 and RTMR2 of a TDX direct boot from the given inputs (the flags of
"teechat measure tdx") and compares every event with the CCEL event log of the TD: the kernel
(RTMR1's EFI application event; when it differs, the other kernel load mode and guest-memory sizes
1–2.75 GiB are tried), the TDVF's boot events, the command line (the log holds only its digest: a
few common slips are tried) and the initrd (RTMR2). RTMR0 (firmware configuration) is not
recomputed: compare it with "teechat measure tdx --ccel FILE --expect-ccel REFERENCE".

  --ccel FILE     the TD's CCEL event log (binary, hex or base64)
  --quote FILE    the TD quote: the log must replay to its RTMR1 and RTMR2 first, or nothing is
                  explained (exit 1). The quote's signature is NOT checked here (attest verify).
  --tdvf FILE     with --quote: also compare the quote's MRTD with the TDVF's, page order
                  interleaved and two-pass (a match with two-pass is named)
  --json          the result as JSON

Exit status: 0 the inputs reproduce the log, 1 they do not (the explanation is printed) or bad
input, 2 usage error.
`;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function explainTdxCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'attest explain tdx', () => {
    const parsed = parseCli(
      argv,
      {
        ccel: { type: 'string' },
        quote: { type: 'string' },
        tdvf: { type: 'string' },
        ...DIRECT_BOOT_OPTIONS,
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      false,
    );
    const v = parsed.values;
    if (v.help === true) {
      io.out(EXPLAIN_TDX_HELP);
      return EXIT_OK;
    }
    if (v.ccel === undefined) throw new UsageError('--ccel: expected the TD event log, got none');
    if (v.tdvf !== undefined && v.quote === undefined) throw new UsageError('--tdvf: expected --quote with it (MRTD is in the quote, not the log), got none');
    const input = directBootInput(v);
    const log = parseCcel(decodeInput(readInput(v.ccel, '--ccel')));
    const quote = v.quote !== undefined ? parseTdxQuote(decodeInput(readInput(v.quote, '--quote'))) : undefined;
    const r = explainTdxBoot(log, input, quote?.body.rtmrs);
    let mrtd: { same: boolean; quoted: string; interleaved: string; twoPass: string; hint: string | null } | null = null;
    if (v.tdvf !== undefined && quote !== undefined) {
      const fw = readInput(v.tdvf, '--tdvf');
      const quoted = hex(quote.body.mrTd);
      const interleaved = hex(tdxMrtd(fw).mrtd);
      const twoPass = hex(tdxMrtd(fw, { order: 'two-pass' }).mrtd);
      const same = interleaved === quoted;
      mrtd = {
        same,
        quoted,
        interleaved,
        twoPass,
        hint: same ? null : twoPass === quoted ? 'matches with two-pass page order (teechat measure tdx --two-pass): the host added every page before extending' : 'the TDVF image differs (neither page order reproduces it)',
      };
    }
    const match = r.match && (mrtd === null || mrtd.same);
    if (v.json === true) {
      io.out(`${JSON.stringify({ kind: 'tdx-explain', quoteChecked: quote !== undefined, ...explainJson(r), match, mrtd }, null, 2)}\n`);
    } else {
      if (mrtd !== null) {
        io.out(`MRTD   computed ${mrtd.interleaved}\n       quoted   ${mrtd.quoted}  ${mrtd.same ? 'same' : `DIFFERS — ${mrtd.hint ?? ''}`}\n`);
      }
      for (const x of r.rtmrs) {
        io.out(`RTMR${x.rtmr}  computed ${hex(x.computed)}\n       logged   ${hex(x.logged)}${x.quoted !== null ? ' (= quote)' : ''}  ${x.same ? 'same' : 'DIFFERS'}\n`);
      }
      for (const i of r.inputs) {
        io.out(`  ${i.input.padEnd(8)} RTMR${i.rtmr}${i.event !== null ? ` event #${i.event}` : ''}: ${i.same ? 'same' : `DIFFERS — ${i.hint ?? ''}`}\n`);
      }
      const tdvfVerdict = mrtd !== null && !mrtd.same ? `; tdvf (MRTD) differs: ${mrtd.hint ?? ''}` : '';
      io.out(`${match ? 'MATCH' : 'MISMATCH'}: ${r.match ? (match ? r.verdict : 'RTMR1 and RTMR2 reproduced') : r.verdict}${tdvfVerdict}\n`);
    }
    return match ? EXIT_OK : EXIT_ERROR;
  });
}
