/** The lazily loaded runtime's surface (implemented in extension/runtime.ts). */
import type * as vscode from 'vscode';
import type { Services } from './services';

export interface Runtime {
  readonly services: Services;
  openChat(): void;
  newChat(): Promise<void>;
  askAboutSelection(): Promise<void>;
  showAttestation(): Promise<void>;
  showAttestationSource(): Promise<void>;
  exportEvidence(): Promise<void>;
  /** The local log of accepted signed release manifests, rendered in the editor. */
  showReleaseLog(): Promise<void>;
  reconnect(): Promise<void>;
  clearHistory(): Promise<void>;
  attestationDocument(): string;
  watchAttestation(fire: () => void): void;
  revivePanel(panel: vscode.WebviewPanel, state: unknown): void;
  /** The attestation report panel restored after a window reload. */
  reviveReport(panel: vscode.WebviewPanel): void;
  dispose(): void;
}
