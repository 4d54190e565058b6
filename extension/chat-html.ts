/**
 * The chat webview's HTML: a strict Content-Security-Policy whose only script source is the
 * bundled dist/webview.js carrying a fresh cryptographic nonce; no inline scripts, no remote
 * content, no connections (the webview talks to the host by postMessage only). Pure.
 */
export interface ChatHtmlInput {
  /** `webview.cspSource` (the origin VS Code serves local resources from). */
  readonly cspSource: string;
  readonly nonce: string;
  readonly scriptUri: string;
  readonly title?: string;
}

/** 128-bit nonce, base64url, from a CSPRNG (`getRandomValues` from Web Crypto or Node's crypto). */
export function makeNonce(random: (n: number) => Uint8Array): string {
  const b = random(16);
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function attr(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

export function chatHtml(i: ChatHtmlInput): string {
  if (!/^[A-Za-z0-9_-]{16,}$/.test(i.nonce))
    throw new Error('chatHtml: nonce must be ≥16 base64url characters');
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${i.nonce}'`,
    // The panel's own <style> carries the nonce; Lit (@vscode-elements) uses constructed
    // stylesheets, which CSP does not block; VS Code sets its theme variables through the CSSOM.
    `style-src ${i.cspSource} 'nonce-${i.nonce}'`,
    `font-src ${i.cspSource}`,
    `img-src ${i.cspSource} data:`,
    "connect-src 'none'",
    "frame-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${attr(i.title ?? 'TEEChat')}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${attr(i.nonce)}" src="${attr(i.scriptUri)}"></script>
</body>
</html>`;
}
