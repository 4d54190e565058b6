/**
 * Evidence bundle codec (docs/PROTOCOL.md §Evidence bundle). The bundle is carried opaquely by the
 * handshake; its contents are checked by the injected EvidenceVerifier.
 *
 *   bundle = u8 item_count ‖ item*
 *   item   = vec8 kind (ASCII EvidenceKind) ‖ vec8 label (UTF-8, ≤ 64 bytes)
 *            ‖ u8 part_count ‖ part*
 *   part   = vec8 name (ASCII [a-z0-9][a-z0-9._-]*, ≤ 64 bytes) ‖ vec32 content
 *
 * Canonical form: within an item, parts are sorted by name (bytewise ascending) with no duplicates;
 * items are unique by (kind, label). The decoder refuses anything else (malformed), so one bundle
 * has exactly one encoding and the transcript hash is unambiguous.
 */
import type { EvidenceItem, EvidenceKind } from '../attestation/types';
import { fail } from '../errors';
import type { Limits } from '../limits';
import { Reader, Writer } from '../wire/codec';
import { ascii, utf8Decode } from '../wire/bytes';

export const EVIDENCE_KINDS: readonly EvidenceKind[] = [
  'sev-snp',
  'azure-hcl',
  'tdx',
  'nvidia-gpu',
  'nvidia-switch',
];
export const MAX_LABEL_BYTES = 64;
export const MAX_PART_NAME = 64;
const PART_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export function isEvidenceKind(s: string): s is EvidenceKind {
  return (EVIDENCE_KINDS as readonly string[]).includes(s);
}

export function readEvidenceKind(r: Reader, field: string): EvidenceKind {
  const raw = r.vec8(field, 32);
  const s = utf8Decode(raw, `${r.context}.${field}`);
  if (!isEvidenceKind(s))
    fail('malformed', `${r.context}.${field}`, `one of ${EVIDENCE_KINDS.join(', ')}`, s);
  return s;
}

export function writeEvidenceKind(w: Writer, kind: EvidenceKind, field: string): void {
  if (!isEvidenceKind(kind))
    fail('malformed', `${w.context}.${field}`, `one of ${EVIDENCE_KINDS.join(', ')}`, kind);
  w.vec8(ascii(kind), field);
}

function cmpBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0; // names are ASCII, so UTF-16 order = byte order
}

export function encodeEvidenceBundle(items: readonly EvidenceItem[], limits: Limits): Uint8Array {
  const w = new Writer('EvidenceBundle', 1024);
  if (items.length > limits.maxEvidenceItems)
    fail(
      'too_large',
      'EvidenceBundle.item_count',
      `at most ${limits.maxEvidenceItems}`,
      items.length,
    );
  w.u8(items.length, 'item_count');
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const f = `items[${i}]`;
    const id = `${item.kind}\u0000${item.label}`;
    if (seen.has(id))
      fail(
        'malformed',
        `EvidenceBundle.${f}`,
        'a unique (kind, label)',
        `${item.kind}/${item.label}`,
      );
    seen.add(id);
    writeEvidenceKind(w, item.kind, `${f}.kind`);
    w.str8(item.label, `${f}.label`, MAX_LABEL_BYTES);
    const names = [...item.parts.keys()].sort(cmpBytes);
    if (names.length > limits.maxEvidenceParts)
      fail(
        'too_large',
        `EvidenceBundle.${f}.part_count`,
        `at most ${limits.maxEvidenceParts}`,
        names.length,
      );
    w.u8(names.length, `${f}.part_count`);
    for (const name of names) {
      if (!PART_NAME.test(name) || name.length > MAX_PART_NAME)
        fail(
          'malformed',
          `EvidenceBundle.${f}.parts.name`,
          `[a-z0-9][a-z0-9._-]* of at most ${MAX_PART_NAME} chars`,
          name,
        );
      w.vec8(ascii(name), `${f}.parts.name`);
      w.vec32(
        item.parts.get(name) as Uint8Array,
        `${f}.parts[${name}]`,
        limits.maxEvidencePartBytes,
      );
    }
  });
  if (w.length > limits.maxEvidenceBytes)
    fail(
      'too_large',
      'EvidenceBundle',
      `at most ${limits.maxEvidenceBytes} bytes`,
      `${w.length} bytes`,
    );
  return w.finish();
}

/** Decodes a bundle. Part contents are copies (the caller may keep them). */
export function decodeEvidenceBundle(bytes: Uint8Array, limits: Limits): EvidenceItem[] {
  if (bytes.length > limits.maxEvidenceBytes)
    fail(
      'too_large',
      'EvidenceBundle',
      `at most ${limits.maxEvidenceBytes} bytes`,
      `${bytes.length} bytes`,
    );
  const r = new Reader(bytes, 'EvidenceBundle');
  const count = r.u8('item_count');
  if (count > limits.maxEvidenceItems)
    fail('too_large', 'EvidenceBundle.item_count', `at most ${limits.maxEvidenceItems}`, count);
  const items: EvidenceItem[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const f = `items[${i}]`;
    const kind = readEvidenceKind(r, `${f}.kind`);
    const label = r.str8(`${f}.label`, MAX_LABEL_BYTES);
    const id = `${kind}\u0000${label}`;
    if (seen.has(id))
      fail('malformed', `EvidenceBundle.${f}`, 'a unique (kind, label)', `${kind}/${label}`);
    seen.add(id);
    const np = r.u8(`${f}.part_count`);
    if (np > limits.maxEvidenceParts)
      fail('too_large', `EvidenceBundle.${f}.part_count`, `at most ${limits.maxEvidenceParts}`, np);
    const parts = new Map<string, Uint8Array>();
    let prev = '';
    for (let j = 0; j < np; j++) {
      const nameRaw = r.vec8(`${f}.parts[${j}].name`, MAX_PART_NAME);
      const name = utf8Decode(nameRaw, `EvidenceBundle.${f}.parts[${j}].name`);
      if (!PART_NAME.test(name))
        fail('malformed', `EvidenceBundle.${f}.parts[${j}].name`, '[a-z0-9][a-z0-9._-]*', name);
      if (j > 0 && cmpBytes(prev, name) >= 0)
        fail(
          'malformed',
          `EvidenceBundle.${f}.parts[${j}].name`,
          `a name sorting after ${JSON.stringify(prev)} (canonical order, unique)`,
          name,
        );
      prev = name;
      parts.set(name, r.vec32(`${f}.parts[${name}]`, limits.maxEvidencePartBytes).slice());
    }
    items.push({ kind, label, parts });
  }
  r.end();
  return items;
}
