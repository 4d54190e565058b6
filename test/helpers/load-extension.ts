/**
 * Builds the extension bundle exactly as esbuild.mjs does (CommonJS, `vscode` external) and loads
 * it with `require('vscode')` answered by the fake module of test/helpers/vscode-shim.ts.
 */
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';

const require = createRequire(import.meta.url);

/**
 * Builds dist/extension.cjs and its lazily required dist/extension-runtime.cjs into a temporary
 * directory with esbuild.mjs's options; returns the path of extension.cjs.
 */
export async function buildExtensionBundle(production = true): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'teechat-ext-'));
  const common = {
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    bundle: true,
    minify: production,
    logLevel: 'silent',
  } as const;
  await esbuild.build({
    ...common,
    entryPoints: ['extension/extension.ts'],
    outfile: join(dir, 'extension.cjs'),
    external: ['vscode', 'bufferutil', 'utf-8-validate', './extension-runtime.cjs'],
  });
  await esbuild.build({
    ...common,
    entryPoints: ['extension/runtime.ts'],
    outfile: join(dir, 'extension-runtime.cjs'),
    external: ['vscode', 'bufferutil', 'utf-8-validate'],
  });
  return join(dir, 'extension.cjs');
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
  for (const k of Object.keys(require.cache))
    if (k.startsWith(dirname(bundle))) delete require.cache[k];
  return require(bundle) as T;
}
