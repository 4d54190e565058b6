#!/usr/bin/env -S node --import tsx
/**
 * Writes an UNSIGNED TEEChat release manifest (docs/RELEASES.md) from local inputs: the dry run of
 * .github/workflows/release.yml, which runs this script and then signs its output with Sigstore.
 * Hashes are computed from the files given; expected platform values are passed in (compute them
 * with `teechat measure snp|tdx …`; Azure vTPM PCRs are read from a reference VM). The result is validated with the client's own
 * parser before it is written, so an invalid manifest never leaves this script.
 *
 *   node --import tsx scripts/release-manifest.ts --version 1.4.2 --repository github.com/ORG/REPO \
 *     --commit SHA --ovmf OVMF.fd --kernel bzImage --initrd initrd.img --cmdline "console=ttyS0 …" \
 *     --shape qemu-8:8:EPYC-v4:qemu:0x1 --snp qemu-8=HEX --tdx-mrtd HEX --tdx-rtmr1 HEX --tdx-rtmr2 HEX \
 *     --model model.gguf --model-repository org/name --model-revision SHA --model-file f.gguf \
 *     --server-build dist/teechat-server.mjs [--floors floors.json] [--issued-at ISO] [--out FILE]
 *
 * Exit 0 written, 1 invalid inputs (reason on stderr), 2 usage.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseReleaseManifest } from '../protocol/release/manifest';

const HELP = `Usage: node --import tsx scripts/release-manifest.ts [options]
  --version X.Y.Z  --repository github.com/ORG/REPO  --commit SHA
  --ovmf FILE  --kernel FILE  --initrd FILE  --cmdline TEXT
  --shape NAME:VCPUS:VCPU_TYPE:VMM:GUEST_FEATURES   (repeatable)
  --snp SHAPE=HEX (repeatable)  --tdx-mrtd HEX --tdx-rtmr1 HEX --tdx-rtmr2 HEX  --azure-pcr N=HEX (repeatable)
  --model FILE  --model-repository ORG/NAME  --model-revision SHA  --model-file PATH  [--dm-verity-root HEX]
  --server-build FILE  [--floors FILE]  [--issued-at ISO]  [--out FILE]  [-h]
Writes an unsigned manifest (stdout, or --out). Exit 0 written, 1 invalid, 2 usage.
`;

const sha256File = (p: string): string =>
  createHash('sha256').update(readFileSync(p)).digest('hex');

export function buildManifest(argv: readonly string[], now: () => Date = () => new Date()): string {
  const { values: v } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      version: { type: 'string' },
      repository: { type: 'string' },
      commit: { type: 'string' },
      ovmf: { type: 'string' },
      kernel: { type: 'string' },
      initrd: { type: 'string' },
      cmdline: { type: 'string' },
      shape: { type: 'string', multiple: true },
      snp: { type: 'string', multiple: true },
      'tdx-mrtd': { type: 'string' },
      'tdx-rtmr1': { type: 'string' },
      'tdx-rtmr2': { type: 'string' },
      'azure-pcr': { type: 'string', multiple: true },
      model: { type: 'string' },
      'model-repository': { type: 'string' },
      'model-revision': { type: 'string' },
      'model-file': { type: 'string' },
      'dm-verity-root': { type: 'string' },
      'server-build': { type: 'string' },
      floors: { type: 'string' },
      'issued-at': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const need = (k: keyof typeof v): string => {
    const x = v[k];
    if (typeof x !== 'string') throw new UsageError(`--${k} is required`);
    return x;
  };
  const pair = (s: string, flag: string): [string, string] => {
    const i = s.indexOf('=');
    if (i <= 0) throw new UsageError(`--${flag}: expected KEY=HEX, got ${JSON.stringify(s)}`);
    return [s.slice(0, i), s.slice(i + 1)];
  };
  const shapes = (v.shape ?? []).map((s) => {
    const [name, vcpus, vcpuType, vmm, features] = s.split(':');
    if (features === undefined)
      throw new UsageError(
        `--shape: expected NAME:VCPUS:TYPE:VMM:FEATURES, got ${JSON.stringify(s)}`,
      );
    return { name, vcpus: Number(vcpus), vcpu_type: vcpuType, vmm, guest_features: features };
  });
  const cmdline = need('cmdline');
  const expected: Record<string, unknown> = {};
  if ((v.snp ?? []).length > 0)
    expected['snp'] = (v.snp ?? []).map((s) => {
      const [shape, digest] = pair(s, 'snp');
      return { shape, launch_digest: digest };
    });
  if (v['tdx-mrtd'] !== undefined || v['tdx-rtmr1'] !== undefined || v['tdx-rtmr2'] !== undefined)
    expected['tdx'] = { mrtd: v['tdx-mrtd'], rtmr1: v['tdx-rtmr1'], rtmr2: v['tdx-rtmr2'] };
  if ((v['azure-pcr'] ?? []).length > 0)
    expected['azure'] = {
      pcrs: Object.fromEntries((v['azure-pcr'] ?? []).map((s) => pair(s, 'azure-pcr'))),
    };
  const version = need('version');
  const manifest = {
    schema: 'teechat-release-manifest/v1',
    version,
    source: { repository: need('repository'), commit: need('commit'), tag: `v${version}` },
    image: {
      ovmf_sha256: sha256File(need('ovmf')),
      kernel_sha256: sha256File(need('kernel')),
      initrd_sha256: sha256File(need('initrd')),
      cmdline,
      cmdline_sha256: createHash('sha256').update(cmdline, 'utf8').digest('hex'),
      vcpu_shapes: shapes,
    },
    expected,
    model: {
      repository: need('model-repository'),
      revision: need('model-revision'),
      file: need('model-file'),
      sha256: sha256File(need('model')),
      dm_verity_root: v['dm-verity-root'] ?? null,
    },
    server: { build_sha256: sha256File(need('server-build')) },
    policy_floors:
      v.floors !== undefined ? (JSON.parse(readFileSync(v.floors, 'utf8')) as unknown) : {},
    issued_at:
      v['issued-at'] ??
      now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
  };
  const text = JSON.stringify(manifest, null, 2) + '\n';
  parseReleaseManifest(text); // throws ProtocolError naming the field
  return text;
}

class UsageError extends Error {}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  try {
    const text = buildManifest(argv);
    const i = argv.indexOf('--out');
    const out = i >= 0 ? argv[i + 1] : undefined;
    if (out !== undefined) writeFileSync(out, text);
    else process.stdout.write(text);
  } catch (e) {
    const usage = e instanceof UsageError || (e instanceof TypeError && 'code' in e);
    process.stderr.write(`release-manifest: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(usage ? 2 : 1);
  }
}
