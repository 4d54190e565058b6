/**
 * The X.509 parser (protocol/x509) against node:crypto's X509Certificate (OpenSSL) over every real
 * certificate in ../shared/vectors (AMD, Intel, NVIDIA, Azure), and over random one-byte mutations
 * of them: where both accept a certificate they agree on serial, validity, subject CN, the
 * SubjectPublicKeyInfo and the CA flag; our parser throws only ProtocolError. Skips visibly when
 * ../shared/ is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  basicConstraints,
  nameAttr,
  parseCertificate,
  parsePemOrDer,
} from '../../protocol/x509/index';
import type { Certificate } from '../../protocol/x509/index';
import { ProtocolError } from '../../protocol/errors';
import { sharedPath, skipUnlessShared } from '../helpers/shared';

const skip = skipUnlessShared('vectors');

function certFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...certFiles(p));
    else if (/\.(pem|der|crt|cer)$/.test(name) && !/crl/i.test(name)) out.push(p);
  }
  return out;
}

/** Every DER certificate in the vectors, with the file it came from. */
function realCerts(): { file: string; der: Uint8Array }[] {
  const root = sharedPath('vectors');
  if (root === null) return [];
  const out: { file: string; der: Uint8Array }[] = [];
  for (const file of certFiles(root)) {
    const bytes = new Uint8Array(readFileSync(file));
    let certs: Certificate[];
    try {
      certs = parsePemOrDer(bytes);
    } catch {
      continue; // deliberately invalid vectors; node:crypto is asked about them below
    }
    for (const c of certs) out.push({ file: file.slice(root.length + 1), der: c.der });
  }
  return out;
}

const big = (b: Uint8Array): bigint =>
  b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
/** The CN of node's subject/issuer text, its RFC 4514 escapes (`\>`, `\,` …) undone; null when it
 * also has hex escapes of bytes (then the text is not comparable). */
function cnOf(text: string): string | undefined | null {
  const cn = text
    .split('\n')
    .find((l) => l.startsWith('CN='))
    ?.slice(3)
    .replace(/\\([^0-9A-Fa-f])/g, '$1');
  return cn?.includes('\\') ? null : cn;
}

function sameCn(ours: string | undefined, node: string, what: string): void {
  const cn = cnOf(node);
  if (cn !== null) assert.equal(ours, cn, what);
}

function agree(ours: Certificate, node: X509Certificate, what: string, mutated = false): void {
  // a negative serial (RFC 5280 §4.1.2.2 forbids it, both parsers read it) OpenSSL prints signed
  if ((ours.serialNumber[0] ?? 0) < 0x80)
    assert.equal(big(ours.serialNumber), BigInt(`0x${node.serialNumber}`), `${what}: serial`);
  assert.equal(ours.notBefore.getTime(), Date.parse(node.validFrom), `${what}: notBefore`);
  assert.equal(ours.notAfter.getTime(), Date.parse(node.validTo), `${what}: notAfter`);
  sameCn(nameAttr(ours.subject), node.subject, `${what}: subject CN`);
  sameCn(nameAttr(ours.issuer), node.issuer, `${what}: issuer CN`);
  // OpenSSL reports ca=false for a certificate with any undecodable extension (EXFLAG_INVALID),
  // e.g. a broken authorityKeyIdentifier, which the parser does not read: on mutations, skip.
  if (!mutated) assert.equal(basicConstraints(ours)?.ca ?? false, node.ca, `${what}: CA flag`);
  assert.equal(
    createHash('sha256').update(ours.der).digest('hex'),
    node.fingerprint256.replace(/:/g, '').toLowerCase(),
    `${what}: DER`,
  );
  let spki: Buffer;
  try {
    spki = node.publicKey.export({ type: 'spki', format: 'der' });
  } catch {
    // OpenSSL checks an EC point is on the curve when it loads the key; the parser leaves that to
    // signature verification (verifySignature is false for such a key). Nothing to compare.
    return;
  }
  assert.equal(Buffer.from(ours.spki).toString('hex'), spki.toString('hex'), `${what}: SPKI`);
}

test('X.509 parser agrees with node:crypto on every real certificate', { skip }, () => {
  const certs = realCerts();
  assert.ok(certs.length >= 40, `found ${certs.length} certificates`);
  for (const { file, der } of certs) agree(parseCertificate(der), new X509Certificate(der), file);
});

test('X.509 parser vs node:crypto on one-byte mutations of real certificates', { skip }, () => {
  const certs = realCerts();
  fc.assert(
    fc.property(
      fc.nat({ max: certs.length - 1 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (k, at, xor) => {
        const der = certs[k]!.der.slice();
        const i = at % der.length;
        der[i] = der[i]! ^ xor;
        let ours: Certificate | undefined;
        try {
          ours = parseCertificate(der);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, `non-ProtocolError: ${String(e)}`);
          return;
        }
        let node: X509Certificate;
        try {
          node = new X509Certificate(der);
        } catch {
          return; // OpenSSL is stricter about some field we do not read; nothing to compare
        }
        agree(ours, node, `${certs[k]!.file} byte ${i} ^ 0x${xor.toString(16)}`, true);
      },
    ),
    { numRuns: 400, seed: 17 },
  );
});
