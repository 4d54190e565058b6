/**
 * Extension benchmarks.
 * - activation: require the production bundle (dist/extension.cjs as esbuild.mjs builds it) and
 *   call activate() against the vscode shim; cold = first load in this process, warm = median of
 *   fresh re-loads. Budget: ≤ 50 ms (everything heavy is loaded on first use).
 * - streaming render in headless Chromium (the real webview bundle and HTML): 5,000 tokens into one
 *   answer vs 10 answers × 500 tokens, each token dispatched as the host's `delta` message, total
 *   time including a layout after every token (as if each token arrived in its own frame). Target: ratio ≤ 2 (per-token work does not
 *   grow with the answer). Also the per-token time of the first and the last 500 tokens.
 */
import { statSync } from 'node:fs';
import { median, round } from '../lib';
import type { Suite } from '../lib';
import { buildExtensionBundle, loadExtension } from '../../test/helpers/load-extension';
import { fakeContext, moduleObject, resetShim } from '../../test/helpers/vscode-shim';
import { chromiumMissing, launch } from '../../test/helpers/webview-harness';
import type { InitState } from '../../ui-contract/messages';

interface ExtModule {
  activate(ctx: unknown): unknown;
}

async function activation(quick: boolean): Promise<Record<string, number>> {
  const bundle = await buildExtensionBundle(true);
  const once = (): number => {
    resetShim();
    const t = performance.now();
    const ext = loadExtension<ExtModule>(bundle, moduleObject);
    ext.activate(fakeContext());
    return performance.now() - t;
  };
  const cold = once();
  const warm: number[] = [];
  for (let i = 0; i < (quick ? 5 : 20); i++) warm.push(once());
  return {
    cold_ms: round(cold, 3),
    warm_ms: round(median(warm), 3),
    bundle_kb: round(statSync(bundle).size / 1024, 4),
    runtime_bundle_kb: round(
      statSync(bundle.replace(/extension\.cjs$/, 'extension-runtime.cjs')).size / 1024,
      4,
    ),
  };
}

/** A realistic answer: paragraphs, lists and code blocks, cut into ~4-character tokens. */
export function tokens(n: number): string[] {
  const parts = [
    'Here is how the function works. It walks the list once and keeps a running total, so the cost is linear in the input. ',
    '\n\n- first, it validates the input\n- then it **accumulates** the `sum`\n- finally it returns the result\n\n',
    '```ts\nexport function total(xs: number[]): number {\n  let s = 0;\n  for (const x of xs) s += x;\n  return s;\n}\n```\n\n',
    'A subtle point: floating-point addition is not associative, so *order matters* for very large arrays. ',
  ];
  const out: string[] = [];
  let i = 0;
  let buf = '';
  while (out.length < n) {
    if (buf.length < 8) buf += parts[i++ % parts.length];
    out.push(buf.slice(0, 4));
    buf = buf.slice(4);
  }
  return out;
}

const PAGE_BENCH = `async ({ long, short, rounds }) => {
  const send = (event) => window.dispatchEvent(new MessageEvent('message', { data: { kind: 'event', event } }));
  let seq = 0;
  const log = document.getElementById('transcript');
  const answer = (toks) => {
    const id = 'm' + (++seq);
    send({ type: 'entry', entry: { id: 'u' + id, role: 'user', content: 'question', state: 'complete', createdAt: 0 } });
    send({ type: 'entry', entry: { id, role: 'assistant', content: '', state: 'streaming', createdAt: 0 } });
    const marks = [];
    for (let i = 0; i < toks.length; i++) {
      send({ type: 'delta', messageId: id, text: toks[i] });
      void log.scrollHeight; // lay out after every token, as if each arrived in its own frame
      if (i % 500 === 499) marks.push(performance.now());
    }
    send({ type: 'end', messageId: id, state: 'complete' });
    void document.body.offsetHeight;
    return marks;
  };
  const reset = () => send({ type: 'conversation', init: { conversation: { id: 'c' + (++seq), title: 't', createdAt: 0, updatedAt: 0, entries: [] }, history: [], status: { state: 'verified', text: 'x', detail: '', warning: false }, streamingId: null } });
  const res = { long: [], short: [], first500: [], last500: [] };
  for (let r = 0; r < rounds; r++) {
    reset();
    let t = performance.now();
    const marks = answer(long);
    const total = performance.now() - t;
    res.long.push(total);
    res.first500.push((marks[0] - t) / 500);
    res.last500.push((marks[marks.length - 1] - marks[marks.length - 2]) / 500);
    reset();
    t = performance.now();
    for (let k = 0; k < 10; k++) answer(short);
    res.short.push(performance.now() - t);
  }
  return res;
}`;

async function streaming(quick: boolean): Promise<Record<string, number>> {
  const h = await launch();
  try {
    const w = await h.open();
    const init: InitState = {
      conversation: { id: 'c0', title: 't', createdAt: 0, updatedAt: 0, entries: [] },
      history: [],
      status: { state: 'verified', text: 'x', detail: '', warning: false },
      streamingId: null,
    };
    await w.handshake(init);
    await w.page.setViewportSize({ width: 900, height: 700 });
    const fn = `(${PAGE_BENCH})(${JSON.stringify({ long: tokens(5000), short: tokens(500), rounds: quick ? 2 : 5 })})`;
    const r = (await w.page.evaluate(fn)) as {
      long: number[];
      short: number[];
      first500: number[];
      last500: number[];
    };
    if (w.errors.length > 0) throw new Error(`webview errors: ${w.errors.join('; ')}`);
    const long = median(r.long);
    const short = median(r.short);
    return {
      tokens5000_one_answer_ms: round(long, 4),
      tokens500x10_answers_ms: round(short, 4),
      ratio: round(long / short, 3),
      per_token_first500_us: round(median(r.first500) * 1000, 4),
      per_token_last500_us: round(median(r.last500) * 1000, 4),
    };
  } finally {
    await h.close();
  }
}

const suite: Suite = {
  name: 'extension',
  description:
    'activation time of the bundled extension; streaming render cost in Chromium (5,000 tokens vs 500 × 10)',
  async run({ quick }) {
    const out: Record<string, number | object> = { activation: await activation(quick) };
    const missing = chromiumMissing();
    if (missing) {
      console.error(`bench extension: ${missing}`);
      out.streaming = { skipped: 1 };
    } else out.streaming = await streaming(quick);
    return out;
  },
};
export default suite;
