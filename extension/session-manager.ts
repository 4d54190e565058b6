/**
 * Owns the one secure session of the extension host: connect → verify (client) → trust gate
 * (measurement known or accepted by the user) → usable. Keys stay inside the client's session
 * object in this process's memory; nothing here persists or forwards them. The connect function is
 * injected (the real one wraps client/; tests inject a fake session).
 */
import { ERROR_TITLES, type StatusView } from '../webview/messages';
import { Emitter } from './emitter';
import { classifyError, ExtensionError } from './errors';
import type { ClassifiedError } from './errors';
import { CONNECTING_STATUS, failedStatus, IDLE_STATUS, verifiedStatus } from './status-format';
import { decideTrust, ignoredTrustNotice, relaxedChecks } from './trust';
import type { KnownMeasurementStore, MeasurementPrompt, TrustAnswer } from './trust';
import type { AttestationView, ConnectFn, TeeSession, TrustSettings } from './types';

export interface SessionManagerOptions {
  readonly connect: ConnectFn;
  readonly settings: () => {
    readonly serverUrl: string;
    readonly trust: TrustSettings;
    readonly connectTimeoutMs: number;
    /** The server URL was set by the workspace: a server never used before is always asked about. */
    readonly serverUrlFromWorkspace?: boolean;
    /** Trust settings a workspace set, ignored (extension/config.ts). */
    readonly ignoredWorkspaceTrust?: readonly string[];
  };
  readonly store: KnownMeasurementStore;
  readonly askTrust: (p: MeasurementPrompt) => Promise<TrustAnswer>;
  readonly log?: (line: string) => void;
  /** A visible notice (a warning message in VS Code); each distinct text is shown once. */
  readonly notify?: (text: string) => void;
}

export interface SessionSnapshot {
  readonly status: StatusView;
  /** Verified attestation of the current session, or of the last attempt that got that far. */
  readonly attestation: AttestationView | null;
  readonly serverUrl: string;
  readonly lastError: ClassifiedError | null;
}

export class SessionManager {
  private session: TeeSession | null = null;
  private pending: Promise<TeeSession> | null = null;
  private abort: AbortController | null = null;
  private generation = 0;
  private snap: SessionSnapshot;
  private readonly notified = new Set<string>();
  private readonly changed = new Emitter<SessionSnapshot>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly opts: SessionManagerOptions) {
    this.snap = {
      status: IDLE_STATUS,
      attestation: null,
      serverUrl: opts.settings().serverUrl,
      lastError: null,
    };
  }

  get snapshot(): SessionSnapshot {
    return this.snap;
  }

  /** The verified session, connecting first if needed. Concurrent callers share one attempt. */
  async getSession(): Promise<TeeSession> {
    if (this.session) return this.session;
    if (this.pending) return this.pending;
    const gen = ++this.generation;
    const p = this.connectOnce(gen);
    this.pending = p;
    try {
      return await p;
    } finally {
      if (this.pending === p) this.pending = null;
    }
  }

  /** Drops the current session (if any) and connects again. */
  async reconnect(): Promise<TeeSession> {
    await this.disconnect();
    return this.getSession();
  }

  async disconnect(): Promise<void> {
    this.generation++;
    this.abort?.abort();
    this.abort = null;
    this.pending = null;
    const s = this.session;
    this.session = null;
    if (s) {
      await s.close().catch(() => undefined);
    }
    this.update({ status: IDLE_STATUS, lastError: null });
  }

  dispose(): void {
    void this.disconnect();
    this.changed.dispose();
  }

  private update(p: Partial<SessionSnapshot>): void {
    this.snap = { ...this.snap, ...p };
    this.changed.fire(this.snap);
  }

  private async connectOnce(gen: number): Promise<TeeSession> {
    const settings = this.opts.settings();
    const { serverUrl, trust, connectTimeoutMs } = settings;
    const ignored = settings.ignoredWorkspaceTrust ?? [];
    if (ignored.length > 0) {
      const notice = ignoredTrustNotice(ignored);
      this.opts.log?.(notice);
      if (!this.notified.has(notice)) {
        this.notified.add(notice);
        this.opts.notify?.(notice);
      }
    }
    const abort = new AbortController();
    this.abort = abort;
    this.update({ status: CONNECTING_STATUS, serverUrl, lastError: null });
    this.opts.log?.(`connecting to ${serverUrl}`);
    let s: TeeSession;
    try {
      s = await this.opts.connect({
        url: serverUrl,
        trust,
        signal: abort.signal,
        timeoutMs: connectTimeoutMs,
      });
    } catch (e) {
      const c = classifyError(e);
      if (gen === this.generation) {
        this.update({
          status: failedStatus(c.kind, c.message),
          lastError: c,
        });
      }
      this.opts.log?.(`connect failed: ${c.code ?? c.kind}: ${c.message}`);
      throw e;
    }
    if (gen !== this.generation) {
      await s.close().catch(() => undefined);
      throw new ExtensionError('cancelled', 'connection attempt superseded');
    }
    const view = s.attestation;
    this.update({ attestation: view });
    let decision;
    try {
      decision = await decideTrust(serverUrl, view, trust, this.opts.store, this.opts.askTrust, {
        serverUrlFromWorkspace: settings.serverUrlFromWorkspace === true,
      });
    } catch (e) {
      await s.close().catch(() => undefined);
      throw e;
    }
    if (!decision.trusted || gen !== this.generation) {
      await s.close().catch(() => undefined);
      const err = new ExtensionError(
        'untrusted_measurement',
        `launch measurement ${view.measurement} was not trusted`,
      );
      if (gen === this.generation) {
        const c = classifyError(err);
        this.update({ status: failedStatus(c.kind, c.message), lastError: c });
      }
      throw err;
    }
    this.session = s;
    this.opts.log?.(
      `verified ${view.cpuKind} measurement ${view.measurement} (trust: ${decision.how}${view.simulated ? ', SIMULATED' : ''})`,
    );
    this.update({ status: verifiedStatus(view, relaxedChecks(trust), decision.how === 'once') });
    s.onClose((err) => {
      if (this.session !== s) return;
      this.session = null;
      const c = classifyError(
        err ?? new ExtensionError('transport_closed', 'the server closed the session'),
      );
      this.opts.log?.(`session closed: ${c.code ?? c.kind}`);
      this.update({
        // The connection of a verified session is gone: "unreachable" until a reconnect says more.
        status: failedStatus(
          'session_lost',
          c.kind === 'session_lost' ? c.message : `${ERROR_TITLES.session_lost}: ${c.message}`,
        ),
        lastError: c,
      });
    });
    return s;
  }
}
