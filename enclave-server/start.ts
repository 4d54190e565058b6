/**
 * Builds a running server from a configuration: engine, evidence providers, server info,
 * handshake factory, WebSocket server. Used by main.ts (the CLI), the tests and the benchmark.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { EvidenceProvider } from '../protocol/attestation/types';
import { writeSimulatedRoots } from './evidence/simulated-roots';
import type { CryptoProvider } from '../protocol/crypto/provider';
import { ServerHandshake } from '../protocol/handshake/handshake';
import { PROTOCOL_VERSION } from '../protocol/handshake/messages';
import { resolveLimits, type Limits } from '../protocol/limits';
import { encodeAppMessage, type ServerInfo } from '../protocol/messages/messages';
import { nodeProvider } from '../protocol-node/crypto-node';
import type { ServerConfig } from './config';
import { UsageError } from '../protocol-node/args';
import { LlamaEngine, defaultThreads } from './engine/llama';
import { resolveModel } from './engine/model';
import { OpenAiEngine } from './engine/openai';
import type { Engine } from './engine/types';
import type { Logger } from './log';
import {
  evidenceCollector,
  limitConcurrency,
  selectCpuProvider,
  selectGpuProvider,
  type ReleaseParts,
} from './providers';
import { parseReleaseManifest } from '../protocol/release/manifest';
import { EnclaveServer, type ChannelLike } from './server';

export interface StartedServer {
  readonly server: EnclaveServer;
  readonly url: string;
  readonly engine: Engine;
  readonly providers: readonly EvidenceProvider[];
  readonly serverInfo: ServerInfo;
  /** Multi-line human summary (engine settings, attestation providers). */
  readonly summary: string;
}

export interface StartOptions {
  readonly crypto?: CryptoProvider;
  /** Use these providers instead of selecting from the config (tests). */
  readonly providers?: readonly EvidenceProvider[];
  /** Use this engine instead of loading one (tests, benchmark). */
  readonly engine?: Engine;
  /** @internal benchmark harness only (bench/e2e-server.ts). */
  readonly benchPlaintextChannel?: () => ChannelLike;
}

export async function loadEngine(config: ServerConfig, log: Logger): Promise<Engine> {
  const threads = config.threads > 0 ? config.threads : defaultThreads();
  if (config.engine === 'openai') {
    return OpenAiEngine.connect({
      upstream: config.upstream,
      model: config.upstreamModel,
      sequences: config.sequences,
      log,
    });
  }
  if (config.model === '')
    throw new UsageError(
      'model: expected --model PATH|hf:URI for the embedded engine, got none',
      'model',
    );
  const t0 = performance.now();
  const m = await resolveModel(config.model, { cacheDir: config.modelCache });
  log.info('model file', {
    id: m.id,
    bytes: m.bytes,
    sha256: m.sha256,
    hash_ms: Math.round(performance.now() - t0),
  });
  return LlamaEngine.load({
    modelPath: m.path,
    modelId: m.id,
    modelSha256: m.sha256,
    modelBytes: m.bytes,
    gpu: config.gpu,
    contextSize: config.contextSize,
    sequences: config.sequences,
    threads,
    flashAttention: config.flashAttention === 'auto' ? undefined : config.flashAttention === 'on',
    log,
  });
}

export function buildServerInfo(engine: Engine, config: ServerConfig): ServerInfo {
  const s = engine.info.settings;
  const extra: Record<string, string> = {};
  const put = (k: string, v: unknown): void => {
    if (v !== undefined && v !== '') extra[k] = String(v);
  };
  put('gpu_layers', s['gpuLayers']);
  put('chat_wrapper', s['chatWrapper']);
  put('vram_total_mib', s['vramTotalMiB']);
  put('upstream', s['upstream']);
  put('model_bytes', engine.info.modelBytes || undefined);
  if (engine.info.modelSha256 === '') put('model_sha256', 'not measured (upstream engine)');
  return {
    type: 'server_info',
    protocolVersion: PROTOCOL_VERSION,
    modelId: engine.info.modelId.slice(0, 255),
    modelSha256: engine.info.modelSha256 || '0'.repeat(64),
    engine: {
      backend: engine.info.engine === 'llama' ? 'node-llama-cpp' : 'openai-upstream',
      gpu: String(s['backend'] ?? 'cpu'),
      flashAttention: s['flashAttention'] === true,
      sequences: Number(s['sequences'] ?? config.sequences),
      contextSize: Number(s['contextSize'] ?? 0),
      threads: Number(s['threads'] ?? 0),
      extra,
    },
    limits: {
      max_frame_bytes: config.maxFrameBytes,
      max_output_tokens: config.maxTokens,
      max_sessions: config.maxSessions,
      idle_timeout_ms: config.idleTimeoutMs,
    },
  };
}

export function protocolLimitsFor(config: ServerConfig): Limits {
  return resolveLimits({
    maxFramePlaintext: config.maxFrameBytes,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
  });
}

export async function startServer(
  config: ServerConfig,
  log: Logger,
  o: StartOptions = {},
): Promise<StartedServer> {
  const crypto = o.crypto ?? nodeProvider;
  // The release manifest first: a malformed one is a usage error before anything starts.
  const release = loadReleaseParts(config);
  if (release !== undefined)
    log.info('release manifest sent with the evidence', {
      version: release.version,
      manifestSha256: release.sha256,
    });
  // Evidence providers first: a server that cannot attest never loads a model or listens.
  let providers: EvidenceProvider[];
  if (o.providers) providers = [...o.providers];
  else {
    const cpu = await selectCpuProvider(config.attestation, log, undefined, config.evidenceCache);
    const gpu = await selectGpuProvider(
      config.gpuAttestation,
      log,
      undefined,
      config.evidenceCache,
      config.simulatedRootsOut !== '',
    );
    providers = gpu ? [cpu, gpu] : [cpu];
  }
  if (config.simulatedRootsOut !== '')
    writeSimulatedRoots(config.simulatedRootsOut, providers, log);
  const engine = o.engine ?? (await loadEngine(config, log));
  const serverInfo = buildServerInfo(engine, config);
  const protocolLimits = protocolLimitsFor(config);
  const infoBytes = encodeAppMessage(serverInfo, protocolLimits);
  const collectEvidence = limitConcurrency(evidenceCollector(providers, log, release), {
    concurrency: config.evidenceConcurrency,
    queue: config.evidenceQueue,
  });
  let tls: { cert: Uint8Array; key: Uint8Array } | undefined;
  if (config.tlsCert !== '') {
    try {
      tls = { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) };
    } catch (e) {
      await engine.close();
      throw new UsageError(
        `tls: expected readable PEM files, got ${e instanceof Error ? e.message : String(e)}`,
        'tls-cert',
      );
    }
  }
  const server = new EnclaveServer({
    host: config.host,
    port: config.port,
    ...(tls ? { tls } : {}),
    limits: {
      maxSessions: config.maxSessions,
      maxPendingHandshakes: config.maxPendingHandshakes,
      maxPendingPerAddress: config.maxPendingPerAddress,
      helloTimeoutMs: config.helloTimeoutMs,
      maxFrameBytes: config.maxFrameBytes,
      maxTokens: config.maxTokens,
      idleTimeoutMs: config.idleTimeoutMs,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
    },
    engine,
    log,
    protocolLimits,
    newHandshake: () =>
      new ServerHandshake({
        crypto,
        collectEvidence,
        serverInfo: infoBytes,
        limits: protocolLimits,
      }),
    ...(o.benchPlaintextChannel ? { benchPlaintextChannel: o.benchPlaintextChannel } : {}),
  });
  let url: string;
  try {
    url = await server.listen();
  } catch (e) {
    await engine.close();
    throw new UsageError(
      `listen on ${config.host}:${config.port} failed: ${e instanceof Error ? e.message : String(e)}`,
      'port',
    );
  }
  return {
    server,
    url,
    engine,
    providers,
    serverInfo,
    summary: summarize(engine, providers, config, url),
  };
}

function summarize(
  engine: Engine,
  providers: readonly EvidenceProvider[],
  config: ServerConfig,
  url: string,
): string {
  const s = engine.info.settings;
  const lines = [
    `teechat-server ${url}`,
    `  model       ${engine.info.modelId} (${engine.info.modelBytes ? `${(engine.info.modelBytes / 1048576).toFixed(1)} MiB, ` : ''}sha256 ${engine.info.modelSha256 || 'not measured'})`,
    `  engine      ${engine.info.engine === 'llama' ? 'node-llama-cpp' : 'OpenAI-compatible upstream'}: ${Object.entries(
      s,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
    `  limits      sessions=${config.maxSessions} pending=${config.maxPendingHandshakes} (${config.maxPendingPerAddress}/address, hello ${config.helloTimeoutMs / 1000}s) evidence=${config.evidenceConcurrency}+${config.evidenceQueue} queued frame=${config.maxFrameBytes}B max_tokens=${config.maxTokens} idle=${config.idleTimeoutMs / 1000}s handshake=${config.handshakeTimeoutMs / 1000}s`,
    ...providers.map(
      (p) =>
        `  evidence    ${p.kind}: ${p.description}${p.simulated ? '  ** SIMULATED: development only **' : ''}`,
    ),
  ];
  return lines.join('\n');
}

/**
 * Reads --release-manifest and --release-bundle (both or neither). The manifest must parse: a
 * server never offers a manifest its clients would refuse as malformed. The signature is the
 * client's to verify (the server has no reason to be trusted about it).
 */
export function loadReleaseParts(
  config: Pick<ServerConfig, 'releaseManifest' | 'releaseBundle'>,
): (ReleaseParts & { readonly version: string; readonly sha256: string }) | undefined {
  const m = config.releaseManifest;
  const b = config.releaseBundle;
  if (m === '' && b === '') return undefined;
  if (m === '' || b === '')
    throw new UsageError(
      `release-manifest / release-bundle: expected both or neither, got only --${m === '' ? 'release-bundle' : 'release-manifest'}`,
      m === '' ? 'release-manifest' : 'release-bundle',
    );
  let manifest: Uint8Array;
  let bundle: Uint8Array;
  try {
    manifest = readFileSync(m);
    bundle = readFileSync(b);
  } catch (e) {
    throw new UsageError(
      `release-manifest: expected readable files, got ${e instanceof Error ? e.message : String(e)}`,
      'release-manifest',
    );
  }
  let version: string;
  try {
    version = parseReleaseManifest(manifest).version;
  } catch (e) {
    throw new UsageError(
      `release-manifest: ${e instanceof Error ? e.message : String(e)}`,
      'release-manifest',
    );
  }
  try {
    JSON.parse(Buffer.from(bundle).toString('utf8'));
  } catch {
    throw new UsageError(
      `release-bundle: expected Sigstore bundle JSON, got unparsable text in ${b}`,
      'release-bundle',
    );
  }
  return { manifest, bundle, version, sha256: createHash('sha256').update(manifest).digest('hex') };
}
