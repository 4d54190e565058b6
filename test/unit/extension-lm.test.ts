import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import type { ChatEvent } from '../../extension/types';
import type * as ShimModule from '../helpers/vscode-shim';
import type * as LmRegisterModule from '../../extension/lm-register';
import { FakeSession, fakeView, protocolError, words } from '../helpers/fake-session';

register('../helpers/vscode-hooks.mjs', import.meta.url);

type Shim = typeof ShimModule;
type LmModule = typeof LmRegisterModule;
type Handler = (
  request: unknown,
  context: unknown,
  stream: unknown,
  token: unknown,
) => Promise<{ errorDetails?: { message: string } }>;

interface LmProvider {
  provideLanguageModelChatInformation(
    o: unknown,
    t: unknown,
  ): Promise<{ id: string; family: string }[]>;
  provideLanguageModelChatResponse(
    model: unknown,
    messages: unknown[],
    options: unknown,
    progress: { report(p: unknown): void },
    token: unknown,
  ): Promise<void>;
  provideTokenCount(model: unknown, text: string, token: unknown): Promise<number>;
}

const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };

describe('@teechat participant and LM provider (vscode shim)', () => {
  let shim: Shim;
  let lm: LmModule;
  before(async () => {
    shim = await import('../helpers/vscode-shim');
    lm = await import('../../extension/lm-register');
  });

  function setup(session: FakeSession) {
    shim.resetShim();
    const runtime = async () =>
      ({
        services: {
          sessions: { getSession: async () => session },
          settings: () => ({ chat: { maxTokens: 8 } }),
        },
      }) as never;
    lm.registerLanguageModel({ subscriptions: [] } as never, runtime);
    const participant = shim.shim.participants[0];
    const provider = shim.shim.lmProviders[0]?.provider as LmProvider;
    return { handler: participant?.handler as Handler, provider, participant };
  }

  test('the participant streams the enclave answer as markdown, with history from its own turns', async () => {
    const s = new FakeSession(fakeView(), words(['Hi', ' there']));
    const { handler, participant } = setup(s);
    assert.equal(participant?.id, 'teechat.chat');
    const out: string[] = [];
    const stream = { markdown: (t: string) => out.push(t), progress: () => undefined };
    const history = [
      new shim.ChatRequestTurn('earlier', 'teechat.chat'),
      new shim.ChatResponseTurn([new shim.ChatResponseMarkdownPart('old answer')], 'teechat.chat'),
      new shim.ChatRequestTurn('other participant', 'someone.else'),
    ];
    const r = await handler({ prompt: 'hello' }, { history }, stream, token);
    assert.deepEqual(r, {});
    assert.deepEqual(out, ['Hi', ' there']);
    assert.deepEqual(s.calls[0], [
      { role: 'user', content: 'earlier' },
      { role: 'assistant', content: 'old answer' },
      { role: 'user', content: 'hello' },
    ]);
  });

  test('a SIMULATED session is flagged before the answer in its own part, which is not sent back as history', async () => {
    const s = new FakeSession(fakeView({ simulated: true }), words(['Hi']));
    const { handler } = setup(s);
    const out: string[] = [];
    const stream = { markdown: (t: string) => out.push(t), progress: () => undefined };
    const history = [
      new shim.ChatRequestTurn('earlier', 'teechat.chat'),
      new shim.ChatResponseTurn(
        [
          new shim.ChatResponseMarkdownPart(lm.SIMULATED_NOTE),
          new shim.ChatResponseMarkdownPart('old answer'),
        ],
        'teechat.chat',
      ),
    ];
    assert.deepEqual(await handler({ prompt: 'hello' }, { history }, stream, token), {});
    assert.deepEqual(out, [lm.SIMULATED_NOTE, 'Hi']);
    assert.match(lm.SIMULATED_NOTE, /SIMULATED/);
    assert.deepEqual(s.calls[0]?.[1], { role: 'assistant', content: 'old answer' });
    const real = new FakeSession(fakeView(), words(['Hi']));
    const { handler: h2 } = setup(real);
    const out2: string[] = [];
    await h2(
      { prompt: 'x' },
      { history: [] },
      { markdown: (t: string) => out2.push(t), progress: () => undefined },
      token,
    );
    assert.deepEqual(out2, ['Hi']);
  });

  test('a failure is returned as errorDetails, never streamed as markdown', async () => {
    const s = new FakeSession(fakeView(), async function* (): AsyncGenerator<ChatEvent> {
      yield { type: 'delta', text: 'part' };
      throw protocolError('decrypt_failed', 'tag mismatch');
    });
    const { handler } = setup(s);
    const out: string[] = [];
    const r = await handler(
      { prompt: 'q' },
      { history: [] },
      { markdown: (t: string) => out.push(t), progress: () => undefined },
      token,
    );
    assert.deepEqual(out, ['part']);
    assert.match(r.errorDetails?.message ?? '', /The secure session was lost: tag mismatch/);
  });

  test('the LM provider lists the enclave model and streams text parts; a truncated stream throws', async () => {
    const s = new FakeSession(fakeView(), words(['a', 'b']));
    const { provider } = setup(s);
    const models = await provider.provideLanguageModelChatInformation({ silent: true }, token);
    assert.equal(models[0]?.family, 'teechat');
    const parts: unknown[] = [];
    await provider.provideLanguageModelChatResponse(
      models[0],
      [{ role: 1, content: [new shim.LanguageModelTextPart('hi')] }],
      {},
      { report: (p) => parts.push(p) },
      token,
    );
    assert.deepEqual(
      parts.map((p) => (p as { value: string }).value),
      ['a', 'b'],
    );
    assert.deepEqual(s.calls[0], [{ role: 'user', content: 'hi' }]);
    assert.equal(await provider.provideTokenCount(models[0], 'abcdefgh', token), 2);
    const cut = new FakeSession(fakeView(), async function* (): AsyncGenerator<ChatEvent> {
      yield { type: 'delta', text: 'x' };
    });
    const { provider: p2 } = setup(cut);
    await assert.rejects(
      p2.provideLanguageModelChatResponse(models[0], [], {}, { report: () => undefined }, token),
      /authenticated end of stream/,
    );
  });
});
