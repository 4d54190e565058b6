/**
 * No import cycles in the source folders (#17): a cycle makes module initialisation order-dependent
 * and hides which layer owns what. Walks every .ts file, follows relative `import … from '…'`,
 * `export … from '…'` (type-only ones too: a type cycle is the same design knot) and lazy
 * `import('…')`, and fails naming each cycle found. ESLint has no cycle rule without a plugin the project does not carry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const FOLDERS = [
  'protocol',
  'protocol-node',
  'client',
  'enclave-server',
  'extension',
  'webview',
  'bench',
];
const EDGE = /^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/gm;
/** A lazy `await import('./x')` is an edge too: it only defers the cycle to run time. */
const DYNAMIC = /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function resolveImport(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec.replace(/\.js$/, ''));
  for (const c of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')])
    if (existsSync(c) && statSync(c).isFile()) return c;
  return undefined;
}

/** The relative imports of each source file. */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const folder of FOLDERS) {
    const dir = join(root, folder);
    if (!existsSync(dir)) continue;
    for (const f of files(dir)) {
      const deps: string[] = [];
      const text = readFileSync(f, 'utf8');
      for (const m of [...text.matchAll(EDGE), ...text.matchAll(DYNAMIC)]) {
        const to = resolveImport(f, m[1]!);
        if (to !== undefined) deps.push(to);
      }
      graph.set(f, deps);
    }
  }
  return graph;
}

/** Every cycle, each once, as a list of paths relative to the repository (depth-first search). */
export function cycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found = new Map<string, string[]>();
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 'open') {
        const cyc = stack.slice(stack.indexOf(d)).map((p) => relative(root, p));
        found.set([...cyc].sort().join(' '), cyc);
      } else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return [...found.values()];
}

test('the cycle finder finds a cycle (it can fail)', () => {
  const g = new Map([
    ['/a', ['/b']],
    ['/b', ['/c']],
    ['/c', ['/a']],
    ['/d', ['/a']],
  ]);
  assert.equal(cycles(g).length, 1);
  assert.equal(cycles(g)[0]!.length, 3);
  assert.deepEqual(
    cycles(
      new Map([
        ['/a', ['/b']],
        ['/b', []],
      ]),
    ),
    [],
  );
});

test('no import cycles in the source folders', () => {
  const g = importGraph();
  assert.ok(g.size > 100, `read ${g.size} files`);
  const found = cycles(g);
  assert.deepEqual(
    found.map((c) => [...c, c[0]].join(' → ')),
    [],
  );
});
