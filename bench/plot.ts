/**
 * Draws the overhead figures as one SVG (no plotting library): left, channel seal+open time vs
 * prompt length (suite `overhead`) with the paper's 65.5k-token encryption figures (0.55 ms on an
 * M1 Max, 2.28 ms on its server) for reference; right, aggregate tokens/s vs concurrent sessions
 * (suite `e2e`, `aggregate_tokens_per_s`), with the single-session rate × N as the ideal line.
 *
 *   node --import tsx bench/plot.ts [RESULTS.json ...] [--out DIR ...]
 *
 * Without files it merges, per suite, the newest bench/results/*.json that has that suite.
 * Writes overhead.svg into each --out DIR (default: bench/results and docs/img).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

type Results = Record<string, unknown>;

/** Per suite, the newest results file (by name = timestamp) that contains it. */
export function latestResults(dir = join(here, 'results')): {
  results: Results;
  sources: Record<string, string>;
} {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}-.*\.json$/.test(f))
    .sort()
    .reverse();
  const results: Results = {};
  const sources: Record<string, string> = {};
  for (const f of files) {
    let doc: { results?: Results };
    try {
      doc = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { results?: Results };
    } catch {
      continue;
    }
    for (const [suite, v] of Object.entries(doc.results ?? {})) {
      if (suite in results || (v && typeof v === 'object' && 'error' in v)) continue;
      results[suite] = v;
      sources[suite] = f;
    }
  }
  return { results, sources };
}

interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly [number, number][];
  readonly dashed?: boolean;
  readonly markersOnly?: boolean;
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number): string =>
  v >= 1000
    ? `${(v / 1000).toPrecision(3)}k`
    : v >= 1
      ? String(Number(v.toPrecision(3)))
      : String(Number(v.toPrecision(2)));

/** One chart panel at (x0, y0) of size w × h; log scales where asked. */
function panel(
  x0: number,
  y0: number,
  w: number,
  h: number,
  title: string,
  xLabel: string,
  yLabel: string,
  series: readonly Series[],
  logX: boolean,
  logY: boolean,
): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0)
    return `<text x="${x0 + w / 2}" y="${y0 + h / 2}" text-anchor="middle">${esc(title)}: no data</text>`;
  const tx = (v: number): number => (logX ? Math.log10(v) : v);
  const ty = (v: number): number => (logY ? Math.log10(Math.max(v, 1e-6)) : v);
  const xs = all.map(([x]) => tx(x));
  const ys = all.map(([, y]) => ty(y));
  const xmin = Math.min(...xs);
  let xmax = Math.max(...xs);
  let [ymin, ymax] = [Math.min(...ys), Math.max(...ys)];
  if (!logY) ymin = Math.min(0, ymin);
  if (xmax === xmin) xmax = xmin + 1;
  if (ymax === ymin) ymax = ymin + 1;
  const padY = (ymax - ymin) * 0.08;
  ymax += padY;
  if (logY) ymin -= padY;
  const L = x0 + 64;
  const R = x0 + w - 12;
  const T = y0 + 30;
  const B = y0 + h - 44;
  const px = (v: number): number => L + ((tx(v) - xmin) / (xmax - xmin)) * (R - L);
  const py = (v: number): number => B - ((ty(v) - ymin) / (ymax - ymin)) * (B - T);
  const out: string[] = [];
  out.push(
    `<text x="${(L + R) / 2}" y="${y0 + 16}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
  );
  out.push(
    `<rect x="${L}" y="${T}" width="${R - L}" height="${B - T}" fill="none" stroke="#999"/>`,
  );
  // ticks: the data's own x values; 5 y ticks
  for (const xv of [...new Set(all.map(([x]) => x))].sort((a, b) => a - b)) {
    const X = px(xv);
    out.push(`<line x1="${X}" y1="${B}" x2="${X}" y2="${B + 4}" stroke="#666"/>`);
    out.push(`<text x="${X}" y="${B + 16}" text-anchor="middle" font-size="10">${fmt(xv)}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const t = ymin + ((ymax - ymin) * i) / 4;
    const v = logY ? 10 ** t : t;
    const Y = B - ((t - ymin) / (ymax - ymin)) * (B - T);
    out.push(`<line x1="${L - 4}" y1="${Y}" x2="${R}" y2="${Y}" stroke="#eee"/>`);
    out.push(`<text x="${L - 6}" y="${Y + 3}" text-anchor="end" font-size="10">${fmt(v)}</text>`);
  }
  out.push(
    `<text x="${(L + R) / 2}" y="${B + 34}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>`,
  );
  out.push(
    `<text x="${x0 + 14}" y="${(T + B) / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 ${x0 + 14} ${(T + B) / 2})">${esc(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    if (!s.markersOnly && pts.length > 1)
      out.push(
        `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ''}/>`,
      );
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.push(
        s.markersOnly
          ? `<rect x="${Number(cx) - 4}" y="${Number(cy) - 4}" width="8" height="8" fill="${s.color}"/>`
          : `<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`,
      );
    }
    const ly = T + 12 + i * 14;
    out.push(`<rect x="${L + 8}" y="${ly - 8}" width="10" height="10" fill="${s.color}"/>`);
    out.push(`<text x="${L + 22}" y="${ly + 1}" font-size="10">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

/** The SVG text for the given per-suite results. */
export function overheadSvg(results: Results, note: string): string {
  const ov = (
    results['overhead'] as
      | {
          overhead_vs_prompt_tokens?: Record<
            string,
            { seal_open_ms: number; baseline_copy_ms: number }
          >;
        }
      | undefined
  )?.overhead_vs_prompt_tokens;
  const left: Series[] = [];
  if (ov) {
    const rows = Object.entries(ov)
      .map(([t, v]) => [Number(t), v] as const)
      .sort((a, b) => a[0] - b[0]);
    left.push({
      name: 'seal + open (this machine, Node AES-256-GCM)',
      color: '#1f77b4',
      points: rows.map(([t, v]) => [t, v.seal_open_ms]),
    });
    left.push({
      name: 'copy baseline (no crypto)',
      color: '#999999',
      dashed: true,
      points: rows.map(([t, v]) => [t, v.baseline_copy_ms]),
    });
  }
  left.push({
    name: 'paper: encrypt, M1 Max (0.55 ms)',
    color: '#2ca02c',
    markersOnly: true,
    points: [[65536, 0.55]],
  });
  left.push({
    name: 'paper: encrypt, server (2.28 ms)',
    color: '#d62728',
    markersOnly: true,
    points: [[65536, 2.28]],
  });
  const agg = (results['e2e'] as { aggregate_tokens_per_s?: Record<string, number> } | undefined)
    ?.aggregate_tokens_per_s;
  const right: Series[] = [];
  if (agg) {
    const rows = Object.entries(agg)
      .map(([n, v]) => [Number(n), v] as [number, number])
      .filter(([n, v]) => Number.isFinite(n) && Number.isFinite(v))
      .sort((a, b) => a[0] - b[0]);
    right.push({ name: 'aggregate tokens/s, secure channel', color: '#1f77b4', points: rows });
    const one = rows.find(([n]) => n === 1)?.[1];
    if (one !== undefined)
      right.push({
        name: 'linear: 1 session × N',
        color: '#999999',
        dashed: true,
        points: rows.map(([n]) => [n, one * n]),
      });
  }
  const W = 980;
  const H = 380;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 24}" viewBox="0 0 ${W} ${H + 24}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(
      0,
      0,
      W / 2,
      H,
      'Channel overhead vs prompt length',
      'prompt length (tokens, ≈4 bytes each; log)',
      'ms per message (log)',
      left,
      true,
      true,
    ),
    panel(
      W / 2,
      0,
      W / 2,
      H,
      'Throughput vs concurrency',
      'concurrent sessions',
      'aggregate tokens/s',
      right,
      false,
      false,
    ),
    `<text x="8" y="${H + 16}" font-size="10" fill="#555">${esc(note)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

export function writePlots(results: Results, note: string, dirs: readonly string[]): string[] {
  const svg = overheadSvg(results, note);
  const written: string[] = [];
  for (const d of dirs) {
    mkdirSync(d, { recursive: true });
    const f = join(d, 'overhead.svg');
    writeFileSync(f, svg);
    written.push(f);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log('usage: node --import tsx bench/plot.ts [RESULTS.json ...] [--out DIR ...]');
    process.exit(0);
  }
  const outs: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') outs.push(args[++i] as string);
    else files.push(args[i] as string);
  }
  let results: Results = {};
  let note: string;
  if (files.length > 0) {
    for (const f of files)
      Object.assign(results, (JSON.parse(readFileSync(f, 'utf8')) as { results: Results }).results);
    note = `from ${files.join(', ')}`;
  } else {
    const l = latestResults();
    results = l.results;
    note = `from ${Object.entries(l.sources)
      .filter(([s]) => s === 'overhead' || s === 'e2e')
      .map(([s, f]) => `${s}: ${f}`)
      .join('; ')}`;
  }
  const dirs = outs.length > 0 ? outs : [join(here, 'results'), join(here, '..', 'docs', 'img')];
  for (const f of writePlots(results, note, dirs)) console.error(`plot: wrote ${f}`);
}
