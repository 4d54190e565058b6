/**
 * Text from outside (a peer's close reason, error messages, model output) made safe to print on a
 * terminal: C0 and C1 control characters other than tab and newline, DEL, and the Unicode bidi
 * overrides / isolates become U+FFFD (carriage returns are dropped), so no escape sequence (colours, cursor moves, window title,
 * OSC 8 links, clipboard writes) and no reordering trick reaches the terminal from the peer.
 */
const UNSAFE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function printable(s: string): string {
  // A carriage return could overwrite what is already on the line: dropped (\r\n still ends it).
  return s.replace(/\r/g, '').replace(UNSAFE, '\uFFFD');
}
