import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionManager } from '../../extension/session-manager';
import {
  MemoryMeasurementStore,
  decideTrust,
  relaxedChecks,
  trustPromptDetail,
} from '../../extension/trust';
import type { MeasurementPrompt, TrustAnswer } from '../../extension/trust';
import { classifyError } from '../../extension/errors';
import { shortHex, verifiedStatus } from '../../extension/status-format';
import type { TrustSettings } from '../../extension/types';
import {
  FakeSession,
  MEASUREMENT,
  connectReturning,
  fakeView,
  protocolError,
  words,
} from '../helpers/fake-session';
import { STRICT_TRUST } from '../helpers/fake-session';

const TRUST = STRICT_TRUST;

function manager(
  connect: ReturnType<typeof connectReturning>,
  answers: TrustAnswer[] = [],
  trust: TrustSettings = TRUST,
) {
  const prompts: MeasurementPrompt[] = [];
  const store = new MemoryMeasurementStore();
  const m = new SessionManager({
    connect,
    settings: () => ({ serverUrl: 'ws://127.0.0.1:9', trust, connectTimeoutMs: 1000 }),
    store,
    askTrust: async (p) => {
      prompts.push(p);
      return answers.shift() ?? 'cancel';
    },
  });
  return { m, prompts, store };
}

describe('status formatting', () => {
  test('short measurement and GPU CC label', () => {
    assert.equal(shortHex(MEASUREMENT), '8f3a…c21d');
    const s = verifiedStatus(fakeView(), [], false);
    assert.equal(s.text, 'SNP 8f3a…c21d · GPU CC');
    assert.equal(s.state, 'verified');
    assert.equal(s.warning, false);
    assert.match(s.detail, /Product: Genoa/);
    assert.match(s.detail, /TCB: bl=3/);
    assert.match(s.detail, new RegExp(`sha256 ${'ab'.repeat(32)}`));
  });
  test('simulated evidence is labelled SIMULATED with a warning', () => {
    const s = verifiedStatus(fakeView({ simulated: true }), [], false);
    assert.equal(s.state, 'simulated');
    assert.match(s.text, /^SIMULATED SNP/);
    assert.equal(s.warning, true);
  });
  test('a relaxed setting, a trust-once decision, GPU CC off or no GPU evidence each warn', () => {
    assert.equal(verifiedStatus(fakeView(), ['debug guests allowed'], false).warning, true);
    assert.equal(verifiedStatus(fakeView(), [], true).warning, true);
    assert.equal(
      verifiedStatus(fakeView({ gpu: { count: 1, ccEnabled: false } }), [], false).text.endsWith(
        'GPU CC off',
      ),
      true,
    );
    assert.equal(
      verifiedStatus(fakeView({ gpu: { count: 1, ccEnabled: false } }), [], false).warning,
      true,
    );
    assert.match(verifiedStatus(fakeView({ gpu: null }), [], false).text, /no GPU evidence/);
  });
  test('relaxedChecks names each weakened setting', () => {
    assert.deepEqual(relaxedChecks(TRUST), []);
    assert.equal(
      relaxedChecks({ ...TRUST, allowDebug: true, allowSimulated: true, requireGpuEvidence: false })
        .length,
      3,
    );
  });
});

describe('error classification', () => {
  test('maps protocol codes to the error classes the UI shows', () => {
    assert.equal(classifyError(protocolError('evidence_rejected', 'x')).kind, 'verification');
    assert.equal(classifyError(protocolError('binding_mismatch', 'x')).kind, 'verification');
    assert.equal(classifyError(protocolError('transport_error', 'x')).kind, 'unreachable');
    assert.equal(
      classifyError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
        .kind,
      'unreachable',
    );
    assert.equal(classifyError(protocolError('truncation', 'x')).kind, 'session_lost');
    assert.equal(classifyError(protocolError('decrypt_failed', 'x')).kind, 'session_lost');
    assert.equal(classifyError(protocolError('busy', 'x')).kind, 'server');
    assert.equal(
      classifyError(Object.assign(new Error('a'), { name: 'AbortError' })).kind,
      'cancelled',
    );
    assert.equal(classifyError(new Error('plain')).kind, 'other');
    assert.equal(
      classifyError(protocolError('evidence_rejected', 'bad sig')).code,
      'evidence_rejected',
    );
  });
});

describe('trust gate (known measurements)', () => {
  test('allowlisted measurement is trusted without a prompt (case and 0x insensitive)', async () => {
    const store = new MemoryMeasurementStore();
    let asked = 0;
    const d = await decideTrust(
      'u',
      fakeView(),
      { ...TRUST, allowedMeasurements: ['0x' + MEASUREMENT.toUpperCase()] },
      store,
      async () => {
        asked++;
        return 'cancel';
      },
    );
    assert.deepEqual(d, { trusted: true, how: 'allowlist' });
    assert.equal(asked, 0);
  });
  test('"always" is remembered per server; "once" is not', async () => {
    const store = new MemoryMeasurementStore();
    assert.deepEqual(await decideTrust('a', fakeView(), TRUST, store, async () => 'once'), {
      trusted: true,
      how: 'once',
    });
    assert.deepEqual(store.get('a'), []);
    assert.deepEqual(await decideTrust('a', fakeView(), TRUST, store, async () => 'always'), {
      trusted: true,
      how: 'always',
    });
    assert.deepEqual(await decideTrust('a', fakeView(), TRUST, store, async () => 'cancel'), {
      trusted: true,
      how: 'known',
    });
    // another server is asked again
    assert.deepEqual(await decideTrust('b', fakeView(), TRUST, store, async () => 'cancel'), {
      trusted: false,
    });
  });
  test('a changed measurement prompts with the value and the one it differs from', async () => {
    const store = new MemoryMeasurementStore();
    await store.add('a', 'aa'.repeat(48));
    let prompt: MeasurementPrompt | undefined;
    const d = await decideTrust('a', fakeView(), TRUST, store, async (p) => {
      prompt = p;
      return 'cancel';
    });
    assert.deepEqual(d, { trusted: false });
    assert.equal(prompt?.measurement, MEASUREMENT);
    assert.deepEqual(prompt?.knownForServer, ['aa'.repeat(48)]);
  });
});

describe('SessionManager', () => {
  test('connects once for concurrent callers, passes the trust settings, and reports verified', async () => {
    const s = new FakeSession(fakeView(), words(['hi']));
    const connect = connectReturning(() => s);
    const { m, prompts } = manager(connect, ['always']);
    const states: string[] = [];
    m.onDidChange((snap) => {
      if (states.at(-1) !== snap.status.state) states.push(snap.status.state);
    });
    const [a, b] = await Promise.all([m.getSession(), m.getSession()]);
    assert.equal(a, s);
    assert.equal(b, s);
    assert.equal(connect.requests.length, 1);
    assert.equal(connect.requests[0]?.url, 'ws://127.0.0.1:9');
    assert.equal(connect.requests[0]?.trust.allowSimulated, false);
    assert.equal(prompts.length, 1);
    assert.deepEqual(states, ['connecting', 'verified']);
    assert.equal(m.snapshot.status.text, 'SNP 8f3a…c21d · GPU CC');
    // second use: no new connection, no prompt
    await m.getSession();
    assert.equal(connect.requests.length, 1);
  });

  test('cancel at the prompt closes the session and reports a verification failure', async () => {
    const s = new FakeSession(fakeView(), words(['x']));
    const { m } = manager(
      connectReturning(() => s),
      ['cancel'],
    );
    await assert.rejects(m.getSession(), /not trusted/);
    assert.equal(s.closed, true);
    assert.equal(m.snapshot.status.state, 'failed');
    assert.equal(m.snapshot.lastError?.kind, 'verification');
    assert.equal(m.snapshot.attestation?.measurement, MEASUREMENT);
  });

  test('a rejected verification sets failed; an unreachable server sets unreachable', async () => {
    const { m } = manager(
      connectReturning(() => {
        throw protocolError('evidence_rejected', 'sev-snp signature: expected valid, got invalid');
      }),
    );
    await assert.rejects(m.getSession(), /signature/);
    assert.equal(m.snapshot.status.state, 'failed');
    assert.match(m.snapshot.status.detail, /signature/);
    const { m: m2 } = manager(
      connectReturning(() => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
          code: 'ECONNREFUSED',
        });
      }),
    );
    await assert.rejects(m2.getSession());
    assert.equal(m2.snapshot.status.state, 'unreachable');
  });

  test('a dropped session marks the state as lost and the next use reconnects', async () => {
    let n = 0;
    const sessions: FakeSession[] = [];
    const { m } = manager(
      connectReturning(() => {
        n++;
        const s = new FakeSession(fakeView(), words(['x']));
        sessions.push(s);
        return s;
      }),
      ['always'],
    );
    await m.getSession();
    sessions[0]?.drop(protocolError('transport_closed', 'socket closed'));
    assert.equal(m.snapshot.status.state, 'unreachable');
    assert.match(m.snapshot.status.detail, /The secure session was lost/);
    await m.getSession();
    assert.equal(n, 2);
    assert.equal(m.snapshot.status.state, 'verified');
  });

  test('reconnect closes the old session first', async () => {
    const sessions: FakeSession[] = [];
    const { m } = manager(
      connectReturning(() => {
        const s = new FakeSession(fakeView(), words(['x']));
        sessions.push(s);
        return s;
      }),
      ['always'],
    );
    await m.getSession();
    await m.reconnect();
    assert.equal(sessions.length, 2);
    assert.equal(sessions[0]?.closed, true);
    assert.equal(sessions[1]?.closed, false);
  });

  test('simulated evidence shows SIMULATED in the status', async () => {
    const { m } = manager(
      connectReturning(() => new FakeSession(fakeView({ simulated: true }), words([]))),
      ['once'],
      { ...TRUST, allowSimulated: true },
    );
    await m.getSession();
    assert.equal(m.snapshot.status.state, 'simulated');
    assert.equal(m.snapshot.status.warning, true);
    assert.match(m.snapshot.status.detail, /simulated attestation allowed/);
  });
});

describe('trust gate fails closed without a measurement', () => {
  for (const measurement of ['', '   ', 'not-hex', 'abc']) {
    test(`measurement ${JSON.stringify(measurement)}: untrusted, the user is not asked, nothing is stored`, async () => {
      const store = new MemoryMeasurementStore();
      await store.add('a', '');
      let asked = 0;
      const d = await decideTrust('a', fakeView({ measurement }), TRUST, store, async () => {
        asked++;
        return 'always';
      });
      assert.deepEqual(d, { trusted: false });
      assert.equal(asked, 0);
      assert.deepEqual(store.get('a'), ['']);
    });
  }
});

describe('trust prompt text', () => {
  test('names the server, the value and what it differs from; on Azure says the value is the guest vTPM PCRs, not the paravisor measurement', async () => {
    const store = new MemoryMeasurementStore();
    await store.add('a', 'aa'.repeat(48));
    let prompt: MeasurementPrompt | undefined;
    await decideTrust('a', fakeView({ cpuKind: 'SNP/Azure' }), TRUST, store, async (p) => {
      prompt = p;
      return 'cancel';
    });
    assert.ok(prompt);
    assert.equal(prompt.cpuKind, 'SNP/Azure');
    const d = trustPromptDetail(prompt);
    assert.match(d, /Server: a\n/);
    assert.ok(d.includes(prompt.measurement));
    assert.match(d, new RegExp(`differs from .*\\n${'aa'.repeat(48)}`));
    assert.match(d, /vTPM PCRs .*not the SNP measurement: that covers Microsoft.s paravisor/);
    assert.doesNotMatch(trustPromptDetail({ ...prompt, cpuKind: 'SNP' }), /paravisor/);
  });
});
