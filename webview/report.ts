/**
 * The attestation report page's only script (dist/report.js): defines <vscode-button> and turns a
 * click on a Copy button into a `copy` request to the host, which checks the value against the
 * set it rendered and writes it to the clipboard. Nothing else: the page is static HTML.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { ReportRequest } from '../ui-contract/report';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; setState(s: unknown): void };
const vscode = acquireVsCodeApi();
// Marks the panel for restoring after a window reload (the host renders it again from the
// session: nothing of the page is kept).
vscode.setState({ report: 1 });

document.addEventListener('click', (e) => {
  const t = e.target instanceof Element ? e.target.closest('[data-copy]') : null;
  const value = t?.getAttribute('data-copy');
  if (!t || value === null || value === undefined) return;
  const req: ReportRequest = { type: 'copy', value };
  vscode.postMessage(req);
  t.textContent = 'Copied';
  setTimeout(() => (t.textContent = 'Copy'), 1500);
});
