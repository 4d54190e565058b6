/**
 * Azure confidential VM evidence (SNP or TDX CVMs with Azure's vTPM / paravisor), via tpm2-tools —
 * the simplest honest route: the tools talk to /dev/tpmrm0, nothing is re-implemented here.
 *
 *   1. tpm2_nvwrite  the 64-byte session binding to NV 0x01400002 ("user data"): the paravisor then
 *                    refreshes the HCL report with it in its runtime claims (best effort: the NV
 *                    index may be absent; the binding that matters is the quote nonce below).
 *   2. tpm2_nvread   the HCL report from NV 0x01400001 (hardware report + runtime claims with the
 *                    attestation key HCLAkPub).
 *   3. tpm2_quote    with the Azure AK (persistent handle 0x81000003) over the SHA-256 PCR bank
 *                    0..23, qualifying data (TPMS_ATTEST.extraData) = the session binding.
 *   4. certificates  the VCEK (+ ASK/ARK) from a cache directory, or fetched once from the Azure
 *                    host's THIM endpoint (IMDS, link-local) and cached.
 *
 * Parts: hcl, tpm_quote (TPMS_ATTEST), tpm_signature (raw RSA), pcrs (24 × 32 bytes), vcek
 * (PEM bundle when from THIM). The client verifies all of it (protocol/attestation/azure).
 * Requires: tpm2-tools ≥ 5 (Debian/Ubuntu package `tpm2-tools`), access to /dev/tpmrm0.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceProvider,
} from '../../protocol/attestation/types';
import { parseHclReport } from '../../protocol/attestation/azure/hcl';
import { parseTpmQuote } from '../../protocol/attestation/azure/tpm';
import { toHex } from '../../protocol/wire/bytes';
import { readOptional } from './cache-files';

export const AZURE_NV = { HCL_REPORT: '0x01400001', USER_DATA: '0x01400002' } as const;
export const AZURE_AK_HANDLE = '0x81000003';
export const THIM_URL = 'http://169.254.169.254/metadata/THIM/amd/certification';

export type CommandRunner = (
  cmd: string,
  args: readonly string[],
) => Promise<{ stdout: string; stderr: string }>;

export const execRunner: CommandRunner = (cmd, args) =>
  new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err)
        reject(new AzureVtpmError(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve({ stdout, stderr });
    });
  });

export class AzureVtpmError extends Error {
  override readonly name = 'AzureVtpmError';
}

export interface AzureVtpmOptions {
  readonly run?: CommandRunner;
  /** Directory with a cached vcek.pem (VCEK [+ ASK + ARK]); written after a THIM fetch. */
  readonly certDir?: string;
  /** Fetcher for the THIM endpoint (JSON {vcekCert, certificateChain}); default none (offline). */
  readonly fetchThim?: () => Promise<Uint8Array>;
  /** AK handle. Default 0x81000003. */
  readonly akHandle?: string;
  /** Write the binding to NV 0x01400002 first. Default true. */
  readonly writeUserData?: boolean;
}

export class AzureVtpmProvider implements EvidenceProvider {
  readonly kind = 'azure-hcl' as const;
  readonly simulated = false;
  readonly description: string;
  private certs: Uint8Array | undefined;

  constructor(private readonly opts: AzureVtpmOptions = {}) {
    this.description = `Azure CVM vTPM (HCL report NV ${AZURE_NV.HCL_REPORT}, TPM quote by AK ${opts.akHandle ?? AZURE_AK_HANDLE}, tpm2-tools)`;
  }

  async collect(binding: BindingValues): Promise<EvidenceItem[]> {
    const run = this.opts.run ?? execRunner;
    const dir = await mkdtemp(join(tmpdir(), 'teechat-vtpm-'));
    try {
      if (this.opts.writeUserData !== false) {
        const ud = join(dir, 'user-data.bin');
        await writeFile(ud, binding.cpuReportData);
        try {
          await run('tpm2_nvwrite', ['-C', 'o', AZURE_NV.USER_DATA, '-i', ud]);
        } catch {
          // Not all images define the user-data index; the quote nonce carries the binding.
        }
      }
      const hclFile = join(dir, 'hcl.bin');
      await run('tpm2_nvread', ['-C', 'o', AZURE_NV.HCL_REPORT, '-o', hclFile]);
      const hcl = new Uint8Array(await readFile(hclFile));
      parseHclReport(hcl); // sanity: fail here rather than send garbage
      const msg = join(dir, 'quote.msg');
      const sig = join(dir, 'quote.sig');
      const pcrs = join(dir, 'quote.pcrs');
      await run('tpm2_quote', [
        '-c',
        this.opts.akHandle ?? AZURE_AK_HANDLE,
        '-l',
        'sha256:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23',
        '-q',
        toHex(binding.cpuReportData),
        '-m',
        msg,
        '-s',
        sig,
        '-f',
        'plain',
        '-o',
        pcrs,
        '-F',
        'values',
        '-g',
        'sha256',
      ]);
      const quote = new Uint8Array(await readFile(msg));
      const q = parseTpmQuote(quote);
      if (toHex(q.extraData) !== toHex(binding.cpuReportData)) {
        throw new AzureVtpmError(
          `tpm_quote.extraData: expected ${toHex(binding.cpuReportData)}, got ${toHex(q.extraData)}`,
        );
      }
      const parts = new Map<string, Uint8Array>([
        ['hcl', hcl],
        ['tpm_quote', quote],
        ['tpm_signature', new Uint8Array(await readFile(sig))],
        ['pcrs', new Uint8Array(await readFile(pcrs))],
      ]);
      const vcek = await this.certificates();
      if (vcek !== undefined) parts.set('vcek', vcek);
      // The ARK-signed CRL the client requires, as `teechat-server collateral fetch` caches it.
      if (this.opts.certDir !== undefined) {
        for (const f of ['crl.der', 'crl.pem']) {
          const b = await readOptional(join(this.opts.certDir, f));
          if (b !== undefined && !parts.has('crl')) parts.set('crl', b);
        }
      }
      return [{ kind: 'azure-hcl', label: '', parts }];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** VCEK (+ chain) as a PEM bundle: memory, then certDir/vcek.pem, then THIM (cached). */
  private async certificates(): Promise<Uint8Array | undefined> {
    if (this.certs !== undefined) return this.certs;
    const file = this.opts.certDir !== undefined ? join(this.opts.certDir, 'vcek.pem') : undefined;
    let pem = file !== undefined ? await readOptional(file) : undefined;
    if (pem === undefined && this.opts.fetchThim !== undefined) {
      const j = JSON.parse(Buffer.from(await this.opts.fetchThim()).toString('utf8')) as {
        vcekCert?: unknown;
        certificateChain?: unknown;
      };
      if (typeof j.vcekCert !== 'string')
        throw new AzureVtpmError('THIM: expected a vcekCert PEM, got none');
      pem = new Uint8Array(
        Buffer.from(
          `${j.vcekCert.trim()}\n${typeof j.certificateChain === 'string' ? j.certificateChain.trim() + '\n' : ''}`,
        ),
      );
      if (file !== undefined && this.opts.certDir !== undefined) {
        await mkdir(this.opts.certDir, { recursive: true });
        await writeFile(`${file}.tmp`, pem);
        await rename(`${file}.tmp`, file);
      }
    }
    this.certs = pem;
    return pem;
  }
}
