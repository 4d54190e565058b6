/**
 * Server configuration: one table of options drives the flags, the environment variables
 * (TEECHAT_<NAME>, e.g. TEECHAT_PORT), the JSON config file (--config; keys are the flag names or
 * their camelCase) and --help. Precedence: flags > environment > config file > DEFAULTS.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ProtocolError } from '../protocol/errors';
import { LOG_LEVELS, type LogLevel } from './log';

export type AttestationChoice = 'auto' | 'sev-snp' | 'tdx' | 'azure' | 'simulated';
export type GpuAttestationChoice = 'auto' | 'nvidia' | 'none' | 'simulated';
export type GpuChoice = 'auto' | 'cuda' | 'vulkan' | 'off';
export type EngineChoice = 'llama' | 'openai';
export type TriState = 'auto' | 'on' | 'off';

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

/** Every default in one place (documented in --help and docs/DEPLOY.md). */
export const DEFAULTS: ServerConfig = Object.freeze({
  host: '127.0.0.1',
  port: 8443,
  model: '',
  modelCache: join(homedir(), '.cache', 'teechat', 'models'),
  evidenceCache: join(homedir(), '.cache', 'teechat', 'evidence'),
  engine: 'llama',
  upstream: 'http://127.0.0.1:8000/v1',
  upstreamModel: '',
  attestation: 'auto',
  gpuAttestation: 'auto',
  gpu: 'auto',
  contextSize: 0,
  sequences: 8,
  threads: 0,
  flashAttention: 'auto',
  tlsCert: '',
  tlsKey: '',
  maxSessions: 64,
  maxPendingHandshakes: 64,
  maxPendingPerAddress: 16,
  helloTimeoutMs: 3_000,
  evidenceConcurrency: 2,
  evidenceQueue: 16,
  maxFrameBytes: 1024 * 1024,
  maxTokens: 4096,
  idleTimeoutMs: 10 * 60_000,
  handshakeTimeoutMs: 10_000,
  shutdownTimeoutMs: 5_000,
  logLevel: 'info',
  releaseManifest: '',
  releaseBundle: '',
  simulatedRootsOut: '',
});

type Kind =
  | { t: 'string' }
  | { t: 'int'; min: number; max: number }
  | { t: 'duration' }
  | { t: 'enum'; values: readonly string[] };

interface Spec {
  readonly key: keyof ServerConfig;
  readonly flag: string;
  readonly kind: Kind;
  readonly help: string;
  readonly arg: string;
}

const S = (key: keyof ServerConfig, flag: string, kind: Kind, arg: string, help: string): Spec => ({
  key,
  flag,
  kind,
  arg,
  help,
});

export const OPTION_SPECS: readonly Spec[] = [
  S('host', 'host', { t: 'string' }, 'HOST', 'interface to listen on'),
  S('port', 'port', { t: 'int', min: 0, max: 65535 }, 'PORT', 'TCP port (0 = any free port)'),
  S(
    'model',
    'model',
    { t: 'string' },
    'PATH|hf:URI',
    'GGUF model file, or hf:owner/repo/file.gguf (downloaded into --model-cache)',
  ),
  S('modelCache', 'model-cache', { t: 'string' }, 'DIR', 'download cache for hf: models'),
  S(
    'evidenceCache',
    'evidence-cache',
    { t: 'string' },
    'DIR',
    'cached certificates, TDX collateral (tdx/), CRL (snp/), OCSP (ocsp/, from `collateral fetch`) and NVIDIA RIMs (rims/, from `rims fetch`)',
  ),
  S(
    'engine',
    'engine',
    { t: 'enum', values: ['llama', 'openai'] },
    'llama|openai',
    'embedded node-llama-cpp, or an OpenAI-compatible server inside this CVM',
  ),
  S(
    'upstream',
    'upstream',
    { t: 'string' },
    'URL',
    'OpenAI-compatible base URL (loopback only) for --engine openai',
  ),
  S(
    'upstreamModel',
    'upstream-model',
    { t: 'string' },
    'NAME',
    'model name at the upstream (default: the first it lists)',
  ),
  S(
    'attestation',
    'attestation',
    { t: 'enum', values: ['auto', 'sev-snp', 'tdx', 'azure', 'simulated'] },
    'auto|sev-snp|tdx|azure|simulated',
    'CPU evidence provider (auto: configfs-tsm with /dev/sev-guest or /dev/tdx_guest, else the Azure vTPM)',
  ),
  S(
    'gpuAttestation',
    'gpu-attestation',
    { t: 'enum', values: ['auto', 'nvidia', 'none', 'simulated'] },
    'auto|nvidia|none|simulated',
    'GPU evidence provider (auto: none without /dev/nvidiactl, else NVML and the GPU must be in CC mode)',
  ),
  S(
    'gpu',
    'gpu',
    { t: 'enum', values: ['auto', 'cuda', 'vulkan', 'off'] },
    'auto|cuda|vulkan|off',
    'llama.cpp compute backend',
  ),
  S(
    'contextSize',
    'context-size',
    { t: 'int', min: 0, max: 1 << 20 },
    'TOKENS',
    'context per sequence (0 = min(4096, model training context))',
  ),
  S(
    'sequences',
    'sequences',
    { t: 'int', min: 1, max: 256 },
    'N',
    'parallel sequences batched in one context',
  ),
  S(
    'threads',
    'threads',
    { t: 'int', min: 0, max: 1024 },
    'N',
    'CPU threads for llama.cpp (0 = physical cores; 1 on machines with <= 2 CPUs)',
  ),
  S(
    'flashAttention',
    'flash-attention',
    { t: 'enum', values: ['auto', 'on', 'off'] },
    'auto|on|off',
    'flash attention (auto = on with a GPU backend where the model supports it; off on CPU)',
  ),
  S(
    'tlsCert',
    'tls-cert',
    { t: 'string' },
    'FILE',
    'PEM certificate: serve wss:// (the attested channel does not depend on it)',
  ),
  S('tlsKey', 'tls-key', { t: 'string' }, 'FILE', 'PEM private key for --tls-cert'),
  S(
    'maxSessions',
    'max-sessions',
    { t: 'int', min: 1, max: 1_000_000 },
    'N',
    'established (attested) sessions; when full, the longest-idle one is closed with a sealed notice to admit a new one',
  ),
  S(
    'maxPendingHandshakes',
    'max-pending-handshakes',
    { t: 'int', min: 1, max: 1_000_000 },
    'N',
    'unauthenticated connections (before the handshake finished); more close the oldest (silent ones first)',
  ),
  S(
    'maxPendingPerAddress',
    'max-pending-per-address',
    { t: 'int', min: 1, max: 1_000_000 },
    'N',
    "unauthenticated connections from one address; more close that address's oldest",
  ),
  S(
    'helloTimeoutMs',
    'hello-timeout',
    { t: 'duration' },
    'DURATION',
    'deadline for a new connection to send its ClientHello',
  ),
  S(
    'evidenceConcurrency',
    'evidence-concurrency',
    { t: 'int', min: 1, max: 64 },
    'N',
    'hardware evidence collections at once (off the event loop)',
  ),
  S(
    'evidenceQueue',
    'evidence-queue',
    { t: 'int', min: 0, max: 10_000 },
    'N',
    'evidence collections waiting; more are refused with busy',
  ),
  S(
    'maxFrameBytes',
    'max-frame-bytes',
    { t: 'int', min: 1024, max: 64 * 1024 * 1024 },
    'BYTES',
    'largest WebSocket message accepted after the handshake',
  ),
  S(
    'maxTokens',
    'max-tokens',
    { t: 'int', min: 1, max: 1 << 20 },
    'N',
    'upper bound on tokens per answer',
  ),
  S(
    'idleTimeoutMs',
    'idle-timeout',
    { t: 'duration' },
    'DURATION',
    'close a session idle this long (e.g. 600s, 10m)',
  ),
  S(
    'handshakeTimeoutMs',
    'handshake-timeout',
    { t: 'duration' },
    'DURATION',
    'deadline for a connection to complete the handshake',
  ),
  S(
    'shutdownTimeoutMs',
    'shutdown-timeout',
    { t: 'duration' },
    'DURATION',
    'on SIGTERM, exit at the latest after this',
  ),
  S(
    'logLevel',
    'log-level',
    { t: 'enum', values: LOG_LEVELS },
    LOG_LEVELS.join('|'),
    'log verbosity (stderr)',
  ),
  S(
    'releaseManifest',
    'release-manifest',
    { t: 'string' },
    'FILE',
    'signed release manifest (teechat-release.json) sent with the evidence; needs --release-bundle',
  ),
  S(
    'releaseBundle',
    'release-bundle',
    { t: 'string' },
    'FILE',
    'Sigstore bundle of --release-manifest (teechat-release.sigstore.json)',
  ),
  S(
    'simulatedRootsOut',
    'simulated-roots-out',
    { t: 'string' },
    'FILE',
    'development only: write the roots the simulated providers generated (JSON, PEM) for tests that pin them',
  ),
];

/** Parses "1500ms", "30s", "10m", "1h" or a bare number of seconds into milliseconds. */
export function parseDuration(field: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (m === null)
    throw new ProtocolError(
      'usage',
      `${field}: expected a duration like 30s, 500ms or 10m, got ${JSON.stringify(v)}`,
      field,
    );
  const n = Number(m[1]);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(n * mult);
  if (ms < 1 || ms > 7 * 24 * 3_600_000)
    throw new ProtocolError(
      'usage',
      `${field}: expected between 1ms and 7 days, got ${JSON.stringify(v)}`,
      field,
    );
  return ms;
}

function convert(spec: Spec, raw: unknown, source: string): unknown {
  const field = `${source} ${spec.flag}`;
  switch (spec.kind.t) {
    case 'string':
      if (typeof raw !== 'string')
        throw new ProtocolError(
          'usage',
          `${field}: expected a string, got ${JSON.stringify(raw)}`,
          spec.flag,
        );
      return raw;
    case 'int': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && /^-?\d+$/.test(raw.trim())
            ? Number(raw)
            : NaN;
      if (!Number.isSafeInteger(n) || n < spec.kind.min || n > spec.kind.max)
        throw new ProtocolError(
          'usage',
          `${field}: expected an integer in [${spec.kind.min}, ${spec.kind.max}], got ${JSON.stringify(raw)}`,
          spec.flag,
        );
      return n;
    }
    case 'duration':
      if (typeof raw === 'number') return parseDuration(field, `${raw}`);
      if (typeof raw !== 'string')
        throw new ProtocolError(
          'usage',
          `${field}: expected a duration, got ${JSON.stringify(raw)}`,
          spec.flag,
        );
      return parseDuration(field, raw);
    case 'enum': {
      const v = typeof raw === 'boolean' ? (raw ? 'on' : 'off') : raw;
      if (typeof v !== 'string' || !spec.kind.values.includes(v))
        throw new ProtocolError(
          'usage',
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
 * Throws ProtocolError('usage') naming the option and the offending value.
 */
export function parseServerArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ParsedArgs {
  const byFlag = new Map(OPTION_SPECS.map((s) => [s.flag, s]));
  const byKey = new Map(OPTION_SPECS.map((s) => [s.key as string, s]));
  const values: Record<string, unknown> = { ...DEFAULTS };
  const sources: Record<string, 'flag' | 'env' | 'file'> = {};
  let help = false;
  let version = false;
  let configPath = env['TEECHAT_CONFIG'];
  const flagValues: [Spec, string][] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (a === '--version') {
      version = true;
      continue;
    }
    if (!a.startsWith('--'))
      throw new ProtocolError(
        'usage',
        `argument ${i + 1}: expected an option (--name), got ${JSON.stringify(a)}`,
        'argv',
      );
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (name === 'flash-attention' && eq < 0 && !(argv[i + 1] ?? '').match(/^(auto|on|off)$/)) {
      flagValues.push([byFlag.get(name)!, 'on']);
      continue;
    }
    if (name === 'no-flash-attention') {
      flagValues.push([byFlag.get('flash-attention')!, 'off']);
      continue;
    }
    if (name !== 'config' && !byFlag.has(name))
      throw new ProtocolError('usage', `--${name}: unknown option (see --help)`, name);
    let value: string | undefined;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined)
      throw new ProtocolError('usage', `--${name}: expected a value, got nothing`, name);
    if (name === 'config') {
      configPath = value;
      continue;
    }
    const spec = byFlag.get(name);
    if (spec === undefined)
      throw new ProtocolError('usage', `--${name}: unknown option (see --help)`, name);
    flagValues.push([spec, value]);
  }
  if (configPath !== undefined && configPath !== '') {
    let obj: unknown;
    try {
      obj = JSON.parse(readFile(configPath));
    } catch (e) {
      throw new ProtocolError(
        'usage',
        `--config: expected a readable JSON file at ${JSON.stringify(configPath)}, got ${e instanceof Error ? e.message : String(e)}`,
        'config',
      );
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      throw new ProtocolError(
        'usage',
        `--config: expected a JSON object, got ${Array.isArray(obj) ? 'an array' : typeof obj}`,
        'config',
      );
    for (const [k, v] of Object.entries(obj)) {
      const spec = byFlag.get(k) ?? byKey.get(k);
      if (spec === undefined)
        throw new ProtocolError('usage', `config file key ${JSON.stringify(k)}: unknown option`, k);
      values[spec.key] = convert(spec, v, 'config file');
      sources[spec.key] = 'file';
    }
  }
  for (const spec of OPTION_SPECS) {
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
    throw new ProtocolError('usage', '--tls-cert/--tls-key: expected both or neither', 'tls-cert');
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
  for (const s of OPTION_SPECS) {
    const d = DEFAULTS[s.key];
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
