import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderAttestationDocument } from '../../extension/attestation-report';
import { buildEvidenceBundle, parseEvidenceItems } from '../../extension/evidence-export';
import { DEFAULT_QUESTION, selectionPrompt } from '../../extension/selection';
import { chatHtml, makeNonce } from '../../extension/chat-html';
import { IDLE_STATUS, verifiedStatus } from '../../extension/status-format';
import type { SessionSnapshot } from '../../extension/session-manager';
import { MEASUREMENT, fakeView } from '../helpers/fake-session';
import { STRICT_TRUST } from '../helpers/fake-session';

const TRUST = STRICT_TRUST;

describe('attestation document', () => {
  test('without a session it says so', () => {
    const snap: SessionSnapshot = {
      status: IDLE_STATUS,
      attestation: null,
      serverUrl: 'ws://h:1',
      lastError: null,
    };
    const doc = renderAttestationDocument(snap, TRUST, new Date());
    assert.match(doc, /No evidence has been verified yet/);
  });
  test('lists the verdict, every check, decoded fields and relaxed settings', () => {
    const view = fakeView();
    const failing = {
      ...view,
      reports: [
        ...view.reports,
        {
          ok: false,
          kind: 'nvidia-gpu' as const,
          label: 'gpu0',
          checks: [{ id: 'rim.driver', ok: false, message: 'driver: expected 550.54, got 535.1' }],
          fields: { driver: '535.1' },
          simulated: false,
        },
      ],
    };
    const snap: SessionSnapshot = {
      status: verifiedStatus(view, [], false),
      attestation: failing,
      serverUrl: 'ws://h:1',
      lastError: null,
    };
    const doc = renderAttestationDocument(
      snap,
      { ...TRUST, allowDebug: true },
      new Date('2026-11-23T12:00:00Z'),
    );
    assert.match(doc, /\*\*Verdict\*\*: FAILED/);
    assert.ok(doc.includes(MEASUREMENT));
    assert.match(doc, /- \[PASS\] `signature` report signature verifies/);
    assert.match(doc, /- \[FAIL\] `rim.driver` driver: expected 550.54, got 535.1/);
    assert.match(doc, /\*\*microcode\*\*: `115`/);
    assert.match(doc, /debug guests allowed/);
    assert.match(doc, /no certificates in the evidence/);
  });
  test('evidence relaxations are named: none by default, RELAXED on the verdict and the report', () => {
    const view = fakeView();
    const snap = (attestation: typeof view): SessionSnapshot => ({
      status: verifiedStatus(view, [], false),
      attestation,
      serverUrl: 'ws://h:1',
      lastError: null,
    });
    const plain = renderAttestationDocument(snap(view), TRUST, new Date());
    assert.match(plain, /\*\*Evidence relaxations\*\*: none/);
    const relaxed = {
      ...view,
      reports: view.reports.map((r, i) =>
        i === 0
          ? {
              ...r,
              checks: [
                ...r.checks,
                {
                  id: 'relaxed.allowMissingCrl',
                  ok: true,
                  message: 'RELAXED snp.allowMissingCrl (--allow-missing-crl): no ARK-signed CRL',
                },
              ],
            }
          : r,
      ),
    };
    const doc = renderAttestationDocument(snap(relaxed), TRUST, new Date());
    assert.match(doc, /\*\*Evidence relaxations\*\*: RELAXED: allowMissingCrl/);
    assert.match(doc, /## [^\n]*: PASS — RELAXED: allowMissingCrl/);
    assert.match(doc, /- \[PASS\] `relaxed.allowMissingCrl` RELAXED snp\.allowMissingCrl/);
  });
  test('line breaks in evidence text cannot start new Markdown blocks', () => {
    const view = fakeView({ product: 'genoa\n# injected heading\n- [PASS] fake' });
    const snap: SessionSnapshot = {
      status: IDLE_STATUS,
      attestation: view,
      serverUrl: 'ws://h',
      lastError: null,
    };
    const doc = renderAttestationDocument(snap, TRUST, new Date());
    assert.ok(!doc.split('\n').some((l) => l.startsWith('# injected')));
    assert.ok(doc.includes('genoa # injected heading - [PASS] fake'));
  });
});

describe('evidence export', () => {
  test('round-trips the raw parts through base64 JSON', () => {
    const view = fakeView();
    const b = buildEvidenceBundle('ws://h:1', view, new Date('2026-11-23T12:00:00Z'));
    const json = JSON.parse(JSON.stringify(b));
    assert.equal(json.format, 'teechat-evidence/1');
    assert.equal(json.items[0].parts.report, Buffer.from([1, 2, 3, 250]).toString('base64'));
    const items = parseEvidenceItems(json);
    assert.deepEqual([...(items[0]?.parts.get('report') ?? [])], [1, 2, 3, 250]);
    assert.equal(json.summary.measurement, MEASUREMENT);
    assert.throws(() => parseEvidenceItems({ ...json, format: 'other' }), /format/);
    assert.equal(json.transcriptHash, 'cd'.repeat(32));
    assert.equal(json.binding, null);
    const withBinding = buildEvidenceBundle(
      'ws://h:1',
      fakeView({ binding: { cpuReportData: 'aa', gpuNonce: 'bb' } }),
      new Date(),
    );
    assert.deepEqual(withBinding.binding, { cpuReportData: 'aa', gpuNonce: 'bb' });
  });
});

describe('ask about selection', () => {
  const sel = {
    text: 'const a = 1;\n',
    languageId: 'typescript',
    filePath: '/home/u/proj/src/a.ts',
    relativePath: 'src/a.ts',
    startLine: 3,
    endLine: 3,
    question: 'Why?',
  };
  test('file name only by default-like mode, with language fence and line range', () => {
    const p = selectionPrompt(sel, 'fileName');
    assert.equal(p, 'Why?\n\ntypescript from `a.ts` (line 3):\n\n```typescript\nconst a = 1;\n```');
  });
  test('relative path or no path at all', () => {
    assert.match(selectionPrompt(sel, 'relativePath'), /from `src\/a.ts`/);
    const none = selectionPrompt(sel, 'none');
    assert.ok(!none.includes('a.ts'));
    assert.ok(!none.includes('/home/u'));
  });
  test('an empty question uses the default; fences inside the code are outgrown', () => {
    const p = selectionPrompt(
      { ...sel, question: ' ', text: 'x = "```"\n', startLine: 1, endLine: 4 },
      'fileName',
    );
    assert.ok(p.startsWith(DEFAULT_QUESTION));
    assert.match(p, /lines 1–4/);
    assert.match(p, /````typescript\n/);
  });
  test('an odd language id is not put into the fence', () => {
    assert.match(selectionPrompt({ ...sel, languageId: 'a b`c' }, 'none'), /```\nconst/);
  });
});

describe('chat HTML', () => {
  test('strict CSP with the nonce, no inline script without it', () => {
    const nonce = makeNonce((n) => new Uint8Array(n).map((_, i) => i * 7));
    assert.match(nonce, /^[A-Za-z0-9_-]{22}$/);
    const html = chatHtml({
      cspSource: 'vscode-resource:',
      nonce,
      scriptUri: 'vscode-resource:/dist/webview.js',
    });
    assert.match(html, new RegExp(`script-src 'nonce-${nonce}'`));
    assert.match(html, /default-src 'none'/);
    assert.match(html, /connect-src 'none'/);
    assert.equal((html.match(/<script /g) ?? []).length, 1);
    assert.match(html, new RegExp(`<script nonce="${nonce}" src=`));
    assert.throws(() => chatHtml({ cspSource: 'x', nonce: 'short', scriptUri: 'y' }), /nonce/);
  });
  test('nonces differ between panels', () => {
    const a = makeNonce((n) => new Uint8Array(randomBytes(n)));
    const b = makeNonce((n) => new Uint8Array(randomBytes(n)));
    assert.notEqual(a, b);
  });
});

describe('client summary mapping', () => {
  test('binding values are taken from the client summary (normalised hex)', async () => {
    const { bindingOf, formatTcb } = await import('../../extension/client-adapter');
    const base = { binding: { cpuReportData: 'AB01', gpuNonce: 'CD02' } };
    assert.deepEqual(bindingOf(base as never), { cpuReportData: 'ab01', gpuNonce: 'cd02' });
    assert.equal(bindingOf({ binding: { cpuReportData: 'zz', gpuNonce: 'aa' } } as never), null);
    assert.equal(
      formatTcb('{"raw":"0x4817000000000009","bl":9,"tee":0,"snp":23,"microcode":72}'),
      'bl=9 tee=0 snp=23 microcode=72 (0x4817000000000009)',
    );
    assert.equal(formatTcb('level 3'), 'level 3');
  });
});
