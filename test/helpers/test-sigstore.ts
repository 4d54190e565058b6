/**
 * A local, offline test Sigstore: a Fulcio-like CA with a CT log and a Rekor-like transparency log
 * from `@sigstore/mock` (their own keys, no network, no nock), a `trusted_root.json` naming them,
 * and `sign()` that produces a real v0.3 Sigstore bundle (message signature, hashedrekord v0.0.1
 * tlog entry with inclusion proof + checkpoint + SET, certificate with embedded SCT and the GitHub
 * Actions Fulcio extensions) for any artifact, identity and signing time.
 *
 * The mock's root certificate is valid from the real current time for 365 days, so signing times
 * must lie in that window (tests use "now + N days" and inject the verification clock).
 */
import { createHash, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { initializeCA, initializeCTLog, initializeTLog } from '@sigstore/mock';

const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const OID_SOURCE_REPO_URI = '1.3.6.1.4.1.57264.1.12';
const OID_SOURCE_REPO_DIGEST = '1.3.6.1.4.1.57264.1.13';
const OID_SOURCE_REPO_REF = '1.3.6.1.4.1.57264.1.14';

const ec = (curve: string): { publicKey: KeyObject; privateKey: KeyObject } =>
  generateKeyPairSync('ec', { namedCurve: curve });

export interface SignOptions {
  readonly identity: string;
  readonly issuer?: string;
  /** GitHub workflow claims put in the certificate (repository URL, ref, commit). */
  readonly repository?: string;
  readonly ref?: string;
  readonly sha?: string;
  /** Signing time (must be within the mock root's validity: real now .. now + 365 days). */
  readonly at: Date;
}

export interface TestSigstore {
  readonly trustedRoot: unknown;
  sign(artifact: Uint8Array, o: SignOptions): Promise<Uint8Array>;
}

export async function testSigstore(): Promise<TestSigstore> {
  const caKeys = ec('P-384');
  const ctKeys = ec('P-256');
  const tlogKeys = ec('P-256');
  const created = new Date();
  // One CA/CT/log instance per signing time (the mocks take a fixed clock); same keys, so one trust root.
  const first = await initializeCA(caKeys, await initializeCTLog(ctKeys, created), created);
  const firstCt = await initializeCTLog(ctKeys, created);
  const firstTlog = await initializeTLog('https://rekor.test.invalid', tlogKeys, created);
  const start = new Date(created.getTime() - 24 * 3600 * 1000).toISOString();
  const b64 = (b: ArrayBufferView | Buffer): string =>
    Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: 'https://rekor.test.invalid',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(firstTlog.publicKey),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start },
        },
        logId: { keyId: createHash('sha256').update(firstTlog.publicKey).digest('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: 'https://fulcio.test.invalid',
        certChain: { certificates: [{ rawBytes: b64(first.rootCertificate) }] },
        validFor: { start },
      },
    ],
    ctlogs: [
      {
        baseUrl: 'https://ctfe.test.invalid',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(firstCt.publicKey),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start },
        },
        logId: { keyId: b64(firstCt.logID) },
      },
    ],
    timestampAuthorities: [],
  };

  return {
    trustedRoot,
    async sign(artifact, o) {
      const ct = await initializeCTLog(ctKeys, o.at);
      const ca = await initializeCA(caKeys, ct, o.at);
      const tlog = await initializeTLog('https://rekor.test.invalid', tlogKeys, o.at);
      const signer = ec('P-256');
      const ext = [
        { oid: OID_ISSUER_V2, value: o.issuer ?? 'https://token.actions.githubusercontent.com' },
        ...(o.repository !== undefined ? [{ oid: OID_SOURCE_REPO_URI, value: o.repository }] : []),
        ...(o.sha !== undefined ? [{ oid: OID_SOURCE_REPO_DIGEST, value: o.sha }] : []),
        ...(o.ref !== undefined ? [{ oid: OID_SOURCE_REPO_REF, value: o.ref }] : []),
      ];
      const cert = Buffer.from(
        (
          await ca.issueCertificate({
            publicKey: signer.publicKey.export({ format: 'der', type: 'spki' }),
            subjectAltName: o.identity,
            extensions: ext,
          })
        ).buffer,
      );
      const sig = createSign('sha256').update(artifact).sign(signer.privateKey);
      const digest = createHash('sha256').update(artifact).digest();
      const pem = `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
      const logged = await tlog.log({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          signature: {
            content: sig.toString('base64'),
            publicKey: { content: Buffer.from(pem).toString('base64') },
          },
          data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
        },
      });
      const e = Object.values(logged)[0] as {
        body: string;
        integratedTime: number;
        logID: string;
        logIndex: number;
        verification: {
          inclusionProof: {
            logIndex: number;
            treeSize: number;
            checkpoint: string;
            hashes: string[];
            rootHash: string;
          };
          signedEntryTimestamp: string;
        };
      };
      const p = e.verification.inclusionProof;
      const bundle = {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          certificate: { rawBytes: cert.toString('base64') },
          tlogEntries: [
            {
              logIndex: String(e.logIndex),
              logId: { keyId: Buffer.from(e.logID, 'hex').toString('base64') },
              kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
              integratedTime: String(e.integratedTime),
              inclusionPromise: { signedEntryTimestamp: e.verification.signedEntryTimestamp },
              inclusionProof: {
                logIndex: String(p.logIndex),
                rootHash: Buffer.from(p.rootHash, 'hex').toString('base64'),
                treeSize: String(p.treeSize),
                hashes: p.hashes,
                checkpoint: { envelope: p.checkpoint },
              },
              canonicalizedBody: e.body,
            },
          ],
        },
        messageSignature: {
          messageDigest: { algorithm: 'SHA2_256', digest: digest.toString('base64') },
          signature: sig.toString('base64'),
        },
      };
      return new TextEncoder().encode(JSON.stringify(bundle));
    },
  };
}
