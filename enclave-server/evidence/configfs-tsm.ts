/**
 * Linux configfs-tsm report interface (Documentation/ABI/testing/configfs-tsm), generic over the
 * TEE (sev_guest, tdx_guest, …):
 *
 *   mkdir  <root>/<entry>               one entry per request (removed afterwards)
 *   read   <entry>/provider             e.g. "sev_guest" / "tdx_guest": checked against the caller's
 *   write  <entry>/privlevel            optional (SEV-SNP: the VMPL the report is requested at)
 *   write  <entry>/inblob               the 64-byte REPORT_DATA
 *   read   <entry>/generation           must equal the number of our writes ...
 *   read   <entry>/outblob              the report / quote
 *   read   <entry>/auxblob              optional (SEV-SNP: the certificate table)
 *   read   <entry>/generation           ... and be unchanged: otherwise another process wrote to
 *                                        the entry between our write and our read (a race), and
 *                                        the outblob may not be ours: retry with a fresh entry.
 *
 * The file operations are injectable (`TsmFs`) so tests can run against a fake tree.
 */
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface TsmFs {
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

export const nodeTsmFs: TsmFs = {
  mkdir: async (p) => {
    await mkdir(p);
  },
  rmdir: (p) => rmdir(p),
  readFile: async (p) => new Uint8Array(await readFile(p)),
  writeFile: (p, d) => writeFile(p, d),
};

export const CONFIGFS_TSM_ROOT = '/sys/kernel/config/tsm/report';

export class TsmError extends Error {
  override readonly name = 'TsmError';
}

export interface TsmRequest {
  /** Expected provider name ("sev_guest", "tdx_guest"). */
  readonly provider: string;
  /** 64 bytes of REPORT_DATA. */
  readonly inblob: Uint8Array;
  /** Written to `privlevel` when given (SEV-SNP VMPL 0..3). */
  readonly privlevel?: number;
  /** Read `auxblob` too (absent or unreadable auxblob yields undefined). */
  readonly auxblob?: boolean;
  /** Default CONFIGFS_TSM_ROOT. */
  readonly root?: string;
  /** Attempts when a generation race is detected. Default 3. */
  readonly maxAttempts?: number;
  readonly fs?: TsmFs;
}

export interface TsmResult {
  readonly provider: string;
  readonly outblob: Uint8Array;
  readonly auxblob: Uint8Array | undefined;
  readonly generation: number;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8').trim();

/** Requests one report through configfs-tsm. Throws TsmError with the field and both values. */
export async function tsmReport(req: TsmRequest): Promise<TsmResult> {
  if (req.inblob.length !== 64)
    throw new TsmError(`inblob: expected 64 bytes, got ${req.inblob.length}`);
  const fs = req.fs ?? nodeTsmFs;
  const root = req.root ?? CONFIGFS_TSM_ROOT;
  const attempts = req.maxAttempts ?? 3;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const entry = join(root, `teechat-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await fs.mkdir(entry);
    } catch (e) {
      throw new TsmError(
        `configfs-tsm: cannot create ${entry}: ${(e as NodeJS.ErrnoException).code ?? String(e)} (is this a confidential guest with configfs mounted?)`,
      );
    }
    try {
      const provider = text(await fs.readFile(join(entry, 'provider')));
      if (provider !== req.provider)
        throw new TsmError(`configfs-tsm provider: expected "${req.provider}", got "${provider}"`);
      let writes = 0;
      if (req.privlevel !== undefined) {
        await fs.writeFile(join(entry, 'privlevel'), Buffer.from(`${req.privlevel}\n`));
        writes++;
      }
      await fs.writeFile(join(entry, 'inblob'), req.inblob);
      writes++;
      const before = Number(text(await fs.readFile(join(entry, 'generation'))));
      const outblob = await fs.readFile(join(entry, 'outblob'));
      let auxblob: Uint8Array | undefined;
      if (req.auxblob === true) {
        try {
          auxblob = await fs.readFile(join(entry, 'auxblob'));
          if (auxblob.length === 0) auxblob = undefined;
        } catch {
          auxblob = undefined; // no certificates from the host: the caller falls back to its cache
        }
      }
      const after = Number(text(await fs.readFile(join(entry, 'generation'))));
      if (before !== writes || after !== before) {
        last = `generation: expected ${writes} before and after reading, got ${before} then ${after}`;
        continue;
      }
      return { provider, outblob, auxblob, generation: after };
    } finally {
      await fs.rmdir(entry).catch(() => undefined);
    }
  }
  throw new TsmError(`configfs-tsm: ${attempts} attempts raced with another writer (${last})`);
}
