/**
 * Maps anything thrown by the client, the transport or the trust gate to an error class the UI
 * shows distinctly from model output. ProtocolError instances are recognised by shape (`name` and
 * `code`) because the client may be bundled separately from this module.
 */
import type { ErrorKind } from '../ui-contract/messages';

export interface ClassifiedError {
  readonly kind: ErrorKind;
  readonly message: string;
  readonly code?: string;
}

const VERIFICATION = new Set([
  'evidence_rejected',
  'evidence_missing',
  'binding_mismatch',
  'key_confirmation_failed',
  'attestation_parse',
  'x509_parse',
  'xml_parse',
  'untrusted_measurement',
]);
const UNREACHABLE = new Set([
  'transport_error',
  'handshake_timeout',
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

export function classifyError(e: unknown): ClassifiedError {
  const code = errorCode(e);
  const message = errorMessage(e);
  if (isAbort(e) || code === 'cancelled')
    return { kind: 'cancelled', message: 'Stopped.', code: code ?? 'cancelled' };
  if (code !== undefined) {
    if (VERIFICATION.has(code))
      return { kind: 'verification', message: `Verification failed: ${message}`, code };
    if (UNREACHABLE.has(code))
      return { kind: 'unreachable', message: `Server unreachable: ${message}`, code };
    if (SESSION_LOST.has(code))
      return { kind: 'session_lost', message: `Secure session lost: ${message}`, code };
    if (SERVER.has(code)) return { kind: 'server', message: `Server error: ${message}`, code };
    return { kind: 'other', message, code };
  }
  return { kind: 'other', message };
}
