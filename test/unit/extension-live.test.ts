/**
 * The extension's host logic against the real enclave server (simulated attestation, the tiny
 * model, loopback): client adapter → session manager (trust prompt) → chat controller → streamed
 * answer; evidence export; then the server is killed: the answer is an error notice, the status
 * says unreachable, never model text. The server runs in its own process group, killed at the end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connectWithClient, policyFromSettings } from '../../extension/client-adapter';
import { ChatController } from '../../extension/chat-controller';
import { MemoryHistory } from '../../extension/history';
import { SessionManager } from '../../extension/session-manager';
import { MemoryMeasurementStore } from '../../extension/trust';
import type { MeasurementPrompt } from '../../extension/trust';
import type { TrustSettings } from '../../extension/types';
import { buildEvidenceBundle, parseEvidenceItems } from '../../extension/evidence-export';
import { renderAttestationDocument } from '../../extension/attestation-report';
import type { HostEvent } from '../../ui-contract/messages';
import { sharedPath, skipUnlessShared } from '../helpers/shared';
import { waitFor } from '../helpers/wait';

const skip = skipUnlessShared('models', 'stories260K.gguf');
const TRUST: TrustSettings = {
  allowedMeasurements: [],
  minimumTcb: {},
  requireGpuEvidence: true,
  allowDebug: false,
  allowSimulated: true,
};

describe('extension host logic against the real enclave server', { skip, timeout: 240_000 }, () => {
  let server: ChildProcess | undefined;
  let url = '';
  let measurement = '';

  before(async () => {
    server = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'enclave-server/main.ts',
        '--attestation',
        'simulated',
        '--gpu-attestation',
        'simulated',
        '--model',
        sharedPath('models', 'stories260K.gguf') ?? '',
        '--threads',
        '1',
        '--sequences',
        '1',
        '--gpu',
        'off',
        '--port',
        '0',
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const m = await new Promise<RegExpExecArray>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 180_000);
      const on = (b: Buffer): void => {
        out += b.toString();
        const r = /listening on (ws:\/\/\S+)/.exec(out);
        if (r) {
          clearTimeout(t);
          resolve(r);
        }
      };
      server?.stdout?.on('data', on);
      server?.stderr?.on('data', on);
      server?.on('exit', () => reject(new Error(`server exited:\n${out}`)));
    });
    url = m[1] ?? '';
    measurement = /measurement ([0-9a-f]{16})/.exec(out)?.[1] ?? '';
  });

  after(() => {
    if (server?.pid !== undefined && server.exitCode === null) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  test('simulated evidence is refused unless the development setting allows it', async () => {
    await assert.rejects(
      connectWithClient({ url, trust: { ...TRUST, allowSimulated: false }, timeoutMs: 20_000 }),
      (e: unknown) => (e as { code?: string }).code === 'evidence_rejected',
    );
  });

  test('the policy built from settings carries the trust choices', () => {
    const p = policyFromSettings({
      ...TRUST,
      allowDebug: true,
      requireGpuEvidence: false,
      minimumTcb: { snp: 8 },
    });
    assert.equal(p.snp.allowDebug, true);
    assert.deepEqual(p.snp.minTcb, { snp: 8 });
    assert.equal(p.require?.gpu, false);
    assert.deepEqual(p.snp.measurements, []);
  });

  test('connect, prompt for the unknown measurement, stream an answer, export; then the server dies', async () => {
    const prompts: MeasurementPrompt[] = [];
    const sessions = new SessionManager({
      connect: connectWithClient,
      settings: () => ({ serverUrl: url, trust: TRUST, connectTimeoutMs: 20_000 }),
      store: new MemoryMeasurementStore(),
      askTrust: async (p) => {
        prompts.push(p);
        return 'always';
      },
    });
    const events: HostEvent[] = [];
    const c = new ChatController({
      getSession: () => sessions.getSession(),
      status: () => sessions.snapshot.status,
      history: new MemoryHistory(),
      post: (e) => events.push(e),
      params: () => ({ maxTokens: 24, temperature: 0 }),
    });
    await c.send('Once upon a time');
    await waitFor(() => !c.isStreaming, 'the answer finished streaming', { timeoutMs: 30_000 });
    assert.equal(prompts.length, 1);
    assert.ok(
      prompts[0]?.measurement.startsWith(measurement),
      `${prompts[0]?.measurement} starts with ${measurement}`,
    );
    assert.equal(sessions.snapshot.status.state, 'simulated');
    assert.match(sessions.snapshot.status.text, /^SIMULATED SNP [0-9a-f]{4}…[0-9a-f]{4} · GPU CC$/);
    const answer = c.conversation.entries[1];
    assert.equal(answer?.role, 'assistant');
    assert.equal(answer?.role === 'assistant' && answer.state, 'complete');
    assert.ok(answer?.role === 'assistant' && answer.content.length > 0);
    assert.ok(events.filter((e) => e.type === 'delta').length > 1, 'streamed in several deltas');

    const view = sessions.snapshot.attestation;
    assert.ok(view);
    const bundle = JSON.parse(JSON.stringify(buildEvidenceBundle(url, view, new Date())));
    const items = parseEvidenceItems(bundle);
    assert.deepEqual(items.map((i) => i.kind).sort(), ['nvidia-gpu', 'sev-snp']);
    assert.ok((items.find((i) => i.kind === 'sev-snp')?.parts.get('report')?.length ?? 0) > 1000);
    assert.match(bundle.transcriptHash, /^[0-9a-f]{64}$/);
    const doc = renderAttestationDocument(sessions.snapshot, TRUST, new Date());
    assert.match(doc, /\*\*Verdict\*\*: VERIFIED — \*\*SIMULATED/);
    assert.match(doc, /## Certificate chains/);
    assert.match(doc, /### sev-snp · `vcek`[\s\S]*\*\*valid\*\* at/);
    assert.match(doc, /\[PASS\] `report_data`/);
    // what the webview would receive carries neither evidence nor channel-binding material
    const posted = JSON.stringify(events);
    assert.ok(!posted.includes(bundle.transcriptHash));
    assert.ok(!posted.includes(bundle.items[0].parts.report.slice(0, 40)));

    // the server goes away: the next question ends in an error notice, not in model text
    if (server?.pid !== undefined) process.kill(-server.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    await c.send('Are you there?');
    await waitFor(() => !c.isStreaming, 'the failed turn ended', { timeoutMs: 20_000 });
    const last = c.conversation.entries.at(-1);
    assert.equal(last?.role, 'error');
    assert.ok(
      last?.role === 'error' && ['session_lost', 'unreachable'].includes(last.kind),
      JSON.stringify(last),
    );
    assert.equal(c.conversation.entries.filter((e) => e.role === 'assistant').length, 1);
    assert.equal(sessions.snapshot.status.state, 'unreachable');
    sessions.dispose();
  });
});
