#!/usr/bin/env node
// Bundles the four deliverables:
//   dist/extension.cjs       VS Code extension host (CommonJS; `vscode` external): activation only
//   dist/extension-runtime.cjs  the rest of the extension host (client, crypto, chat panel),
//                            required on first use so activation stays within its 50 ms budget
//   dist/webview.js          chat UI for the webview (browser IIFE; never holds keys)
//   dist/teechat.mjs         the `teechat` CLI (client + attestation audit tool)
//   dist/teechat-server.mjs  the enclave server (`teechat-server`)
// Usage: node esbuild.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, chmodSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** Native / heavy runtime dependencies stay outside the server and CLI bundles. */
const nodeExternals = ['node-llama-cpp', 'koffi', 'ws', 'bufferutil', 'utf-8-validate', 'playwright-core'];

const targets = [
  {
    entryPoints: ['extension/extension.ts'],
    outfile: 'dist/extension.cjs',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'bufferutil', 'utf-8-validate', './extension-runtime.cjs'],
  },
  {
    entryPoints: ['extension/runtime.ts'],
    outfile: 'dist/extension-runtime.cjs',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'bufferutil', 'utf-8-validate'],
  },
  {
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
  {
    entryPoints: ['client/cli/main.ts'],
    outfile: 'dist/teechat.mjs',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: nodeExternals,
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    entryPoints: ['enclave-server/main.ts'],
    outfile: 'dist/teechat-server.mjs',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: nodeExternals,
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    // Evidence collection off the event loop (enclave-server/evidence/worker-provider.ts).
    entryPoints: ['enclave-server/evidence/evidence-worker.ts'],
    outfile: 'dist/teechat-evidence-worker.mjs',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: nodeExternals,
  },
];

mkdirSync('dist', { recursive: true });
const contexts = [];
for (const t of targets) {
  const entry = t.entryPoints[0];
  if (!existsSync(entry)) {
    console.error(`esbuild: ${entry} does not exist yet; skipped`);
    continue;
  }
  const options = {
    ...t,
    bundle: true,
    sourcemap: production ? false : 'linked',
    minify: production,
    legalComments: 'linked',
    logLevel: 'warning',
  };
  if (watch) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
    contexts.push(ctx);
  } else {
    await esbuild.build(options);
    if (t.banner) chmodSync(t.outfile, 0o755);
  }
}
if (watch) console.error(`esbuild: watching ${contexts.length} bundles`);
