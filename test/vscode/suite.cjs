/* eslint-disable @typescript-eslint/no-require-imports -- loaded with require() by the extension host */
// Runs inside the VS Code extension host (loaded by @vscode/test-electron): checks the extension
// against the real API. Exports run(); a rejected promise fails the run.
const assert = require('node:assert/strict');
const vscode = require('vscode');
const pkg = require('../../package.json');

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    console.error(`not ok - ${name}`);
    throw e;
  }
}

exports.run = async function run() {
  const ext = vscode.extensions.getExtension(`${pkg.publisher}.${pkg.name}`);
  assert.ok(ext, 'the extension is installed');
  await step('activates', async () => {
    await ext.activate();
    assert.equal(ext.isActive, true);
  });
  await step('registers every command in package.json', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const c of pkg.contributes.commands) assert.ok(all.includes(c.command), c.command);
  });
  await step('shows the attestation report before any session', async () => {
    await vscode.commands.executeCommand('teechat.showAttestation');
    const doc = vscode.window.activeTextEditor && vscode.window.activeTextEditor.document;
    assert.ok(doc, 'a document is open');
    assert.equal(doc.uri.scheme, 'teechat-attestation');
    assert.match(doc.getText(), /No evidence has been verified yet/);
  });
  await step('an unreachable server is reported, not hidden', async () => {
    await vscode.workspace
      .getConfiguration('teechat')
      .update('serverUrl', 'ws://127.0.0.1:9', vscode.ConfigurationTarget.Global);
    const runtime = await ext.exports.runtime();
    await assert.rejects(runtime.services.sessions.reconnect());
    assert.equal(runtime.services.sessions.snapshot.status.state, 'unreachable');
  });
  await step('opens the chat panel', async () => {
    await vscode.commands.executeCommand('teechat.openChat');
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    assert.ok(
      tabs.some((t) => t.label.startsWith('TEEChat')),
      'a TEEChat tab is open',
    );
  });
};
