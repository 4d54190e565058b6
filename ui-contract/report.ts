/**
 * The messages of the attestation report webview (extension/report-panel.ts ↔ webview/report.ts).
 * The report is a display: the webview only asks the host to copy one of the values the host
 * marked copyable (the host checks the value against that set before touching the clipboard).
 */

/** The largest value a copy request may carry (a `teechat measure …` command line fits). */
export const REPORT_COPY_MAX = 4096;

export type ReportRequest = { readonly type: 'copy'; readonly value: string };

/** Guard for messages from the report webview (untrusted input). */
export function isReportRequest(m: unknown): m is ReportRequest {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  const o = m as Record<string, unknown>;
  return (
    Object.keys(o).length === 2 &&
    o['type'] === 'copy' &&
    typeof o['value'] === 'string' &&
    o['value'].length > 0 &&
    o['value'].length <= REPORT_COPY_MAX
  );
}
