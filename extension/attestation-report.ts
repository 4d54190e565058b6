/**
 * Renders the attestation state as a read-only Markdown document (shown by the
 * `teechat-attestation:` virtual document provider): verdict, every check with pass/fail and its
 * message, the decoded fields of every report, and the certificate chains found in the evidence
 * with their validity at the time of rendering. Pure: no vscode.
 */
import type { EvidenceItem, FieldValue, VerificationReport } from '../protocol/attestation/types';
import { relaxedIn } from '../protocol/attestation/relax';
import { parsePemOrDer } from '../protocol/x509/index';
import type { Certificate } from '../protocol/x509/index';
import type { SessionSnapshot } from './session-manager';
import { relaxedChecks } from './trust';
import type { TrustSettings } from './types';

/**
 * The document is read as text in an editor, so values are shown as they are (no Markdown
 * escapes that would clutter them); only line breaks are folded, so evidence text cannot start
 * new Markdown blocks. VS Code's Markdown preview sanitises HTML if the user opens a preview.
 */
function esc(s: string): string {
  return s.replace(/\r?\n/g, ' ');
}

/** Inline code span that survives backticks in the value. */
function code(s: string): string {
  return `\`${esc(s).replace(/`/g, "'")}\``;
}

function renderValue(v: FieldValue, indent: string, out: string[], key: string): void {
  if (v === null || typeof v !== 'object') {
    out.push(`${indent}- **${esc(key)}**: ${code(String(v))}`);
    return;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(`${indent}- **${esc(key)}**: (none)`);
      return;
    }
    out.push(`${indent}- **${esc(key)}**:`);
    v.forEach((item, i) => renderValue(item, indent + '  ', out, `[${i}]`));
    return;
  }
  out.push(`${indent}- **${esc(key)}**:`);
  for (const [k, x] of Object.entries(v as Record<string, FieldValue>))
    renderValue(x, indent + '  ', out, k);
}

export function renderReport(r: VerificationReport, out: string[]): void {
  const title = `${r.kind}${r.label ? ` (${r.label})` : ''}`;
  const relaxed = relaxedIn(r.checks);
  out.push(
    `## ${esc(title)}: ${r.ok ? 'PASS' : 'FAIL'}${r.simulated ? ' — SIMULATED root' : ''}${relaxed.length > 0 ? ` — RELAXED: ${relaxed.map(esc).join(', ')}` : ''}`,
    '',
  );
  out.push('### Checks', '');
  for (const c of r.checks)
    out.push(`- ${c.ok ? '[PASS]' : '[FAIL]'} ${code(c.id)} ${esc(c.message)}`);
  out.push('', '### Decoded fields', '');
  const entries = Object.entries(r.fields);
  if (entries.length === 0) out.push('(none)');
  for (const [k, v] of entries) renderValue(v, '', out, k);
  out.push('');
}

function validity(c: Certificate, now: Date): string {
  if (now < c.notBefore) return 'NOT YET VALID';
  if (now > c.notAfter) return 'EXPIRED';
  return 'valid';
}

/** Certificates found in the evidence parts (DER or PEM), per item and part. */
export function renderChains(items: readonly EvidenceItem[], now: Date, out: string[]): void {
  out.push('## Certificate chains', '');
  let any = false;
  for (const item of items) {
    for (const [name, bytes] of item.parts) {
      let certs: Certificate[];
      try {
        certs = parsePemOrDer(bytes);
      } catch {
        continue; // not a certificate part (report, RIM, CRL …)
      }
      any = true;
      out.push(
        `### ${esc(item.kind)}${item.label ? ` ${esc(item.label)}` : ''} · ${code(name)}`,
        '',
      );
      for (const c of certs) {
        out.push(
          `- **${esc(c.subject.toString())}**`,
          `  - issuer: ${esc(c.issuer.toString())}`,
          `  - validity: ${c.notBefore.toISOString()} → ${c.notAfter.toISOString()} (**${validity(c, now)}** at ${now.toISOString()})`,
          `  - signature: ${c.sigAlg.scheme} ${c.sigAlg.hash}`,
        );
      }
      out.push('');
    }
  }
  if (!any) out.push('(no certificates in the evidence)', '');
}

export function renderAttestationDocument(
  snap: SessionSnapshot,
  trust: TrustSettings,
  now: Date,
): string {
  const out: string[] = ['# TEEChat attestation report', ''];
  out.push(`- **Server**: \`${snap.serverUrl}\``);
  out.push(`- **State**: ${snap.status.state} — ${esc(snap.status.text)}`);
  if (snap.lastError)
    out.push(
      `- **Last error**: ${snap.lastError.kind}${snap.lastError.code ? ` (\`${snap.lastError.code}\`)` : ''}: ${esc(snap.lastError.message)}`,
    );
  const a = snap.attestation;
  if (!a) {
    out.push(
      '',
      'No evidence has been verified yet. Send a message or run "TEEChat: Reconnect".',
      '',
    );
    return out.join('\n');
  }
  const verdict = a.reports.length > 0 && a.reports.every((r) => r.ok);
  out.push(
    `- **Verdict**: ${verdict ? 'VERIFIED' : 'FAILED'}${a.simulated ? ' — **SIMULATED attestation (development root; no real hardware verified)**' : ''}`,
  );
  const evidenceRelaxed = relaxedIn(a.reports.flatMap((r) => r.checks));
  out.push(
    `- **Evidence relaxations**: ${evidenceRelaxed.length === 0 ? 'none (every required item was present)' : `RELAXED: ${evidenceRelaxed.map(esc).join(', ')}`}`,
  );
  out.push(`- **Verified at**: ${a.verifiedAt.toISOString()}`);
  out.push(`- **Launch measurement (${esc(a.cpuKind)})**: \`${a.measurement}\``);
  out.push(`- **Product**: ${esc(a.product)}`);
  out.push(`- **TCB**: ${esc(a.tcb)}`);
  out.push(
    `- **GPU**: ${a.gpu === null ? 'no GPU evidence' : `${a.gpu.count} GPU(s), confidential computing ${a.gpu.ccEnabled ? 'ON' : 'OFF'}`}`,
  );
  out.push(`- **Model**: ${esc(a.model.id)} (sha256 \`${a.model.sha256}\`)`);
  const relaxed = relaxedChecks(trust);
  out.push(
    `- **Relaxed by settings**: ${relaxed.length === 0 ? 'none' : relaxed.map(esc).join('; ')}`,
  );
  out.push('');
  for (const r of a.reports) renderReport(r, out);
  renderChains(a.evidence, now, out);
  const info = Object.entries(a.serverInfo);
  if (info.length > 0) {
    out.push('## Server information (declared by the server, inside the verified channel)', '');
    for (const [k, v] of info) out.push(`- **${esc(k)}**: \`${JSON.stringify(v)}\``);
    out.push('');
  }
  return out.join('\n');
}
