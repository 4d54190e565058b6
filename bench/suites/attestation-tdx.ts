/**
 * TDX attestation benchmark: warm verification of a real v4 quote (quote signature, QE report,
 * 3-certificate PCK chain to the pinned Intel root), the same with TCB info + QE identity
 * collateral, quote parsing alone, and a CCEL replay. Node crypto provider. Reads the vectors
 * from ../shared (absent: the suite reports nothing and says so on stderr).
 */
import { nodeProvider } from '../../protocol-node/crypto-node';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import { verifyTdxQuote } from '../../protocol/attestation/tdx/verify';
import { parseCcel, replayRtmrs } from '../../protocol/attestation/tdx/ccel';
import { tdxPolicy } from '../../protocol/attestation/tdx/policy';
import { readShared, sharedPath } from '../../test/helpers/shared';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function time(n: number, f: () => void): number {
  for (let i = 0; i < Math.min(5, n); i++) f(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    f();
    xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(xs);
}

export default {
  name: 'attestation-tdx',
  async run({ quick }: { quick: boolean }): Promise<Record<string, number>> {
    if (sharedPath('vectors', 'tdx') === null) {
      console.error('attestation-tdx: ../shared/vectors/tdx is absent; skipped');
      return {};
    }
    const n = quick ? 20 : 200;
    const v = (p: string) => new Uint8Array(readShared('vectors', p));
    const quote = v('tdx/trustee/tdx_quote_6.dat');
    const collateral = {
      tcbInfo: v('tdx/trustee/tcbInfo.json'),
      qeIdentity: v('tdx/trustee/enclaveIdentity.json'),
    };
    const at = new Date('2025-11-10T00:00:00Z');
    const ctx = { crypto: nodeProvider, now: () => at };
    const policy = tdxPolicy({
      acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded', 'OutOfDate'],
    });
    const check = (ok: boolean, what: string): void => {
      if (!ok)
        throw new Error(
          `attestation-tdx: ${what} did not verify; the benchmark would measure a failure path`,
        );
    };
    // First call in this process: includes parsing the pinned root and importing keys (other
    // suites run earlier in the same process may have warmed Node's crypto).
    const t0 = process.hrtime.bigint();
    const first = verifyTdxQuote({ quote }, ctx, policy);
    const firstMs = Number(process.hrtime.bigint() - t0) / 1e6;
    check(first.ok, 'quote');
    check(verifyTdxQuote({ quote, collateral }, ctx, policy).ok, 'quote + collateral');
    const ccel = v('tdx/go-tdx-guest/ccel/ccel_data.dat');
    return {
      verify_tdx_first_call_ms: firstMs,
      verify_tdx_ms: time(n, () => verifyTdxQuote({ quote }, ctx, policy)),
      verify_tdx_collateral_ms: time(n, () => verifyTdxQuote({ quote, collateral }, ctx, policy)),
      parse_tdx_quote_ms: time(n, () => parseTdxQuote(quote)),
      ccel_replay_ms: time(n, () => replayRtmrs(nodeProvider, parseCcel(ccel))),
      quote_bytes: quote.length,
    };
  },
};
