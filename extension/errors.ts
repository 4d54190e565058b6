/**
 * Maps anything thrown by the client, the transport or the trust gate to an error class the UI
 * shows distinctly from model output. ProtocolError instances are recognised by shape (`name` and
 * `code`) because the client may be bundled separately from this module.
 */
import { ERROR_TITLES, type ErrorKind } from '../webview/messages';

export interface ClassifiedError {
  readonly kind: ErrorKind;
  /** The plain title of the class (ERROR_TITLES). */
  readonly title: string;
  /** "<title>: <technical detail>". */
  readonly message: string;
  readonly code?: string;
}

/** The server's hardware evidence (or the identity it proves) was not accepted by this client. */
const VERIFICATION = new Set([
  'evidence_rejected',
  'evidence_missing',
  'binding_mismatch',
  'attestation_parse',
  'x509_parse',
  'xml_parse',
  'untrusted_measurement',
  'not_pinned',
  'identity_changed',
]);
/** The key exchange failed (after the network connection was made). */
const HANDSHAKE = new Set([
  'key_confirmation_failed',
  'bad_key',
  'handshake_state',
  'handshake_timeout',
  'version_mismatch',
  'crypto_unsupported',
]);
/** Network failures only. */
const UNREACHABLE = new Set([
  'transport_error',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ECONNRESET',
  'ETIMEDOUT',
]);
const SESSION_LOST = new Set([
  'transport_closed',
  'truncation',
  'channel_closed',
  'decrypt_failed',
  'replay',
  'reorder',
  'gap',
  'wrong_direction',
  'wrong_epoch',
  'bad_padding',
  'idle_timeout',
  'shutting_down',
  'rekey_required',
]);
const SERVER = new Set(['server_error', 'busy', 'session_limit', 'model_error']);
/** `client/transport.ts` CLOSED_BEFORE_SESSION (not imported: the client may be bundled apart). */
const CLOSED_BEFORE_SESSION = 'close.before_session';

/** Error raised by the extension itself (trust gate, configuration). */
export class ExtensionError extends Error {
  override readonly name = 'ExtensionError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function errorCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const c = (e as { code: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

function isAbort(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
}

function errorField(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'field' in e) {
    const f = (e as { field: unknown }).field;
    if (typeof f === 'string') return f;
  }
  return undefined;
}

function kindOf(code: string, field: string | undefined): ErrorKind {
  if (VERIFICATION.has(code)) return 'verification';
  // A close before the secure session existed is unauthenticated information (its text may
  // claim anything): it says the session could not be set up, never that evidence was rejected.
  if (code === 'transport_closed' && field === CLOSED_BEFORE_SESSION) return 'handshake';
  if (HANDSHAKE.has(code)) return 'handshake';
  if (field !== undefined && /^(ServerHello|ClientHello|ClientFinished)\b/.test(field))
    return 'handshake';
  if (UNREACHABLE.has(code)) return 'unreachable';
  if (SESSION_LOST.has(code)) return 'session_lost';
  if (SERVER.has(code)) return 'server';
  return 'other';
}

export function classifyError(e: unknown): ClassifiedError {
  const code = errorCode(e);
  const message = errorMessage(e);
  if (isAbort(e) || code === 'cancelled')
    return {
      kind: 'cancelled',
      title: ERROR_TITLES.cancelled,
      message: 'Stopped.',
      code: code ?? 'cancelled',
    };
  const kind = code === undefined ? 'other' : kindOf(code, errorField(e));
  const title = ERROR_TITLES[kind];
  return {
    kind,
    title,
    message: kind === 'other' ? message : `${title}: ${message}`,
    ...(code !== undefined ? { code } : {}),
  };
}
