import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attestVerifyTdx, looksLikeTdxQuote, showTdxQuote } from '../../client/cli/attest-tdx';
import { attestCommand } from '../../client/cli/attest';
import { EXIT_ACCEPT, EXIT_REJECT, EXIT_USAGE } from '../../client/cli/attest-common';
import { ProtocolError } from '../../protocol/errors';
import { repoRoot, sharedPath, skipUnlessShared } from '../helpers/shared';
import { TDX_COLLATERAL_MISSING, ctxAt, inside, tdxExpected, vec } from '../helpers/tdx';
import { verifyTdxQuote } from '../../protocol/attestation/tdx/verify';
import { tdxPolicy } from '../../protocol/attestation/tdx/policy';

const skip = skipUnlessShared('vectors', 'EXPECTED.json');

interface Run {
  code: number;
  out: string;
  err: string;
}
async function run(args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const code = await attestVerifyTdx(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}
function json(r: Run): {
  ok: boolean;
  kind: string;
  checks: { id: string; ok: boolean; message: string }[];
  fields: Record<string, unknown>;
} {
  return JSON.parse(r.out) as ReturnType<typeof json>;
}

describe('teechat attest verify tdx', { skip }, () => {
  if (skip) return;
  const tmp = mkdtempSync(join(tmpdir(), 'teechat-tdx-cli-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const V = (p: string): string => sharedPath('vectors', p)!;
  /** EXPECTED.json's quotes come without collateral: relaxed explicitly where only they are judged. */
  const NO_COLLATERAL = [
    '--allow-missing-tcb-info',
    '--allow-missing-qe-identity',
    '--allow-missing-pck-crl',
    '--allow-missing-root-ca-crl',
  ];
  /** No CRL in the vector set is current in the 2025-10 window of trustee's TCB info. */
  const NO_CRLS = ['--allow-missing-pck-crl', '--allow-missing-root-ca-crl'];

  test('every EXPECTED.json quote: exit status and JSON contract at its pinned time', async () => {
    const noSeptPolicy = join(tmp, 'no-sept.json');
    writeFileSync(noSeptPolicy, JSON.stringify({ tdx: { requireSeptVeDisable: false } }));
    for (const e of tdxExpected().tdx_quotes) {
      const at = inside(e.pck_chain_valid_window).toISOString();
      const r = await run([
        '--quote',
        V(e.quote),
        '--at',
        at,
        '--allow-debug',
        ...NO_COLLATERAL,
        // tdx_prod_quote_SPR_E4 and Azure's TD do not set SEPT_VE_DISABLE (a default floor).
        '--policy',
        noSeptPolicy,
        '--json',
      ]);
      const want = Object.values(e.expected).every(Boolean);
      assert.equal(r.code, want ? EXIT_ACCEPT : EXIT_REJECT, `${e.quote}: ${r.out}${r.err}`);
      const j = json(r);
      assert.equal(j.ok, want);
      assert.equal(j.kind, 'tdx');
      for (const id of [
        'quote_signature',
        'qe_report',
        'pck_chain',
        'policy.debug',
        'measurement',
      ]) {
        assert.ok(
          j.checks.some((c) => c.id === id),
          `${e.quote}: check ${id} present`,
        );
      }
      assert.equal(j.fields['mrtd'], e['mrtd']);
      assert.equal(r.err, '');
      assert.deepEqual((j as unknown as { relaxed: string[] }).relaxed, [
        'allowMissingTcbInfo',
        'allowMissingQeIdentity',
        'allowMissingPckCrl',
        'allowMissingRootCaCrl',
      ]);
    }
  });

  test('fail closed: a genuine quote without collateral is REJECTED for that reason; complete is ACCEPTED', async () => {
    const dir = join(tmp, 'col-2026');
    mkdirSync(dir);
    const L = 'tdx/lunal-attestation-rs/collateral/';
    for (const f of [
      'tcb_info_90c06f000000.json',
      'td_qe_identity.json',
      'pck_crl_platform.der',
      'root_ca_crl.der',
    ])
      copyFileSync(V(L + f), join(dir, f));
    const q = V('tdx/go-tdx-guest/quote_v5_sample.dat');
    const at = '2026-03-20T00:00:00Z';
    const full = await run(['--quote', q, '--collateral', dir, '--at', at, '--json']);
    assert.equal(full.code, EXIT_ACCEPT, full.out);
    assert.deepEqual((JSON.parse(full.out) as { relaxed: string[] }).relaxed, []);
    const bare = await run(['--quote', q, '--at', at, '--json']);
    assert.equal(bare.code, EXIT_REJECT);
    const jb = json(bare);
    assert.deepEqual(
      jb.checks
        .filter((c) => !c.ok)
        .map((c) => c.id)
        .sort(),
      [...TDX_COLLATERAL_MISSING],
    );
    for (const id of ['quote_signature', 'qe_report', 'pck_chain'])
      assert.ok(
        jb.checks.some((c) => c.id === id && c.ok),
        id,
      );
    // The table names every relaxation on the verdict line and on its own check line.
    const relaxed = await run(['--quote', q, '--at', at, ...NO_COLLATERAL]);
    assert.equal(relaxed.code, EXIT_ACCEPT, relaxed.out);
    assert.match(
      relaxed.out,
      /^tdx: ACCEPTED — RELAXED: allowMissingTcbInfo, allowMissingQeIdentity, allowMissingPckCrl, allowMissingRootCaCrl/,
    );
    assert.match(relaxed.out, /relaxed\.allowMissingPckCrl +RELAXED tdx\.allowMissingPckCrl/);
    // A relaxation of another evidence kind is a usage error, not silently ignored.
    const wrong = await run(['--quote', q, '--allow-missing-rims']);
    assert.equal(wrong.code, EXIT_USAGE);
    assert.match(wrong.err, /--allow-missing-rims: expected a relaxation for tdx/);
  });

  test('collateral directory, --measurement, --expect-report-data', async () => {
    const dir = join(tmp, 'col');
    mkdirSync(dir);
    copyFileSync(V('tdx/trustee/tcbInfo.json'), join(dir, 'tcb_info.json'));
    copyFileSync(V('tdx/trustee/enclaveIdentity.json'), join(dir, 'qe_identity.json'));
    copyFileSync(
      V('tdx/intel-ca/Intel_SGX_TCB_Signing_chain.pem'),
      join(dir, 'tcb_signing_chain.pem'),
    );
    const policy = join(tmp, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        tdx: { acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded', 'OutOfDate'] },
      }),
    );
    const e = tdxExpected().tdx_quotes.find((x) => x.quote === 'tdx/trustee/tdx_quote_6.dat')!;
    const at = (t: string): string[] => [
      '--quote',
      V(e.quote),
      '--collateral',
      dir,
      '--policy',
      policy,
      '--at',
      t,
      ...NO_CRLS,
      '--json',
    ];
    const base = at('2025-11-10T00:00:00Z');
    const ok = await run([
      ...base,
      '--measurement',
      String(e['mrtd']),
      '--expect-report-data',
      String(e['report_data']),
    ]);
    assert.equal(ok.code, EXIT_ACCEPT, ok.out);
    const j = json(ok);
    for (const id of ['collateral', 'tcb', 'qe_identity', 'measurement', 'report_data']) {
      assert.ok(
        j.checks.some((c) => c.id === id && c.ok),
        id,
      );
    }
    const bad = await run([
      ...base,
      '--measurement',
      '00'.repeat(48),
      '--expect-report-data',
      '11'.repeat(64),
    ]);
    assert.equal(bad.code, EXIT_REJECT);
    assert.deepEqual(
      json(bad)
        .checks.filter((c) => !c.ok)
        .map((c) => c.id)
        .sort(),
      ['measurement', 'report_data'],
    );
    // Expired collateral at a later --at.
    const late = await run(at('2026-01-15T00:00:00Z'));
    assert.equal(late.code, EXIT_REJECT);
    assert.ok(json(late).checks.some((c) => c.id === 'collateral' && !c.ok));
  });

  test('debug TD is rejected by default; hex-text input; readable table without --json', async () => {
    const e = tdxExpected().tdx_quotes.find((x) => x.quote === 'tdx/trustee/tdx_quote_4.dat')!;
    const hexFile = join(tmp, 'q4.hex');
    writeFileSync(hexFile, Buffer.from(vec(e.quote)).toString('hex') + '\n');
    const r = await run([
      '--quote',
      hexFile,
      '--at',
      inside(e.pck_chain_valid_window).toISOString(),
    ]);
    assert.equal(r.code, EXIT_REJECT);
    assert.match(r.out, /^tdx: REJECTED/);
    assert.match(r.out, /FAIL {2}policy\.debug/);
  });

  test('truncated or garbage input: exit 1 with a typed parse failure, no stack trace', async () => {
    const t = join(tmp, 'trunc.bin');
    writeFileSync(t, vec('tdx/trustee/tdx_quote_6.dat').subarray(0, 700));
    const r = await run(['--quote', t, '--json']);
    assert.equal(r.code, EXIT_REJECT);
    const j = json(r);
    assert.equal(j.ok, false);
    assert.equal(j.checks[0]?.id, 'parse');
    assert.match(j.checks[0]?.message ?? '', /truncated|expected/);
    assert.doesNotMatch(r.out + r.err, /at .*\.ts:\d+/);
  });

  test('usage errors exit 2 with a message on stderr; --help exits 0', async () => {
    for (const args of [
      [],
      ['--quote'],
      ['--quote', 'x', '--at', 'yesterday'],
      ['--bogus'],
      ['--quote', join(tmp, 'missing.bin')],
      ['--quote', V('tdx/trustee/tdx_quote_6.dat'), '--measurement', 'abc'],
    ]) {
      const r = await run(args);
      assert.equal(r.code, EXIT_USAGE, JSON.stringify(args));
      assert.equal(r.out, '');
      assert.match(r.err, /teechat attest verify tdx: /);
    }
    const bad = join(tmp, 'bad-policy.json');
    writeFileSync(bad, JSON.stringify({ tdx: { allowDebugg: true } }));
    assert.equal(
      (await run(['--quote', V('tdx/trustee/tdx_quote_6.dat'), '--policy', bad])).code,
      EXIT_USAGE,
    );
    const h = await run(['--help']);
    assert.equal(h.code, EXIT_ACCEPT);
    assert.match(h.out, /Usage: teechat attest verify tdx/);
  });

  test('through the dispatcher: attest verify tdx and attest show', async () => {
    let out = '';
    let err = '';
    const io = { out: (x: string) => (out += x), err: (x: string) => (err += x) };
    const e = tdxExpected().tdx_quotes.find((x) => x.quote === 'tdx/trustee/tdx_quote_6.dat')!;
    const at = inside(e.pck_chain_valid_window).toISOString();
    const code = await attestCommand(
      ['verify', 'tdx', '--quote', V(e.quote), '--at', at, ...NO_COLLATERAL, '--json'],
      io,
    );
    assert.equal(code, EXIT_ACCEPT, out + err);
    assert.equal(json({ code, out, err }).kind, 'tdx');
    out = '';
    assert.equal(await attestCommand(['show', '--json', V(e.quote)], io), EXIT_ACCEPT, err);
    const shown = JSON.parse(out) as { ok: boolean; fields: Record<string, unknown> };
    assert.equal(shown.fields['kind'], 'tdx');
    assert.equal(shown.fields['mrtd'], e['mrtd']);
  });

  test('as a process: exit statuses 0 / 1 / 2, JSON on stdout, no stack trace', () => {
    const cli = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'client/cli/attest-bin.ts'), 'verify', 'tdx', ...args],
        {
          cwd: repoRoot,
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
    const e = tdxExpected().tdx_quotes.find(
      (x) => x.quote === 'tdx/go-tdx-guest/quote_v5_sample.dat',
    )!;
    const ok = cli(
      '--quote',
      V(e.quote),
      '--at',
      inside(e.pck_chain_valid_window).toISOString(),
      ...NO_COLLATERAL,
      '--json',
    );
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).ok, true);
    const t = join(tmp, 'trunc-proc.bin');
    writeFileSync(t, vec(e.quote).subarray(0, 500));
    const bad = cli('--quote', t, '--json');
    assert.equal(bad.status, 1);
    assert.equal(JSON.parse(bad.stdout).checks[0].id, 'parse');
    assert.doesNotMatch(bad.stdout + bad.stderr, /\n\s+at /);
    const usage = cli('--quote');
    assert.equal(usage.status, 2);
    assert.equal(usage.stdout, '');
    assert.match(usage.stderr, /--quote/);
  });

  test('attest show: detection and decoded fields', async () => {
    const e = tdxExpected().tdx_quotes.find((x) => x.version === 5)!;
    const raw = vec(e.quote);
    assert.ok(looksLikeTdxQuote(raw));
    assert.ok(!looksLikeTdxQuote(new Uint8Array(1184)));
    const f = showTdxQuote(raw);
    assert.equal(f['mrtd'], e['mrtd']);
    assert.equal(f['tee_tcb_svn2'], e['tee_tcb_svn2']);
    assert.throws(() => showTdxQuote(raw.subarray(0, 100)), ProtocolError);
    // One field list: show decodes exactly what the verifier reports about the quote.
    const r = verifyTdxQuote({ quote: raw }, ctxAt(new Date('2026-01-01T00:00:00Z')), tdxPolicy());
    for (const [k, v] of Object.entries(f)) if (k !== 'kind') assert.deepEqual(r.fields[k], v, k);
    assert.equal(f['debug'], r.fields['debug']);
    assert.equal(typeof f['debug'], 'boolean');
  });
});
