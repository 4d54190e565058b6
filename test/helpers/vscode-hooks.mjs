// Module resolution hook for tests that import extension sources directly (through tsx):
// `import ... from 'vscode'` resolves to the fake module test/helpers/vscode-shim.ts.
// Register with: register('../helpers/vscode-hooks.mjs', import.meta.url)
export async function resolve(specifier, context, next) {
  if (specifier === 'vscode')
    return { url: new URL('./vscode-shim.ts', import.meta.url).href, shortCircuit: true };
  return next(specifier, context);
}
