/**
 * `npm run test:vscode`: runs test/vscode/suite.cjs inside a real VS Code (Electron) downloaded by
 * @vscode/test-electron, with this repository as the extension under development (dist/ built by
 * `npm run package`). Needs network access to update.code.visualstudio.com and a display (use
 * xvfb-run on headless Linux). Where VS Code cannot be downloaded, `npm run test:e2e`
 * (code-server) covers the same ground.
 * Env: VSCODE_VERSION (default "stable").
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runTests } from '@vscode/test-electron';

const root = resolve(import.meta.dirname, '..', '..');
const workspace = mkdtempSync(join(tmpdir(), 'teechat-vscode-'));
writeFileSync(join(workspace, 'sample.ts'), 'export const answer = 42;\n');

try {
  await runTests({
    version: process.env.VSCODE_VERSION ?? 'stable',
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'test', 'vscode', 'suite.cjs'),
    launchArgs: [
      workspace,
      '--disable-extensions',
      '--disable-workspace-trust',
      '--skip-welcome',
      '--skip-release-notes',
    ],
    extensionTestsEnv: { TEECHAT_TEST_WORKSPACE: workspace },
  });
} catch (e) {
  console.error(`test:vscode failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
