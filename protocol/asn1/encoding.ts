/**
 * The encoders the ASN.1 and attestation parsers import; one implementation, in
 * protocol/encoding.ts (strict hex, strict UTF-8, base64, PEM), re-exported under these names.
 */
export {
  bytesEqual,
  concatBytes,
  fromBase64,
  fromHex,
  isAllZero,
  latin1Decode,
  toBase64,
  toHex,
  utf8Decode,
  utf8Encode,
} from '../encoding';
