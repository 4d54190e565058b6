import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { verifyPcsDocument } from '../../protocol/attestation/tdx/verify';
import {
  convergeModuleStatus,
  evaluateQeIdentity,
  evaluateTdxTcb,
  parseQeIdentity,
  parseTdxTcbInfo,
} from '../../protocol/attestation/tdx/collateral';
import type { TdxTcbInfo } from '../../protocol/attestation/tdx/collateral';
import { parsePemOrDer } from '../../protocol/x509/index';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_POLICY, mergePolicy } from '../../protocol/attestation/policy';
import { DEFAULT_TDX_POLICY } from '../../protocol/attestation/tdx/policy';
import { repoRoot } from '../helpers/shared';
import { skipUnlessShared } from '../helpers/shared';
import { ctxAt, tdxExpected, vec } from '../helpers/tdx';

const skip = skipUnlessShared('vectors', 'EXPECTED.json');

describe('PCS collateral: every EXPECTED.json tdx_collateral item', { skip }, () => {
  if (skip) return;
  for (const e of tdxExpected().tdx_collateral) {
    test(`${e.file} (${e.kind})`, () => {
      const chainPem = vec(e.signing_chain);
      const signer = parsePemOrDer(new TextDecoder().decode(chainPem))[0]!;
      // Pin the time inside the collateral's own window when the signing certificate in
      // ../shared was already valid then; the 2023 documents predate this re-issued TCB Signing
      // certificate (same key), so their chain is checked at the certificate's start.
      const issue = new Date(e.issueDate);
      const chainAt =
        issue.getTime() >= signer.notBefore.getTime()
          ? issue
          : new Date(signer.notBefore.getTime() + 86_400_000);
      const r = verifyPcsDocument(ctxAt(chainAt), vec(e.file), e.kind, chainPem);
      assert.equal(r.signatureValid, e.expected.signature_valid);
      assert.equal(
        r.chain.every((c) => c.ok),
        e.expected.signing_chain_valid,
        JSON.stringify(r.chain),
      );
      assert.equal(r.issueDate.toISOString().replace('.000', ''), e.issueDate);
      assert.equal(r.nextUpdate.toISOString().replace('.000', ''), e.nextUpdate);
      // Without an explicit chain the bundled Intel TCB Signing certificate gives the same verdict.
      assert.equal(
        verifyPcsDocument(ctxAt(chainAt), vec(e.file), e.kind).signatureValid,
        e.expected.signature_valid,
      );
    });
  }

  test('a signature from another document does not verify', () => {
    const a = new TextDecoder().decode(vec('tdx/trustee/tcbInfo.json'));
    const b = new TextDecoder().decode(
      vec('tdx/lunal-attestation-rs/collateral/tcb_info_90c06f000000.json'),
    );
    const sigB = /"signature":"([0-9a-f]+)"/.exec(b)![1]!;
    const swapped = a.replace(/"signature":"[0-9a-f]+"/, `"signature":"${sigB}"`);
    const r = verifyPcsDocument(
      ctxAt(new Date('2025-11-01T00:00:00Z')),
      new TextEncoder().encode(swapped),
      'tcbInfo',
    );
    assert.equal(r.signatureValid, false);
  });
});

/** A synthetic TCB info (evaluation is a pure function of the parsed structure). */
function info(
  levels: TdxTcbInfo['tcbLevels'],
  identities: TdxTcbInfo['tdxModuleIdentities'] = [],
): TdxTcbInfo {
  const z = (n: number) => new Uint8Array(n);
  return {
    id: 'TDX',
    version: 3,
    issueDate: new Date(0),
    nextUpdate: new Date(0),
    fmspc: z(6),
    pceId: z(2),
    tcbEvaluationDataNumber: 1,
    tdxModule: { mrSigner: z(48), attributes: z(8), attributesMask: new Uint8Array(8).fill(0xff) },
    tdxModuleIdentities: identities,
    tcbLevels: levels,
  };
}
const svn16 = (...head: number[]) => [...head, ...new Array<number>(16 - head.length).fill(0)];
const level = (
  sgx: number[],
  pce: number,
  tdx: number[],
  tcbStatus: TdxTcbInfo['tcbLevels'][number]['tcbStatus'],
) => ({
  sgxSvns: svn16(...sgx),
  pceSvn: pce,
  tdxSvns: svn16(...tdx),
  tcbDate: '2024-01-01T00:00:00Z',
  tcbStatus,
  advisoryIds: [],
});

describe('TDX TCB level evaluation', () => {
  const levels = [
    level([3, 3], 13, [5, 0, 3], 'UpToDate'),
    level([2, 2], 13, [5, 0, 2], 'SWHardeningNeeded'),
    level([2, 2], 5, [3, 0, 2], 'OutOfDate'),
  ];
  const zero48 = new Uint8Array(48);
  const zero8 = new Uint8Array(8);

  test('first level whose SGX, PCE and TDX components are all <= the platform', () => {
    const tee = Uint8Array.from(svn16(5, 0, 3));
    assert.equal(
      evaluateTdxTcb(info(levels), { sgxSvns: svn16(3, 3), pceSvn: 13 }, tee, zero48, zero8).status,
      'UpToDate',
    );
    assert.equal(
      evaluateTdxTcb(info(levels), { sgxSvns: svn16(2, 9), pceSvn: 13 }, tee, zero48, zero8).status,
      'SWHardeningNeeded',
    );
    assert.equal(
      evaluateTdxTcb(info(levels), { sgxSvns: svn16(3, 3), pceSvn: 12 }, tee, zero48, zero8).status,
      'OutOfDate',
    );
    // TDX module component below every level: unrecognized.
    const r = evaluateTdxTcb(
      info(levels),
      { sgxSvns: svn16(3, 3), pceSvn: 13 },
      Uint8Array.from(svn16(2, 0, 3)),
      zero48,
      zero8,
    );
    assert.equal(r.status, null);
    assert.match(r.problems.join(), /unrecognized/);
  });

  test('TDX module identity (TDX 1.5): TDX_03 level status converges with the platform status', () => {
    const ids = [
      {
        id: 'TDX_03',
        mrSigner: zero48,
        attributes: zero8,
        attributesMask: new Uint8Array(8).fill(0xff),
        tcbLevels: [
          { isvSvn: 4, tcbDate: '', tcbStatus: 'UpToDate' as const },
          { isvSvn: 2, tcbDate: '', tcbStatus: 'OutOfDate' as const },
        ],
      },
    ];
    const pck = { sgxSvns: svn16(3, 3), pceSvn: 13 };
    const up = evaluateTdxTcb(
      info(levels, ids),
      pck,
      Uint8Array.from(svn16(5, 3, 3)),
      zero48,
      zero8,
    );
    assert.equal(up.status, 'UpToDate');
    const old = evaluateTdxTcb(
      info(levels, ids),
      pck,
      Uint8Array.from([3, 3, 3, ...svn16().slice(3)]),
      zero48,
      zero8,
    );
    assert.equal(old.moduleStatus, 'OutOfDate');
    const missing = evaluateTdxTcb(
      info(levels, ids),
      pck,
      Uint8Array.from(svn16(5, 4, 3)),
      zero48,
      zero8,
    );
    assert.match(missing.problems.join(), /TDX_04/);
    const signer = evaluateTdxTcb(
      info(levels, ids),
      pck,
      Uint8Array.from(svn16(5, 3, 3)),
      new Uint8Array(48).fill(1),
      zero8,
    );
    assert.match(signer.problems.join(), /mrsignerseam/);
    assert.equal(
      convergeModuleStatus('ConfigurationNeeded', 'OutOfDate'),
      'OutOfDateConfigurationNeeded',
    );
    assert.equal(convergeModuleStatus('UpToDate', 'Revoked'), 'Revoked');
  });
});

describe('QE identity evaluation', { skip }, () => {
  if (skip) return;
  const id = parseQeIdentity(vec('tdx/trustee/enclaveIdentity.json')).body;
  const good = {
    miscSelect: 0, // the identity's miscselect is 00000000
    attributes: id.attributes,
    mrSigner: id.mrSigner,
    isvProdId: id.isvProdId,
    isvSvn: 99,
  };
  test('matching QE, and each mismatch reported', () => {
    const ok = evaluateQeIdentity(id, good);
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.status, id.tcbLevels[0]!.tcbStatus);
    assert.match(
      evaluateQeIdentity(id, { ...good, mrSigner: new Uint8Array(32) }).problems.join(),
      /mr_signer/,
    );
    assert.match(evaluateQeIdentity(id, { ...good, isvProdId: 1 }).problems.join(), /isv_prod_id/);
    assert.match(evaluateQeIdentity(id, { ...good, isvSvn: 0 }).problems.join(), /isv_svn/);
    // MISCSELECT is compared as the report's little-endian bytes under the mask.
    const masked = {
      ...id,
      miscSelect: Uint8Array.of(1, 0, 0, 0),
      miscSelectMask: Uint8Array.of(0xff, 0, 0, 0),
    };
    assert.deepEqual(evaluateQeIdentity(masked, { ...good, miscSelect: 0x01 }).problems, []);
    assert.deepEqual(evaluateQeIdentity(masked, { ...good, miscSelect: 0xff00_0001 }).problems, []);
    assert.match(
      evaluateQeIdentity(masked, { ...good, miscSelect: 0x0100_0000 }).problems.join(),
      /misc_select/,
    );
    const attrs = id.attributes.slice();
    attrs[0] = (attrs[0] ?? 0) ^ 0x02; // a masked-in bit (DEBUG)
    assert.match(
      evaluateQeIdentity(id, { ...good, attributes: attrs }).problems.join(),
      /attributes/,
    );
  });
  test('TCB info parse rejects a non-TDX id', () => {
    const s = new TextDecoder()
      .decode(vec('tdx/trustee/tcbInfo.json'))
      .replace('"id":"TDX"', '"id":"SGX"');
    assert.throws(() => parseTdxTcbInfo(new TextEncoder().encode(s)), /"TDX"/);
  });
});

describe('docs/attestation-tdx.md', () => {
  test('its policy example is a valid policy naming every tdx key', () => {
    const md = readFileSync(join(repoRoot, 'docs', 'attestation-tdx.md'), 'utf8');
    const block = /```json\n([\s\S]*?)```/.exec(md)?.[1];
    assert.ok(block !== undefined);
    const json = JSON.parse(block) as { tdx: Record<string, unknown> };
    assert.doesNotThrow(() => mergePolicy(DEFAULT_POLICY, json));
    assert.deepEqual(Object.keys(json.tdx).sort(), Object.keys(DEFAULT_TDX_POLICY).sort());
  });
});
