#!/usr/bin/env node
// Bundles the four deliverables:
//   dist/extension.cjs       VS Code extension host (CommonJS; `vscode` external): activation only
//   dist/extension-runtime.cjs  the rest of the extension host (client, crypto, chat panel),
//                            required on first use so activation stays within its 50 ms budget
//   dist/webview.js          chat UI for the webview (browser IIFE; never holds keys)
//   dist/report.js           the attestation report page's Copy buttons (browser IIFE)
//   dist/teechat.mjs         the `teechat` CLI (client + attestation audit tool)
//   dist/teechat-server.mjs  the enclave server (`teechat-server`)
// Usage: node esbuild.mjs [--watch] [--production]
// TEECHAT_OUTDIR=DIR writes the bundles to DIR instead of dist/ (test/unit/bundles.test.ts).
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, chmodSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** Native / heavy runtime dependencies stay outside the server and CLI bundles. */
const nodeExternals = [
  'node-llama-cpp',
  'koffi',
  'ws',
  'bufferutil',
  'utf-8-validate',
  'playwright-core',
];

const outdir = process.env.TEECHAT_OUTDIR ?? 'dist';

const targets = [
  {
    entryPoints: ['extension/extension.ts'],
    outfile: `${outdir}/extension.cjs`,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'bufferutil', 'utf-8-validate', './extension-runtime.cjs'],
  },
  {
    entryPoints: ['extension/runtime.ts'],
    outfile: `${outdir}/extension-runtime.cjs`,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'bufferutil', 'utf-8-validate'],
  },
  {
    entryPoints: ['webview/main.ts'],
    outfile: `${outdir}/webview.js`,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
  {
    entryPoints: ['webview/report.ts'],
    outfile: `${outdir}/report.js`,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
  {
    entryPoints: ['client/cli/main.ts'],
    outfile: `${outdir}/teechat.mjs`,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: nodeExternals,
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    entryPoints: ['enclave-server/main.ts'],
    outfile: `${outdir}/teechat-server.mjs`,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: nodeExternals,
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    // Evidence collection off the event loop (enclave-server/evidence/worker-provider.ts).
    entryPoints: ['enclave-server/evidence/evidence-worker.ts'],
    outfile: `${outdir}/teechat-evidence-worker.mjs`,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: nodeExternals,
  },
];

// ESM bundles get a real `require` for the CommonJS dependencies bundled into them (sigstore-js,
// loaded on use, requires node:crypto): esbuild's ESM output otherwise throws "Dynamic require of
// "crypto" is not supported" at the first such call.
const ESM_REQUIRE =
  "import { createRequire as __teechatCreateRequire } from 'node:module'; const require = __teechatCreateRequire(import.meta.url);";
for (const t of targets)
  if (t.format === 'esm')
    t.banner = { js: t.banner ? `${t.banner.js}\n${ESM_REQUIRE}` : ESM_REQUIRE };

mkdirSync(outdir, { recursive: true });
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
    if (t.banner?.js.startsWith('#!')) chmodSync(t.outfile, 0o755);
  }
}
if (watch) console.error(`esbuild: watching ${contexts.length} bundles`);
