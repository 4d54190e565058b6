/** The chat panel's stylesheet; VS Code theme variables keep it native in every colour theme. */
export const STYLES = `
:root { color-scheme: light dark; }
body { margin: 0; padding: 0; font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-sideBar-background, var(--vscode-editor-background)); }
#app { display: flex; flex-direction: column; height: 100vh; }
.toolbar { display: flex; gap: 6px; align-items: center; padding: 6px 10px; border-bottom: 1px solid var(--vscode-panel-border, transparent); }
.toolbar #history { flex: 1; min-width: 0; }
.status { font: inherit; border: 1px solid var(--vscode-contrastBorder, transparent); border-radius: 3px; padding: 2px 8px; cursor: pointer; color: var(--vscode-foreground); background: var(--vscode-badge-background); white-space: nowrap; }
.status.verified { background: var(--vscode-testing-iconPassed, #388a34); color: #fff; }
.status.simulated, .status.warning { background: var(--vscode-statusBarItem-warningBackground, #b89500); color: var(--vscode-statusBarItem-warningForeground, #000); }
.status.failed, .status.unreachable { background: var(--vscode-statusBarItem-errorBackground, #c72e0f); color: var(--vscode-statusBarItem-errorForeground, #fff); }
.status:focus-visible, a:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
#transcript { flex: 1; overflow-y: auto; padding: 8px 12px; }
.empty { opacity: 0.7; }
.msg { margin: 10px 0; padding: 6px 10px; border-radius: 4px; line-height: 1.5; overflow-wrap: anywhere; }
.msg.user { background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); }
.msg.assistant { border-left: 2px solid var(--vscode-textLink-foreground); }
.msg .who { font-size: 0.85em; font-weight: 600; opacity: 0.75; margin-bottom: 2px; }
.msg[aria-busy="true"] .body::after { content: "▍"; animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: 0; } }
.msg.interrupted { border-left-color: var(--vscode-editorWarning-foreground); }
.interrupted-mark { margin-top: 4px; font-size: 0.9em; font-style: italic; color: var(--vscode-editorWarning-foreground); }
.body p { margin: 0.4em 0; }
.md-seg { display: flow-root; }
.md-seg-done { contain: layout style paint; }
.body pre { margin: 0; padding: 8px; overflow-x: auto; background: var(--vscode-textCodeBlock-background); font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
.body code { font-family: var(--vscode-editor-font-family); }
.body :not(pre) > code { background: var(--vscode-textCodeBlock-background); padding: 0 3px; border-radius: 3px; }
.code-block { margin: 6px 0; border: 1px solid var(--vscode-panel-border, transparent); border-radius: 4px; overflow: hidden; }
.code-toolbar { display: flex; gap: 4px; align-items: center; padding: 2px 6px; background: var(--vscode-editorGroupHeader-tabsBackground); }
.code-toolbar .lang { flex: 1; font-size: 0.85em; opacity: 0.8; }
.flash { font-size: 0.85em; }
blockquote { margin: 0.4em 0; padding-left: 8px; border-left: 3px solid var(--vscode-textBlockQuote-border); }
a { color: var(--vscode-textLink-foreground); }
.notice { margin: 10px 0; padding: 8px 10px; border-radius: 4px; border: 1px solid var(--vscode-inputValidation-errorBorder, #be1100); background: var(--vscode-inputValidation-errorBackground, #5a1d1d); color: var(--vscode-errorForeground, var(--vscode-foreground)); }
.notice.cancelled { border-color: var(--vscode-panel-border); background: transparent; }
.notice-title { margin-right: 6px; }
.notice-code { margin-left: 6px; opacity: 0.8; }
.notice-actions { margin-top: 6px; display: flex; gap: 6px; }
.composer { padding: 8px 10px; border-top: 1px solid var(--vscode-panel-border, transparent); }
.composer vscode-textarea { width: 100%; }
.actions { display: flex; gap: 6px; align-items: center; margin-top: 6px; }
.queued { font-size: 0.9em; opacity: 0.8; }
#stop { display: none; }
#app.streaming #stop { display: inline-block; }
#app.streaming #send { display: none; }
`;
