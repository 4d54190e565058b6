/**
 * NVIDIA GPU / NVSwitch attestation report: the SPDM 1.1 GET_MEASUREMENTS request followed by the
 * MEASUREMENTS response (DMTF DSP0274 v1.1 §10.11; NVIDIA nvtrust local_gpu_verifier
 * `spdm_msrt_req_msg.py` / `spdm_msrt_resp_msg.py`).
 *
 * Every length is computed from the structure; bytes after the signature (some real reports carry a
 * trailing 0x00) are counted and reported, never signed, and rejected when non-zero.
 */
import { fail } from '../../errors';
import { decodeOpaque, type NvidiaOpaque, type OpaqueField } from './opaque';

// Request (37 bytes)
export const REQ_LEN = 37;
export const REQ_OFF_VERSION = 0;
export const REQ_OFF_CODE = 1;
export const REQ_OFF_PARAM1 = 2;
export const REQ_OFF_PARAM2 = 3;
export const REQ_OFF_NONCE = 4;
export const REQ_OFF_SLOT = 36;
export const SPDM_VERSION_1_1 = 0x11;
export const GET_MEASUREMENTS = 0xe0;
export const MEASUREMENTS = 0x60;
/** Param1 bit 0: the requester asks for a signature. */
export const PARAM1_SIGNATURE_REQUESTED = 0x01;
/** Param2 0xFF: all measurement blocks. */
export const PARAM2_ALL_BLOCKS = 0xff;

// Response (relative offsets)
export const RSP_OFF_VERSION = 0;
export const RSP_OFF_CODE = 1;
export const RSP_OFF_PARAM1 = 2;
export const RSP_OFF_PARAM2 = 3;
export const RSP_OFF_NUM_BLOCKS = 4;
export const RSP_OFF_RECORD_LEN = 5; // u24 LE
export const RSP_OFF_RECORD = 8;
export const NONCE_LEN = 32;
export const OPAQUE_LEN_SIZE = 2;
/** ECDSA P-384 raw r ‖ s. */
export const SIGNATURE_LEN = 96;
/** DMTF measurement specification bit in MeasurementSpecification. */
export const MEAS_SPEC_DMTF = 0x01;
/** Block header: Index u8, MeasSpec u8, MeasSize u16 LE. */
export const BLOCK_HEADER_LEN = 4;
/** DMTF measurement header: ValueType u8, ValueSize u16 LE. */
export const DMTF_HEADER_LEN = 3;
/** Upper bound on ignored bytes after the signature. */
export const MAX_TRAILING = 16;

export interface MeasurementBlock {
  /** 1-based SPDM index. */
  readonly index: number;
  readonly measSpec: number;
  /** DMTFSpecMeasurementValueType (bit 7: raw bit stream). */
  readonly valueType: number;
  readonly value: Uint8Array;
}

export interface SpdmRequest {
  readonly version: number;
  readonly param1: number;
  readonly param2: number;
  readonly nonce: Uint8Array;
  readonly slotId: number;
}

export interface NvidiaReport {
  readonly request: SpdmRequest;
  readonly version: number;
  readonly param1: number;
  readonly param2: number;
  readonly numberOfBlocks: number;
  readonly recordLength: number;
  readonly blocks: readonly MeasurementBlock[];
  readonly responderNonce: Uint8Array;
  readonly opaqueLength: number;
  readonly opaqueFields: readonly OpaqueField[];
  readonly opaque: NvidiaOpaque;
  readonly signature: Uint8Array;
  /** request ‖ response without the signature: the bytes covered by the signature. */
  readonly signedBytes: Uint8Array;
  /** Length of the parsed structure (request + response). */
  readonly parsedLength: number;
  /** Bytes present after the signature (ignored; must be zero). */
  readonly trailingBytes: number;
}

class Reader {
  constructor(
    readonly buf: Uint8Array,
    public off: number,
  ) {}
  need(n: number, field: string): void {
    if (this.off + n > this.buf.length)
      fail('truncated', field, `${n} bytes at offset ${this.off}`, this.buf.length - this.off);
  }
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.off++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.buf[this.off]! | (this.buf[this.off + 1]! << 8);
    this.off += 2;
    return v;
  }
  u24(field: string): number {
    this.need(3, field);
    const v =
      this.buf[this.off]! | (this.buf[this.off + 1]! << 8) | (this.buf[this.off + 2]! << 16);
    this.off += 3;
    return v;
  }
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }
}

function expectByte(actual: number, expected: number, field: string): void {
  if (actual !== expected)
    fail('malformed', field, `0x${expected.toString(16)}`, `0x${actual.toString(16)}`);
}

/** Parses request ‖ response. Throws ProtocolError only. */
export function parseNvidiaReport(buf: Uint8Array): NvidiaReport {
  const r = new Reader(buf, 0);
  const reqVersion = r.u8('request.SPDMVersion');
  expectByte(reqVersion, SPDM_VERSION_1_1, 'request.SPDMVersion');
  expectByte(r.u8('request.RequestResponseCode'), GET_MEASUREMENTS, 'request.RequestResponseCode');
  const reqParam1 = r.u8('request.Param1');
  if ((reqParam1 & PARAM1_SIGNATURE_REQUESTED) === 0) {
    fail(
      'malformed',
      'request.Param1',
      'signature requested (bit 0 set)',
      `0x${reqParam1.toString(16)}`,
    );
  }
  const reqParam2 = r.u8('request.Param2');
  expectByte(reqParam2, PARAM2_ALL_BLOCKS, 'request.Param2');
  const nonce = r.bytes(NONCE_LEN, 'request.Nonce');
  const slotId = r.u8('request.SlotIDParam');
  if (slotId > 7) fail('malformed', 'request.SlotIDParam', '0..7', slotId);

  const version = r.u8('response.SPDMVersion');
  expectByte(version, SPDM_VERSION_1_1, 'response.SPDMVersion');
  expectByte(r.u8('response.RequestResponseCode'), MEASUREMENTS, 'response.RequestResponseCode');
  const param1 = r.u8('response.Param1');
  const param2 = r.u8('response.Param2');
  const numberOfBlocks = r.u8('response.NumberOfBlocks');
  const recordLength = r.u24('response.MeasurementRecordLength');
  r.need(recordLength, 'response.MeasurementRecord');
  const recordEnd = r.off + recordLength;
  const blocks: MeasurementBlock[] = [];
  const seen = new Set<number>();
  while (r.off < recordEnd) {
    const f = `response.MeasurementRecord[${blocks.length}]`;
    if (recordEnd - r.off < BLOCK_HEADER_LEN)
      fail('bad_length', `${f}.header`, `${BLOCK_HEADER_LEN} bytes`, recordEnd - r.off);
    const index = r.u8(`${f}.Index`);
    if (index === 0 || index === 0xff) fail('malformed', `${f}.Index`, '1..254', index);
    if (seen.has(index)) fail('malformed', `${f}.Index`, 'a unique index', index);
    seen.add(index);
    const measSpec = r.u8(`${f}.MeasurementSpecification`);
    expectByte(measSpec, MEAS_SPEC_DMTF, `${f}.MeasurementSpecification`);
    const measSize = r.u16(`${f}.MeasurementSize`);
    if (measSize > recordEnd - r.off)
      fail('bad_length', `${f}.MeasurementSize`, `<= ${recordEnd - r.off}`, measSize);
    if (measSize < DMTF_HEADER_LEN)
      fail('bad_length', `${f}.MeasurementSize`, `>= ${DMTF_HEADER_LEN}`, measSize);
    const valueType = r.u8(`${f}.DMTFSpecMeasurementValueType`);
    const valueSize = r.u16(`${f}.DMTFSpecMeasurementValueSize`);
    if (valueSize !== measSize - DMTF_HEADER_LEN) {
      fail(
        'bad_length',
        `${f}.DMTFSpecMeasurementValueSize`,
        measSize - DMTF_HEADER_LEN,
        valueSize,
      );
    }
    const value = r.bytes(valueSize, `${f}.DMTFSpecMeasurementValue`);
    blocks.push({ index, measSpec, valueType, value });
  }
  if (blocks.length !== numberOfBlocks)
    fail('bad_length', 'response.NumberOfBlocks', blocks.length, numberOfBlocks);
  const responderNonce = r.bytes(NONCE_LEN, 'response.Nonce');
  const opaqueLength = r.u16('response.OpaqueLength');
  const opaqueBytes = r.bytes(opaqueLength, 'response.OpaqueData');
  const opaqueFields = decodeOpaque(opaqueBytes);
  const signedEnd = r.off;
  const signature = r.bytes(SIGNATURE_LEN, 'response.Signature');
  const parsedLength = r.off;
  const trailingBytes = buf.length - parsedLength;
  if (trailingBytes > MAX_TRAILING)
    fail(
      'trailing_bytes',
      'report',
      `at most ${MAX_TRAILING} bytes after the signature`,
      trailingBytes,
    );
  for (let i = parsedLength; i < buf.length; i++) {
    if (buf[i] !== 0)
      fail(
        'trailing_bytes',
        `report[${i}]`,
        'zero padding after the signature',
        `0x${buf[i]!.toString(16)}`,
      );
  }
  return {
    request: { version: reqVersion, param1: reqParam1, param2: reqParam2, nonce, slotId },
    version,
    param1,
    param2,
    numberOfBlocks,
    recordLength,
    blocks,
    responderNonce,
    opaqueLength,
    opaqueFields,
    opaque: opaqueFields.decoded,
    signature,
    signedBytes: buf.slice(0, signedEnd),
    parsedLength,
    trailingBytes,
  };
}

/** Accepts the report as binary or as hex text (the nvtrust / trustee sample format). */
export function reportBytesFromInput(input: Uint8Array): Uint8Array {
  if (input.length >= 2 && input[0] === 0x11 && input[1] === GET_MEASUREMENTS) return input;
  let s = '';
  for (const c of input) {
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) {
      fail(
        'attestation_parse',
        'report',
        'binary SPDM (starts 11 e0) or hex text',
        `byte 0x${c.toString(16)}`,
      );
    }
    s += String.fromCharCode(c);
  }
  if (s.length % 2 !== 0)
    fail('attestation_parse', 'report', 'an even number of hex digits', s.length);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
