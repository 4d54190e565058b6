/**
 * Maps anything thrown by the client, the transport or the trust gate to an error class the UI
 * shows distinctly from model output. ProtocolError instances are recognised by shape (`name` and
 * `code`) because the client may be bundled separately from this module.
 */
import { isProtocolErrorCode, type ProtocolErrorCode } from '../protocol/errors';
import { ERROR_TITLES, type ErrorKind } from '../ui-contract/messages';

export interface ClassifiedError {
  readonly kind: ErrorKind;
  /** The plain title of the class (ERROR_TITLES). */
  readonly title: string;
  /** "<title>: <technical detail>". */
  readonly message: string;
  readonly code?: string;
}

/**
 * The error class of every protocol error code: one entry per code of PROTOCOL_ERROR_CODES, so a
 * new code does not compile until it is classified here.
 */
const PROTOCOL_KIND = {
  // The server's hardware evidence (or the identity it proves) was not accepted by this client.
  evidence_rejected: 'verification',
  evidence_missing: 'verification',
  binding_mismatch: 'verification',
  attestation_parse: 'verification',
  x509_parse: 'verification',
  xml_parse: 'verification',
  not_pinned: 'verification',
  identity_changed: 'verification',
  release_rejected: 'verification',
  // The key exchange failed (after the network connection was made).
  key_confirmation_failed: 'handshake',
  bad_key: 'handshake',
  handshake_state: 'handshake',
  handshake_timeout: 'handshake',
  version_mismatch: 'handshake',
  crypto_unsupported: 'handshake',
  crypto_internal: 'handshake',
  // Network failures only.
  transport_error: 'unreachable',
  // The secure session ended without its authenticated close, or a frame was refused.
  transport_closed: 'session_lost',
  truncation: 'session_lost',
  channel_closed: 'session_lost',
  decrypt_failed: 'session_lost',
  replay: 'session_lost',
  reorder: 'session_lost',
  gap: 'session_lost',
  wrong_direction: 'session_lost',
  wrong_epoch: 'session_lost',
  bad_padding: 'session_lost',
  idle_timeout: 'session_lost',
  shutting_down: 'session_lost',
  rekey_required: 'session_lost',
  // The server refused or failed the request.
  server_error: 'server',
  busy: 'server',
  session_limit: 'server',
  model_error: 'server',
  cancelled: 'cancelled',
  // Decoding errors: classified by the field they name (handshake messages) or shown as they are.
  truncated: 'other',
  trailing_bytes: 'other',
  malformed: 'other',
  bad_length: 'other',
  bad_magic: 'other',
  unsupported_version: 'other',
  unknown_type: 'other',
  reserved_nonzero: 'other',
  too_large: 'other',
  usage: 'other',
} as const satisfies Record<ProtocolErrorCode, ErrorKind>;

/** Codes that are not protocol errors: the extension's own, and Node's network errors. */
const OTHER_KIND: Readonly<Record<string, ErrorKind>> = {
  untrusted_measurement: 'verification',
  ECONNREFUSED: 'unreachable',
  ENOTFOUND: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  ECONNRESET: 'unreachable',
  ETIMEDOUT: 'unreachable',
};
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
  const kind: ErrorKind | undefined = isProtocolErrorCode(code)
    ? PROTOCOL_KIND[code]
    : OTHER_KIND[code];
  if (kind === 'verification') return kind;
  // A close before the secure session existed is unauthenticated information (its text may
  // claim anything): it says the session could not be set up, never that evidence was rejected.
  if (code === 'transport_closed' && field === CLOSED_BEFORE_SESSION) return 'handshake';
  if (kind === 'handshake') return kind;
  if (field !== undefined && /^(ServerHello|ClientHello|ClientFinished)\b/.test(field))
    return 'handshake';
  return kind === undefined || kind === 'cancelled' ? 'other' : kind;
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
