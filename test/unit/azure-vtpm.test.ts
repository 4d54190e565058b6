/**
 * The Azure vTPM provider against a fake tpm2-tools: the fake plays Azure's paravisor with the
 * simulated SNP chain (HCL report whose SNP REPORT_DATA binds the runtime claims with a test AK)
 * and signs TPM quotes with that AK over the requested nonce. The real verifier then checks it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeProvider } from '../../protocol-node/crypto-node';
import {
  AzureVtpmError,
  AzureVtpmProvider,
  AZURE_NV,
} from '../../enclave-server/evidence/azure-vtpm';
import type { CommandRunner } from '../../enclave-server/evidence/azure-vtpm';
import { SimulatedSnpProvider, simulatedArkCrl } from '../../enclave-server/evidence/simulated-snp';
import { verifyAzureHclEvidence } from '../../protocol/attestation/azure/verify';
import { DEFAULT_POLICY, mergePolicy } from '../../protocol/attestation/policy';
import type { BindingValues } from '../../protocol/attestation/types';
import { toPem } from '../../enclave-server/evidence/x509-writer';
import { parseSpki } from '../../protocol/x509/index';
import { parseDer } from '../../protocol/asn1/der';

const DEV = mergePolicy(DEFAULT_POLICY, { allowSimulated: true });
const binding = (n: number): BindingValues => ({
  cpuReportData: new Uint8Array(64).fill(n),
  gpuNonce: new Uint8Array(32),
});

function hclReport(
  sim: SimulatedSnpProvider,
  akPubJwk: { n: string; e: string },
  userData: Uint8Array,
): Uint8Array {
  const claims = JSON.stringify({
    keys: [{ kid: 'HCLAkPub', key_ops: ['sign'], kty: 'RSA', e: akPubJwk.e, n: akPubJwk.n }],
    'vm-configuration': { 'secure-boot': true, 'tpm-enabled': true },
    'user-data': Buffer.from(userData).toString('hex').toUpperCase(),
  });
  const varData = Buffer.from(claims);
  const rd = new Uint8Array(64);
  rd.set(createHash('sha256').update(varData).digest());
  const out = new Uint8Array(2600);
  const dv = new DataView(out.buffer);
  out.set(Buffer.from('HCLA'), 0);
  dv.setUint32(4, 2, true);
  dv.setUint32(8, 0x4d4 + varData.length, true);
  dv.setUint32(12, 2, true);
  out.set(sim.report(rd), 0x20);
  dv.setUint32(0x4c0, 20 + varData.length, true);
  dv.setUint32(0x4c4, 1, true);
  dv.setUint32(0x4c8, 2, true);
  dv.setUint32(0x4cc, 1, true);
  dv.setUint32(0x4d0, varData.length, true);
  out.set(varData, 0x4d4);
  return out;
}

function tpmQuote(nonce: Uint8Array, pcrs: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(pcrs).digest();
  const b: number[] = [
    0xff,
    0x54,
    0x43,
    0x47,
    0x80,
    0x18,
    0x00,
    0x22,
    0x00,
    0x0b,
    ...new Array(32).fill(0xab),
  ];
  b.push(nonce.length >> 8, nonce.length & 0xff, ...nonce);
  b.push(...new Array(8).fill(0), 0, 0, 0, 3, 0, 0, 0, 1, 1); // clock, reset, restart, safe
  b.push(...new Array(8).fill(0x20)); // firmware
  b.push(0, 0, 0, 1, 0x00, 0x0b, 3, 0xff, 0xff, 0xff); // one sha256 selection of PCR 0..23
  b.push(0, 32, ...digest);
  return Uint8Array.from(b);
}

/** A fake tpm2-tools: records the commands, writes the outputs the real tools would. */
function fakeTools(
  sim: SimulatedSnpProvider,
  ak: KeyObject,
  akJwk: { n: string; e: string },
  log: string[][],
  opts: { wrongNonce?: boolean } = {},
): CommandRunner {
  const pcrs = new Uint8Array(24 * 32).map((_, i) => (i * 7) & 0xff);
  let userData = new Uint8Array(64);
  return async (cmd, args) => {
    log.push([cmd, ...args]);
    const arg = (f: string): string => args[args.indexOf(f) + 1]!;
    if (cmd === 'tpm2_nvwrite') {
      userData = new Uint8Array(readFileSync(arg('-i')));
    } else if (cmd === 'tpm2_nvread') {
      assert.equal(args[2], AZURE_NV.HCL_REPORT);
      writeFileSync(arg('-o'), hclReport(sim, akJwk, userData));
    } else if (cmd === 'tpm2_quote') {
      const nonce = Uint8Array.from(Buffer.from(arg('-q'), 'hex'));
      if (opts.wrongNonce) nonce[0]! ^= 1;
      const msg = tpmQuote(nonce, pcrs);
      writeFileSync(arg('-m'), msg);
      writeFileSync(arg('-s'), sign('sha256', msg, ak));
      writeFileSync(arg('-o'), pcrs);
    } else throw new Error(`unexpected ${cmd}`);
    return { stdout: '', stderr: '' };
  };
}

describe('Azure vTPM provider (tpm2-tools route)', () => {
  let sim: SimulatedSnpProvider;
  let ak: KeyObject;
  let akJwk: { n: string; e: string };
  before(async () => {
    sim = await SimulatedSnpProvider.create({ product: 'milan', rsaBits: 2048 });
    // DER at generation time (Node 20: no JWK export after generation); n/e read with our SPKI parser.
    const kp = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    });
    ak = createPrivateKey({ key: kp.privateKey, format: 'der', type: 'pkcs8' });
    const pub = parseSpki(parseDer(new Uint8Array(kp.publicKey)));
    assert.ok(pub.kind === 'rsa');
    akJwk = {
      n: Buffer.from(pub.n).toString('base64url'),
      e: Buffer.from(pub.e).toString('base64url'),
    };
  });

  test('collects HCL report, quote over the binding, PCRs and cached certificates; the verifier accepts it', async () => {
    const log: string[][] = [];
    const chainPem = toPem(sim.chain.vcek) + toPem(sim.chain.ask) + toPem(sim.chain.ark);
    let thimCalls = 0;
    // The operator's cache (`teechat-server collateral fetch`) holds the ARK-signed CRL.
    const certDir = mkdtempSync(join(tmpdir(), 'teechat-azure-certs-'));
    after(() => rmSync(certDir, { recursive: true, force: true }));
    writeFileSync(join(certDir, 'crl.der'), simulatedArkCrl(sim.chain, [], new Date()));
    const p = new AzureVtpmProvider({
      certDir,
      run: fakeTools(sim, ak, akJwk, log),
      fetchThim: async () => {
        thimCalls++;
        return Buffer.from(
          JSON.stringify({
            vcekCert: toPem(sim.chain.vcek),
            certificateChain: toPem(sim.chain.ask) + toPem(sim.chain.ark),
          }),
        );
      },
    });
    const [item] = await p.collect(binding(6));
    assert.deepEqual([...item!.parts.keys()].sort(), [
      'crl',
      'hcl',
      'pcrs',
      'tpm_quote',
      'tpm_signature',
      'vcek',
    ]);
    assert.equal(
      Buffer.from(item!.parts.get('vcek')!).toString().replace(/\s/g, ''),
      chainPem.replace(/\s/g, ''),
    );
    assert.deepEqual(
      log.map((l) => l[0]),
      ['tpm2_nvwrite', 'tpm2_nvread', 'tpm2_quote'],
    );
    assert.ok(
      log[2]!.includes('0x81000003') && log[2]!.includes('plain') && log[2]!.includes('values'),
    );
    const r = verifyAzureHclEvidence(
      item!,
      { crypto: nodeProvider, now: () => new Date() },
      DEV,
      binding(6),
    );
    assert.deepEqual(
      r.checks.filter((c) => !c.ok),
      [],
    );
    assert.equal(r.ok, true);
    assert.equal(r.simulated, true);
    assert.equal(
      (r.fields['hcl'] as { user_data: string }).user_data,
      '06'.repeat(64).toUpperCase(),
    );
    // Another session's binding is refused; the production policy refuses the simulated root.
    assert.deepEqual(
      [
        ...new Set(
          verifyAzureHclEvidence(
            item!,
            { crypto: nodeProvider, now: () => new Date() },
            DEV,
            binding(7),
          )
            .checks.filter((c) => !c.ok)
            .map((c) => c.id),
        ),
      ],
      ['report_data'],
    );
    assert.equal(
      verifyAzureHclEvidence(
        item!,
        { crypto: nodeProvider, now: () => new Date() },
        DEFAULT_POLICY,
        binding(6),
      ).ok,
      false,
    );
    await p.collect(binding(8));
    assert.equal(thimCalls, 1, 'THIM certificates are fetched once');
  });

  test('a quote that does not carry the binding is not served', async () => {
    const p = new AzureVtpmProvider({
      run: fakeTools(sim, ak, akJwk, [], { wrongNonce: true }),
      writeUserData: false,
    });
    await assert.rejects(
      p.collect(binding(1)),
      (e: unknown) => e instanceof AzureVtpmError && /extraData: expected/.test(e.message),
    );
  });

  test('a failing tpm2 tool fails the collection (fail closed)', async () => {
    const p = new AzureVtpmProvider({
      run: async (cmd) => {
        if (cmd === 'tpm2_nvread') throw new AzureVtpmError('tpm2_nvread: ERROR: Tss2_Sys_NV_Read');
        return { stdout: '', stderr: '' };
      },
    });
    await assert.rejects(p.collect(binding(1)), /Tss2_Sys_NV_Read/);
  });
});
