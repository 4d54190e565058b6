/**
 * TDX direct boot RTMR1/RTMR2 (protocol/measure/tdx-boot.ts), their explanation against a CCEL log
 * (protocol/measure/explain-tdx.ts) and the CLIs `teechat measure tdx --kernel …` and
 * `teechat attest explain tdx`.
 *
 * Sources of the expected values (facts, no code copied):
 * - Authenticode: osslsigncode (an independent implementation; Debian package `osslsigncode`)
 *   signs synthetic PE32/PE32+ images with `-h sha384` and its "Calculated message digest" must
 *   equal ours, for the unsigned and the signed file. Two values from osslsigncode 2.9 are pinned so
 *   the check also runs where osslsigncode is absent.
 * - RTMR1's four TDVF events, their order and RTMR2's two EFI-stub tagged events: the CCEL logs
 *   lunal-dev/attestation-rs@e0ea7e9245 crates/attestation/test_data/tdx_ccel_live{,2}.* and
 *   google/go-tdx-guest@91f9a52f36 testing/testdata/ccel/ccel_data.dat (../shared/vectors/tdx), whose
 *   RTMR1 replays to the quote tdx_quote_live.dat; the algorithm from Dstack-TEE/dstack@312dc605
 *   dstack/dstack-mr/src/kernel.rs and virtee/tdx-measure@2a67baf0 src/kernel.rs.
 * - QEMU setup-header patch: dstack-mr's own unit test (kernel.rs,
 *   tdx_kernel_patch_uses_precomputed_digest_at_2g_and_high_memory) states which memory sizes give
 *   the same initrd address; the field values follow QEMU's x86_load_linux.
 * No published RTMR1/RTMR2 exists for a kernel these tests can read offline (dstack-mr's published
 * values are for the dstack 0.5.5 release image, tests/tdvf_parse.rs, which is not available here).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ProtocolError } from '../../protocol/errors';
import { parseCcel, type CcelLog, type CcelEvent } from '../../protocol/attestation/tdx/ccel';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import {
  authenticodeDigest,
  EV_EFI_BOOT_SERVICES_APPLICATION,
  EV_EVENT_TAG,
  extendRtmr,
  measureTdxDirectBoot,
  parsePeLayout,
  patchKernelLikeQemu,
  rtmr1FirmwareEvents,
  TAG_LINUX_INITRD,
  TAG_LOAD_OPTIONS,
  utf16leNul,
} from '../../protocol/measure/tdx-boot';
import { explainTdxBoot, loggedEvents } from '../../protocol/measure/explain-tdx';
import { measureCommand } from '../../client/cli/measure';
import { explainCommand } from '../../client/cli/measure-explain';
import { repoRoot, sharedPath, skipUnlessShared } from '../helpers/shared';
import { makePe } from '../helpers/pe';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha384 = (b: Uint8Array | string): Uint8Array => new Uint8Array(createHash('sha384').update(b).digest());

const fetched = spawnSync('sh', [join(repoRoot, 'scripts', 'fetch-ovmf.sh')], { encoding: 'utf8', timeout: 120_000 });
const debDir = fetched.status === 0 && existsSync(join(fetched.stdout.trim(), 'OVMF.fd')) ? fetched.stdout.trim() : null;
const skipDeb = debDir === null ? 'SKIPPED: Debian ovmf could not be fetched (scripts/fetch-ovmf.sh; CI must)' : false;
if (skipDeb) console.error(skipDeb);

const tmp = mkdtempSync(join(tmpdir(), 'teechat-tdxboot-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('PE/COFF Authenticode SHA-384', () => {
  test('pinned osslsigncode 2.9 digests (8-byte aligned file, and one padded to 8)', () => {
    assert.equal(
      hex(authenticodeDigest(makePe({ seed: 7, extra: 0x800 }))),
      '526be1c1045b844b434c69873bb58c3518ba45d0aa21972a9ca657595616d4e504e1a8978860cb3d4d4a097f414e8569',
    );
    assert.equal(
      hex(authenticodeDigest(makePe({ seed: 9, extra: 0x805 }))),
      '06d68c35b9095b6b2320226ed1f65747df3fc6716b99af6b6da380311b7ae26eaf3d1c95737b0e6e2e4c9bfca0321c5e',
    );
  });

  const tool = spawnSync('osslsigncode', ['--version'], { encoding: 'utf8' }).status === 0 && spawnSync('openssl', ['version']).status === 0;
  const skipTool = tool ? false : 'SKIPPED: osslsigncode/openssl absent (Debian package osslsigncode; CI installs it)';
  if (skipTool) console.error(skipTool);
  test('equals osslsigncode\'s calculated digest, unsigned and signed, PE32 and PE32+', { skip: skipTool }, () => {
    const key = join(tmp, 'k.pem');
    const cert = join(tmp, 'c.pem');
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=teechat-test', '-days', '2'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(gen.status, 0, gen.stderr);
    for (const [i, o] of [
      { seed: 1, extra: 0x1000 },
      { seed: 2, extra: 0x333, pe32Plus: false },
      { seed: 3, extra: 0x7 },
    ].entries()) {
      const f = join(tmp, `k${i}.efi`);
      const sf = join(tmp, `k${i}.signed.efi`);
      const img = makePe(o);
      writeFileSync(f, img);
      const s = spawnSync('osslsigncode', ['sign', '-h', 'sha384', '-certs', cert, '-key', key, '-in', f, '-out', sf], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(s.status, 0, s.stderr + s.stdout);
      const ver = spawnSync('osslsigncode', ['verify', '-in', sf], { encoding: 'utf8', timeout: 60_000 });
      const m = /Calculated message digest\s*:\s*([0-9A-Fa-f]{96})/.exec(ver.stdout);
      assert.ok(m, ver.stdout + ver.stderr);
      assert.equal(hex(authenticodeDigest(img)), m[1]!.toLowerCase(), `unsigned #${i}`);
      assert.equal(hex(authenticodeDigest(new Uint8Array(readFileSync(sf)))), m[1]!.toLowerCase(), `signed #${i} (certificate table excluded)`);
    }
  });

  test('CheckSum and the certificate directory entry are excluded; any other header byte counts', () => {
    const img = makePe({ seed: 5, extra: 0x100 });
    const l = parsePeLayout(img);
    const base = hex(authenticodeDigest(img));
    const flip = (at: number): string => {
      const c = img.slice();
      c[at] = c[at]! ^ 1;
      return hex(authenticodeDigest(c));
    };
    assert.equal(flip(l.checksumOffset), base);
    assert.equal(flip(l.certDirOffset + 4), base);
    assert.notEqual(flip(l.checksumOffset + 4), base);
    assert.notEqual(flip(l.certDirOffset - 1), base);
    assert.notEqual(flip(0x210), base, 'the setup header is inside the hashed headers');
    assert.notEqual(flip(img.length - 1), base);
  });

  test('not a PE image: typed errors naming the field', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(10), /pe\.dos_signature/],
      [(() => { const b = makePe({ seed: 1, extra: 0 }); b[0x80] = 0; return b; })(), /pe\.signature: expected "the PE signature 0x4550", got "0x4500"/],
      [(() => { const b = makePe({ seed: 1, extra: 0 }); b[0x98] = 0x07; b[0x99] = 0x01; return b; })(), /pe\.optional\.magic: expected "0x10b \(PE32\) or 0x20b \(PE32\+\)", got "0x107"/],
      [(() => { const b = makePe({ seed: 1, extra: 0 }); new DataView(b.buffer).setUint32(0x3c, 0xfffff, true); return b; })(), /pe\.signature: expected "4 bytes/],
      [(() => { const b = makePe({ seed: 1, extra: 0 }); new DataView(b.buffer).setUint32(0x98 + 60, 0x100000, true); return b; })(), /pe\.optional\.size_of_headers/],
    ];
    for (const [b, re] of cases) assert.throws(() => authenticodeDigest(b), (e: unknown) => e instanceof ProtocolError && re.test(e.message));
  });

  test('property: only ProtocolError on random and mutated input', () => {
    const seed = makePe({ seed: 11, extra: 0x40 });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }).map((m) => {
        const c = seed.slice();
        for (const [i, x] of m) c[i] = x;
        return c;
      })), (b) => {
        try {
          authenticodeDigest(b);
          patchKernelLikeQemu(b, { initrdSize: 100, memoryBytes: 1n << 31n });
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('QEMU setup-header patch', () => {
  const k = makePe({ seed: 3, extra: 0x100 });
  const addr = (m: bigint): number => patchKernelLikeQemu(k, { initrdSize: 0x100000, memoryBytes: m }).initrdAddress!;
  test('fields: type_of_loader, CAN_USE_HEAP, heap_end_ptr, cmd_line_ptr, ramdisk image/size', () => {
    const p = patchKernelLikeQemu(k, { initrdSize: 0x123456, memoryBytes: 4n << 30n });
    const v = new DataView(p.image.buffer);
    assert.equal(p.image[0x210], 0xb0);
    assert.equal(p.image[0x211]! & 0x81, 0x81);
    assert.equal(v.getUint32(0x224, true), 0x20000 - 0x10000 - 0x200);
    assert.equal(v.getUint32(0x228, true), 0x20000);
    // ≥ 2.75 GiB: 2 GiB below 4G; initrd_max = 2 GiB − 0x28000 − 1; address page-aligned below it.
    assert.equal(p.initrdAddress, ((0x8000_0000 - 0x28000 - 1 - 0x123456) & ~4095) >>> 0);
    assert.equal(v.getUint32(0x218, true), p.initrdAddress);
    assert.equal(v.getUint32(0x21c, true), 0x123456);
    assert.equal(hex(k.subarray(0, 0x200)), hex(p.image.subarray(0, 0x200)), 'nothing before the setup header changes');
  });
  test('dstack-mr\'s memory classes: 2 GiB, 2.75 GiB and above agree; just below each differs', () => {
    assert.notEqual(addr(0x8000_0000n - 0x1000n), addr(0x8000_0000n));
    assert.notEqual(addr(0xb000_0000n - 0x1000n), addr(0xb000_0000n));
    assert.equal(addr(0x8000_0000n), addr(0xb000_0000n));
    assert.equal(addr(0xb000_0000n), addr(0xb000_0000n + 0x4000_0000n));
  });
  test('bad input: no HdrS, too short, initrd too large, ACPI larger than RAM', () => {
    const noHdr = k.slice();
    noHdr[0x202] = 0;
    assert.throws(() => patchKernelLikeQemu(noHdr, { initrdSize: 1, memoryBytes: 1n << 31n }), /kernel\.setup_header\.header: expected "HdrS/);
    assert.throws(() => patchKernelLikeQemu(k.subarray(0, 0x800), { initrdSize: 1, memoryBytes: 1n << 31n }), /kernel: expected "≥ 4096 bytes/);
    assert.throws(() => patchKernelLikeQemu(k, { initrdSize: 0x7fff_0000, memoryBytes: 1n << 31n }), /initrd\.size: expected "< /);
    assert.throws(() => patchKernelLikeQemu(k, { initrdSize: 1, memoryBytes: 0x10000n }), /acpi_data_size/);
  });
});

describe('RTMR1 / RTMR2 event sequences', () => {
  test('command line: OVMF\'s " initrd=initrd", UTF-16LE with a NUL code unit', () => {
    assert.equal(hex(utf16leNul('a€')), '6100ac200000');
    const r = measureTdxDirectBoot({ kernelDigest: new Uint8Array(48), initrd: new Uint8Array([1, 2, 3]), append: 'console=ttyS0' });
    assert.equal(r.loadOptions, 'console=ttyS0 initrd=initrd');
    assert.equal(hex(r.rtmr2Events[0]!.digest), hex(sha384(Buffer.from('console=ttyS0 initrd=initrd\0', 'utf16le'))));
    assert.equal(hex(r.rtmr2Events[1]!.digest), hex(sha384(new Uint8Array([1, 2, 3]))));
    const ext = (a: Uint8Array, d: Uint8Array): Uint8Array => sha384(Buffer.concat([a, d]));
    assert.equal(hex(r.rtmr2), hex(ext(ext(new Uint8Array(48), r.rtmr2Events[0]!.digest), r.rtmr2Events[1]!.digest)));
  });
  test('qemu-patched needs the memory size; raw does not; the two differ', () => {
    const kernel = makePe({ seed: 4, extra: 0x200 });
    const initrd = new Uint8Array(5000);
    assert.throws(() => measureTdxDirectBoot({ kernel, initrd, append: '' }), /memory: expected "the guest RAM size/);
    const raw = measureTdxDirectBoot({ kernel, initrd, append: '', kernelLoad: 'raw' });
    assert.equal(hex(raw.kernelDigest), hex(authenticodeDigest(kernel)));
    const patched = measureTdxDirectBoot({ kernel, initrd, append: '', memoryBytes: 2n << 30n });
    assert.notEqual(hex(patched.rtmr1), hex(raw.rtmr1));
    assert.equal(hex(patched.rtmr2), hex(raw.rtmr2));
  });
  test('a file that is not a PE kernel: error, no value', () => {
    assert.throws(() => measureTdxDirectBoot({ kernel: new Uint8Array(8192), initrd: new Uint8Array(1), append: '', memoryBytes: 1n << 31n }), /pe\.dos_signature/);
  });
});

const skipVec = skipUnlessShared('vectors', 'tdx', 'lunal-attestation-rs', 'tdx_ccel_live2.dat');
describe('against real CCEL logs', { skip: skipVec }, () => {
  if (skipVec) return;
  const live2 = parseCcel(new Uint8Array(readFileSync(sharedPath('vectors', 'tdx', 'lunal-attestation-rs', 'tdx_ccel_live2.dat')!)));
  const quote = parseTdxQuote(new Uint8Array(readFileSync(sharedPath('vectors', 'tdx', 'lunal-attestation-rs', 'tdx_quote_live.dat')!)));
  test('the four TDVF events equal the logged ones (lunal live, live2; go-tdx-guest COS)', () => {
    const fw = rtmr1FirmwareEvents().map((e) => hex(e.digest));
    for (const f of [['lunal-attestation-rs', 'tdx_ccel_live.bin'], ['lunal-attestation-rs', 'tdx_ccel_live2.dat'], ['go-tdx-guest', 'ccel', 'ccel_data.dat']]) {
      const log = parseCcel(new Uint8Array(readFileSync(sharedPath('vectors', 'tdx', ...f)!)));
      const logged = loggedEvents(log, 2).filter((e) => e.eventType !== EV_EFI_BOOT_SERVICES_APPLICATION && e.eventType !== 0x80000006).map((e) => hex(e.digest));
      assert.deepEqual(logged, fw, f.join('/'));
    }
  });
  test('direct boot order: kernel, 4 TDVF events → the quote\'s RTMR1; stub events LoadOptions then initrd → RTMR2', () => {
    const l1 = loggedEvents(live2, 2);
    assert.equal(l1[0]!.eventType, EV_EFI_BOOT_SERVICES_APPLICATION);
    const r = measureTdxDirectBoot({ kernelDigest: l1[0]!.digest, initrd: new Uint8Array(0), append: '' });
    assert.equal(hex(r.rtmr1), hex(quote.body.rtmrs[1]));
    const l2 = loggedEvents(live2, 3);
    assert.deepEqual(l2.map((e) => [e.eventType, e.tag]), [[EV_EVENT_TAG, TAG_LOAD_OPTIONS], [EV_EVENT_TAG, TAG_LINUX_INITRD]]);
    assert.equal(hex(extendRtmr(l2.map((e) => e.digest))), hex(quote.body.rtmrs[2]));
  });
  test('explain: the kernel digest matches; the command line and initrd (unknown here) are named as differing', () => {
    const l1 = loggedEvents(live2, 2);
    const r = explainTdxBoot(live2, { kernelDigest: l1[0]!.digest, initrd: new Uint8Array(1), append: 'console=ttyS0' }, quote.body.rtmrs);
    assert.equal(r.match, false);
    assert.deepEqual(r.rtmrs.map((x) => x.same), [true, false]);
    assert.deepEqual(r.inputs.map((i) => [i.input, i.same]), [['kernel', true], ['firmware', true], ['cmdline', false], ['initrd', false]]);
    assert.equal(r.inputs[2]!.event, 16);
    assert.match(r.verdict, /cmdline \(RTMR2, log event #16\) differs: the log holds only the digest/);
  });
  test('CLI attest explain tdx --quote --tdvf: the quote replays; MRTD of another TDVF is named as differing', { skip: skipDeb }, async () => {
    const ccel = sharedPath('vectors', 'tdx', 'lunal-attestation-rs', 'tdx_ccel_live2.dat')!;
    const q = sharedPath('vectors', 'tdx', 'lunal-attestation-rs', 'tdx_quote_live.dat')!;
    const k = join(tmp, 'lunal-k.efi');
    writeFileSync(k, makePe({ seed: 30, extra: 0x100 }));
    let out = '';
    let err = '';
    const io = { out: (x: string): void => void (out += x), err: (x: string): void => void (err += x) };
    const code = await explainCommand(['tdx', '--ccel', ccel, '--quote', q, '--tdvf', join(debDir!, 'OVMF.fd'), '--kernel', k, '--initrd', k, '--append', '', '--memory', '4G', '--json'], io);
    assert.equal(code, 1, err);
    const j = JSON.parse(out) as { quoteChecked: boolean; match: boolean; mrtd: { same: boolean; quoted: string; hint: string } };
    assert.equal(j.quoteChecked, true);
    assert.equal(j.match, false);
    assert.equal(j.mrtd.quoted, hex(quote.body.mrTd));
    assert.equal(j.mrtd.same, false);
    assert.match(j.mrtd.hint, /the TDVF image differs/);
    out = '';
    err = '';
    assert.equal(await explainCommand(['tdx', '--ccel', ccel, '--tdvf', k, '--kernel', k, '--initrd', k, '--append', '', '--memory', '4G'], io), 2);
    assert.match(err, /--tdvf: expected --quote with it/);
  });
  test('explain: a log that does not replay to the quote is refused', () => {
    const other = parseTdxQuote(new Uint8Array(readFileSync(sharedPath('vectors', 'tdx', 'trustee', 'tdx_quote_4.dat')!)));
    assert.throws(
      () => explainTdxBoot(live2, { kernelDigest: new Uint8Array(48), initrd: new Uint8Array(1), append: '' }, other.body.rtmrs),
      (e: unknown) => e instanceof ProtocolError && e.code === 'binding_mismatch' && /ccel\.rtmr1: expected "the log to replay to the quote's RTMR1/.test(e.message),
    );
  });
});

// ---- a synthetic direct-boot log: every input known, so every difference can be provoked ----

function ccelBytes(events: { mr: number; type: number; digest: Uint8Array; data: Uint8Array }[]): Uint8Array {
  const spec = Buffer.alloc(33);
  spec.write('Spec ID Event03\0', 0, 'latin1');
  spec[21] = 2;
  spec[23] = 2;
  spec.writeUInt32LE(1, 24);
  spec.writeUInt16LE(0x000c, 28);
  spec.writeUInt16LE(48, 30);
  const hdr = Buffer.alloc(32);
  hdr.writeUInt32LE(3, 4);
  hdr.writeUInt32LE(spec.length, 28);
  const parts: Buffer[] = [hdr, spec];
  for (const e of events) {
    const h = Buffer.alloc(14);
    h.writeUInt32LE(e.mr, 0);
    h.writeUInt32LE(e.type, 4);
    h.writeUInt32LE(1, 8);
    h.writeUInt16LE(0x000c, 12);
    const sz = Buffer.alloc(4);
    sz.writeUInt32LE(e.data.length, 0);
    parts.push(h, Buffer.from(e.digest), sz, Buffer.from(e.data));
  }
  return new Uint8Array(Buffer.concat(parts));
}

function tagged(tag: number, name: string): Uint8Array {
  const b = Buffer.alloc(8 + name.length + 1);
  b.writeUInt32LE(tag, 0);
  b.writeUInt32LE(name.length + 1, 4);
  b.write(name, 8, 'latin1');
  return b;
}

describe('explain a synthetic direct boot, input by input', () => {
  const kernel = makePe({ seed: 21, extra: 0x3000 });
  const initrd = new Uint8Array(Buffer.from('an initrd'));
  const append = 'console=ttyS0 root=/dev/vda1';
  const mem = 0xb000_0000n;
  const truth = measureTdxDirectBoot({ kernel, initrd, append, memoryBytes: 1n << 31n });
  const logBytes = ccelBytes([
    { mr: 1, type: 0x80000001, digest: sha384('rtmr0'), data: new Uint8Array(4) },
    { mr: 2, type: EV_EFI_BOOT_SERVICES_APPLICATION, digest: truth.rtmr1Events[0]!.digest, data: new Uint8Array(8) },
    ...truth.rtmr1Events.slice(1).map((e) => ({ mr: 2, type: e.eventType, digest: e.digest, data: new Uint8Array(4) })),
    { mr: 3, type: EV_EVENT_TAG, digest: truth.rtmr2Events[0]!.digest, data: tagged(TAG_LOAD_OPTIONS, 'LOADED_IMAGE::LoadOptions') },
    { mr: 3, type: EV_EVENT_TAG, digest: truth.rtmr2Events[1]!.digest, data: tagged(TAG_LINUX_INITRD, 'Linux initrd') },
  ]);
  const log: CcelLog = parseCcel(logBytes);
  const logFile = join(tmp, 'synthetic.ccel');
  writeFileSync(logFile, logBytes);
  const kFile = join(tmp, 'vmlinuz');
  writeFileSync(kFile, kernel);
  const iFile = join(tmp, 'initrd');
  writeFileSync(iFile, initrd);

  test('the true inputs match (2 GiB and ≥ 2.75 GiB give the same patched kernel)', () => {
    assert.equal(explainTdxBoot(log, { kernel, initrd, append, memoryBytes: mem }).match, true);
  });
  test('wrong memory class: named, with the size that reproduces it', () => {
    const r = explainTdxBoot(log, { kernel, initrd, append, memoryBytes: 1n << 30n });
    assert.equal(r.match, false);
    const k = r.inputs.find((i) => i.input === 'kernel')!;
    assert.equal(k.same, false);
    assert.match(k.hint!, /matches with --kernel-load qemu-patched --memory 2G/);
  });
  test('raw vs patched kernel load: named', () => {
    const r = explainTdxBoot(log, { kernel, initrd, append, kernelLoad: 'raw' });
    assert.match(r.inputs.find((i) => i.input === 'kernel')!.hint!, /--kernel-load qemu-patched --memory 2G/);
  });
  test('another kernel: no mode or size reproduces it', () => {
    const r = explainTdxBoot(log, { kernel: makePe({ seed: 22, extra: 0x3000 }), initrd, append, memoryBytes: mem });
    assert.match(r.inputs.find((i) => i.input === 'kernel')!.hint!, /the kernel file differs/);
    assert.deepEqual(r.inputs.filter((i) => !i.same).map((i) => i.input), ['kernel']);
  });
  test('command line: a trailing space is found by the trimmed variant; initrd named alone', () => {
    let r = explainTdxBoot(log, { kernel, initrd, append: `${append} `, memoryBytes: mem });
    assert.deepEqual(r.inputs.filter((i) => !i.same).map((i) => i.input), ['cmdline']);
    assert.match(r.verdict, /cmdline \(RTMR2, log event #6\) differs: matches with the command line trimmed/);
    r = explainTdxBoot(log, { kernel, initrd: new Uint8Array(Buffer.from('another initrd')), append, memoryBytes: mem });
    const bad = r.inputs.filter((i) => !i.same);
    // The initrd size is patched into the kernel header too: both are named.
    assert.deepEqual(bad.map((i) => i.input), ['kernel', 'initrd']);
  });
  test('a GRUB-style log (extra events) is named as another boot path', () => {
    const grub: CcelLog = { ...log, events: [...log.events, { mrIndex: 2, eventType: EV_EFI_BOOT_SERVICES_APPLICATION, digests: new Map([[0x000c, sha384('grub')]]), data: new Uint8Array(0) } as CcelEvent] };
    const r = explainTdxBoot(grub, { kernel, initrd, append, memoryBytes: mem });
    assert.equal(r.match, false);
    assert.match(r.verdict, /firmware \(RTMR1\) differs: the log's RTMR1 has 2 EFI application event\(s\)/);
  });

  async function run(f: typeof measureCommand, args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await f(args, { out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  }
  test('CLI measure tdx --kernel: RTMR1/RTMR2 on stdout, --expect-rtmr1/2, --json', async () => {
    const base = ['tdx', '--kernel', kFile, '--initrd', iFile, '--append', append, '--memory', '3G'];
    let r = await run(measureCommand, base);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `RTMR1  ${hex(truth.rtmr1)}  (computed: kernel qemu-patched)\nRTMR2  ${hex(truth.rtmr2)}  (computed)\n`);
    r = await run(measureCommand, [...base, '--expect-rtmr1', hex(truth.rtmr1), '--expect-rtmr2', 'ab'.repeat(48)]);
    assert.equal(r.code, 1);
    assert.match(r.out, /RTMR2 DIFFERS: expected (ab)+, computed /);
    r = await run(measureCommand, [...base, '--json']);
    const j = JSON.parse(r.out) as { directBoot: { rtmr1: string; loadOptions: string; rtmr1Events: unknown[] } };
    assert.equal(j.directBoot.rtmr1, hex(truth.rtmr1));
    assert.equal(j.directBoot.loadOptions, `${append} initrd=initrd`);
    assert.equal(j.directBoot.rtmr1Events.length, 5);
    r = await run(measureCommand, [...base, '--ccel', logFile]);
    assert.equal(r.code, 0, r.out + r.err);
  });
  test('CLI usage and input errors: exit 2 / 1, nothing on stdout', async () => {
    const cases: [string[], number, RegExp][] = [
      [['tdx', '--kernel', kFile, '--append', ''], 2, /--initrd: expected it/],
      [['tdx', '--kernel', kFile, '--initrd', iFile], 2, /--append: expected/],
      [['tdx', '--kernel', kFile, '--initrd', iFile, '--append', ''], 2, /--memory: expected the guest RAM size/],
      [['tdx', '--kernel', kFile, '--initrd', iFile, '--append', '', '--memory', '2048'], 2, /--memory: expected a size with a unit/],
      [['tdx', '--kernel', kFile, '--initrd', iFile, '--append', '', '--kernel-load', 'odd'], 2, /--kernel-load: expected qemu-patched or raw/],
      [['tdx', '--tdvf', kFile, '--initrd', iFile], 2, /expected --kernel with them/],
      [['tdx', '--tdvf', kFile, '--expect-rtmr1', 'ab'.repeat(48)], 2, /--expect-rtmrN: expected --ccel/],
      [['tdx', '--kernel', join(tmp, 'absent'), '--initrd', iFile, '--append', '', '--memory', '2G'], 1, /--kernel: cannot read/],
      [['tdx', '--kernel', iFile, '--initrd', iFile, '--append', '', '--memory', '2G'], 1, /pe\.dos_signature/],
    ];
    for (const [a, code, re] of cases) {
      const r = await run(measureCommand, a);
      assert.equal(r.code, code, a.join(' '));
      assert.equal(r.out, '', a.join(' '));
      assert.match(r.err, re, a.join(' '));
    }
  });
  test('CLI attest explain tdx: exit 0 on match, 1 naming the input, 2 on usage', async () => {
    let r = await run(explainCommand, ['tdx', '--ccel', logFile, '--kernel', kFile, '--initrd', iFile, '--append', append, '--memory', '2G']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /MATCH: the inputs reproduce RTMR1 and RTMR2/);
    r = await run(explainCommand, ['tdx', '--ccel', logFile, '--kernel', kFile, '--initrd', iFile, '--append', 'console=tty0', '--memory', '2G', '--json']);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out) as { kind: string; match: boolean; inputs: { input: string; same: boolean }[] };
    assert.equal(j.kind, 'tdx-explain');
    assert.deepEqual(j.inputs.filter((i) => !i.same).map((i) => i.input), ['cmdline']);
    r = await run(explainCommand, ['tdx', '--kernel', kFile]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--ccel: expected the TD event log/);
  });
});
