/**
 * Admission under a flood: the time for a real client (fresh attested handshake, then one chat)
 * to get its first token while N silent WebSocket connections are held open (each reopened as soon
 * as the server closes it) and M anonymous handshakes per second are made (a real ClientHello,
 * which makes the server collect fresh evidence, then the connection is dropped), against the real
 * enclave server (child process, simulated attestation, tiny model) on default limits.
 *
 *   node --import tsx bench/flood.ts [--silent 80] [--rate 20] [--idle-sessions 70]
 *        [--runs 3] [--warmup 4000] [--model PATH] [--json FILE]
 *
 * Scenarios: baseline; N silent sockets; M handshakes/s; both; `--idle-sessions` attested sessions
 * held idle (more than --max-sessions 64). Each flood runs `--warmup` ms first (past the server's
 * 3 s ClientHello deadline: silent sockets are closed and reopened), then `--runs` real clients
 * connect and chat one after the other (median and max reported).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { connect, DEFAULT_CLIENT_POLICY, type Session } from '../client/index';
import { ClientHandshake } from '../protocol/handshake/handshake';
import { nodeProvider } from '../protocol-node/crypto-node';

const OPTS = { policy: DEFAULT_CLIENT_POLICY, allowSimulated: true, timeoutMs: 30_000 };

/**
 * Holds `n` silent connections open, reopening each one the server closes `reopenMs` later, until
 * `stop()`.
 */
export function silentFlood(
  url: string,
  n: number,
  reopenMs = 1000,
): { stop: () => void; opened: () => number } {
  let stopped = false;
  let opened = 0;
  const live = new Set<WebSocket>();
  const one = (): void => {
    if (stopped) return;
    const ws = new WebSocket(url);
    opened++;
    live.add(ws);
    ws.on('error', () => {});
    ws.once('close', () => {
      live.delete(ws);
      if (!stopped) setTimeout(one, reopenMs);
    });
  };
  for (let i = 0; i < n; i++) one();
  return {
    stop: () => {
      stopped = true;
      for (const ws of live) ws.terminate();
    },
    opened: () => opened,
  };
}

/** `perSecond` anonymous handshakes: ClientHello sent, ServerHello awaited (or not), dropped. */
export function handshakeFlood(
  url: string,
  perSecond: number,
): { stop: () => void; sent: () => number; answered: () => number } {
  let sent = 0;
  let answered = 0;
  const live = new Set<WebSocket>();
  const one = (): void => {
    const ws = new WebSocket(url);
    live.add(ws);
    ws.on('error', () => {});
    ws.once('open', () => {
      const hs = new ClientHandshake({
        crypto: nodeProvider,
        verifier: async () => ({ ok: false, summary: 'anonymous', reports: [] }),
        // Ask for both kinds: the server collects fresh CPU and GPU evidence for each hello.
        requiredEvidence: ['sev-snp', 'nvidia-gpu'],
      });
      ws.send(hs.clientHello());
      sent++;
    });
    ws.once('message', () => {
      answered++;
      ws.terminate();
    });
    ws.once('close', () => live.delete(ws));
  };
  const timer = perSecond > 0 ? setInterval(one, 1000 / perSecond) : undefined;
  return {
    stop: () => {
      clearInterval(timer);
      for (const ws of live) ws.terminate();
    },
    sent: () => sent,
    answered: () => answered,
  };
}

/** Holds `n` attested sessions that stay idle (opened 8 at a time). */
export async function idleSessions(url: string, n: number): Promise<Session[]> {
  const held: Session[] = [];
  for (let i = 0; i < n; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, n - i) }, () => connect(url, OPTS)),
    );
    held.push(...batch);
  }
  return held;
}

/** A real client: fresh connect + attested handshake, then one chat; ms to the first token. */
export async function timeToFirstToken(
  url: string,
  deadlineMs = 60_000,
): Promise<{ connectMs: number; ttftMs: number; text: string }> {
  const t0 = performance.now();
  const s = await connect(url, { ...OPTS, timeoutMs: deadlineMs });
  const connectMs = performance.now() - t0;
  let ttftMs = NaN;
  let text = '';
  try {
    for await (const ev of s.chat([{ role: 'user', content: 'Say hello' }], { maxTokens: 4 })) {
      if (ev.type === 'delta') {
        if (Number.isNaN(ttftMs)) ttftMs = performance.now() - t0;
        text += ev.text;
      }
    }
  } finally {
    await s.close().catch(() => {});
  }
  return { connectMs, ttftMs, text };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] ?? NaN);
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      silent: { type: 'string', default: '80' },
      rate: { type: 'string', default: '20' },
      'idle-sessions': { type: 'string', default: '70' },
      runs: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '4000' },
      model: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: node --import tsx bench/flood.ts [--silent 80] [--rate 20] [--idle-sessions 70] [--runs 3] [--warmup MS] [--model PATH] [--json FILE]\n',
    );
    return;
  }
  const n = Number(values.silent);
  const rate = Number(values.rate);
  const idle = Number(values['idle-sessions']);
  const runs = Number(values.runs);
  const warmupMs = Number(values.warmup);
  const { startLoadServer } = await import('./load');
  const { tinyChatModelPath } = await import('../test/helpers/tiny-model');
  const model = values.model ?? tinyChatModelPath();
  const srv = await startLoadServer(model, ['--sequences', '2']);
  const results: Record<string, unknown>[] = [];
  // Each scenario: set the flood up, let it run past --hello-timeout (silent sockets are closed
  // and reopened: the steady state), then `runs` real clients one after the other.
  const measure = async (
    name: string,
    setup: () => Promise<() => Record<string, number> | void>,
  ): Promise<void> => {
    const ttft: number[] = [];
    const conn: number[] = [];
    const teardown = await setup();
    let extra: Record<string, number> | void = undefined;
    try {
      await new Promise((res) => setTimeout(res, warmupMs));
      for (let r = 0; r < runs; r++) {
        const x = await timeToFirstToken(srv.url);
        ttft.push(x.ttftMs);
        conn.push(x.connectMs);
      }
    } finally {
      extra = teardown();
    }
    const row = {
      scenario: name,
      runs,
      ttft_ms_median: Math.round(median(ttft)),
      ttft_ms_max: Math.round(Math.max(...ttft)),
      connect_ms_median: Math.round(median(conn)),
      ...(extra ?? {}),
    };
    results.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  };
  try {
    await timeToFirstToken(srv.url); // warm-up (JIT, model), not measured
    await measure('baseline', async () => () => {});
    await measure(`${n} silent sockets`, async () => {
      const f = silentFlood(srv.url, n);
      return () => {
        f.stop();
        return { silent_opened: f.opened() };
      };
    });
    await measure(`${rate} anonymous handshakes/s`, async () => {
      const f = handshakeFlood(srv.url, rate);
      return () => {
        f.stop();
        return { hellos_sent: f.sent(), hellos_answered: f.answered() };
      };
    });
    await measure(`${n} silent + ${rate} handshakes/s`, async () => {
      const a = silentFlood(srv.url, n);
      const b = handshakeFlood(srv.url, rate);
      return () => {
        a.stop();
        b.stop();
        return { silent_opened: a.opened(), hellos_sent: b.sent() };
      };
    });
    await measure(`${idle} idle attested sessions`, async () => {
      const held = await idleSessions(srv.url, idle);
      return () => {
        const open = held.filter((s) => s.isOpen).length;
        for (const s of held) void s.close().catch(() => {});
        return { idle_held: idle, idle_still_open: open };
      };
    });
  } finally {
    await srv.stop(2000);
  }
  const out = { bench: 'flood', node: process.version, results };
  const file = values.json ?? `bench/results/flood-${new Date().toISOString().slice(0, 10)}.json`;
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
