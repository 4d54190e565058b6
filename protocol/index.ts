/**
 * The public surface of the protocol core. Import from here rather than from deep paths.
 */
export { ProtocolError, fail, isProtocolError } from './errors';
export type { ProtocolErrorCode } from './errors';
export type * from './crypto/provider';
export { createNobleProvider, nobleProvider } from './crypto/noble';
export { DEFAULT_LIMITS, PROTOCOL_CONSTANTS, resolveLimits } from './limits';
export type { Limits } from './limits';
export { ClientHandshake, ServerHandshake } from './handshake/handshake';
export type {
  ClientHandshakeOptions,
  EstablishedSession,
  RandomSource,
  ServerHandshakeOptions,
} from './handshake/handshake';
export { ClientEphemeralKeys, ClientEphemeralPool } from './handshake/ephemeral';
export type { ClientEphemeralPoolOptions, ClientKeyPairs } from './handshake/ephemeral';
export { LABELS, bindingValues, cpuReportData, gpuNonce } from './handshake/keys';
export {
  DEFAULT_SUITES,
  MSG_CLIENT_FINISHED,
  MSG_CLIENT_HELLO,
  MSG_SERVER_HELLO,
  PROTOCOL_VERSION,
  SUITES,
  SUITE_AES_256_GCM,
  SUITE_CHACHA20_POLY1305,
} from './handshake/messages';
export {
  decodeClientFinished,
  decodeClientHello,
  decodeServerHello,
  encodeClientHello,
} from './handshake/messages';
export type { ClientHello, ServerHello, ServerHelloCore, SuiteId } from './handshake/messages';
export {
  EVIDENCE_KINDS,
  decodeEvidenceBundle,
  encodeEvidenceBundle,
  isEvidenceKind,
} from './handshake/evidence';
export {
  DIRECTION,
  FRAME_HEADER_LEN,
  FRAME_TYPE,
  FRAME_VERSION,
  SecureChannel,
} from './channel/channel';
export type { ChannelOptions, FrameKind, Role } from './channel/channel';
export { PADDING_BUCKETS, PADDING_STEP, paddedLength } from './channel/padding';
export { Reader, Writer } from './wire/codec';
export { concat, ctEqual, fromHex, toHex, utf8Decode, utf8Encode } from './wire/bytes';
export {
  CHAT_ROLES,
  FINISH_REASONS,
  MESSAGE_TYPE,
  decodeAppMessage,
  encodeAppMessage,
  validateAppMessage,
} from './messages/messages';
export type {
  AppMessage,
  AppMessageType,
  Cancel,
  ChatMessage,
  ChatParams,
  ChatRequest,
  ChatRole,
  Delta,
  Done,
  EngineSettings,
  ErrorMessage,
  FinishReason,
  Ping,
  Pong,
  Queued,
  ServerInfo,
  Timings,
  Usage,
} from './messages/messages';
