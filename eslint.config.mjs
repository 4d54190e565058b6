// Layer rules (see docs/ARCHITECTURE.md):
//   protocol/        pure: no vscode, no DOM, no node: modules, nothing from other layers
//   protocol-node/   Node implementations of protocol interfaces; may import protocol/ only
//   client/          may import protocol/, protocol-node/
//   enclave-server/  may import protocol/, protocol-node/
//   extension/       may import protocol/, protocol-node/, client/ (never enclave-server/)
//   webview/         browser only: may import ui-contract/, nothing from the Node layers (never keys)
//   ui-contract/     the host <-> webview message types, imported by extension/ and webview/; imports nothing
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

const layer = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

const nodeBuiltins = [
  { group: ['node:*'], message: 'protocol/ is runtime-agnostic: inject Node facilities from protocol-node/.' },
  {
    // A regex, not a gitignore-style group: the group 'crypto' would also match '../crypto/provider'.
    regex: '^(fs|path|crypto|os|net|http|https|child_process|buffer|stream|util|events|worker_threads|zlib|url)(/.*)?$',
    message: 'protocol/ is runtime-agnostic: no Node built-ins.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.e2e/**', 'test-artifacts/**', 'bench/results/**', 'scripts/no-gpu-prebuilt/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // No import cycles anywhere (type-only imports included: a cycle of types still ties two
    // modules' design together). test/unit/import-cycles.test.ts walks the same graph and prints
    // the cycle in full.
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.mjs', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mjs', '.js', '.json'] })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['protocol/**/*.ts'],
    languageOptions: { globals: {} },
  },
  layer(['protocol/**/*.ts'], [
    ...nodeBuiltins,
    { group: ['vscode'], message: 'protocol/ must not depend on VS Code.' },
    { group: ['ws', 'node-llama-cpp', 'koffi'], message: 'protocol/ is pure.' },
    { group: ['**/protocol-node/**', '**/client/**', '**/enclave-server/**', '**/extension/**', '**/webview/**'], message: 'protocol/ imports nothing from the other layers.' },
  ]),
  layer(['protocol-node/**/*.ts'], [
    { group: ['vscode'], message: 'protocol-node/ must not depend on VS Code.' },
    { group: ['**/client/**', '**/enclave-server/**', '**/extension/**', '**/webview/**'], message: 'protocol-node/ may import protocol/ only.' },
  ]),
  layer(['client/**/*.ts'], [
    { group: ['vscode'], message: 'client/ is a plain Node library.' },
    { group: ['**/enclave-server/**', '**/extension/**', '**/webview/**'], message: 'client/ may import protocol/ and protocol-node/ only.' },
  ]),
  layer(['enclave-server/**/*.ts'], [
    { group: ['vscode'], message: 'enclave-server/ runs in the CVM.' },
    { group: ['**/client/**', '**/extension/**', '**/webview/**'], message: 'enclave-server/ may import protocol/ and protocol-node/ only.' },
  ]),
  layer(['extension/**/*.ts'], [
    { group: ['**/enclave-server/**', '**/webview/**'], message: 'extension/ talks to the webview by postMessage and to the server through client/.' },
  ]),
  {
    // Shared by the extension host (Node) and the webview (browser): no globals of either.
    files: ['ui-contract/**/*.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'vscode', 'ws', 'node-llama-cpp', 'koffi'], message: 'ui-contract/ is plain data types for both sides.' },
        { group: ['**/protocol/**', '**/protocol-node/**', '**/client/**', '**/enclave-server/**', '**/extension/**', '**/webview/**'], message: 'ui-contract/ imports nothing.' },
      ] }],
    },
  },
  {
    files: ['webview/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'vscode', 'ws', 'node-llama-cpp'], message: 'webview/ is a browser sandbox.' },
        { group: ['**/protocol/**', '**/protocol-node/**', '**/client/**', '**/enclave-server/**', '**/extension/**'], message: 'webview/ never sees keys or protocol state; talk to the host by postMessage (shared message types live in ui-contract/messages.ts).' },
      ] }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
  },
);
