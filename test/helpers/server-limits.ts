/** Server limits for in-process EnclaveServer tests: small, fast, and overridable per test. */
import type { ServerLimits } from '../../enclave-server/server';

export function testLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  return {
    maxSessions: 4,
    maxPendingHandshakes: 64,
    maxPendingPerAddress: 16,
    helloTimeoutMs: 5_000,
    maxFrameBytes: 1 << 20,
    maxTokens: 8,
    idleTimeoutMs: 10_000,
    handshakeTimeoutMs: 10_000,
    shutdownTimeoutMs: 500,
    ...overrides,
  };
}
