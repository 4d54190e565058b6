/**
 * The terminal client's safety habits: peer text made printable before it reaches a terminal,
 * an unpinned launch identity always named (never trusted silently), -h on every command, help
 * on stderr for a usage error, and nothing on stdout when no answer was printed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { printable } from '../../client/text';
import { closeError } from '../../client/transport';
import { chatCommand, parseFlags, unpinnedIdentity, type Io } from '../../client/cli/chat';
import { DEFAULT_CLIENT_POLICY, type Policy } from '../../client/verifier';
import type { VerifiedSummary } from '../../client/index';
import { runProcess } from '../helpers/server-process';
import { parseServerArgs } from '../../enclave-server/config';
import { attestCommand } from '../../client/cli/attest';
import { UsageError } from '../../protocol-node/args';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('printable', () => {
  test('escape sequences, carriage returns and bidi overrides never survive', () => {
    const s = printable('a\x1b[31mred\x1b]0;title\x07\x9b2J\rover\u202egnp.exe\tok\nnext ü 漢');
    assert.doesNotMatch(s, CONTROL);
    assert.ok(!s.includes('\r'));
    assert.match(s, /\tok\nnext ü 漢$/);
  });

  test('property: any string comes out without control characters; printable text is unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (x) => {
        const s = printable(x);
        assert.doesNotMatch(s, CONTROL);
        assert.ok(!s.includes('\r'));
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9 .,:;!?()\n\t-]*$/), (x) => {
        assert.equal(printable(x), x);
      }),
    );
  });

  test('the unauthenticated close reason (code 4400) is made printable and is information only', () => {
    const e = closeError(4400, 'malformed \x1b]52;c;cHduZWQ=\x07 \x1b[2Jgot it');
    assert.equal(e.code, 'transport_closed');
    assert.doesNotMatch(e.message, CONTROL);
    assert.match(
      e.message,
      /^the connection was closed before a secure session existed: 4400 malformed .*\(unauthenticated\)$/,
    );
  });
});

const R1 = '11'.repeat(48);
const R2 = '22'.repeat(48);
const summary = (
  kind: string,
  measurement = 'ab'.repeat(48),
  extra: Record<string, string> = {},
): VerifiedSummary =>
  ({
    simulated: false,
    cpu: { kind, measurement, product: 'genoa', tcb: '' },
    reports: [
      {
        ok: true,
        kind,
        label: '',
        checks: [{ id: 'signature', ok: true, message: 'ok' }],
        simulated: false,
        fields:
          kind === 'tdx'
            ? {
                mrtd: measurement,
                rtmr1: R1,
                rtmr2: R2,
                mrconfigid: '00'.repeat(48),
                mrowner: '00'.repeat(48),
                ...extra,
              }
            : { measurement, ...extra },
      },
    ],
    gpus: [],
    model: { id: 'm', sha256: '' },
    verdict: 'ok',
    transcriptHash: '',
    binding: { cpuReportData: '', gpuNonce: '' },
    verifiedAt: '',
    evidence: [],
  }) as unknown as VerifiedSummary;

describe('unpinnedIdentity', () => {
  const p = DEFAULT_CLIENT_POLICY;
  test('SEV-SNP: named with its value without an allowlist; null when pinned', () => {
    const m = 'cd'.repeat(48);
    assert.match(unpinnedIdentity(summary('sev-snp', m), p) ?? '', new RegExp(`${m}.*not pinned`));
    const pinned: Policy = { ...p, snp: { ...p.snp, measurements: [m] } };
    assert.equal(unpinnedIdentity(summary('sev-snp', m), pinned), null);
  });
  test('TDX: MRTD alone does not pin the TD; MRTD + RTMR1 + RTMR2 do (+ MRCONFIGID / MROWNER when set)', () => {
    assert.match(
      unpinnedIdentity(summary('tdx'), p) ?? '',
      /TD is not pinned: no "tdx\.mrtd", "tdx\.rtmr"\[1\], "tdx\.rtmr"\[2\]/,
    );
    const mrtdOnly: Policy = { ...p, tdx: { ...p.tdx, mrtd: ['ab'.repeat(48)] } };
    assert.match(
      unpinnedIdentity(summary('tdx'), mrtdOnly) ?? '',
      /no "tdx\.rtmr"\[1\], "tdx\.rtmr"\[2\] in the policy \(MRTD covers only the TD firmware/,
    );
    const pinned: Policy = {
      ...p,
      tdx: { ...p.tdx, mrtd: ['ab'.repeat(48)], rtmr: [[], [R1], [R2]] },
    };
    assert.equal(unpinnedIdentity(summary('tdx'), pinned), null);
    // A TD with MRCONFIGID / MROWNER set: those must be pinned too.
    const cfg = summary('tdx', 'ab'.repeat(48), {
      mrconfigid: '33'.repeat(48),
      mrowner: '44'.repeat(48),
    });
    assert.match(unpinnedIdentity(cfg, pinned) ?? '', /no "tdx\.mrConfigId", "tdx\.mrOwner"/);
    assert.equal(
      unpinnedIdentity(cfg, {
        ...pinned,
        tdx: { ...pinned.tdx, mrConfigId: ['33'.repeat(48)], mrOwner: ['44'.repeat(48)] },
      }),
      null,
    );
  });
  test('Azure: the paravisor measurement alone does not pin the guest; PCRs do', () => {
    const pm: Policy = { ...p, azure: { ...p.azure, paravisorMeasurements: ['ab'.repeat(48)] } };
    assert.match(unpinnedIdentity(summary('azure-hcl'), pm) ?? '', /azure\.pcrs.*paravisor/);
    const pinned: Policy = { ...p, azure: { ...p.azure, pcrs: { '11': ['00'.repeat(32)] } } };
    assert.equal(unpinnedIdentity(summary('azure-hcl'), pinned), null);
  });
});

describe('teechat chat flags and output streams', () => {
  test('-h is help wherever it stands (never sent as a prompt)', () => {
    assert.equal(parseFlags(['-h']).help, true);
    const f = parseFlags(['--server', 'ws://127.0.0.1:1', '-h']);
    assert.equal(f.help, true);
    assert.deepEqual(f.positional, []);
  });

  test('a usage error prints nothing on stdout and exits 2', async () => {
    let out = '';
    let err = '';
    const io: Io = {
      out: (s) => (out += s),
      err: (s) => (err += s),
      stdin: Readable.from([]),
      isTty: false,
    };
    const code = await chatCommand(['hello'], io);
    assert.equal(code, 2);
    assert.equal(out, '');
    assert.match(err, /^teechat chat: --server: .* \(see teechat chat --help\)\n$/);
  });

  test('teechat with no command: help on stderr, exit 2; --help: stdout, exit 0, exit codes listed', async () => {
    const none = await runProcess(['client/cli/main.ts']);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^Usage: teechat/);
    const help = await runProcess(['client/cli/main.ts', '--help']);
    assert.equal(help.code, 0);
    assert.equal(help.stderr, '');
    assert.match(help.stdout, /Exit status: 0 .*\n.*1 .*2 usage error/);
  });
});

describe('usage errors name the problem and go to stderr', () => {
  test('teechat attest / attest verify without a subcommand: help on stderr, exit 2; --help on stdout, exit 0', async () => {
    for (const argv of [[], ['verify']]) {
      let out = '';
      let err = '';
      const code = await attestCommand(argv, { out: (s) => (out += s), err: (s) => (err += s) });
      assert.equal(code, 2, argv.join(' '));
      assert.equal(out, '');
      assert.match(err, /^Usage: teechat attest/);
    }
    let out = '';
    assert.equal(await attestCommand(['--help'], { out: (s) => (out += s), err: () => {} }), 0);
    assert.match(out, /Exit status/);
  });

  test('teechat-server: an unknown option is named as unknown (not as a missing value)', () => {
    for (const argv of [['--bogus'], ['--bogus', 'x'], ['--bogus=1']])
      assert.throws(
        () => parseServerArgs(argv, {}),
        (e: unknown) => e instanceof UsageError && /--bogus: unknown option/.test(e.message),
      );
    assert.equal(parseServerArgs(['--port', '9'], {}).config.port, 9);
  });
});
