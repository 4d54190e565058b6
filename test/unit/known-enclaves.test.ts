/**
 * The CLI's known enclaves file (ssh known_hosts semantics): the parser refuses every malformed
 * line by number, the decision refuses an unpinned server and a changed identity, and trust on
 * first use records only a server that is not yet known. `requirePinned` is the gate the CLI runs
 * between verification and the first byte of a prompt.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  decideKnown,
  defaultKnownEnclavesPath,
  formatKnownEnclave,
  normalizeServer,
  parseKnownEnclaves,
  type KnownEnclave,
} from '../../client/known-enclaves';
import { requirePinned } from '../../client/cli/chat';
import { DEFAULT_CLIENT_POLICY, type Policy } from '../../client/verifier';
import type { VerifiedSummary } from '../../client/index';
import { ProtocolError } from '../../protocol/errors';

const M1 = 'a1'.repeat(48);
const M2 = 'b2'.repeat(48);
/** A TDX identity: MRTD ‖ RTMR1 ‖ RTMR2. */
const T1 = M2 + 'c3'.repeat(48) + 'd4'.repeat(48);
const S = 'wss://cvm.example:8443/';

describe('parseKnownEnclaves', () => {
  test('entries, comments, blank lines, CRLF; URLs normalised, hex lower-cased', () => {
    const e = parseKnownEnclaves(
      `# comment\n\nwss://CVM.example:8443 sev-snp ${M1.toUpperCase()}\r\n  ws://127.0.0.1:1/x\ttdx ${T1}\n`,
    );
    assert.deepEqual(e, [
      { server: S, kind: 'sev-snp', measurement: M1 },
      { server: 'ws://127.0.0.1:1/x', kind: 'tdx', measurement: T1 },
    ]);
  });

  test('each malformed line is refused with its line number and the field', () => {
    const cases: [string, RegExp][] = [
      [`${S} sev-snp`, /f:2: expected "<server-url> <kind> <measurement-hex>", got 2 fields/],
      [`${S} sev-snp ${M1} extra`, /got 4 fields/],
      [`https://x/ sev-snp ${M1}`, /f:2: server: expected a ws:\/\/ or wss:\/\/ URL/],
      [`${S} azure-hcl ${M1}`, /f:2: kind: expected "sev-snp" or "tdx", got "azure-hcl"/],
      [`${S} sev-snp ${M1.slice(2)}`, /f:2: measurement: expected 96 hex digits/],
      [
        `${S} tdx ${T1.slice(2)}zz`,
        /measurement: expected 288 hex digits \(MRTD ‖ RTMR1 ‖ RTMR2\)/,
      ],
      // MRTD alone no longer names a TD (its kernel and command line are in RTMR1 / RTMR2).
      [`${S} tdx ${M1}`, /f:2: measurement: expected 288 hex digits .* or 480/],
    ];
    for (const [line, re] of cases)
      assert.throws(
        () => parseKnownEnclaves(`# ok\n${line}\n`, 'f'),
        (e: unknown) => e instanceof ProtocolError && e.code === 'malformed' && re.test(e.message),
        line,
      );
  });

  test('property: formatted entries parse back to themselves', () => {
    const entry = fc
      .record({
        server: fc
          .tuple(fc.constantFrom('ws', 'wss'), fc.domain(), fc.integer({ min: 1, max: 65535 }))
          .map(([p, d, n]) => normalizeServer(`${p}://${d}:${n}/`)),
        kind: fc.constantFrom('sev-snp' as const, 'tdx' as const),
        measurement: fc.uint8Array({ minLength: 240, maxLength: 240 }),
        tdxLen: fc.constantFrom(144, 240),
      })
      .map((e): KnownEnclave => ({
        server: e.server,
        kind: e.kind,
        measurement: Buffer.from(
          e.measurement.subarray(0, e.kind === 'sev-snp' ? 48 : e.tdxLen),
        ).toString('hex'),
      }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (es: KnownEnclave[]) => {
        assert.deepEqual(parseKnownEnclaves(es.map(formatKnownEnclave).join('')), es);
      }),
    );
  });

  test('property: any text either parses or throws ProtocolError (never anything else)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (t) => {
        try {
          parseKnownEnclaves(t);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, String(e));
        }
      }),
    );
  });
});

describe('decideKnown (known_hosts semantics)', () => {
  const known = [{ server: S, kind: 'sev-snp' as const, measurement: M1 }];
  const snp = (m: string) => ({ kind: 'sev-snp', measurement: m });
  test('a known server with its recorded identity is accepted (with or without TOFU)', () => {
    assert.equal(decideKnown(known, S, snp(M1), false, 'f').kind, 'known');
    assert.equal(decideKnown(known, S, snp(M1.toUpperCase()), true, 'f').kind, 'known');
  });
  test('a known server with another identity is refused loudly, even with TOFU (never re-learned)', () => {
    for (const tofu of [false, true]) {
      const d = decideKnown(known, S, snp(M2), tofu, 'f');
      assert.equal(d.kind, 'refuse');
      if (d.kind !== 'refuse') return;
      assert.equal(d.error.code, 'identity_changed');
      assert.match(d.error.message, /IDENTITY HAS CHANGED/);
      assert.match(
        d.error.message,
        new RegExp(`expected sev-snp ${M1} \\(f\\), got sev-snp ${M2}`),
      );
    }
    // The same measurement under another kind is another identity.
    const t = decideKnown(known, S, { kind: 'tdx', measurement: M1 }, true, 'f');
    assert.equal(t.kind === 'refuse' && t.error.code, 'identity_changed');
  });
  test('an unknown server: refused naming the measurement without TOFU, learned with it', () => {
    const d = decideKnown(known, 'ws://other:1/', snp(M2), false, 'f');
    assert.equal(d.kind === 'refuse' && d.error.code, 'not_pinned');
    assert.match(
      d.kind === 'refuse' ? d.error.message : '',
      new RegExp(`${M2} of ws://other:1/ is not pinned`),
    );
    assert.deepEqual(decideKnown(known, 'ws://other:1/', snp(M2), true, 'f'), {
      kind: 'learn',
      entry: { server: 'ws://other:1/', kind: 'sev-snp', measurement: M2 },
    });
  });
  test('no identity, or an Azure guest, cannot be pinned by the file: refused even with TOFU', () => {
    assert.equal(decideKnown([], S, null, true, 'f').kind, 'refuse');
    const a = decideKnown([], S, { kind: 'azure-hcl', measurement: M1 }, true, 'f');
    assert.equal(a.kind === 'refuse' && a.error.code, 'not_pinned');
    assert.match(a.kind === 'refuse' ? a.error.message : '', /azure\.pcrs/);
  });
});

describe('defaultKnownEnclavesPath', () => {
  test('$TEECHAT_KNOWN_ENCLAVES, else $XDG_CONFIG_HOME/teechat/known_enclaves, else ~/.config', () => {
    assert.equal(defaultKnownEnclavesPath({ TEECHAT_KNOWN_ENCLAVES: '/k' }), '/k');
    assert.equal(defaultKnownEnclavesPath({ XDG_CONFIG_HOME: '/x' }), '/x/teechat/known_enclaves');
    assert.match(defaultKnownEnclavesPath({}), /\/\.config\/teechat\/known_enclaves$/);
  });
});

describe('requirePinned (the CLI gate before any prompt is sent)', () => {
  const summary = (kind: string | null, measurement = M1): VerifiedSummary =>
    ({
      simulated: false,
      cpu:
        kind === null
          ? null
          : { kind, measurement, identity: measurement, product: 'genoa', tcb: '' },
      reports:
        kind === null
          ? []
          : [
              {
                ok: true,
                kind,
                label: '',
                checks: [{ id: 'signature', ok: true, message: 'ok' }],
                simulated: false,
                fields: { measurement },
              },
            ],
    }) as unknown as VerifiedSummary;
  const p = DEFAULT_CLIENT_POLICY;
  const withDir = (fn: (file: string) => void): void => {
    const dir = mkdtempSync(join(tmpdir(), 'teechat-known-'));
    try {
      fn(join(dir, 'sub', 'known_enclaves'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const isCode = (code: string) => (e: unknown) => e instanceof ProtocolError && e.code === code;

  test('pinned by --policy: accepted, the file is not consulted', () => {
    const pinned: Policy = { ...p, snp: { ...p.snp, measurements: [M1] } };
    requirePinned(
      { server: S, knownFile: '/nonexistent/dir/x', tofu: false },
      summary('sev-snp'),
      pinned,
      { err: () => {} },
    );
  });
  test('no CPU identity is never pinned, whatever the policy', () => {
    const pinned: Policy = { ...p, snp: { ...p.snp, measurements: [M1] } };
    withDir((file) =>
      assert.throws(
        () =>
          requirePinned({ server: S, knownFile: file, tofu: true }, summary(null), pinned, {
            err: () => {},
          }),
        isCode('not_pinned'),
      ),
    );
  });
  test('unpinned: refused; TOFU records (mode 0600) and says so; then known without TOFU; a changed identity is refused', () => {
    withDir((file) => {
      const f = { server: 'ws://127.0.0.1:9', knownFile: file, tofu: false };
      assert.throws(
        () => requirePinned(f, summary('sev-snp'), p, { err: () => {} }),
        isCode('not_pinned'),
      );
      let err = '';
      requirePinned({ ...f, tofu: true }, summary('sev-snp'), p, { err: (s) => (err += s) });
      assert.match(
        err,
        new RegExp(`trusting ws://127.0.0.1:9/ on first use: recorded sev-snp ${M1}`),
      );
      assert.equal(readFileSync(file, 'utf8'), `ws://127.0.0.1:9/ sev-snp ${M1}\n`);
      requirePinned(f, summary('sev-snp'), p, {
        err: () => assert.fail('no note for a known server'),
      });
      assert.throws(
        () => requirePinned({ ...f, tofu: true }, summary('sev-snp', M2), p, { err: () => {} }),
        isCode('identity_changed'),
      );
      assert.equal(
        readFileSync(file, 'utf8'),
        `ws://127.0.0.1:9/ sev-snp ${M1}\n`,
        'never re-learned',
      );
    });
  });
  test('a malformed file is an error, never an empty list', () => {
    withDir((file) => {
      const dir = join(file, '..', '..');
      const bad = join(dir, 'bad');
      writeFileSync(bad, 'garbage\n');
      assert.throws(
        () =>
          requirePinned({ server: S, knownFile: bad, tofu: true }, summary('sev-snp'), p, {
            err: () => {},
          }),
        isCode('malformed'),
      );
    });
  });
});
