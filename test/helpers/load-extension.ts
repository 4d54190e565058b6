/**
 * Builds the extension bundle exactly as esbuild.mjs does (CommonJS, `vscode` external) and loads
 * it with `require('vscode')` answered by the fake module of test/helpers/vscode-shim.ts.
 */
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const require = createRequire(import.meta.url);

export async function buildExtensionBundle(production = true): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), 'teechat-ext-')), 'extension.cjs');
  await esbuild.build({
    entryPoints: ['extension/extension.ts'],
    outfile: out,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'bufferutil', 'utf-8-validate'],
    bundle: true,
    minify: production,
    logLevel: 'silent',
  });
  return out;
}

type ModuleLoad = (request: string, parent: unknown, isMain: boolean) => unknown;

let current: (() => unknown) | undefined;
let installed = false;

/**
 * Loads a fresh copy of the bundle; `require('vscode')` (also from lazily initialised modules,
 * later) resolves to `vscodeModule()` of the most recent load.
 */
export function loadExtension<T>(bundle: string, vscodeModule: () => unknown): T {
  current = vscodeModule;
  if (!installed) {
    installed = true;
    const Module = require('node:module') as { _load: ModuleLoad };
    const orig = Module._load;
    Module._load = function (request: string, parent: unknown, isMain: boolean) {
      if (request === 'vscode' && current) return current();
      return orig.call(this, request, parent, isMain);
    };
  }
  delete require.cache[bundle];
  return require(bundle) as T;
}
