/**
 * Intel SGX PCK certificate extension (OID 1.2.840.113741.1.13.1), per Intel "SGX PCK Certificate
 * and CRL Profile": a SEQUENCE of { OID, value } with
 *   .1 PPID (OCTET STRING 16) · .2 TCB (SEQUENCE of { .2.1 … .2.16 INTEGER component SVNs,
 *   .2.17 PCESVN INTEGER, .2.18 CPUSVN OCTET STRING 16 }) · .3 PCE-ID (OCTET STRING 2)
 *   · .4 FMSPC (OCTET STRING 6) · .5 SGX type (ENUMERATED) · (.6 platform instance id, .7 config).
 */
import { ProtocolError } from '../../errors';
import { Tag, parseDer, readOctetString, readOid, readSmallInteger, seq } from '../../asn1/der';
import type { Certificate } from '../../x509/index';
import type { PckTcb } from './collateral';

export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';
export const SGX_EXT = {
  PPID: `${SGX_EXTENSION_OID}.1`,
  TCB: `${SGX_EXTENSION_OID}.2`,
  PCE_ID: `${SGX_EXTENSION_OID}.3`,
  FMSPC: `${SGX_EXTENSION_OID}.4`,
  SGX_TYPE: `${SGX_EXTENSION_OID}.5`,
} as const;

export interface PckExtension extends PckTcb {
  readonly ppid: Uint8Array;
  readonly cpuSvn: Uint8Array;
  readonly pceId: Uint8Array;
  readonly fmspc: Uint8Array;
  readonly sgxType: number;
}

const CODE = 'attestation_parse' as const;

function bad(field: string, expected: string, actual: string): never {
  throw new ProtocolError(CODE, `${field}: expected ${expected}, got ${actual}`, field);
}

/** Reads the SGX extension of a PCK leaf certificate. */
export function parsePckExtension(cert: Certificate): PckExtension {
  const ext = cert.extensions.get(SGX_EXTENSION_OID);
  if (ext === undefined) bad('pck_leaf.sgx_extension', `extension ${SGX_EXTENSION_OID}`, 'none');
  const F = 'pck_leaf.sgx_extension';
  const entries = new Map<string, ReturnType<typeof parseDer>>();
  for (const e of seq(parseDer(ext.value, F, CODE), F, Tag.SEQUENCE, CODE)) {
    const [oidT, valT, ...rest] = seq(e, F, Tag.SEQUENCE, CODE);
    if (rest.length > 0 || valT === undefined)
      bad(F, 'entries of { OID, value }', `${rest.length + (valT ? 2 : 1)} elements`);
    const oid = readOid(oidT, `${F}.oid`, CODE);
    if (entries.has(oid)) bad(`${F}.${oid}`, 'one entry', 'a duplicate');
    entries.set(oid, valT);
  }
  const need = (oid: string): ReturnType<typeof parseDer> => {
    const v = entries.get(oid);
    if (v === undefined) bad(`${F}.${oid}`, 'present', 'absent');
    return v;
  };
  const sized = (oid: string, len: number): Uint8Array => {
    const b = readOctetString(need(oid), `${F}.${oid}`, CODE);
    if (b.length !== len) bad(`${F}.${oid}`, `${len} bytes`, `${b.length} bytes`);
    return b;
  };

  const tcb = new Map<string, ReturnType<typeof parseDer>>();
  for (const e of seq(need(SGX_EXT.TCB), `${F}.tcb`, Tag.SEQUENCE, CODE)) {
    const [oidT, valT] = seq(e, `${F}.tcb`, Tag.SEQUENCE, CODE);
    tcb.set(readOid(oidT, `${F}.tcb.oid`, CODE), valT!);
  }
  const comp = (n: number): number => {
    const oid = `${SGX_EXT.TCB}.${n}`;
    const t = tcb.get(oid);
    if (t === undefined) bad(`${F}.tcb.${n}`, 'present', 'absent');
    const v = readSmallInteger(t, `${F}.tcb.${n}`, CODE);
    if (v > (n === 17 ? 0xffff : 0xff))
      bad(`${F}.tcb.${n}`, `at most ${n === 17 ? 0xffff : 0xff}`, String(v));
    return v;
  };
  const sgxSvns = Array.from({ length: 16 }, (_, i) => comp(i + 1));
  const cpuSvnT = tcb.get(`${SGX_EXT.TCB}.18`);
  const cpuSvn =
    cpuSvnT === undefined
      ? Uint8Array.from(sgxSvns)
      : readOctetString(cpuSvnT, `${F}.tcb.18`, CODE);

  const typeT = need(SGX_EXT.SGX_TYPE);
  if (typeT.tag !== Tag.ENUMERATED || typeT.value.length !== 1)
    bad(`${F}.sgx_type`, 'a one-byte ENUMERATED', `tag 0x${typeT.tag.toString(16)}`);
  return {
    ppid: sized(SGX_EXT.PPID, 16),
    sgxSvns,
    pceSvn: comp(17),
    cpuSvn,
    pceId: sized(SGX_EXT.PCE_ID, 2),
    fmspc: sized(SGX_EXT.FMSPC, 6),
    sgxType: typeT.value[0] ?? 0,
  };
}
