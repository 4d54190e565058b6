/**
 * `teechat attest verify nvidia`: output contract (JSON ok/kind/checks/fields), exit codes 0/1/2,
 * hex and binary reports, RIMs, --at pinning (expired RIM signer), and `attest show` decoding.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  attestVerifyNvidia,
  looksLikeNvidiaReport,
  showNvidiaReport,
} from '../../client/cli/attest-nvidia';
import { EXIT_ACCEPT, EXIT_REJECT, EXIT_USAGE } from '../../client/cli/attest-common';
import { sharedPath, skipUnlessShared, readShared } from '../helpers/shared';

const skip = skipUnlessShared('vectors', 'nvidia');
const p = (rel: string): string => sharedPath('vectors', rel) ?? rel;
const REPORT = 'nvidia/nvtrust/hopperAttestationReport.txt';
const REPORT_BIN = 'nvidia/go-nvattest-tools/test_raw_gpu_attestation_report.dat';
const CHAIN = 'nvidia/nvtrust/hopperCertChain.txt';
const DRV = 'nvidia/go-nvattest-tools/rim/NV_GPU_DRIVER_GH100_550.90.07.xml';
const VB = 'nvidia/go-nvattest-tools/rim/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml';
const NONCE = '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb';
/** Inside the RIM chains' window and the device-chain OCSP responses' one-day window. */
const AT = '2025-08-21T12:00:00Z';
const O = (n: string): string => p(`nvidia/go-nvattest-tools/ocsp/${n}`);
/** The device chain's cached OCSP responses (certificates 1..3; the leaf is not in OCSP). */
const DEVICE_OCSP = [
  '--ocsp',
  `1=${O('test_gpu_certificate_l4_base64encoded_ocsp_response.dat')}`,
  '--ocsp',
  `2=${O('test_gpu_certificate_l3_base64encoded_ocsp_response.dat')}`,
  '--ocsp',
  `3=${O('test_gpu_certificate_l2_base64encoded_ocsp_response.dat')}`,
];
/**
 * The vector set's RIM-chain OCSP responses date from 2025-10-24, two months after the device
 * chain's (valid one day): no time has both, so the RIM-chain OCSP is relaxed explicitly.
 */
const RIM_OCSP_RELAXED = '--allow-missing-rim-ocsp';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await attestVerifyNvidia(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}
const exit = async (argv: string[]): Promise<number> => (await run(argv)).code;
interface Json {
  ok: boolean;
  kind: string;
  checks: { id: string; ok: boolean; message: string }[];
  fields: Record<string, unknown>;
}
const json = (s: string): Json => JSON.parse(s) as Json;

describe('teechat attest verify nvidia', { skip }, () => {
  const full = [
    '--report',
    p(REPORT),
    '--chain',
    p(CHAIN),
    '--driver-rim',
    p(DRV),
    '--vbios-rim',
    p(VB),
    ...DEVICE_OCSP,
    RIM_OCSP_RELAXED,
    '--nonce',
    NONCE,
    '--at',
    AT,
    '--json',
  ];

  test('positive end-to-end (report + chain + RIMs + nonce at 2025-06-01): exit 0, JSON contract', async () => {
    const r = await run(full);
    assert.equal(r.code, EXIT_ACCEPT, r.out);
    const j = json(r.out);
    assert.equal(j.ok, true);
    assert.equal(j.kind, 'nvidia-gpu');
    assert.deepEqual(Object.keys(j).sort(), ['checks', 'fields', 'kind', 'ok', 'relaxed']);
    assert.deepEqual((j as unknown as { relaxed: string[] }).relaxed, ['allowMissingRimOcsp']);
    for (const id of [
      'signature',
      'cert_chain',
      'fwid',
      'nonce',
      'rim.driver',
      'rim.vbios',
      'measurements',
    ]) {
      assert.ok(
        j.checks.some((c) => c.id === id && c.ok),
        id,
      );
    }
    assert.equal(j.fields['driver_version'], '550.90.07');
  });

  test('binary report input is accepted like hex', async () => {
    const r = await run([
      '--report',
      p(REPORT_BIN),
      '--chain',
      p(CHAIN),
      ...DEVICE_OCSP,
      '--allow-missing-rims',
      '--nonce',
      NONCE,
      '--at',
      AT,
      '--json',
    ]);
    assert.equal(r.code, EXIT_ACCEPT, r.out);
  });

  test('wrong nonce: exit 1 and a failed nonce check', async () => {
    const r = await run([...full.slice(0, -5), '--nonce', 'ab'.repeat(32), '--at', AT, '--json']);
    assert.equal(r.code, EXIT_REJECT);
    assert.deepEqual(
      json(r.out)
        .checks.filter((c) => !c.ok)
        .map((c) => c.id),
      ['nonce'],
    );
  });

  test('expired RIM signer at --at: exit 1 naming the RIM chain', async () => {
    const r = await run([...full.slice(0, -3), '--at', '2026-03-01T00:00:00Z', '--json']);
    assert.equal(r.code, EXIT_REJECT);
    const bad = json(r.out).checks.filter((c) => !c.ok);
    assert.ok(bad.some((c) => c.id === 'rim.vbios.cert_chain' && /expired/.test(c.message)));
  });

  test('negative chain (leaf removed): exit 1', async () => {
    const r = await run([
      '--report',
      p(REPORT),
      '--chain',
      p('nvidia/trustee/hopper_cert_chain_case4.txt'),
      '--at',
      AT,
      '--json',
    ]);
    assert.equal(r.code, EXIT_REJECT);
    assert.match(r.err, /no --nonce/);
  });

  test('NVSwitch reports are detected; FWID skipped', async () => {
    const r = await run([
      '--report',
      p('nvidia/go-nvattest-tools/ppcie_h100/switch0_report.hex'),
      '--chain',
      p('nvidia/go-nvattest-tools/ppcie_h100/switch0_certchain.pem'),
      // No OCSP responses were captured for the switch chain: relaxed explicitly.
      '--allow-missing-device-ocsp',
      '--at',
      AT,
      '--json',
    ]);
    assert.equal(r.code, EXIT_ACCEPT, r.out);
    assert.equal(json(r.out).kind, 'nvidia-switch');
    assert.match(r.out, /RELAXED nvidia\.allowMissingDeviceOcsp/);
  });

  test('malformed and truncated reports: exit 1 (not a crash)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'teechat-nv-'));
    try {
      const bin = readShared('vectors', REPORT_BIN);
      writeFileSync(join(dir, 'trunc.bin'), bin.subarray(0, 1000));
      writeFileSync(join(dir, 'junk.txt'), 'not a report');
      for (const f of ['trunc.bin', 'junk.txt']) {
        const r = await run(['--report', join(dir, f), '--chain', p(CHAIN), '--json']);
        assert.equal(r.code, EXIT_REJECT);
        assert.equal(json(r.out).checks[0]!.id, 'parse');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('table output without --json', async () => {
    const r = await run(full.slice(0, -1));
    assert.equal(r.code, EXIT_ACCEPT);
    assert.match(r.out, /^nvidia-gpu: ACCEPTED/);
  });

  test('usage errors exit 2; --help exits 0', async () => {
    assert.equal(await exit([]), EXIT_USAGE);
    assert.equal(await exit(['--report', p(REPORT)]), EXIT_USAGE);
    assert.equal(
      await exit(['--report', p(REPORT), '--chain', p(CHAIN), '--nonce', 'xyz']),
      EXIT_USAGE,
    );
    assert.equal(
      await exit(['--report', p(REPORT), '--chain', p(CHAIN), '--driver-rim', p(DRV)]),
      EXIT_USAGE,
    );
    assert.equal(
      await exit(['--report', p(REPORT), '--chain', p(CHAIN), '--at', 'yesterday']),
      EXIT_USAGE,
    );
    assert.equal(await exit(['--report', '/nonexistent', '--chain', p(CHAIN)]), EXIT_USAGE);
    assert.equal(
      await exit(['--report', p(REPORT), '--chain', p(CHAIN), '--sim-root', p(CHAIN)]),
      EXIT_USAGE,
    );
    assert.equal(await exit(['--bogus']), EXIT_USAGE);
    const h = await run(['--help']);
    assert.equal(h.code, EXIT_ACCEPT);
    assert.match(h.out, /Usage: teechat attest verify nvidia/);
  });

  test('attest show: decodes without verifying', async () => {
    const raw = readShared('vectors', REPORT);
    assert.equal(looksLikeNvidiaReport(raw), true);
    assert.equal(looksLikeNvidiaReport(readShared('vectors', REPORT_BIN)), true);
    assert.equal(looksLikeNvidiaReport(Buffer.from('hello')), false);
    const f = showNvidiaReport(raw);
    assert.equal(f['verified'], false);
    assert.equal(f['vbios_version'], '96.00.9F.00.01');
    assert.equal(f['request_nonce'], NONCE);
  });
});

describe('teechat attest verify nvidia --ocsp', { skip }, () => {
  test('cached OCSP responses (base64 files) for the device chain are checked at --at', async () => {
    const base = ['--report', p(REPORT), '--chain', p(CHAIN), '--allow-missing-rims', '--json'];
    const ocsp = DEVICE_OCSP;
    const good = await run([...base, ...ocsp, '--at', '2025-08-21T12:00:00Z']);
    assert.equal(good.code, EXIT_ACCEPT, good.out);
    assert.equal(json(good.out).checks.filter((c) => c.id.startsWith('ocsp.') && c.ok).length, 3);
    const stale = await run([...base, ...ocsp, '--at', '2025-08-23T12:00:00Z']);
    assert.equal(stale.code, EXIT_REJECT);
    assert.equal(await exit([...base, '--ocsp', 'x=1']), EXIT_USAGE);
  });
});

describe(
  'teechat attest verify nvidia: policy file, simulated evidence, subprocess',
  { skip },
  () => {
    test('--policy nvidia section: allow-lists apply; unknown keys are usage errors', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'teechat-nvpol-'));
      try {
        const pol = (o: object): string => {
          const f = join(dir, `p${Math.random().toString(36).slice(2)}.json`);
          writeFileSync(f, JSON.stringify(o));
          return f;
        };
        const base = [
          '--report',
          p(REPORT),
          '--chain',
          p(CHAIN),
          ...DEVICE_OCSP,
          '--nonce',
          NONCE,
          '--at',
          AT,
          '--json',
        ];
        const ok = await run([
          ...base,
          '--policy',
          pol({
            nvidia: {
              allowMissingRims: true,
              requireCcMode: false,
              allowedDriverVersions: ['550.90.07'],
            },
          }),
        ]);
        assert.equal(ok.code, EXIT_ACCEPT, ok.out + ok.err);
        const bad = await run([
          ...base,
          '--policy',
          pol({
            nvidia: {
              allowMissingRims: true,
              requireCcMode: false,
              allowedDriverVersions: ['570.124.06'],
            },
          }),
        ]);
        assert.equal(bad.code, EXIT_REJECT);
        assert.ok(json(bad.out).checks.some((c) => c.id === 'policy.driver_version' && !c.ok));
        assert.equal(
          await exit([...base, '--policy', pol({ nvidia: { requireRimz: true } })]),
          EXIT_USAGE,
        );
        // A policy file keeps the defaults it does not override: RIMs and CC status are then required.
        const strict = await run([...base, '--policy', pol({ nvidia: {} })]);
        assert.equal(strict.code, EXIT_REJECT);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('simulated evidence verifies with --allow-simulated and the simulated roots, fails without', async () => {
      const { SimulatedNvidiaProvider } =
        await import('../../enclave-server/evidence/simulated-nvidia');
      const sim = new SimulatedNvidiaProvider();
      const nonce = Buffer.alloc(32, 7);
      const [item] = await sim.collect({ cpuReportData: new Uint8Array(64), gpuNonce: nonce });
      const dir = mkdtempSync(join(tmpdir(), 'teechat-nvsim-'));
      try {
        const w = (n: string, b: Uint8Array): string => {
          writeFileSync(join(dir, n), b);
          return join(dir, n);
        };
        const args = [
          '--report',
          w('report.bin', item!.parts.get('report')!),
          '--chain',
          w('chain.der', item!.parts.get('chain')!),
          '--driver-rim',
          w('driver.xml', item!.parts.get('rim.driver')!),
          '--vbios-rim',
          w('vbios.xml', item!.parts.get('rim.vbios')!),
          // The simulated provider staples OCSP for both chains, as a real server does.
          ...[...item!.parts.keys()]
            .filter((k) => k.startsWith('ocsp.'))
            .flatMap((k) => ['--ocsp', `${k.slice(5)}=${w(`${k}.der`, item!.parts.get(k)!)}`]),
          '--nonce',
          nonce.toString('hex'),
          '--json',
        ];
        const roots = [
          '--sim-root',
          w('root.der', sim.deviceRootDer),
          '--sim-rim-root',
          w('rimroot.der', sim.rimRootDer),
        ];
        const ok = await run([...args, '--allow-simulated', ...roots]);
        assert.equal(ok.code, EXIT_ACCEPT, ok.out);
        assert.equal(json(ok.out).fields['simulated'], true);
        const table = await run([...args.slice(0, -1), '--allow-simulated', ...roots]);
        assert.match(table.out, /SIMULATED/);
        assert.equal(await exit(args), EXIT_REJECT);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

describe('teechat attest verify nvidia: through the teechat CLI (subprocess)', { skip }, () => {
  test('exit statuses 0 / 1 / 2 and JSON on stdout', async () => {
    const { spawnSync } = await import('node:child_process');
    const { repoRoot } = await import('../helpers/shared');
    const cli = (args: string[]): { status: number | null; stdout: string } => {
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'client/cli/main.ts', 'attest', 'verify', 'nvidia', ...args],
        { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
      );
      return { status: r.status, stdout: r.stdout };
    };
    const base = [
      '--report',
      p(REPORT),
      '--chain',
      p(CHAIN),
      ...DEVICE_OCSP,
      '--allow-missing-rims',
      '--at',
      AT,
      '--json',
    ];
    const ok = cli([...base, '--nonce', NONCE]);
    assert.equal(ok.status, 0);
    assert.equal(json(ok.stdout).ok, true);
    assert.equal(cli([...base, '--nonce', 'cd'.repeat(32)]).status, 1);
    assert.equal(cli(['--report']).status, 2);
  });
});
