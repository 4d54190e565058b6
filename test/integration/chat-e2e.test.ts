/**
 * The real enclave server (child process, simulated attestation, generated tiny ChatML model) and
 * the real client over loopback: full chat, follow-up turn served from the KV cache, 16 concurrent
 * sessions, cancel, client disconnect mid-generation, the CLI, and logs without plaintext.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  connect,
  DEFAULT_CLIENT_POLICY,
  nodeEphemeralPool,
  ReconnectingClient,
  type ChatEvent,
  type Session,
} from '../../client/index';
import { ProtocolError } from '../../protocol/errors';
import { tinyChatModelPath } from '../helpers/tiny-model';
import { startProxy } from '../helpers/ws-proxy';
import {
  runProcess,
  startServerProcess,
  testServerArgs,
  type ServerProcess,
} from '../helpers/server-process';

const CANARY = 'CANARY-7f3a9c-plaintext-must-not-be-logged';
const opts = { policy: DEFAULT_CLIENT_POLICY, allowSimulated: true };
const isCode = (code: string) => (e: unknown) => e instanceof ProtocolError && e.code === code;
/** A throw-away known enclaves file (the user's ~/.config is never touched by tests). */
const knownDir = mkdtempSync(join(tmpdir(), 'teechat-known-'));
const KNOWN = join(knownDir, 'known_enclaves');
process.on('exit', () => rmSync(knownDir, { recursive: true, force: true }));
const TOFU = ['--known-enclaves', KNOWN, '--trust-on-first-use'];

async function collect(
  it: AsyncIterable<ChatEvent>,
): Promise<{ text: string; events: ChatEvent[] }> {
  const events: ChatEvent[] = [];
  let text = '';
  for await (const ev of it) {
    events.push(ev);
    if (ev.type === 'delta') text += ev.text;
  }
  return { text, events };
}

describe('enclave server + client over loopback (tiny ChatML model)', () => {
  let srv: ServerProcess;
  before(async () => {
    srv = await startServerProcess(
      testServerArgs(tinyChatModelPath(), ['--log-level', 'debug', '--max-sessions', '40']),
    );
  });
  after(async () => {
    const code = await srv?.stop();
    assert.equal(code, 0, `server exit code ${code}; stderr:\n${srv?.stderr()}`);
  });

  test('prints exactly one stdout line and a summary of engine and providers on stderr', () => {
    assert.match(srv.stdout(), /^listening on ws:\/\/127\.0\.0\.1:\d+\n$/);
    assert.match(srv.stderr(), /model\s+tiny-chatml-s1\.gguf/);
    assert.match(srv.stderr(), /sequences=4/);
    assert.match(srv.stderr(), /threads=1/);
    assert.match(srv.stderr(), /sev-snp: SIMULATED/);
    assert.match(srv.stderr(), /nvidia-gpu: /);
  });

  test('full chat: verified summary, streamed deltas, authenticated done; second turn reuses the KV cache', async () => {
    const s = await connect(srv.url, opts);
    assert.equal(s.summary.simulated, true);
    assert.equal(s.summary.cpu?.kind, 'sev-snp');
    assert.match(s.summary.cpu?.measurement ?? '', /^[0-9a-f]{96}$/);
    assert.equal(s.summary.gpus.length, 1);
    assert.match(s.summary.model.sha256, /^[0-9a-f]{64}$/);
    assert.equal(s.summary.model.id, 'tiny-chatml-s1.gguf');
    assert.equal(s.serverInfo.engine.sequences, 4);
    assert.ok(s.summary.evidence.length >= 2);
    const history = [
      { role: 'system' as const, content: 'You are a test. '.repeat(30) },
      { role: 'user' as const, content: `Say hello ${CANARY}` },
    ];
    const first = await collect(s.chat(history, { maxTokens: 12 }));
    const done = first.events.at(-1);
    assert.equal(done?.type, 'done');
    assert.ok(first.text.length > 0);
    if (done?.type === 'done') assert.equal(done.usage.completionTokens, 12);
    const second = await collect(
      s.chat(
        [
          ...history,
          { role: 'assistant', content: first.text },
          { role: 'user', content: 'again' },
        ],
        { maxTokens: 4 },
      ),
    );
    const d2 = second.events.at(-1);
    assert.ok(d2?.type === 'done' && done?.type === 'done');
    if (d2?.type === 'done' && done?.type === 'done')
      assert.ok(
        d2.usage.cachedPromptTokens >= done.usage.promptTokens,
        `cached ${d2.usage.cachedPromptTokens} of first prompt ${done.usage.promptTokens}`,
      );
    await s.close();
  });

  test('16 concurrent sessions on 4 sequences: every answer completes, the excess is queued with positions', async () => {
    const sessions = await Promise.all(Array.from({ length: 16 }, () => connect(srv.url, opts)));
    const results = await Promise.all(
      sessions.map((s, i) =>
        collect(s.chat([{ role: 'user', content: `q${i}` }], { maxTokens: 24 })),
      ),
    );
    for (const r of results) {
      assert.equal(r.events.at(-1)?.type, 'done');
      assert.ok(r.text.length > 0);
    }
    const queued = results.filter((r) => r.events.some((e) => e.type === 'queued'));
    assert.ok(
      queued.length >= 1,
      'with 16 sessions on 4 sequences some requests must have been queued',
    );
    await Promise.all(sessions.map((s) => s.close()));
  });

  test('cancel: the iterator throws cancelled after the server acknowledges; the session stays usable', async () => {
    const s = await connect(srv.url, opts);
    const ac = new AbortController();
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const ev of s.chat(
          [{ role: 'user', content: 'long' }],
          { maxTokens: 100000 },
          ac.signal,
        )) {
          if (ev.type === 'delta' && ++n === 3) ac.abort();
        }
      })(),
      isCode('cancelled'),
    );
    const again = await collect(s.chat([{ role: 'user', content: 'short' }], { maxTokens: 3 }));
    assert.equal(again.events.at(-1)?.type, 'done');
    await s.close();
  });

  test('client disconnect mid-generation stops the generation and frees the sequence', async () => {
    const s = await connect(srv.url, opts);
    const gen = s.chat([{ role: 'user', content: 'go on' }], { maxTokens: 100000 });
    const it = gen[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    // Cut the TCP connection without any close (as a crashed client would).
    (s as unknown as { transport: { terminate(): void } }).transport.terminate();
    // Deltas already received and authenticated may still be read; then the stream fails.
    await assert.rejects(
      (async () => {
        for (let i = 0; i < 10_000; i++) if ((await it.next()).done) return;
      })(),
      (e: unknown) => e instanceof ProtocolError,
    );
    for (let i = 0; i < 100 && !/cancelled_generations=1/.test(srv.stderr()); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.match(srv.stderr(), /connection closed .*cancelled_generations=1/);
    // All 4 sequences are free again: 4 parallel answers run without queueing.
    const four = await Promise.all([0, 1, 2, 3].map(() => connect(srv.url, opts)));
    const rs = await Promise.all(
      four.map((x) => collect(x.chat([{ role: 'user', content: 'x' }], { maxTokens: 2 }))),
    );
    for (const r of rs) assert.ok(!r.events.some((e) => e.type === 'queued'));
    await Promise.all(four.map((x) => x.close()));
  });

  test('CLI chat streams the answer and exits 0 after the authenticated end', async () => {
    const r = await runProcess([
      'client/cli/main.ts',
      'chat',
      '--server',
      srv.url,
      '--allow-simulated',
      ...TOFU,
      '--max-tokens',
      '8',
      'hello',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.trim().length > 0);
    assert.match(r.stderr, /SIMULATED/);
    assert.match(r.stderr, /8 tokens/);
  });

  test('CLI chat without a prompt reads one question per line (a conversation) and exits 0 at EOF', async () => {
    const r = await runProcess(
      [
        'client/cli/main.ts',
        'chat',
        '--server',
        srv.url,
        '--allow-simulated',
        ...TOFU,
        '--max-tokens',
        '4',
        '--json',
      ],
      { input: 'first question\n\nsecond question\n' },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; usage?: { cachedPromptTokens: number } });
    const dones = lines.filter((l) => l.type === 'done');
    assert.equal(dones.length, 2);
    assert.equal(lines[0]?.type, 'summary');
    assert.ok(
      (dones[1]?.usage?.cachedPromptTokens ?? 0) > 0,
      'the second turn continues the conversation',
    );
  });

  test('CLI refuses simulated evidence without --allow-simulated: exit 1, code on stderr, nothing on stdout', async () => {
    const r = await runProcess([
      'client/cli/main.ts',
      'chat',
      '--server',
      srv.url,
      '--max-tokens',
      '8',
      'hello',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^teechat: evidence_rejected: /m);
    assert.match(r.stderr, /simulated/);
    assert.equal(r.stdout.trim(), '');
  });

  test('CLI chat: an unpinned server gets nothing (exit 1, not_pinned naming the measurement); pinned by --policy it answers; pinned to another it refuses; known_hosts semantics', async () => {
    const requests = (): number => (srv.stderr().match(/chat request/g) ?? []).length;
    const dir = mkdtempSync(join(tmpdir(), 'teechat-policy-'));
    const chat = (...extra: string[]) =>
      runProcess([
        'client/cli/main.ts',
        'chat',
        '--server',
        srv.url,
        '--allow-simulated',
        '--quiet',
        '--max-tokens',
        '2',
        ...extra,
        `hello ${CANARY}`,
      ]);
    try {
      const known = join(dir, 'known_enclaves');
      const before = requests();
      const refused = await chat('--known-enclaves', known);
      assert.equal(refused.code, 1, refused.stderr);
      assert.equal(refused.stdout, '');
      const m =
        /^teechat: not_pinned: launch measurement ([0-9a-f]{96}) of ws:\/\/.* is not pinned/m.exec(
          refused.stderr,
        );
      assert.ok(m, refused.stderr);

      assert.equal(requests(), before, 'the server received no chat request');
      assert.throws(() => readFileSync(known), /ENOENT/, 'nothing recorded without the TOFU flag');

      const policyFile = join(dir, 'policy.json');
      writeFileSync(policyFile, JSON.stringify({ snp: { measurements: [m[1]] } }));
      const pinned = await chat('--known-enclaves', known, '--policy', policyFile, '--json');
      assert.equal(pinned.code, 0, pinned.stderr);
      assert.doesNotMatch(pinned.stderr, /not pinned/);
      assert.match(pinned.stderr, /warning: SIMULATED/);
      assert.equal(requests(), before + 1);

      const other = join(dir, 'other.json');
      writeFileSync(other, JSON.stringify({ snp: { measurements: ['00'.repeat(48)] } }));
      const wrong = await chat('--known-enclaves', known, '--policy', other);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /^teechat: evidence_rejected: /m);
      assert.match(wrong.stderr, new RegExp(m[1]!));
      assert.equal(requests(), before + 1, 'pinned to another: nothing sent');

      // Trust on first use records the identity; the next run needs no flag.
      const tofu = await chat('--known-enclaves', known, '--trust-on-first-use');
      assert.equal(tofu.code, 0, tofu.stderr);
      assert.match(tofu.stderr, /trusting ws:\/\/.* on first use: recorded sev-snp/);
      assert.match(
        readFileSync(known, 'utf8'),
        new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/ sev-snp ${m[1]}\n$`),
      );
      const again = await chat('--known-enclaves', known);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(requests(), before + 3);

      // A known server presenting another identity: refused loudly, even with TOFU, never re-learned.
      const url = new URL(srv.url).href;
      writeFileSync(known, `${url} sev-snp ${'00'.repeat(48)}\n`);
      const changed = await chat('--known-enclaves', known, '--trust-on-first-use');
      assert.equal(changed.code, 1);
      assert.match(
        changed.stderr,
        /^teechat: identity_changed: REMOTE ENCLAVE IDENTITY HAS CHANGED/m,
      );
      assert.equal(readFileSync(known, 'utf8'), `${url} sev-snp ${'00'.repeat(48)}\n`);
      assert.equal(requests(), before + 3, 'changed identity: nothing sent');
      // attest show refuses the same way (exit 1, nothing on stdout).
      const show = await runProcess([
        'client/cli/main.ts',
        'attest',
        'show',
        '--server',
        srv.url,
        '--allow-simulated',
        '--known-enclaves',
        join(dir, 'empty'),
      ]);
      assert.equal(show.code, 1);
      assert.equal(show.stdout, '');
      assert.match(show.stderr, /^teechat: not_pinned: /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('CLI attest show --server --json prints the verified summary with raw evidence', async () => {
    const r = await runProcess([
      'client/cli/main.ts',
      'attest',
      'show',
      '--server',
      srv.url,
      '--allow-simulated',
      ...TOFU,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      simulated: boolean;
      evidence: { kind: string; parts: Record<string, string> }[];
      reports: { ok: boolean }[];
    };
    assert.equal(j.simulated, true);
    assert.deepEqual(j.evidence.map((e) => e.kind).sort(), ['nvidia-gpu', 'sev-snp']);
    assert.ok(j.evidence.every((e) => Object.keys(e.parts).length > 0));
    assert.ok(j.reports.every((x) => x.ok));
  });

  test('a second handshake on the same server gets fresh keys and fresh evidence', async () => {
    const a = await connect(srv.url, opts);
    const b = await connect(srv.url, opts);
    assert.notEqual(a.summary.transcriptHash, b.summary.transcriptHash);
    const reportA = a.summary.evidence.find((e) => e.kind === 'sev-snp')?.parts.get('report');
    const reportB = b.summary.evidence.find((e) => e.kind === 'sev-snp')?.parts.get('report');
    assert.ok(reportA && reportB);
    assert.notDeepEqual(reportA, reportB);
    await a.close();
    await b.close();
  });

  test('connect with an ephemeral pool: pre-generated pairs are used once, refilled in idle time', async () => {
    const pool = nodeEphemeralPool();
    pool.refill();
    assert.equal(pool.ready, 1);
    const taken: object[] = [];
    const take = pool.take.bind(pool);
    pool.take = () => {
      const k = take();
      taken.push(k);
      return k;
    };
    const a = await connect(srv.url, { ...opts, ephemeralPool: pool });
    assert.equal(taken.length, 1, 'the handshake took one pair from the pool');
    await new Promise((r) => setImmediate(r));
    assert.equal(pool.ready, 1, 'refilled in idle time');
    const b = await connect(srv.url, { ...opts, ephemeralPool: pool });
    assert.equal(taken.length, 2);
    assert.notEqual(taken[0], taken[1], 'each handshake gets its own pair');
    assert.notEqual(a.summary.transcriptHash, b.summary.transcriptHash);
    const { text } = await collect(b.chat([{ role: 'user', content: 'hi' }], { maxTokens: 4 }));
    assert.ok(text.length > 0);
    pool.dispose();
    assert.equal(pool.ready, 0, 'dispose wipes what is left');
    await a.close();
    await b.close();
  });

  test('logs (debug level) never contain the plaintext canary', async () => {
    const s: Session = await connect(srv.url, opts);
    await collect(s.chat([{ role: 'user', content: CANARY }], { maxTokens: 4 }));
    await s.close();
    assert.ok(srv.stderr().includes('chat request'), 'debug logging was on');
    assert.ok(!srv.stderr().includes(CANARY), 'the canary leaked into the server log');
    assert.ok(!srv.stderr().includes('CANARY'));
  });

  test('ping round-trips through the channel: one sealed frame each way, answered by the server', async () => {
    // Count the frames a relay sees after the handshake (c2s: ClientHello, ClientFinished; s2c:
    // ServerHello), and hold the server's answer back to show ping waits for it.
    const seen = { c2s: 0, s2c: 0 };
    let holdPong = true;
    const held: Uint8Array[] = [];
    const proxy = await startProxy(srv.url, (dir, index, data) => {
      const handshake = dir === 'c2s' ? index < 2 : index < 1;
      if (handshake) return [data];
      seen[dir]++;
      if (dir === 's2c' && holdPong) {
        held.push(data);
        return [];
      }
      // The held frame goes first: the channel is strictly in order (a drop would be a gap).
      return dir === 's2c' ? [...held.splice(0), data] : [data];
    });
    try {
      const s = await connect(proxy.url, opts);
      const early = await s.ping(300).then(
        () => 'answered',
        (e: unknown) => (e instanceof ProtocolError ? e.code : String(e)),
      );
      assert.equal(early, 'transport_error', 'no pong reached the client, so ping must time out');
      assert.deepEqual(seen, { c2s: 1, s2c: 1 }, 'one ping frame out, one pong frame back');
      holdPong = false;
      const ms = await s.ping();
      assert.ok(Number.isFinite(ms) && ms < 10_000, `round trip ${ms} ms`);
      assert.deepEqual(seen, { c2s: 2, s2c: 2 });
      assert.equal(held.length, 0);
      await s.close();
    } finally {
      await proxy.close();
    }
  });

  test('ReconnectingClient never retries a verification failure into acceptance', async () => {
    const c = new ReconnectingClient(srv.url, {
      policy: DEFAULT_CLIENT_POLICY,
      allowSimulated: false,
      attempts: 3,
    });
    await assert.rejects(c.session(), isCode('evidence_rejected'));
    await c.close();
  });

  test('a text (non-binary) WebSocket message before the handshake is refused with a typed close', async () => {
    const ws = new WebSocket(srv.url);
    await new Promise((r) => ws.once('open', r));
    ws.send('hello');
    const [code, reason] = await new Promise<[number, string]>((r) =>
      ws.once('close', (c, why) => r([c, why.toString()])),
    );
    assert.equal(code, 4400);
    assert.match(reason, /^malformed /);
  });
});
