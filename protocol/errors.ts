/**
 * The one error type of the protocol layer. Every parser, codec, handshake step and channel
 * operation throws only `ProtocolError` (property-tested), with a stable string `code` and a
 * message that names the field and both the expected and the actual value.
 */
export type ProtocolErrorCode =
  // generic decoding
  | 'truncated' // input ended before a field was complete
  | 'trailing_bytes' // bytes left after a complete message where none are allowed
  | 'malformed' // a field has a value outside its domain
  | 'bad_length' // a length field disagrees with the data or a limit
  | 'bad_magic'
  | 'unsupported_version'
  | 'unknown_type'
  | 'reserved_nonzero' // a reserved field is not zero
  | 'too_large' // exceeds a configured limit (frame, message, bundle)
  // handshake
  | 'handshake_state' // message arrived in the wrong state
  | 'version_mismatch'
  | 'bad_key' // a public key is invalid (wrong length, low order, ...)
  | 'key_confirmation_failed'
  | 'evidence_rejected' // attestation verification said no
  | 'evidence_missing' // a required evidence kind is absent
  | 'binding_mismatch' // evidence is not bound to this transcript
  | 'not_pinned' // the verified launch identity is pinned by nothing the user set (CLI)
  | 'identity_changed' // a known server presented another launch identity (CLI known enclaves)
  | 'handshake_timeout'
  // secure channel
  | 'decrypt_failed' // AEAD tag invalid (tampered, wrong key)
  | 'replay' // sequence number already seen
  | 'reorder' // sequence number lower than expected
  | 'gap' // sequence number higher than expected (frame dropped)
  | 'wrong_direction'
  | 'wrong_epoch'
  | 'truncation' // the stream ended without an authenticated close
  | 'channel_closed'
  | 'rekey_required'
  | 'bad_padding'
  // application
  | 'server_error'
  | 'cancelled'
  | 'busy'
  | 'session_limit'
  | 'model_error'
  | 'idle_timeout'
  | 'shutting_down'
  | 'transport_closed'
  | 'transport_error'
  // attestation parsing (verification verdicts are reported as checks, see attestation/types.ts)
  | 'attestation_parse'
  | 'x509_parse'
  | 'xml_parse'
  | 'crypto_unsupported'
  | 'crypto_internal' // the crypto library failed in an unexpected way (names the step and cause)
  // signed releases (client/release/): a Sigstore bundle or release manifest refused
  | 'release_rejected'
  | 'usage';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  /** The field the error is about, when there is one (e.g. `ServerHello.x25519_pub`). */
  readonly field: string | undefined;
  constructor(code: ProtocolErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

/** Throws a ProtocolError naming the field with both values. */
export function fail(code: ProtocolErrorCode, field: string, expected: unknown, actual: unknown): never {
  throw new ProtocolError(
    code,
    `${field}: expected ${show(expected)}, got ${show(actual)}`,
    field,
  );
}

/** Short, log-safe rendering of a value for an error message (never dumps big buffers). */
export function show(v: unknown): string {
  if (v instanceof Uint8Array) {
    const hex = Array.from(v.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
    return v.length > 16 ? `${v.length} bytes ${hex}…` : `0x${hex}`;
  }
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? v.slice(0, 80) + '…' : v);
  if (typeof v === 'bigint') return `${v}n`;
  return String(v);
}

export function isProtocolError(e: unknown): e is ProtocolError {
  return e instanceof ProtocolError;
}
