/**
 * "Ask Privately About Selection": turns an editor selection into a question. Pure (no vscode):
 * the command in extension/commands.ts gathers the inputs.
 */
import type { PathMode } from './config';

export interface SelectionInput {
  readonly text: string;
  readonly languageId: string;
  /** Absolute file system path or URI path of the document ('' for untitled). */
  readonly filePath: string;
  /** Path relative to the workspace folder, when the file is inside one. */
  readonly relativePath?: string;
  readonly startLine: number; // 1-based
  readonly endLine: number; // 1-based
  readonly question: string;
}

export const DEFAULT_QUESTION = 'Explain what this code does and point out any bugs or risks.';

/** The longest fence of backticks inside `text`, so the code block's fence can be longer. */
function fenceFor(text: string): string {
  let longest = 0;
  for (const m of text.matchAll(/`{3,}/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

export function baseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] ?? p;
}

export function selectionPrompt(s: SelectionInput, mode: PathMode): string {
  const question = s.question.trim() || DEFAULT_QUESTION;
  let where = '';
  if (mode !== 'none' && s.filePath !== '') {
    const name =
      mode === 'relativePath' ? (s.relativePath ?? baseName(s.filePath)) : baseName(s.filePath);
    where = ` from \`${name}\``;
  }
  const lines =
    s.startLine === s.endLine ? `line ${s.startLine}` : `lines ${s.startLine}–${s.endLine}`;
  const lang = /^[A-Za-z0-9_+.#-]{1,40}$/.test(s.languageId) ? s.languageId : '';
  const fence = fenceFor(s.text);
  return `${question}\n\n${lang || 'Code'}${where} (${lines}):\n\n${fence}${lang}\n${s.text.replace(/\s+$/, '')}\n${fence}`;
}
