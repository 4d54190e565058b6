/**
 * What the user sees of a signed release in the extension: the status bar label
 * (`v1.4.2 · SNP 8f3a…c21d · GPU CC`), no trust prompt for a session that matched a verified
 * release, a prompt that says when a server offers no manifest, and the report's release section
 * (provenance, expected vs observed with PASS/FAIL, the `teechat measure …` command per value).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { verifiedStatus } from '../../extension/status-format';
import { decideTrust, trustPromptDetail, type KnownMeasurementStore } from '../../extension/trust';
import { renderRelease, renderReleaseLog } from '../../extension/attestation-report';
import { releaseOptions } from '../../extension/client-adapter';
import { fakeRelease, fakeView } from '../helpers/fake-session';

const M = fakeView().measurement;
const release = fakeRelease;
const trust = {
  allowedMeasurements: [],
  minimumTcb: {},
  requireGpuEvidence: true,
  allowDebug: false,
  allowSimulated: false,
};
const store: KnownMeasurementStore = { get: () => [], add: () => Promise.resolve() };

describe('extension: signed releases', () => {
  test('status bar: version first, then CPU kind, short measurement, GPU', () => {
    const s = verifiedStatus(fakeView({ release: release() }), [], false);
    assert.equal(s.text, `v1.4.2 · SNP ${M.slice(0, 4)}…${M.slice(-4)} · GPU CC`);
    assert.match(
      s.detail,
      /Release v1\.4\.2 \(signed manifest, matched exactly\): github\.com\/teechat\/teechat@0123456789ab, Rekor log index 123456/,
    );
    assert.doesNotMatch(verifiedStatus(fakeView(), [], false).text, /^v\d/);
  });
  test('no prompt for a session that matched a release; the prompt says when there is no manifest', async () => {
    let asked = 0;
    const ask = (): Promise<'cancel'> => {
      asked++;
      return Promise.resolve('cancel');
    };
    assert.deepEqual(
      await decideTrust('ws://x', fakeView({ release: release() }), trust, store, ask),
      { trusted: true, how: 'release' },
    );
    assert.equal(asked, 0);
    assert.deepEqual(await decideTrust('ws://x', fakeView(), trust, store, ask), {
      trusted: false,
    });
    assert.equal(asked, 1);
    const detail = trustPromptDetail({
      serverUrl: 'ws://x',
      measurement: M,
      knownForServer: [],
      allowlisted: [],
      simulated: false,
      cpuKind: 'SNP',
    });
    assert.match(detail, /This server offers no signed release manifest/);
  });
  test('report: provenance, expected vs observed with PASS / FAIL / other platform, measure commands', () => {
    const out: string[] = [];
    renderRelease(fakeView({ release: release() }), out);
    const md = out.join('\n');
    assert.match(md, /\*\*Version\*\*: v1\.4\.2 \(signed manifest sent by the server\)/);
    assert.match(md, /Rekor log index 123456; signed 2026-12-01T10:00:00\.000Z/);
    assert.match(
      md,
      new RegExp(
        `\\| snp\\.launch_digest\\[qemu-8\\] \\| \`${M}\` \\| \`${M}\` \\| PASS \\| \`teechat measure snp `,
      ),
    );
    assert.match(md, /\| tdx\.mrtd \| `c{96}` \| — \| other platform \| `teechat measure tdx /);
    assert.match(md, /\| model\.sha256 \| `(ab){32}` \| `(ab){32}` \| PASS \|/);
    const bad: string[] = [];
    renderRelease(
      fakeView({ release: release({ expected: { 'model.sha256': 'cd'.repeat(32) } }) }),
      bad,
    );
    assert.match(bad.join('\n'), /\| model\.sha256 \| `(cd){32}` \| `(ab){32}` \| FAIL \|/);
    const none: string[] = [];
    renderRelease(fakeView(), none);
    assert.match(none.join('\n'), /offered no signed release manifest/);
  });
  test('release options only with a configured signer; downgrades are never allowed from the extension', () => {
    assert.equal(releaseOptions(trust), undefined);
    const o = releaseOptions({ ...trust, releaseRepository: 'teechat/teechat' });
    assert.equal(o?.signer.repository, 'teechat/teechat');
    assert.equal(o?.allowDowngrade, undefined);
    assert.equal(o?.require, false);
  });
  test('the accepted-manifest log renders newest first', () => {
    assert.match(renderReleaseLog([]), /No signed release manifest has been accepted/);
    const e = {
      signer: 's',
      identity: 'id',
      logIndex: '7',
      signedAtMs: 0,
      manifestSha256: 'aa',
      acceptedAtMs: 0,
    };
    const md = renderReleaseLog([
      { ...e, version: '1.0.0', kind: 'new' },
      { ...e, version: '1.1.0', kind: 'upgrade' },
    ]);
    assert.ok(md.indexOf('v1.1.0') < md.indexOf('v1.0.0'));
    assert.match(md, /\| v1\.1\.0 \| upgrade \| `aa` \| `id` \| 7 \|/);
  });
});
