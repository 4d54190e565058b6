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
import type { AttestationView, TrustSettings } from './types';
import type { AcceptedLogEntry } from '../client/release/state';
import { renderMeasurementExplain } from './report-explain';

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
  if ((trust.releaseRepository ?? '') !== '') {
    const root = trust.releaseTrustedRoot ?? '';
    const issuer = trust.releaseIssuer ?? '';
    out.push(
      `- **Release signer**: \`${esc(trust.releaseRepository ?? '')}\`${issuer !== '' ? ` (issuer \`${esc(issuer)}\`, teechat.release.certificateOidcIssuer)` : ''}; Sigstore trusted root: ${root === '' ? 'embedded public-good root' : `\`${esc(root)}\` (teechat.release.trustedRoot)`}; maximum age ${trust.releaseMaxAgeDays === 0 ? 'not bounded' : `${trust.releaseMaxAgeDays ?? 7} days`}`,
    );
  }
  out.push('');
  renderRelease(a, out);
  renderMeasurementExplain(a, trust, out);
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

/**
 * The command that reproduces an expected value, by name (only commands that exist: the report
 * offers them with a Copy button), or '' when no tool recomputes it from files (vTPM PCRs are
 * read from a reference VM and compared).
 */
export function measureCommand(name: string): string {
  if (name.startsWith('snp.launch_digest'))
    return "teechat measure snp --ovmf OVMF.fd --kernel bzImage --initrd initrd.img --append '…' --vcpus N --vcpu-type T --vmm-type QEMU --guest-features 0x1";
  if (name === 'tdx.mrtd') return 'teechat measure tdx --tdvf OVMF.fd';
  if (name === 'tdx.rtmr1' || name === 'tdx.rtmr2')
    return "teechat measure tdx --kernel bzImage --initrd initrd.img --append '…' --memory RAM";
  if (name === 'model.sha256') return 'sha256sum MODEL.gguf';
  return '';
}

/** What the session observed for an expected value's name (lowercase hex), or '' when not reported. */
function observed(a: AttestationView, name: string): string {
  if (name === 'model.sha256') return a.model.sha256.toLowerCase();
  if (name.startsWith('snp.launch_digest') || name === 'tdx.mrtd') return a.measurement;
  const tdx = a.reports.find((r) => r.kind === 'tdx');
  const m = /^tdx\.rtmr(\d)$/.exec(name);
  if (m && tdx) {
    const v = tdx.fields['rtmr'] ?? tdx.fields[`rtmr${m[1]}`];
    if (Array.isArray(v)) return String(v[Number(m[1])] ?? '').toLowerCase();
    if (typeof v === 'string') return v.toLowerCase();
  }
  const p = /^azure\.pcr(\d+)$/.exec(name);
  const az = a.reports.find((r) => r.kind === 'azure-hcl');
  if (p && az) {
    const pcrs = az.fields['pcrs'];
    if (typeof pcrs === 'object' && pcrs !== null && !Array.isArray(pcrs)) {
      const v = (pcrs as Record<string, unknown>)[p[1] as string];
      if (typeof v === 'string') return v.toLowerCase();
    }
  }
  return '';
}

/** Release provenance and expected vs observed values (docs/RELEASES.md). */
export function renderRelease(a: AttestationView, out: string[]): void {
  const r = a.release ?? null;
  out.push('## Release', '');
  if (r === null) {
    out.push(
      'This server offered no signed release manifest (or no release signer is configured in the user setting `teechat.release.repository`): its measurement was trusted through the allowlist or your trust-on-first-use answer, not a signed release.',
      '',
    );
    return;
  }
  out.push(
    `- **Version**: v${esc(r.version)} (${r.source === 'pinned' ? 'pinned manifest file' : r.source === 'bundled' ? 'signed manifest shipped with the extension: the server offered none' : 'signed manifest sent by the server'})`,
  );
  out.push(`- **Source**: \`${esc(r.repository)}\` at commit \`${r.commit}\``);
  out.push(`- **Signed by**: \`${esc(r.identity)}\` (issuer \`${esc(r.issuer)}\`)`);
  out.push(
    `- **Transparency log**: Rekor log index ${esc(r.logIndex)}; signed ${esc(r.signedAt)}${r.freshAt !== r.signedAt ? `; witnessed ${esc(r.freshAt)}` : ''}`,
  );
  out.push(`- **Manifest sha256**: \`${r.manifestSha256}\``);
  out.push(
    `- **Rollback check**: ${r.rollback}${r.previousVersion !== null ? ` (previous v${esc(r.previousVersion)})` : ''}`,
  );
  out.push(`- **Model**: \`${esc(r.modelRef)}\``);
  out.push(
    `- **Relaxations**: ${r.relaxations.length === 0 ? 'none' : r.relaxations.map(esc).join('; ')}`,
  );
  out.push(
    '',
    '| value | expected (manifest) | observed | | reproduce with |',
    '|---|---|---|---|---|',
  );
  for (const [name, want] of Object.entries(r.expected)) {
    const got = observed(a, name);
    const platform = name.split('.')[0];
    const applies =
      name === 'model.sha256' ||
      (platform === 'snp' && a.cpuKind === 'SNP') ||
      (platform === 'tdx' && a.cpuKind === 'TDX') ||
      (platform === 'azure' && a.cpuKind.includes('Azure'));
    const verdict = !applies
      ? 'other platform'
      : got === ''
        ? 'checked by the verifier'
        : got === want
          ? 'PASS'
          : 'FAIL';
    const cmd = measureCommand(name);
    out.push(
      `| ${esc(name)} | \`${want}\` | ${applies && got !== '' ? `\`${got}\`` : '—'} | ${verdict} | ${cmd === '' ? '—' : `\`${esc(cmd)}\``} |`,
    );
  }
  out.push('');
}

/** The accepted-manifest log (newest first) as a Markdown document. */
export function renderReleaseLog(log: readonly AcceptedLogEntry[]): string {
  const out = ['# TEEChat: accepted release manifests', ''];
  if (log.length === 0) {
    out.push('No signed release manifest has been accepted on this machine yet.', '');
    return out.join('\n');
  }
  out.push(
    '| accepted | version | kind | manifest sha256 | signer | Rekor index | signed |',
    '|---|---|---|---|---|---|---|',
  );
  for (const e of [...log].reverse())
    out.push(
      `| ${new Date(e.acceptedAtMs).toISOString()} | v${esc(e.version)} | ${e.kind} | \`${esc(e.manifestSha256)}\` | \`${esc(e.identity)}\` | ${esc(e.logIndex)} | ${new Date(e.signedAtMs).toISOString()} |`,
    );
  out.push('');
  return out.join('\n');
}
