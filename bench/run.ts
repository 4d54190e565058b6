/**
 * Benchmark runner: `npm run bench -- [--quick] [--suite NAME]... [--json FILE]`.
 * Loads every bench/suites/*.ts (each exports `suite: Suite` or a default Suite), runs the selected
 * ones, prints a table on stdout (diagnostics on stderr) and writes the results to
 * bench/results/<timestamp>.json and, with --json, to FILE as well.
 * Exit codes: 0 ok, 1 a suite failed, 2 usage error.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CLOCK } from './lib';
import type { Suite } from './lib';
import { headline } from './headline';
import { latestResults, writePlots } from './plot';

const HELP = `usage: npm run bench -- [options]
  --quick         fewer and shorter repeats (for CI smoke runs)
  --suite NAME    run only this suite (repeatable); default: all
  --json FILE     also write the results JSON to FILE
  --list          list the suites and exit
  --help          this text
Results: a table on stdout; JSON in bench/results/<timestamp>.json.`;

interface Args {
  quick: boolean;
  suites: string[];
  json?: string;
  list: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, suites: [], list: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--quick') a.quick = true;
    else if (x === '--list') a.list = true;
    else if (x === '--suite' || x === '--json') {
      const v = argv[++i];
      if (!v) usage(`${x} needs a value`);
      if (x === '--suite') a.suites.push(v);
      else a.json = v;
    } else if (x === '--help' || x === '-h') {
      console.log(HELP);
      process.exit(0);
    } else usage(`unknown argument ${x}`);
  }
  return a;
}

function usage(msg: string): never {
  console.error(`bench: ${msg}\n${HELP}`);
  process.exit(2);
}

const here = dirname(fileURLToPath(import.meta.url));

async function loadSuites(): Promise<Suite[]> {
  const dir = join(here, 'suites');
  const out: Suite[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.ts')) continue;
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as {
      suite?: Suite;
      default?: Suite;
    };
    const s = mod.suite ?? mod.default;
    if (s && typeof s.run === 'function') out.push(s);
  }
  return out;
}

function flatten(prefix: string, v: unknown, rows: [string, string][]): void {
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, x, rows);
  } else rows.push([prefix, typeof v === 'number' ? String(v) : JSON.stringify(v)]);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const all = await loadSuites();
  if (args.list) {
    for (const s of all) console.log(`${s.name}\t${s.description ?? ''}`);
    return;
  }
  const unknown = args.suites.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length)
    usage(`unknown suite(s): ${unknown.join(', ')} (have: ${all.map((s) => s.name).join(', ')})`);
  const selected = args.suites.length ? all.filter((s) => args.suites.includes(s.name)) : all;
  const started = new Date();
  const results: Record<string, unknown> = {};
  let failed = false;
  for (const s of selected) {
    console.error(`bench: running ${s.name}${args.quick ? ' (quick)' : ''} …`);
    try {
      results[s.name] = await s.run({ quick: args.quick });
    } catch (e) {
      failed = true;
      results[s.name] = { error: e instanceof Error ? e.message : String(e) };
      console.error(
        `bench: suite ${s.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      );
    }
  }
  const doc = {
    timestamp: started.toISOString(),
    quick: args.quick,
    clock: CLOCK,
    machine: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? '',
      memGiB: Math.round(totalmem() / 2 ** 30),
      loadavg1m: Number((loadavg()[0] ?? 0).toFixed(2)),
    },
    // Headline figures flat at the top level (bench/headline.ts names their sources).
    ...headline(results),
    results,
  };
  const rows: [string, string][] = [];
  flatten('', results, rows);
  const w = Math.max(...rows.map(([k]) => k.length), 6);
  console.log(`${'metric'.padEnd(w)}  value`);
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  const resultsDir = join(here, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const text = JSON.stringify(doc, null, 2) + '\n';
  writeFileSync(file, text);
  console.error(`bench: wrote ${file}`);
  if (results['overhead'] || results['e2e']) {
    const dirs = [resultsDir, join(here, '..', 'docs', 'img')];
    // this run's suites, completed by the newest earlier result of any suite it did not run
    const merged = { ...latestResults(resultsDir).results, ...results };
    for (const f of writePlots(merged, `npm run bench (${started.toISOString()})`, dirs))
      console.error(`bench: wrote ${f}`);
  }
  if (args.json) {
    writeFileSync(args.json, text);
    console.error(`bench: wrote ${args.json}`);
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
