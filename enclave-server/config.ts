/**
 * Server configuration: one table of options (OPTION_SPECS: flag, type, help, default) drives the
 * flags (node:util parseArgs), the environment variables (TEECHAT_<NAME>, e.g. TEECHAT_PORT), the
 * JSON config file (--config; keys are the flag names or their camelCase), DEFAULTS and --help.
 * Precedence: flags > environment > config file > defaults. Errors: UsageError (exit 2).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, usageError, type OptionSpec } from '../protocol-node/args';
import { LOG_LEVELS, type LogLevel } from './log';

export const ATTESTATION_CHOICES = ['auto', 'sev-snp', 'tdx', 'azure', 'simulated'] as const;
export type AttestationChoice = (typeof ATTESTATION_CHOICES)[number];
export const GPU_ATTESTATION_CHOICES = ['auto', 'nvidia', 'none', 'simulated'] as const;
export type GpuAttestationChoice = (typeof GPU_ATTESTATION_CHOICES)[number];
export const GPU_CHOICES = ['auto', 'cuda', 'vulkan', 'off'] as const;
export type GpuChoice = (typeof GPU_CHOICES)[number];
export const ENGINE_CHOICES = ['llama', 'openai'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];
export const TRI_STATE = ['auto', 'on', 'off'] as const;
export type TriState = (typeof TRI_STATE)[number];

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly model: string;
  readonly modelCache: string;
  /** Cached certificates / collateral / RIMs for the evidence providers (snp/, azure/, tdx/, rims/). */
  readonly evidenceCache: string;
  readonly engine: EngineChoice;
  readonly upstream: string;
  readonly upstreamModel: string;
  readonly attestation: AttestationChoice;
  readonly gpuAttestation: GpuAttestationChoice;
  readonly gpu: GpuChoice;
  /** Tokens per sequence; 0 = min(4096, model training context). */
  readonly contextSize: number;
  readonly sequences: number;
  /** 0 = physical cores. */
  readonly threads: number;
  readonly flashAttention: TriState;
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly maxSessions: number;
  /** Connections still in the handshake (unauthenticated), all addresses together. */
  readonly maxPendingHandshakes: number;
  /** Connections still in the handshake from one remote address. */
  readonly maxPendingPerAddress: number;
  /** Deadline for a new connection's ClientHello. */
  readonly helloTimeoutMs: number;
  /** Evidence collections running at once; more wait in a bounded queue. */
  readonly evidenceConcurrency: number;
  /** Evidence collections waiting; more are refused with `busy`. */
  readonly evidenceQueue: number;
  readonly maxFrameBytes: number;
  readonly maxTokens: number;
  readonly idleTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** Signed release manifest and its Sigstore bundle sent with the evidence (docs/RELEASES.md); '' = none. */
  readonly releaseManifest: string;
  readonly releaseBundle: string;
  /**
   * Development only: write the roots the simulated providers generated at start to this file (a
   * JSON TrustAnchors object of PEM certificates) so that a test can pin them with the client's
   * `trustAnchors` and run the production trust path. '' = not written; refused without a
   * simulated provider.
   */
  readonly simulatedRootsOut: string;
}

type Kind =
  | { t: 'string' }
  | { t: 'int'; min: number; max: number }
  | { t: 'duration' }
  | {
      t: 'enum';
      values: readonly string[];
      /** The value of the flag given alone (`--flash-attention` = on). */
      bare?: string;
      /** The value of `--no-<flag>`. */
      negated?: string;
    };

interface Spec<K extends keyof ServerConfig = keyof ServerConfig> {
  readonly key: K;
  readonly flag: string;
  readonly kind: Kind;
  readonly help: string;
  readonly arg: string;
  /** The default (shown by --help and docs/DEPLOY.md). */
  readonly default: ServerConfig[K];
}

const S = <K extends keyof ServerConfig>(
  key: K,
  flag: string,
  kind: Kind,
  arg: string,
  help: string,
  dflt: ServerConfig[K],
): Spec<K> => ({ key, flag, kind, arg, help, default: dflt });

export const OPTION_SPECS = [
  S('host', 'host', { t: 'string' }, 'HOST', 'interface to listen on', '127.0.0.1'),
  S('port', 'port', { t: 'int', min: 0, max: 65535 }, 'PORT', 'TCP port (0 = any free port)', 8443),
  S(
    'model',
    'model',
    { t: 'string' },
    'PATH|hf:URI',
    'GGUF model file, or hf:owner/repo/file.gguf (downloaded into --model-cache)',
    '',
  ),
  S(
    'modelCache',
    'model-cache',
    { t: 'string' },
    'DIR',
    'download cache for hf: models',
    join(homedir(), '.cache', 'teechat', 'models'),
  ),
  S(
    'evidenceCache',
    'evidence-cache',
    { t: 'string' },
    'DIR',
    'cached certificates, TDX collateral (tdx/), CRL (snp/), OCSP (ocsp/, from `collateral fetch`) and NVIDIA RIMs (rims/, from `rims fetch`)',
    join(homedir(), '.cache', 'teechat', 'evidence'),
  ),
  S(
    'engine',
    'engine',
    { t: 'enum', values: ENGINE_CHOICES },
    ENGINE_CHOICES.join('|'),
    'embedded node-llama-cpp, or an OpenAI-compatible server inside this CVM',
    'llama',
  ),
  S(
    'upstream',
    'upstream',
    { t: 'string' },
    'URL',
    'OpenAI-compatible base URL (loopback only) for --engine openai',
    'http://127.0.0.1:8000/v1',
  ),
  S(
    'upstreamModel',
    'upstream-model',
    { t: 'string' },
    'NAME',
    'model name at the upstream (default: the first it lists)',
    '',
  ),
  S(
    'attestation',
    'attestation',
    { t: 'enum', values: ATTESTATION_CHOICES },
    ATTESTATION_CHOICES.join('|'),
    'CPU evidence provider (auto: configfs-tsm with /dev/sev-guest or /dev/tdx_guest, else the Azure vTPM)',
    'auto',
  ),
  S(
    'gpuAttestation',
    'gpu-attestation',
    { t: 'enum', values: GPU_ATTESTATION_CHOICES },
    GPU_ATTESTATION_CHOICES.join('|'),
    'GPU evidence provider (auto: none without /dev/nvidiactl, else NVML and the GPU must be in CC mode)',
    'auto',
  ),
  S(
    'gpu',
    'gpu',
    { t: 'enum', values: GPU_CHOICES },
    GPU_CHOICES.join('|'),
    'llama.cpp compute backend',
    'auto',
  ),
  S(
    'contextSize',
    'context-size',
    { t: 'int', min: 0, max: 1 << 20 },
    'TOKENS',
    'context per sequence (0 = min(4096, model training context))',
    0,
  ),
  S(
    'sequences',
    'sequences',
    { t: 'int', min: 1, max: 256 },
    'N',
    'parallel sequences batched in one context',
    8,
  ),
  S(
    'threads',
    'threads',
    { t: 'int', min: 0, max: 1024 },
    'N',
    'CPU threads for llama.cpp (0 = physical cores; 1 on machines with <= 2 CPUs)',
    0,
  ),
  S(
    'flashAttention',
    'flash-attention',
    { t: 'enum', values: TRI_STATE, bare: 'on', negated: 'off' },
    TRI_STATE.join('|'),
    'flash attention (auto = on with a GPU backend where the model supports it; off on CPU)',
    'auto',
  ),
  S(
    'tlsCert',
    'tls-cert',
    { t: 'string' },
    'FILE',
    'PEM certificate: serve wss:// (the attested channel does not depend on it)',
    '',
  ),
  S('tlsKey', 'tls-key', { t: 'string' }, 'FILE', 'PEM private key for --tls-cert', ''),
  S(
    'maxSessions',
    'max-sessions',
    { t: 'int', min: 1, max: 1_000_000 },
    'N',
    'established (attested) sessions; when full, the longest-idle one is closed with a sealed notice to admit a new one',
    64,
  ),
  S(
    'maxPendingHandshakes',
    'max-pending-handshakes',
    { t: 'int', min: 1, max: 1_000_000 },
    'N',
    'unauthenticated connections (before the handshake finished); more close the oldest (silent ones first)',
    64,
  ),
  S(
    'maxPendingPerAddress',
    'max-pending-per-address',
    { t: 'int', min: 1, max: 1_000_000 },
    'N',
    "unauthenticated connections from one address; more close that address's oldest",
    16,
  ),
  S(
    'helloTimeoutMs',
    'hello-timeout',
    { t: 'duration' },
    'DURATION',
    'deadline for a new connection to send its ClientHello',
    3_000,
  ),
  S(
    'evidenceConcurrency',
    'evidence-concurrency',
    { t: 'int', min: 1, max: 64 },
    'N',
    'hardware evidence collections at once (off the event loop)',
    2,
  ),
  S(
    'evidenceQueue',
    'evidence-queue',
    { t: 'int', min: 0, max: 10_000 },
    'N',
    'evidence collections waiting; more are refused with busy',
    16,
  ),
  S(
    'maxFrameBytes',
    'max-frame-bytes',
    { t: 'int', min: 1024, max: 64 * 1024 * 1024 },
    'BYTES',
    'largest WebSocket message accepted after the handshake',
    1024 * 1024,
  ),
  S(
    'maxTokens',
    'max-tokens',
    { t: 'int', min: 1, max: 1 << 20 },
    'N',
    'upper bound on tokens per answer',
    4096,
  ),
  S(
    'idleTimeoutMs',
    'idle-timeout',
    { t: 'duration' },
    'DURATION',
    'close a session idle this long (e.g. 600s, 10m)',
    10 * 60_000,
  ),
  S(
    'handshakeTimeoutMs',
    'handshake-timeout',
    { t: 'duration' },
    'DURATION',
    'deadline for a connection to complete the handshake',
    10_000,
  ),
  S(
    'shutdownTimeoutMs',
    'shutdown-timeout',
    { t: 'duration' },
    'DURATION',
    'on SIGTERM, exit at the latest after this',
    5_000,
  ),
  S(
    'logLevel',
    'log-level',
    { t: 'enum', values: LOG_LEVELS },
    LOG_LEVELS.join('|'),
    'log verbosity (stderr)',
    'info',
  ),
  S(
    'releaseManifest',
    'release-manifest',
    { t: 'string' },
    'FILE',
    'signed release manifest (teechat-release.json) sent with the evidence; needs --release-bundle',
    '',
  ),
  S(
    'releaseBundle',
    'release-bundle',
    { t: 'string' },
    'FILE',
    'Sigstore bundle of --release-manifest (teechat-release.sigstore.json)',
    '',
  ),
  S(
    'simulatedRootsOut',
    'simulated-roots-out',
    { t: 'string' },
    'FILE',
    'development only: write the roots the simulated providers generated (JSON, PEM) for tests that pin them',
    '',
  ),
] as const;

// Every ServerConfig key has a row (a missing one is a type error here).
type MissingRows = Exclude<keyof ServerConfig, (typeof OPTION_SPECS)[number]['key']>;
const everyKeyHasARow: [MissingRows] extends [never] ? true : MissingRows = true;
void everyKeyHasARow;

/** Every default, from the rows (documented in --help and docs/DEPLOY.md). */
export const DEFAULTS: ServerConfig = Object.freeze(
  Object.fromEntries(OPTION_SPECS.map((r: Spec) => [r.key, r.default])) as unknown as ServerConfig,
);

/** Parses "1500ms", "30s", "10m", "1h" or a bare number of seconds into milliseconds. */
export function parseDuration(field: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (m === null)
    throw new UsageError(
      `${field}: expected a duration like 30s, 500ms or 10m, got ${JSON.stringify(v)}`,
      field,
    );
  const n = Number(m[1]);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(n * mult);
  if (ms < 1 || ms > 7 * 24 * 3_600_000)
    throw new UsageError(
      `${field}: expected between 1ms and 7 days, got ${JSON.stringify(v)}`,
      field,
    );
  return ms;
}

function convert(spec: Spec, raw: unknown, source: string): unknown {
  // "--sequences" for a flag; "config file sequences" / "$TEECHAT_SEQUENCES sequences" otherwise
  const field = source === '--' ? `--${spec.flag}` : `${source} ${spec.flag}`;
  switch (spec.kind.t) {
    case 'string':
      if (typeof raw !== 'string')
        throw new UsageError(`${field}: expected a string, got ${JSON.stringify(raw)}`, spec.flag);
      return raw;
    case 'int': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && /^-?\d+$/.test(raw.trim())
            ? Number(raw)
            : NaN;
      if (!Number.isSafeInteger(n) || n < spec.kind.min || n > spec.kind.max)
        throw new UsageError(
          `${field}: expected an integer in [${spec.kind.min}, ${spec.kind.max}], got ${JSON.stringify(raw)}`,
          spec.flag,
        );
      return n;
    }
    case 'duration':
      if (typeof raw === 'number') return parseDuration(field, `${raw}`);
      if (typeof raw !== 'string')
        throw new UsageError(
          `${field}: expected a duration, got ${JSON.stringify(raw)}`,
          spec.flag,
        );
      return parseDuration(field, raw);
    case 'enum': {
      const v = typeof raw === 'boolean' ? (raw ? 'on' : 'off') : raw;
      if (typeof v !== 'string' || !spec.kind.values.includes(v))
        throw new UsageError(
          `${field}: expected one of ${spec.kind.values.join('|')}, got ${JSON.stringify(raw)}`,
          spec.flag,
        );
      return v;
    }
  }
}

export interface ParsedArgs {
  readonly config: ServerConfig;
  readonly help: boolean;
  readonly version: boolean;
  /** Where each non-default value came from (for the start-up summary). */
  readonly sources: Readonly<Record<string, 'flag' | 'env' | 'file'>>;
}

/**
 * Parses argv (without node and script), the environment and an optional config file.
 * Throws UsageError naming the option and the offending value.
 */
export function parseServerArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ParsedArgs {
  const specs: readonly Spec[] = OPTION_SPECS;
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const byKey = new Map(specs.map((s) => [s.key as string, s]));
  const values: Record<string, unknown> = { ...DEFAULTS };
  const sources: Record<string, 'flag' | 'env' | 'file'> = {};
  const options: OptionSpec = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const s of specs) {
    options[s.flag] = { type: 'string' };
    if (s.kind.t === 'enum' && s.kind.negated !== undefined)
      options[`no-${s.flag}`] = { type: 'boolean' };
  }
  // A flag with a `bare` value may stand alone: `--flash-attention` = `--flash-attention=on`
  // unless one of its values follows.
  const args = argv.map((a, i) => {
    const s = a.startsWith('--') ? byFlag.get(a.slice(2)) : undefined;
    if (s?.kind.t !== 'enum' || s.kind.bare === undefined) return a;
    return s.kind.values.includes(argv[i + 1] ?? '') ? a : `${a}=${s.kind.bare}`;
  });
  let tokens;
  try {
    ({ tokens } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: false,
      tokens: true,
    }));
  } catch (e) {
    throw usageError(e);
  }
  let help = false;
  let version = false;
  let configPath = env['TEECHAT_CONFIG'];
  const flagValues: [Spec, string][] = [];
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    if (t.name === 'help') help = true;
    else if (t.name === 'version') version = true;
    else if (t.name === 'config') configPath = t.value ?? '';
    else {
      const spec = byFlag.get(t.name);
      if (spec !== undefined) flagValues.push([spec, t.value ?? '']);
      else {
        const negated = byFlag.get(t.name.slice('no-'.length));
        if (negated?.kind.t === 'enum' && negated.kind.negated !== undefined)
          flagValues.push([negated, negated.kind.negated]);
      }
    }
  }
  if (configPath !== undefined && configPath !== '') {
    let obj: unknown;
    try {
      obj = JSON.parse(readFile(configPath));
    } catch (e) {
      throw new UsageError(
        `--config: expected a readable JSON file at ${JSON.stringify(configPath)}, got ${e instanceof Error ? e.message : String(e)}`,
        'config',
      );
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      throw new UsageError(
        `--config: expected a JSON object, got ${Array.isArray(obj) ? 'an array' : typeof obj}`,
        'config',
      );
    for (const [k, v] of Object.entries(obj)) {
      const spec = byFlag.get(k) ?? byKey.get(k);
      if (spec === undefined)
        throw new UsageError(`config file key ${JSON.stringify(k)}: unknown option`, k);
      values[spec.key] = convert(spec, v, 'config file');
      sources[spec.key] = 'file';
    }
  }
  for (const spec of specs) {
    const v = env[envName(spec)];
    if (v !== undefined && v !== '') {
      values[spec.key] = convert(spec, v, `$${envName(spec)}`);
      sources[spec.key] = 'env';
    }
  }
  for (const [spec, v] of flagValues) {
    values[spec.key] = convert(spec, v, '--');
    sources[spec.key] = 'flag';
  }
  const config = values as unknown as ServerConfig;
  if ((config.tlsCert === '') !== (config.tlsKey === ''))
    throw new UsageError('--tls-cert/--tls-key: expected both or neither', 'tls-cert');
  return { config, help, version, sources };
}

export function envName(spec: Spec): string {
  return `TEECHAT_${spec.flag.toUpperCase().replace(/-/g, '_')}`;
}

export function serverHelp(): string {
  const lines = [
    'usage: teechat-server [options]            serve attested, end-to-end encrypted chat',
    '       teechat-server rims fetch [options]  download NVIDIA RIMs into the offline cache',
    '       teechat-server collateral fetch [options]  download OCSP / CRLs / TDX collateral into the cache',
    '',
    'Every option can also be set as an environment variable (TEECHAT_<OPTION>, e.g. TEECHAT_PORT=9000)',
    'or in a JSON file given with --config FILE (keys: option names). Precedence: flag > env > file.',
    '',
    'options:',
  ];
  for (const s of OPTION_SPECS as readonly Spec[]) {
    const d = s.default;
    const def = s.kind.t === 'duration' ? `${Number(d) / 1000}s` : d === '' ? '(none)' : String(d);
    lines.push(`  --${s.flag} ${s.arg}`.padEnd(50) + `${s.help} [default: ${def}]`);
  }
  lines.push('  --config FILE'.padEnd(50) + 'JSON config file [env: TEECHAT_CONFIG]');
  lines.push('  --help, --version');
  lines.push('');
  lines.push(
    'When ready it prints exactly one line on stdout: listening on ws://HOST:PORT (or wss://).',
  );
  lines.push(
    'Exit codes: 0 clean shutdown, 2 usage error, 3 model load failure, 4 attestation provider failure, 1 other.',
  );
  return lines.join('\n') + '\n';
}
