/**
 * FWID from the device leaf certificate's TCG DICE extension (TCG DICE Attestation Architecture
 * §6.1.1, DiceTcbInfo), compared with the report's FWID opaque field.
 *  - Hopper (and NVSwitch) leaves: extension 2.23.133.5.4.1; NVIDIA's verifier takes the last
 *    48 bytes of the extension value (the single SHA-384 fwid digest ends the structure).
 *  - Blackwell leaves: extension 2.23.133.5.4.1.1; FWID = the first digest of `fwids [6]`.
 */
import { ProtocolError } from '../../errors';
import { children, parseDer, readOctetString, readOid, Tag } from '../../asn1/der';
import type { Certificate } from '../../x509/index';
import { FWID_LEN } from './opaque';

export const OID_TCG_DICE_TCB_INFO = '2.23.133.5.4.1';
/** The extension OID NVIDIA uses on Blackwell leaves. */
export const OID_NVIDIA_DICE_TCB_INFO_BLACKWELL = '2.23.133.5.4.1.1';
export const OID_SHA384 = '2.16.840.1.101.3.4.2.2';
/** Context tag [6] (constructed): DiceTcbInfo.fwids. */
const FWIDS_TAG = 0xa6;

export interface LeafFwid {
  readonly oid: string;
  readonly fwid: Uint8Array;
}

/** Returns the leaf's FWID, or null when neither DICE extension is present. ProtocolError on a malformed extension. */
export function leafFwid(leaf: Certificate): LeafFwid | null {
  const bw = leaf.extensions.get(OID_NVIDIA_DICE_TCB_INFO_BLACKWELL);
  if (bw !== undefined) {
    const code = 'x509_parse';
    const top = parseDer(bw.value, 'DiceTcbInfo', code);
    if (top.tag !== Tag.SEQUENCE)
      throw new ProtocolError(code, 'DiceTcbInfo: expected a SEQUENCE', 'DiceTcbInfo');
    const fwids = children(top, 'DiceTcbInfo', code).find((t) => t.tag === FWIDS_TAG);
    if (fwids === undefined)
      throw new ProtocolError(
        code,
        'DiceTcbInfo.fwids: expected [6], got none',
        'DiceTcbInfo.fwids',
      );
    const first = children(fwids, 'DiceTcbInfo.fwids', code)[0];
    if (first === undefined)
      throw new ProtocolError(
        code,
        'DiceTcbInfo.fwids: expected at least one FWID, got none',
        'DiceTcbInfo.fwids',
      );
    const [alg, digest] = children(first, 'DiceTcbInfo.fwids[0]', code);
    const oid = readOid(alg, 'DiceTcbInfo.fwids[0].hashAlg', code);
    if (oid !== OID_SHA384)
      throw new ProtocolError(
        code,
        `DiceTcbInfo.fwids[0].hashAlg: expected ${OID_SHA384}, got ${oid}`,
        'DiceTcbInfo.fwids[0].hashAlg',
      );
    const fwid = readOctetString(digest, 'DiceTcbInfo.fwids[0].digest', code);
    if (fwid.length !== FWID_LEN)
      throw new ProtocolError(
        code,
        `DiceTcbInfo.fwids[0].digest: expected ${FWID_LEN} bytes, got ${fwid.length}`,
        'DiceTcbInfo.fwids[0].digest',
      );
    return { oid: OID_NVIDIA_DICE_TCB_INFO_BLACKWELL, fwid: Uint8Array.from(fwid) };
  }
  const h = leaf.extensions.get(OID_TCG_DICE_TCB_INFO);
  if (h !== undefined) {
    if (h.value.length < FWID_LEN) {
      throw new ProtocolError(
        'x509_parse',
        `DiceTcbInfo: expected at least ${FWID_LEN} bytes, got ${h.value.length}`,
        'DiceTcbInfo',
      );
    }
    return { oid: OID_TCG_DICE_TCB_INFO, fwid: h.value.slice(h.value.length - FWID_LEN) };
  }
  return null;
}
