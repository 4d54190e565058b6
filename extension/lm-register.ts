/**
 * VS Code's own chat: an `@teechat` chat participant and a language model provider (vendor
 * `teechat`), both answering through the verified enclave session. The provider API
 * (`vscode.lm.registerLanguageModelChatProvider`, VS Code ≥ 1.104) is newer than the
 * @types/vscode this project builds against, so its minimal types are declared here and the
 * function is feature-detected at run time; on older VS Code only the participant is registered.
 * Handlers load the runtime lazily; errors are reported as errors, never streamed as model text.
 */
import * as vscode from 'vscode';
import type { Runtime } from './runtime-types';
import type { ChatTurn, TeeSession } from './types';

/** Minimal local declarations of the LanguageModelChatProvider API (vscode.d.ts 1.104+). */
interface LmChatInformation {
  readonly id: string;
  readonly name: string;
  readonly family: string;
  readonly version: string;
  readonly maxInputTokens: number;
  readonly maxOutputTokens: number;
  readonly tooltip?: string;
  readonly detail?: string;
  readonly capabilities: { readonly imageInput?: boolean; readonly toolCalling?: boolean | number };
}
interface LmRequestMessage {
  readonly role: number;
  readonly content: readonly unknown[];
  readonly name?: string;
}
interface LmChatProvider {
  provideLanguageModelChatInformation(
    options: { silent: boolean },
    token: vscode.CancellationToken,
  ): Promise<LmChatInformation[]>;
  provideLanguageModelChatResponse(
    model: LmChatInformation,
    messages: readonly LmRequestMessage[],
    options: unknown,
    progress: vscode.Progress<unknown>,
    token: vscode.CancellationToken,
  ): Promise<void>;
  provideTokenCount(
    model: LmChatInformation,
    text: string | LmRequestMessage,
    token: vscode.CancellationToken,
  ): Promise<number>;
}
type RegisterLmProvider = (vendor: string, provider: LmChatProvider) => vscode.Disposable;

export const LM_VENDOR = 'teechat';
export const PARTICIPANT_ID = 'teechat.chat';

/**
 * Shown in the native Chat view before an answer from a session verified against a simulated
 * (development) root: the panel's status bar is not visible there. Its own markdown part, so it
 * is told apart from the model's text (and left out of the history sent back to the model).
 */
export const SIMULATED_NOTE =
  '> ⚠️ **SIMULATED attestation** (development root): no real confidential hardware was verified.\n\n';

function textOf(parts: readonly unknown[]): string {
  let s = '';
  for (const p of parts) {
    if (p instanceof vscode.LanguageModelTextPart) s += p.value;
    else if (
      typeof p === 'object' &&
      p !== null &&
      typeof (p as { value?: unknown }).value === 'string'
    )
      s += (p as { value: string }).value;
  }
  return s;
}

function abortOn(token: vscode.CancellationToken): AbortController {
  const a = new AbortController();
  if (token.isCancellationRequested) a.abort();
  token.onCancellationRequested(() => a.abort());
  return a;
}

async function* streamAnswer(
  runtime: () => Promise<Runtime>,
  turns: ChatTurn[],
  signal: AbortSignal,
  onSession: (s: TeeSession) => void = () => {},
): AsyncGenerator<string> {
  const r = await runtime();
  const session = await r.services.sessions.getSession();
  onSession(session);
  let done = false;
  for await (const ev of session.chat(turns, r.services.settings().chat, signal)) {
    if (ev.type === 'delta') yield ev.text;
    else if (ev.type === 'done') done = true;
  }
  if (!done && !signal.aborted)
    throw Object.assign(new Error('the answer ended without an authenticated end of stream'), {
      code: 'truncation',
    });
}

export function registerLanguageModel(
  context: vscode.ExtensionContext,
  runtime: () => Promise<Runtime>,
): void {
  // @teechat chat participant (VS Code ≥ 1.90 with a chat view).
  const chatApi = (vscode as { chat?: typeof vscode.chat }).chat;
  if (chatApi && typeof chatApi.createChatParticipant === 'function') {
    const participant = chatApi.createChatParticipant(
      PARTICIPANT_ID,
      async (request, chatContext, stream, token) => {
        const turns: ChatTurn[] = [];
        for (const h of chatContext.history) {
          if (h.participant !== PARTICIPANT_ID) continue;
          if (h instanceof vscode.ChatRequestTurn) turns.push({ role: 'user', content: h.prompt });
          else if (h instanceof vscode.ChatResponseTurn) {
            const text = h.response
              .map((p) =>
                p instanceof vscode.ChatResponseMarkdownPart && p.value.value !== SIMULATED_NOTE
                  ? p.value.value
                  : '',
              )
              .join('');
            if (text) turns.push({ role: 'assistant', content: text });
          }
        }
        turns.push({ role: 'user', content: request.prompt });
        const abort = abortOn(token);
        try {
          stream.progress('Verifying the enclave and answering privately…');
          const answer = streamAnswer(runtime, turns, abort.signal, (s) => {
            if (s.attestation.simulated) stream.markdown(SIMULATED_NOTE);
          });
          for await (const t of answer) stream.markdown(t);
          return {};
        } catch (e) {
          if (abort.signal.aborted) return {};
          const { classifyError } = await import('./errors');
          const c = classifyError(e);
          return { errorDetails: { message: c.message }, metadata: { kind: c.kind, code: c.code } };
        }
      },
    );
    participant.iconPath = new vscode.ThemeIcon('shield');
    context.subscriptions.push(participant);
  }

  // Language model provider (feature-detected).
  const lm = vscode.lm as unknown as { registerLanguageModelChatProvider?: RegisterLmProvider };
  if (typeof lm.registerLanguageModelChatProvider !== 'function') return;
  const provider: LmChatProvider = {
    async provideLanguageModelChatInformation() {
      return [
        {
          id: 'teechat-enclave',
          name: 'TEEChat (attested enclave)',
          family: 'teechat',
          version: '1',
          maxInputTokens: 8192,
          maxOutputTokens: 2048,
          tooltip:
            'A model running in a hardware-attested confidential VM; prompts are end-to-end encrypted.',
          detail: 'confidential',
          capabilities: {},
        },
      ];
    },
    async provideLanguageModelChatResponse(_model, messages, _options, progress, token) {
      const turns: ChatTurn[] = messages.map((m) => ({
        role: m.role === 2 ? 'assistant' : m.role === 3 ? 'system' : 'user',
        content: textOf(m.content),
      }));
      const abort = abortOn(token);
      for await (const t of streamAnswer(runtime, turns, abort.signal))
        progress.report(new vscode.LanguageModelTextPart(t));
    },
    async provideTokenCount(_model, text) {
      const s = typeof text === 'string' ? text : textOf(text.content);
      return Math.ceil(s.length / 4);
    },
  };
  context.subscriptions.push(lm.registerLanguageModelChatProvider(LM_VENDOR, provider));
}
