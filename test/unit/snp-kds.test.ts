import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KdsClient, certChainUrl, resolveSnpEvidence, vcekUrl } from '../../client/kds';
import { parseSnpReport } from '../../protocol/attestation/snp/report';
import { verifySnpEvidence } from '../../protocol/attestation/snp/verify';
import {
  DEFAULT_POLICY as STRICT_DEFAULT_POLICY,
  mergePolicy,
} from '../../protocol/attestation/policy';
import { withoutSnpBulletinFloors } from '../helpers/vector-policy';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { ProtocolError } from '../../protocol/errors';
import { readShared, skipUnlessShared } from '../helpers/shared';

/** The default policy without the AMD-SB-3023 SNP floors the real vectors predate (helpers/vector-policy.ts). */
const DEFAULT_POLICY = withoutSnpBulletinFloors(STRICT_DEFAULT_POLICY);

const skip = skipUnlessShared('vectors', 'sev-snp');
const vec = (p: string): Uint8Array => new Uint8Array(readShared('vectors', ...p.split('/')));

describe('AMD KDS client (injected fetcher, on-disk cache)', { skip }, () => {
  test('VCEK URLs: Milan/Genoa 64-byte hwid; Turin 8-byte hwid with fmcSPL first', () => {
    const milan = parseSnpReport(vec('sev-snp/go-sev-guest/attestation.bin'));
    assert.equal(
      vcekUrl(milan, 'milan'),
      'https://kdsintf.amd.com/vcek/v1/Milan/3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d?blSPL=02&teeSPL=00&snpSPL=05&ucodeSPL=68',
    );
    const turin = parseSnpReport(vec('sev-snp/oak/turin_oc_report.bin'));
    assert.match(
      vcekUrl(turin, 'turin'),
      /^https:\/\/kdsintf\.amd\.com\/vcek\/v1\/Turin\/[0-9a-f]{16}\?fmcSPL=00&blSPL=01&teeSPL=00&snpSPL=02&ucodeSPL=71$/,
    );
    assert.equal(certChainUrl('genoa', 'vlek'), 'https://kdsintf.amd.com/vlek/v1/Genoa/cert_chain');
  });

  test('a missing VCEK is fetched once, cached on disk, and then verified like any evidence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'teechat-kds-'));
    try {
      const urls: string[] = [];
      const fetch = async (url: string): Promise<Uint8Array> => {
        urls.push(url);
        return vec('sev-snp/oak/turin_oc_vcek.der');
      };
      const kds = new KdsClient({ fetch, cacheDir: dir });
      const item = {
        kind: 'sev-snp' as const,
        label: '',
        parts: new Map([['report', vec('sev-snp/oak/turin_oc_report.bin')]]),
      };
      const full = await resolveSnpEvidence(item, kds);
      assert.ok(full.parts.has('vcek'));
      const again = await resolveSnpEvidence(item, new KdsClient({ fetch, cacheDir: dir }));
      assert.deepEqual(again.parts.get('vcek'), full.parts.get('vcek'));
      assert.equal(urls.length, 1, 'second resolution served from the cache');
      assert.equal(readdirSync(dir).length, 1);
      const r = verifySnpEvidence(
        full,
        { crypto: nodeProvider, now: () => new Date('2026-01-01') },
        DEFAULT_POLICY,
      );
      // Genuine and complete but for the CRL (the vector set has no ARK-signed CRL): refused by
      // default for that reason only; accepted with the relaxation named.
      assert.deepEqual(
        r.checks.filter((c) => !c.ok).map((c) => c.id),
        ['crl'],
      );
      const relaxed = verifySnpEvidence(
        full,
        { crypto: nodeProvider, now: () => new Date('2026-01-01') },
        mergePolicy(DEFAULT_POLICY, { snp: { allowMissingCrl: true } }),
      );
      assert.equal(relaxed.ok, true, JSON.stringify(relaxed.checks.filter((c) => !c.ok)));
      // Items that carry a VCEK are never completed from the network.
      const withCert = {
        ...item,
        parts: new Map([...item.parts, ['vcek', vec('sev-snp/oak/turin_oc_vcek.der')]]),
      };
      assert.equal(
        await resolveSnpEvidence(
          withCert,
          new KdsClient({ fetch: () => Promise.reject(new Error('no network')), cacheDir: null }),
        ),
        withCert,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('what KDS returns is untrusted: a wrong VCEK fails verification', async () => {
    const kds = new KdsClient({
      fetch: async () => vec('sev-snp/virtee-sev/vcek_milan.der'),
      cacheDir: null,
    });
    const item = {
      kind: 'sev-snp' as const,
      label: '',
      parts: new Map([['report', vec('sev-snp/go-sev-guest/attestation.bin')]]),
    };
    const full = await resolveSnpEvidence(item, kds, 'milan');
    const r = verifySnpEvidence(
      full,
      { crypto: nodeProvider, now: () => new Date('2026-01-01') },
      DEFAULT_POLICY,
    );
    assert.ok(r.checks.some((c) => c.id === 'signature' && !c.ok));
  });

  test('v2 reports need a product; empty responses are typed errors', async () => {
    const item = {
      kind: 'sev-snp' as const,
      label: '',
      parts: new Map([['report', vec('sev-snp/go-sev-guest/attestation.bin')]]),
    };
    await assert.rejects(
      resolveSnpEvidence(
        item,
        new KdsClient({ fetch: async () => new Uint8Array(0), cacheDir: null }),
      ),
      (e: unknown) => e instanceof ProtocolError && e.code === 'usage',
    );
    await assert.rejects(
      resolveSnpEvidence(
        item,
        new KdsClient({ fetch: async () => new Uint8Array(0), cacheDir: null }),
        'milan',
      ),
      (e: unknown) => e instanceof ProtocolError && e.code === 'bad_length',
    );
  });
});
