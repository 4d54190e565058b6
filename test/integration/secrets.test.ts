/**
 * Secrets: key material is wiped when it is no longer needed, never reaches logs, crash output or
 * process arguments, and the webview's message types cannot carry it.
 *
 *  - Channel: after `zeroize()` (and, for earlier epochs, after each key update) every AEAD instance
 *    the channel created encrypts as if its key were all zeros — the provider's copy of the key is
 *    wiped too, for both providers.
 *  - Handshake: the ephemeral X25519 / ML-KEM secrets, the shared secrets and every HKDF output are
 *    all-zero once both sides hold their channels.
 *  - Real server + client: with debug logging, a canary prompt and the session keys (recorded by a
 *    wrapping crypto provider on the client, hex and base64) appear neither in the server's log, nor
 *    in its output when it is killed mid-answer, nor in its command line or environment; the client
 *    session's AEAD instances are wiped after close.
 *  - CLI: a prompt given on stdin is in neither the CLI's argv nor its environment; when the
 *    server dies mid-answer the CLI reports a typed error and neither its output nor the server's
 *    log carries the prompt.
 *  - Webview: no property of any type in webview/messages.ts is named like key material or has a
 *    binary type (static check with the TypeScript compiler API).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { nobleProvider } from '../../protocol/crypto/noble';
import type {
  Aead,
  AeadAlg,
  CryptoProvider,
  HashAlg,
  KeyPair,
} from '../../protocol/crypto/provider';
import { SecureChannel } from '../../protocol/channel/channel';
import { ClientHandshake, ServerHandshake } from '../../protocol/handshake/handshake';
import type { EvidenceVerdict } from '../../protocol/attestation/types';
import { connect, DEFAULT_CLIENT_POLICY } from '../../client/index';
import { startLoadServer } from '../../bench/load';
import type { LoadServer } from '../../bench/load';
import { tinyChatModelPath } from '../helpers/tiny-model';
import { repoRoot } from '../helpers/shared';

interface Recorder {
  readonly provider: CryptoProvider;
  readonly aeads: { alg: AeadAlg; inst: Aead }[];
  /** Arrays handed out that hold secrets (checked for wiping). */
  readonly secrets: { what: string; bytes: Uint8Array }[];
  /** Copies of the secret values taken when they were made (searched for in logs). */
  readonly copies: Uint8Array[];
}

function recording(base: CryptoProvider): Recorder {
  const aeads: Recorder['aeads'] = [];
  const secrets: Recorder['secrets'] = [];
  const copies: Uint8Array[] = [];
  const keep = (what: string, b: Uint8Array): Uint8Array => {
    secrets.push({ what, bytes: b });
    copies.push(b.slice());
    return b;
  };
  const provider: CryptoProvider = {
    name: `${base.name}+recording`,
    randomBytes: (n) => base.randomBytes(n),
    hash: (alg, d) => base.hash(alg, d),
    hmac: (alg, k, d) => base.hmac(alg, k, d),
    hkdf: (alg: HashAlg, ikm, salt, info, length) =>
      keep('hkdf output', base.hkdf(alg, ikm, salt, info, length)),
    x25519KeyPair: (sk?: Uint8Array): KeyPair => {
      const kp = base.x25519KeyPair(sk);
      keep('x25519 secret key', kp.secretKey);
      return kp;
    },
    x25519: (sk, pk) => keep('x25519 shared secret', base.x25519(sk, pk)),
    mlkem768: {
      keygen: (seed?: Uint8Array) => {
        const kp = base.mlkem768.keygen(seed);
        keep('ml-kem secret key', kp.secretKey);
        return kp;
      },
      encapsulate: (pk, seed?: Uint8Array) => {
        const r = base.mlkem768.encapsulate(pk, seed);
        keep('ml-kem shared secret (encapsulate)', r.sharedSecret);
        return r;
      },
      decapsulate: (ct, sk) =>
        keep('ml-kem shared secret (decapsulate)', base.mlkem768.decapsulate(ct, sk)),
    },
    aead: (alg, key) => {
      const inst = base.aead(alg, key);
      copies.push(key.slice());
      aeads.push({ alg, inst });
      return inst;
    },
    ecdsaVerify: (k, h, m, s) => base.ecdsaVerify(k, h, m, s),
    rsaVerify: (k, p, m, s) => base.rsaVerify(k, p, m, s),
  };
  return { provider, aeads, secrets, copies };
}

const NONCE = new Uint8Array(12).fill(9);
const PT = new Uint8Array(64).fill(0x5a);
const AAD = new Uint8Array(16).fill(1);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** True when `inst` encrypts exactly as an AEAD under the all-zero key (its key was wiped). */
function wiped(base: CryptoProvider, alg: AeadAlg, inst: Aead): boolean {
  const zero = base.aead(alg, new Uint8Array(32));
  return hex(inst.seal(NONCE, PT, AAD)) === hex(zero.seal(NONCE, PT, AAD));
}

const okVerdict: EvidenceVerdict = { ok: true, reports: [], summary: 'test' };

describe('secrets', () => {
  for (const base of [nodeProvider, nobleProvider]) {
    for (const alg of ['aes-256-gcm', 'chacha20-poly1305'] as const) {
      test(`channel (${base.name}, ${alg}): zeroize and key updates wipe the AEAD instances' keys`, () => {
        const rec = recording(base);
        const k1 = base.randomBytes(32);
        const k2 = base.randomBytes(32);
        const limits = { rekeyAfterFrames: 3 };
        const a = new SecureChannel({
          crypto: rec.provider,
          aead: alg,
          role: 'client',
          sendKey: k1,
          recvKey: k2,
          limits,
        });
        const b = new SecureChannel({
          crypto: rec.provider,
          aead: alg,
          role: 'server',
          sendKey: k2,
          recvKey: k1,
          limits,
        });
        for (let i = 0; i < 8; i++) {
          assert.equal(hex(b.open(a.seal(Uint8Array.of(i)))), hex(Uint8Array.of(i)));
          assert.equal(hex(a.open(b.seal(Uint8Array.of(i)))), hex(Uint8Array.of(i)));
        }
        assert.ok(a.sendEpoch >= 2, 'key updates happened');
        const live = rec.aeads.length;
        assert.ok(live >= 4 + 4 * 2);
        // instances of earlier epochs are wiped as soon as the key update happened
        const earlier = rec.aeads.filter((x) => !wiped(base, x.alg, x.inst)).length;
        assert.equal(
          earlier,
          4,
          `${earlier} live AEAD keys before close (expected the 4 current ones)`,
        );
        a.zeroize();
        b.zeroize();
        const left = rec.aeads.filter((x) => !wiped(base, x.alg, x.inst));
        assert.equal(
          left.length,
          0,
          `${left.length} of ${rec.aeads.length} AEAD instances still hold a key after zeroize`,
        );
      });
    }
  }

  test('handshake: ephemeral secrets, shared secrets and every HKDF output are wiped', async () => {
    const rec = recording(nodeProvider);
    const client = new ClientHandshake({
      crypto: rec.provider,
      verifier: async () => okVerdict,
      requiredEvidence: [],
    });
    const server = new ServerHandshake({
      crypto: rec.provider,
      collectEvidence: async () => [],
      serverInfo: new Uint8Array(4),
    });
    const sh = await server.onClientHello(client.clientHello());
    const { clientFinished, session: cs } = await client.onServerHello(sh);
    const ss = server.onClientFinished(clientFinished);
    assert.equal(hex(ss.channel.open(cs.channel.seal(PT))), hex(PT));
    const kinds = new Set(rec.secrets.map((s) => s.what));
    for (const k of [
      'x25519 secret key',
      'x25519 shared secret',
      'ml-kem secret key',
      'hkdf output',
    ])
      assert.ok(kinds.has(k), `recorded ${k}`);
    const live = rec.secrets
      .filter((s) => s.bytes.some((x) => x !== 0))
      .map((s) => `${s.what} (${s.bytes.length} bytes)`);
    assert.deepEqual(live, [], 'secrets left in memory after the handshake');
    cs.channel.zeroize();
    ss.channel.zeroize();
  });

  test('webview/messages.ts: no field is named like key material or has a binary type', () => {
    const file = join(repoRoot, 'webview', 'messages.ts');
    const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const forbiddenName = /(key|secret|private|priv|seed|nonce|transcript|c2s|s2c|ikm|prk)/i;
    const allowedName = /^(kind)$/; // "kind" contains no forbidden word; listed for clarity
    const binaryType =
      /\b(Uint8Array|ArrayBuffer|Buffer|DataView|SharedArrayBuffer|CryptoKey|KeyObject|bigint)\b/;
    const names: string[] = [];
    const bad: string[] = [];
    const visit = (n: ts.Node): void => {
      if (
        (ts.isPropertySignature(n) || ts.isPropertyAssignment(n) || ts.isPropertyDeclaration(n)) &&
        n.name
      ) {
        const name = n.name.getText(src).replace(/['"]/g, '');
        names.push(name);
        if (forbiddenName.test(name) && !allowedName.test(name)) bad.push(`property ${name}`);
      }
      if (ts.isTypeReferenceNode(n) || n.kind === ts.SyntaxKind.BigIntKeyword) {
        const t = n.getText(src);
        if (binaryType.test(t)) bad.push(`binary type ${t}`);
      }
      ts.forEachChild(n, visit);
    };
    visit(src);
    assert.ok(names.length > 20, `the check saw ${names.length} properties (parse problem?)`);
    assert.deepEqual(bad, []);
    // the static check itself must catch a key-shaped field
    const probe = ts.createSourceFile(
      'p.ts',
      'interface X { sessionKey: Uint8Array }',
      ts.ScriptTarget.ES2022,
      true,
    );
    const probeBad: string[] = [];
    const visitProbe = (n: ts.Node): void => {
      if (ts.isPropertySignature(n) && forbiddenName.test(n.name.getText(probe)))
        probeBad.push('name');
      if (ts.isTypeReferenceNode(n) && binaryType.test(n.getText(probe))) probeBad.push('type');
      ts.forEachChild(n, visitProbe);
    };
    visitProbe(probe);
    assert.deepEqual(probeBad, ['name', 'type']);
  });

  describe('real server and client', () => {
    const CANARY = 'CANARY-secrets-5b1e-do-not-log';
    let srv: LoadServer;
    before(async () => {
      srv = await startLoadServer(tinyChatModelPath(), [
        '--log-level',
        'debug',
        '--sequences',
        '2',
        '--context-size',
        '1024',
      ]);
    });
    after(async () => {
      await srv?.stop(2000);
    });

    test('no canary or session key in logs, kill output, argv or environment; client AEADs wiped on close', async () => {
      const rec = recording(nodeProvider);
      const s = await connect(srv.url, {
        policy: DEFAULT_CLIENT_POLICY,
        allowSimulated: true,
        crypto: rec.provider,
      });
      let text = '';
      for await (const ev of s.chat([{ role: 'user', content: `Repeat ${CANARY}` }], {
        maxTokens: 6,
      }))
        if (ev.type === 'delta') text += ev.text;
      assert.ok(text.length > 0);
      await s.close();
      const sessionAeads = rec.aeads.filter((x) => !wiped(nodeProvider, x.alg, x.inst));
      assert.equal(sessionAeads.length, 0, 'client AEAD instances still hold keys after close');

      // a second session is cut by SIGKILL of the server mid-answer (crash output)
      const s2 = await connect(srv.url, {
        policy: DEFAULT_CLIENT_POLICY,
        allowSimulated: true,
        crypto: rec.provider,
      });
      const cmdline = readFileSync(`/proc/${srv.pid}/cmdline`, 'latin1');
      const environ = readFileSync(`/proc/${srv.pid}/environ`, 'latin1');
      const stream = s2.chat([{ role: 'user', content: `${CANARY} again` }], { maxTokens: 100000 });
      const it = stream[Symbol.asyncIterator]();
      await it.next();
      process.kill(-srv.pid, 'SIGKILL');
      await assert.rejects(async () => {
        for (;;) if ((await it.next()).done) break;
      });
      await srv.stop(1000);

      const keys = rec.copies.filter((k) => k.length >= 16);
      assert.ok(keys.length >= 6, `recorded ${keys.length} secrets`);
      const haystacks: [string, string][] = [
        ['server log', srv.stderr()],
        ['server argv', cmdline],
        ['server environment', environ],
      ];
      assert.ok(srv.stderr().includes('chat request'), 'debug logging was on');
      for (const [where, text2] of haystacks) {
        assert.ok(!text2.includes(CANARY), `canary in ${where}`);
        for (const k of keys) {
          for (const form of [
            hex(k),
            Buffer.from(k).toString('base64'),
            Buffer.from(k).toString('base64url'),
          ])
            assert.ok(
              !text2.toLowerCase().includes(form.toLowerCase().slice(0, 24)),
              `a session secret (${form.slice(0, 8)}…) in ${where}`,
            );
        }
      }
    });
  });
  describe('CLI client', () => {
    const CANARY = 'CANARY-cli-91c4-do-not-log';
    let srv: LoadServer;
    const knownDir = mkdtempSync(join(tmpdir(), 'teechat-known-'));
    after(() => rmSync(knownDir, { recursive: true, force: true }));
    before(async () => {
      srv = await startLoadServer(tinyChatModelPath(), [
        '--log-level',
        'debug',
        '--sequences',
        '1',
      ]);
    });
    after(async () => {
      await srv?.stop(2000);
    });

    test('prompt on stdin: not in the CLI argv or environment; the server dies mid-answer: typed error, no canary in the crash output', async () => {
      const cli = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(repoRoot, 'client', 'cli', 'main.ts'),
          'chat',
          '--server',
          srv.url,
          '--allow-simulated',
          '--known-enclaves',
          join(knownDir, 'known_enclaves'),
          '--trust-on-first-use',
          '--max-tokens',
          '100000',
        ],
        { cwd: repoRoot, detached: true, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      cli.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      cli.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      const exited = new Promise<number | null>((r) => cli.once('exit', (c) => r(c)));
      try {
        cli.stdin.write(`Tell me about ${CANARY}\n`); // stdin stays open: the CLI waits for more
        for (let i = 0; i < 600 && out.length < 5; i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(out.length >= 5, `the answer streamed (stderr: ${err})`);
        const cmdline = readFileSync(`/proc/${cli.pid}/cmdline`, 'latin1');
        const environ = readFileSync(`/proc/${cli.pid}/environ`, 'latin1');
        assert.ok(!cmdline.includes(CANARY), 'canary in the CLI argv');
        assert.ok(!environ.includes(CANARY), 'canary in the CLI environment');
        process.kill(-srv.pid, 'SIGKILL');
        // interactive mode: the CLI reports the typed error and keeps reading stdin
        for (let i = 0; i < 300 && !/^teechat: [a-z_]+: /m.test(err); i++)
          await new Promise((r) => setTimeout(r, 50));
        assert.match(err, /^teechat: [a-z_]+: /m, `typed error on stderr: ${err}`);
        cli.stdin.end();
        const code = await Promise.race([
          exited,
          new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000)),
        ]);
        assert.notEqual(code, 'timeout', 'the CLI exits at the end of stdin');
        for (const [where, text] of [
          ['CLI stderr', err],
          ['CLI stdout', out],
          ['server log', srv.stderr()],
        ] as const)
          assert.ok(!text.includes(CANARY), `canary in ${where}`);
      } finally {
        try {
          process.kill(-(cli.pid as number), 'SIGKILL');
        } catch {
          // already exited
        }
      }
    });
  });
});
