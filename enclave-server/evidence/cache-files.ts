/** Reading the evidence cache (certificates written by earlier fetches), where absence is normal. */
import { readFile } from 'node:fs/promises';

/** The file's bytes, or undefined when it cannot be read (not cached yet). */
export async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    return undefined;
  }
}
