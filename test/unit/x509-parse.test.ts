import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { createHash, constants, createPublicKey, verify as nodeVerify } from 'node:crypto';
import {
  basicConstraints,
  keyUsage,
  parseCertificate,
  parsePemOrDer,
  verifyChain,
  verifySignedBy,
  KEY_USAGE_KEY_CERT_SIGN,
} from '../../protocol/x509/index';
import type { Certificate } from '../../protocol/x509/index';
import { parseCrl, verifyCrlSignedBy } from '../../protocol/x509/crl';
import { ProtocolError } from '../../protocol/errors';
import type { CryptoProvider } from '../../protocol/crypto/provider';
import { sharedPath, skipUnlessShared } from '../helpers/shared';

/** Minimal node:crypto verifier (only what X.509 needs), so these tests do not depend on other modules. */
const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const h = (a: string): string => a.replace('-', '').toLowerCase();
const crypto = {
  name: 'test-node',
  hash: (a: string, d: Uint8Array) => new Uint8Array(createHash(h(a)).update(d).digest()),
  ecdsaVerify(
    key: { curve: string; point: Uint8Array },
    hash: string,
    msg: Uint8Array,
    sig: Uint8Array,
  ) {
    const n = key.curve === 'P-256' ? 32 : 48;
    const k = createPublicKey({
      key: {
        kty: 'EC',
        crv: key.curve,
        x: b64u(key.point.subarray(1, 1 + n)),
        y: b64u(key.point.subarray(1 + n)),
      },
      format: 'jwk',
    });
    return nodeVerify(h(hash), msg, { key: k, dsaEncoding: 'ieee-p1363' }, sig);
  },
  rsaVerify(
    key: { n: Uint8Array; e: Uint8Array },
    p: { scheme: string; hash: string; saltLength?: number },
    msg: Uint8Array,
    sig: Uint8Array,
  ) {
    const k = createPublicKey({
      key: { kty: 'RSA', n: b64u(key.n), e: b64u(key.e) },
      format: 'jwk',
    });
    const opts =
      p.scheme === 'pss'
        ? { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: p.saltLength }
        : { key: k, padding: constants.RSA_PKCS1_PADDING };
    return nodeVerify(h(p.hash), msg, opts, sig);
  },
} as unknown as CryptoProvider;

const V = sharedPath('vectors');
const skip = skipUnlessShared('vectors');
const vec = (p: string): Buffer => readFileSync(join(V!, p));
const certs = (p: string): Certificate[] => parsePemOrDer(vec(p));
const one = (p: string): Certificate => certs(p)[0]!;

/** Every file in the vectors that holds certificates or CRLs (by name), walked, not listed by hand. */
function certificateFiles(): { certs: string[]; crls: string[] } {
  const out = { certs: [] as string[], crls: [] as string[] };
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const rel = relative(V!, p);
        if (/crl/i.test(n) && (n.endsWith('.der') || !n.includes('.'))) out.crls.push(rel);
        else if (
          /\.(pem|der|cer|testcer)$/.test(n) ||
          /cert_?chain|certs\d*\.txt|certificate_chain/i.test(n)
        )
          out.certs.push(rel);
      }
    }
  };
  walk(V!);
  return out;
}

describe('x509: every certificate file in the vectors parses', { skip }, () => {
  test('certificates', () => {
    const { certs: files } = certificateFiles();
    assert.ok(files.length >= 60, `found ${files.length} certificate files`);
    let total = 0;
    for (const f of files) {
      const cs = certs(f);
      assert.ok(cs.length >= 1, f);
      total += cs.length;
      for (const c of cs) {
        assert.ok(c.tbs.length > 0 && c.der.length > c.tbs.length, f);
        assert.ok(c.notBefore.getTime() < c.notAfter.getTime(), `${f}: validity order`);
        assert.match(c.subject.toString(), /=/);
      }
    }
    assert.ok(total >= 150, `parsed ${total} certificates`);
  });
  test('CRLs parse and verify under their issuers', () => {
    const { crls } = certificateFiles();
    assert.ok(crls.length >= 4, `found ${crls.length}`);
    for (const f of crls) {
      const crl = parseCrl(vec(f));
      assert.ok(crl.thisUpdate.getTime() > Date.UTC(2020, 0, 1), f);
    }
    const root = one('tdx/intel-ca/Intel_SGX_RootCA.pem');
    const rootCrl = parseCrl(vec('tdx/go-tdx-guest/rootcrl.der'));
    assert.equal(verifyCrlSignedBy(crypto, rootCrl, root), true);
    const tampered = Uint8Array.from(vec('tdx/go-tdx-guest/rootcrl.der'));
    tampered[rootCrl.tbs.byteOffset - rootCrl.der.byteOffset + rootCrl.tbs.length - 3]! ^= 1;
    assert.equal(verifyCrlSignedBy(crypto, parseCrl(tampered), root), false);
  });
});

describe('x509: AMD certificates', { skip }, () => {
  test('VCEK serial number 0 and RSA-PSS SHA-384/MGF1-SHA-384/salt 48', () => {
    const vcek = one('sev-snp/go-sev-guest/vcek.testcer');
    assert.deepEqual([...vcek.serialNumber], [0]);
    assert.equal(vcek.version, 3);
    assert.deepEqual(
      { scheme: vcek.sigAlg.scheme, hash: vcek.sigAlg.hash, salt: vcek.sigAlg.saltLength },
      { scheme: 'rsa-pss', hash: 'SHA-384', salt: 48 },
    );
    assert.equal(vcek.publicKey.kind, 'ec');
    assert.equal(vcek.publicKey.kind === 'ec' && vcek.publicKey.curve, 'P-384');
    assert.equal(vcek.notBefore.toISOString(), '2022-09-24T00:55:28.000Z');
    assert.equal(vcek.notAfter.toISOString(), '2029-09-24T00:55:28.000Z');
    assert.ok(vcek.extensions.has('1.3.6.1.4.1.3704.1.4'));
    assert.match(vcek.subject.toString(), /CN=SEV-VCEK/);
    assert.match(vcek.issuer.toString(), /CN=SEV-Milan/);
  });
  test('ARK: self-signed, CA with keyCertSign', () => {
    for (const p of ['milan', 'genoa', 'turin']) {
      const ark = one(`sev-snp/amd-ca/${p}_ark.pem`);
      assert.equal(verifySignedBy(crypto, ark, ark), true, p);
      assert.deepEqual(basicConstraints(ark), { ca: true, pathLen: undefined });
      assert.ok((keyUsage(ark)! & KEY_USAGE_KEY_CERT_SIGN) !== 0);
      assert.equal(ark.publicKey.kind === 'rsa' && ark.publicKey.n.length, 512);
    }
  });
  test('ASK and ASVK chain to their ARK; not to another product ARK', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    for (const p of ['milan', 'genoa', 'turin']) {
      const ark = one(`sev-snp/amd-ca/${p}_ark.pem`);
      for (const mid of [`${p}_ask.pem`, `${p}_asvk.der`]) {
        const c = one(`sev-snp/amd-ca/${mid}`);
        const ok = verifyChain(crypto, [c], [ark], at);
        assert.deepEqual(ok.problems, [], mid);
        assert.deepEqual(ok.path, [c, ark]);
        assert.equal(ok.root, ark);
        const other = one(`sev-snp/amd-ca/${p === 'milan' ? 'genoa' : 'milan'}_ark.pem`);
        const bad = verifyChain(crypto, [c], [other], at);
        assert.equal(bad.root, undefined);
        assert.match(bad.problems[0]!, /^root: expected a certificate issued by a pinned root/);
      }
    }
  });
  test('every VCEK in the SEV-SNP vectors chains (except the two invalid ones)', () => {
    const kds = (p: string): Certificate[] => certs(`sev-snp/amd-ca/kds_cert_chain_${p}_vcek.pem`);
    const cases: [string, string, string][] = [
      ['sev-snp/go-sev-guest/vcek.testcer', 'milan', '2025-01-01'],
      ['sev-snp/oak/turin_oc_vcek.der', 'turin', '2026-01-01'],
      ['sev-snp/oak/genoa_oc_vcek.der', 'genoa', '2026-01-01'],
      ['sev-snp/virtee-sev/vcek_turin.der', 'turin', '2026-01-01'],
    ];
    for (const [f, p, t] of cases) {
      const [ask, ark] = kds(p);
      const r = verifyChain(crypto, [one(f), ask!, ark!], [ark!], new Date(t));
      assert.deepEqual(r.problems, [], f);
      assert.equal(r.path.length, 3);
    }
    const [ask, ark] = kds('milan');
    for (const f of [
      'sev-snp/trustee/test-vcek-invalid-legacy.der',
      'sev-snp/trustee/test-vcek-invalid-new.der',
    ]) {
      const r = verifyChain(crypto, [one(f), ask!], [ark!], new Date('2026-01-01'));
      assert.ok(
        r.problems.some((x) => /SEV-VCEK: signature/.test(x)),
        f,
      );
    }
  });
});

describe('x509: chain failures are each reported', { skip }, () => {
  const ark = () => one('sev-snp/amd-ca/milan_ark.pem');
  const ask = () => one('sev-snp/amd-ca/milan_ask.pem');
  const vcek = () => one('sev-snp/go-sev-guest/vcek.testcer');
  test('expired and not-yet-valid at the pinned time', () => {
    const late = verifyChain(crypto, [vcek(), ask()], [ark()], new Date('2030-01-01'));
    assert.ok(late.problems.some((m) => /SEV-VCEK: validity: .*expired/.test(m)));
    const early = verifyChain(crypto, [vcek(), ask()], [ark()], new Date('2021-01-01'));
    assert.ok(early.problems.some((m) => /SEV-VCEK: validity: expected notBefore/.test(m)));
  });
  test('broken linkage, a non-CA issuer, an empty chain', () => {
    const vlekIssuer = one('sev-snp/amd-ca/milan_asvk.der');
    const r = verifyChain(crypto, [vcek(), vlekIssuer], [ark()], new Date('2025-01-01'));
    assert.ok(r.problems.some((m) => /SEV-VCEK: issuer: expected/.test(m)));
    assert.ok(r.problems.some((m) => /SEV-VCEK: signature: expected valid/.test(m)));
    // A leaf (VCEK: v3, no basicConstraints) pinned and used as the issuer of the ASK.
    const v = vcek();
    const r2 = verifyChain(crypto, [ask(), v], [v], new Date('2025-01-01'));
    assert.ok(
      r2.problems.some((m) => /root SEV-VCEK: basicConstraints: expected cA=TRUE/.test(m)),
      r2.problems.join('; '),
    );
    assert.deepEqual(verifyChain(crypto, [], [ark()], new Date()).problems, [
      'expected at least a leaf certificate, got none',
    ]);
  });
  test('ECDSA P-256 (Intel) and P-384 (NVIDIA) chains verify', () => {
    const intel = certs('tdx/intel-ca/Intel_SGX_TCB_Signing_chain.pem');
    const root = one('tdx/intel-ca/Intel_SGX_RootCA.pem');
    assert.deepEqual(verifyChain(crypto, intel, [root], new Date('2026-01-01')).problems, []);
    const nv = certs('nvidia/nvtrust/hopperCertChain.txt');
    const nvRoot = one('nvidia/nvtrust/certs/verifier_device_root.pem');
    assert.equal(nv.length, 5);
    const res = verifyChain(crypto, nv, [nvRoot], new Date('2026-01-01'));
    assert.deepEqual(res.problems, []);
    assert.equal(res.root, nvRoot);
    assert.equal(nv[0]!.signature.length, 96);
  });
});

describe('x509: parsers only throw ProtocolError', { skip }, () => {
  const seeds = [
    vec('sev-snp/go-sev-guest/vcek.testcer'),
    certs('sev-snp/amd-ca/milan_ark.pem')[0]!.der,
    certs('tdx/intel-ca/Intel_SGX_RootCA.pem')[0]!.der,
    certs('nvidia/nvtrust/hopperCertChain.txt')[0]!.der,
  ];
  const onlyTyped = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `not a ProtocolError: ${String(e)}`);
      assert.equal(e.code, 'x509_parse');
    }
  };
  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        onlyTyped(() => parseCertificate(b));
        onlyTyped(() => parsePemOrDer(b));
        onlyTyped(() => parseCrl(b));
      }),
      { numRuns: 2000 },
    );
  });
  test('mutated real certificates (flip, truncate, splice)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.option(fc.nat()),
        (si, flips, cut) => {
          const b = Uint8Array.from(seeds[si]!);
          for (const [pos, x] of flips) b[pos % b.length]! ^= x;
          const input = cut === null ? b : b.subarray(0, cut % b.length);
          onlyTyped(() => {
            const c = parseCertificate(input);
            // Whatever parses must still be self-consistent.
            assert.ok(c.tbs.length < c.der.length);
          });
        },
      ),
      { numRuns: 3000 },
    );
  });
  test('a structure-preserving mutation breaks the signature, not the parser', () => {
    const c = parseCertificate(seeds[0]!);
    const b = Uint8Array.from(seeds[0]!);
    const subjOff = c.subject.der.byteOffset - c.der.byteOffset;
    b[subjOff + c.subject.der.length - 1]! ^= 0x01; // last byte of the CN "SEV-VCEK"
    const m = parseCertificate(b);
    assert.notEqual(m.subject.toString(), c.subject.toString());
    const ask = one('sev-snp/amd-ca/milan_ask.pem');
    assert.equal(verifySignedBy(crypto, c, ask), true);
    assert.equal(verifySignedBy(crypto, m, ask), false);
    // The flipped byte lies inside the signed TBSCertificate (what makes the signature fail).
    const tbsStart = c.tbs.byteOffset - c.der.byteOffset;
    assert.ok(subjOff >= tbsStart && subjOff + c.subject.der.length <= tbsStart + c.tbs.length);
  });
});
