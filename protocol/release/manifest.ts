/**
 * The signed release manifest (docs/RELEASES.md, schema: docs/release-manifest.schema.json): the
 * expected values a TEEChat release publishes, signed keyless with Sigstore by the release
 * workflow. This module only PARSES and VALIDATES the bytes (pure; no I/O, no Node APIs): the
 * signature is verified before (client/release/verify.ts), and what the values mean for a session
 * is decided after (`manifestPolicy`).
 *
 * Rules: unknown keys are errors (a typo never silently drops a pin); every hex value has a fixed
 * length and is normalised to lowercase; every error is a ProtocolError naming the field with the
 * expected and the actual value.
 */
import { ProtocolError, show } from '../errors';
import { utf8Decode } from '../asn1/encoding';
import type { AttestationPolicy, TcbFloor } from '../attestation/policy';

export const MANIFEST_SCHEMA = 'teechat-release-manifest/v1';
/** Upper bound on the manifest's size (bytes): a manifest is a few KiB. */
export const MANIFEST_MAX_BYTES = 256 * 1024;

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Pre-release identifiers ("rc.1" → ["rc", "1"]); empty for a release. */
  readonly prerelease: readonly string[];
}

export interface VcpuShape {
  /** Shape name referenced by the SNP launch digests, e.g. "azure-ncc-h100-40". */
  readonly name: string;
  readonly vcpus: number;
  /** QEMU CPU model / vCPU signature name, e.g. "EPYC-v4". */
  readonly vcpuType: string;
  /** VMM type as sev-snp-measure names it: "qemu", "ec2", "gce". */
  readonly vmm: 'qemu' | 'ec2' | 'gce';
  /** SNP guest features (hex string as given, e.g. "0x1"). */
  readonly guestFeatures: string;
}

export interface ImageInputs {
  readonly ovmfSha256: string;
  readonly kernelSha256: string;
  readonly initrdSha256: string;
  /** The kernel command line exactly as measured (without the trailing NUL). */
  readonly cmdline: string;
  readonly cmdlineSha256: string;
  readonly vcpuShapes: readonly VcpuShape[];
}

export interface SnpExpected {
  readonly shape: string;
  /** 48-byte SHA-384 launch digest (report MEASUREMENT), lowercase hex. */
  readonly launchDigest: string;
}

export interface TdxExpected {
  readonly mrtd: string;
  readonly rtmr1: string;
  readonly rtmr2: string;
}

export interface AzureExpected {
  /** vTPM PCRs (SHA-256 bank): index "0".."23" → 32-byte hex. */
  readonly pcrs: { readonly [index: string]: string };
}

export interface ExpectedValues {
  readonly snp: readonly SnpExpected[];
  readonly tdx: TdxExpected | null;
  readonly azure: AzureExpected | null;
}

export interface ModelPin {
  /** Hugging Face style "org/name". */
  readonly repository: string;
  /** Commit (40 hex) the file was taken from. */
  readonly revision: string;
  readonly file: string;
  readonly sha256: string;
  /** dm-verity root hash of the model disk (32-byte hex), or null when the model is not on a verity disk. */
  readonly dmVerityRoot: string | null;
}

/** Floors a manifest may RAISE (never lower): they map onto AttestationPolicy sections. */
export interface PolicyFloors {
  readonly snp?: {
    readonly minTcb?: TcbFloor;
    readonly minGuestSvn?: number;
    readonly minFirmware?: string;
  };
  readonly tdx?: {
    readonly minQeSvn?: number;
    readonly minPceSvn?: number;
    readonly minTeeTcbSvn?: string;
  };
}

export interface ReleaseManifest {
  readonly schema: typeof MANIFEST_SCHEMA;
  /** The version string as written ("1.4.2"). */
  readonly version: string;
  readonly semver: SemVer;
  readonly source: {
    /** "github.com/ORG/REPO". */
    readonly repository: string;
    readonly commit: string;
    /** The release tag, "v" + version. */
    readonly tag: string;
  };
  readonly image: ImageInputs;
  readonly expected: ExpectedValues;
  readonly model: ModelPin;
  readonly server: { readonly buildSha256: string };
  readonly policyFloors: PolicyFloors;
  /** RFC 3339 UTC timestamp as written, and as milliseconds since the epoch. */
  readonly issuedAt: string;
  readonly issuedAtMs: number;
}

type Obj = { readonly [k: string]: unknown };

const bad = (field: string, expected: string, got: unknown): never => {
  throw new ProtocolError(
    'malformed',
    `${field}: expected ${expected}, got ${describe(got)}`,
    field,
  );
};

/** A description used verbatim in an error message (not quoted as a value). */
class Raw {
  constructor(readonly text: string) {}
}

function describe(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  return show(v);
}

function obj(
  v: unknown,
  field: string,
  keys: readonly string[],
  optional: readonly string[] = [],
): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(field, 'an object', v);
  const o = v as Obj;
  for (const k of Object.keys(o)) {
    if (!keys.includes(k) && !optional.includes(k))
      bad(
        `${field}.${k}`,
        `one of ${[...keys, ...optional].join(', ')}`,
        new Raw(`unknown key ${JSON.stringify(k)}`),
      );
  }
  for (const k of keys) if (!(k in o)) bad(`${field}.${k}`, 'a value', undefined);
  return o;
}

function str(v: unknown, field: string, re: RegExp, what: string, max = 4096): string {
  if (typeof v !== 'string' || v.length > max || !re.test(v)) return bad(field, what, v);
  return v;
}

function hex(v: unknown, field: string, bytes: number): string {
  return str(
    v,
    field,
    new RegExp(`^[0-9a-fA-F]{${2 * bytes}}$`),
    `${bytes}-byte hex (${2 * bytes} digits)`,
  ).toLowerCase();
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    return bad(field, `an integer ${min}..${max}`, v);
  return v;
}

function arr(v: unknown, field: string, min: number, max: number): readonly unknown[] {
  if (!Array.isArray(v) || v.length < min || v.length > max)
    return bad(field, `an array of ${min}..${max} items`, v);
  return v;
}

// Semantic versioning 2.0.0 (no build metadata: it does not order and would make two releases equal).
const SEMVER =
  /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-((?:0|[1-9]\d{0,8}|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d{0,8}|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/;

/** Parses a semantic version "MAJOR.MINOR.PATCH[-PRERELEASE]" (no "v", no build metadata). */
export function parseSemver(v: unknown, field = 'version'): SemVer {
  const s = str(v, field, /^.{1,128}$/, 'a semantic version MAJOR.MINOR.PATCH[-PRERELEASE]');
  const m = SEMVER.exec(s);
  if (m === null) return bad(field, 'a semantic version MAJOR.MINOR.PATCH[-PRERELEASE]', s);
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4] === undefined ? [] : m[4].split('.'),
  };
}

/** Semver precedence (§11): negative when a < b, 0 when equal, positive when a > b. */
export function compareSemver(a: SemVer, b: SemVer): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] - b[k];
  if (a.prerelease.length === 0 || b.prerelease.length === 0)
    return b.prerelease.length - a.prerelease.length; // a release ranks above its pre-releases
  const n = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < n; i++) {
    const x = a.prerelease[i] as string;
    const y = b.prerelease[i] as string;
    if (x === y) continue;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) return Number(x) - Number(y);
    if (xn !== yn) return xn ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.prerelease.length - b.prerelease.length;
}

const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$/;

function timestamp(v: unknown, field: string): { text: string; ms: number } {
  const s = str(v, field, RFC3339_UTC, 'an RFC 3339 UTC time like 2026-01-31T12:00:00Z', 40);
  const ms = Date.parse(s);
  const m = RFC3339_UTC.exec(s) as RegExpExecArray;
  const d = new Date(ms);
  // Reject dates Date.parse normalises (Feb 30 → Mar 2) by comparing the fields back.
  if (
    !Number.isFinite(ms) ||
    d.getUTCFullYear() !== Number(m[1]) ||
    d.getUTCMonth() + 1 !== Number(m[2]) ||
    d.getUTCDate() !== Number(m[3]) ||
    d.getUTCHours() !== Number(m[4]) ||
    d.getUTCMinutes() !== Number(m[5]) ||
    d.getUTCSeconds() !== Number(m[6])
  )
    return bad(field, 'a valid calendar date and time', s);
  return { text: s, ms };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function parseShape(v: unknown, f: string): VcpuShape {
  const o = obj(v, f, ['name', 'vcpus', 'vcpu_type', 'vmm', 'guest_features']);
  const vmm = o['vmm'];
  if (vmm !== 'qemu' && vmm !== 'ec2' && vmm !== 'gce')
    return bad(`${f}.vmm`, '"qemu", "ec2" or "gce"', vmm);
  return {
    name: str(o['name'], `${f}.name`, NAME, 'a shape name [A-Za-z0-9._-]{1,100}'),
    vcpus: int(o['vcpus'], `${f}.vcpus`, 1, 512),
    vcpuType: str(o['vcpu_type'], `${f}.vcpu_type`, NAME, 'a vCPU type name like "EPYC-v4"'),
    vmm,
    guestFeatures: str(
      o['guest_features'],
      `${f}.guest_features`,
      /^0x[0-9a-fA-F]{1,16}$/,
      'a hex number like "0x1"',
    ),
  };
}

function parseImage(v: unknown): ImageInputs {
  const f = 'image';
  const o = obj(v, f, [
    'ovmf_sha256',
    'kernel_sha256',
    'initrd_sha256',
    'cmdline',
    'cmdline_sha256',
    'vcpu_shapes',
  ]);
  const shapes = arr(o['vcpu_shapes'], `${f}.vcpu_shapes`, 1, 64).map((s, i) =>
    parseShape(s, `${f}.vcpu_shapes[${i}]`),
  );
  const names = new Set<string>();
  shapes.forEach((s, i) => {
    if (names.has(s.name))
      bad(`${f}.vcpu_shapes[${i}].name`, 'a name not used by an earlier shape', s.name);
    names.add(s.name);
  });
  return {
    ovmfSha256: hex(o['ovmf_sha256'], `${f}.ovmf_sha256`, 32),
    kernelSha256: hex(o['kernel_sha256'], `${f}.kernel_sha256`, 32),
    initrdSha256: hex(o['initrd_sha256'], `${f}.initrd_sha256`, 32),
    // Printable ASCII only: the cmdline is hashed as bytes, so what is shown is what is measured.
    cmdline: str(
      o['cmdline'],
      `${f}.cmdline`,
      /^[\x20-\x7e]{0,4096}$/,
      'printable ASCII of at most 4096 characters',
    ),
    cmdlineSha256: hex(o['cmdline_sha256'], `${f}.cmdline_sha256`, 32),
    vcpuShapes: shapes,
  };
}

function parseExpected(v: unknown, shapes: readonly VcpuShape[]): ExpectedValues {
  const f = 'expected';
  const o = obj(v, f, [], ['snp', 'tdx', 'azure']);
  const snp =
    o['snp'] === undefined
      ? []
      : arr(o['snp'], `${f}.snp`, 1, 64).map((e, i): SnpExpected => {
          const g = `${f}.snp[${i}]`;
          const x = obj(e, g, ['shape', 'launch_digest']);
          const shape = str(x['shape'], `${g}.shape`, NAME, 'a shape name');
          if (!shapes.some((s) => s.name === shape))
            bad(
              `${g}.shape`,
              `one of image.vcpu_shapes (${shapes.map((s) => s.name).join(', ')})`,
              shape,
            );
          return { shape, launchDigest: hex(x['launch_digest'], `${g}.launch_digest`, 48) };
        });
  let tdx: TdxExpected | null = null;
  if (o['tdx'] !== undefined) {
    const x = obj(o['tdx'], `${f}.tdx`, ['mrtd', 'rtmr1', 'rtmr2']);
    tdx = {
      mrtd: hex(x['mrtd'], `${f}.tdx.mrtd`, 48),
      rtmr1: hex(x['rtmr1'], `${f}.tdx.rtmr1`, 48),
      rtmr2: hex(x['rtmr2'], `${f}.tdx.rtmr2`, 48),
    };
  }
  let azure: AzureExpected | null = null;
  if (o['azure'] !== undefined) {
    const x = obj(o['azure'], `${f}.azure`, ['pcrs']);
    const p = x['pcrs'];
    if (typeof p !== 'object' || p === null || Array.isArray(p))
      return bad(`${f}.azure.pcrs`, 'an object', p);
    const pcrs: Record<string, string> = {};
    for (const [k, h] of Object.entries(p as Obj)) {
      if (!/^(?:[0-9]|1[0-9]|2[0-3])$/.test(k))
        bad(`${f}.azure.pcrs`, 'PCR indices "0".."23"', new Raw(`key ${JSON.stringify(k)}`));
      pcrs[k] = hex(h, `${f}.azure.pcrs.${k}`, 32);
    }
    if (Object.keys(pcrs).length === 0) bad(`${f}.azure.pcrs`, 'at least one PCR', new Raw('none'));
    azure = { pcrs };
  }
  if (snp.length === 0 && tdx === null && azure === null)
    bad(f, 'expected values for at least one platform (snp, tdx, azure)', new Raw('none'));
  return { snp, tdx, azure };
}

function parseModel(v: unknown): ModelPin {
  const f = 'model';
  const o = obj(v, f, ['repository', 'revision', 'file', 'sha256', 'dm_verity_root']);
  return {
    repository: str(
      o['repository'],
      `${f}.repository`,
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/,
      'a repository "org/name"',
    ),
    revision: hex(o['revision'], `${f}.revision`, 20),
    file: str(
      o['file'],
      `${f}.file`,
      /^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/,
      'a file path inside the repository',
    ),
    sha256: hex(o['sha256'], `${f}.sha256`, 32),
    dmVerityRoot:
      o['dm_verity_root'] === null ? null : hex(o['dm_verity_root'], `${f}.dm_verity_root`, 32),
  };
}

function parseFloors(v: unknown): PolicyFloors {
  const f = 'policy_floors';
  const o = obj(v, f, [], ['snp', 'tdx']);
  let snp: PolicyFloors['snp'];
  let tdx: PolicyFloors['tdx'];
  if (o['snp'] !== undefined) {
    const x = obj(o['snp'], `${f}.snp`, [], ['minTcb', 'minGuestSvn', 'minFirmware']);
    let minTcb: TcbFloor | undefined;
    if (x['minTcb'] !== undefined) {
      const t = obj(x['minTcb'], `${f}.snp.minTcb`, [], ['bl', 'tee', 'snp', 'microcode', 'fmc']);
      const out: Record<string, number> = {};
      for (const [k, n] of Object.entries(t)) out[k] = int(n, `${f}.snp.minTcb.${k}`, 0, 255);
      minTcb = out;
    }
    snp = {
      ...(minTcb !== undefined ? { minTcb } : {}),
      ...(x['minGuestSvn'] !== undefined
        ? { minGuestSvn: int(x['minGuestSvn'], `${f}.snp.minGuestSvn`, 0, 0xffffffff) }
        : {}),
      ...(x['minFirmware'] !== undefined
        ? {
            minFirmware: str(
              x['minFirmware'],
              `${f}.snp.minFirmware`,
              /^\d{1,3}\.\d{1,3}$/,
              '"major.minor"',
            ),
          }
        : {}),
    };
  }
  if (o['tdx'] !== undefined) {
    const x = obj(o['tdx'], `${f}.tdx`, [], ['minQeSvn', 'minPceSvn', 'minTeeTcbSvn']);
    tdx = {
      ...(x['minQeSvn'] !== undefined
        ? { minQeSvn: int(x['minQeSvn'], `${f}.tdx.minQeSvn`, 0, 0xffff) }
        : {}),
      ...(x['minPceSvn'] !== undefined
        ? { minPceSvn: int(x['minPceSvn'], `${f}.tdx.minPceSvn`, 0, 0xffff) }
        : {}),
      ...(x['minTeeTcbSvn'] !== undefined
        ? { minTeeTcbSvn: hex(x['minTeeTcbSvn'], `${f}.tdx.minTeeTcbSvn`, 16) }
        : {}),
    };
  }
  return { ...(snp !== undefined ? { snp } : {}), ...(tdx !== undefined ? { tdx } : {}) };
}

/** Parses and validates the manifest JSON (UTF-8 bytes or a string). Throws only ProtocolError. */
export function parseReleaseManifest(input: Uint8Array | string): ReleaseManifest {
  const size = typeof input === 'string' ? input.length : input.length;
  if (size > MANIFEST_MAX_BYTES)
    throw new ProtocolError(
      'too_large',
      `manifest: expected at most ${MANIFEST_MAX_BYTES} bytes, got ${size}`,
      'manifest',
    );
  const text = typeof input === 'string' ? input : utf8Decode(input, 'manifest');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return bad(
      'manifest',
      'JSON',
      new Raw(`a syntax error (${e instanceof Error ? e.message.slice(0, 80) : 'invalid'})`),
    );
  }
  return validateReleaseManifest(json);
}

/** Validates an already-parsed JSON value. Throws only ProtocolError. */
export function validateReleaseManifest(json: unknown): ReleaseManifest {
  const o = obj(json, 'manifest', [
    'schema',
    'version',
    'source',
    'image',
    'expected',
    'model',
    'server',
    'policy_floors',
    'issued_at',
  ]);
  if (o['schema'] !== MANIFEST_SCHEMA)
    throw new ProtocolError(
      'unsupported_version',
      `schema: expected ${JSON.stringify(MANIFEST_SCHEMA)}, got ${describe(o['schema'])}`,
      'schema',
    );
  const semver = parseSemver(o['version'], 'version');
  const version = o['version'] as string;
  const s = obj(o['source'], 'source', ['repository', 'commit', 'tag']);
  const repository = str(
    s['repository'],
    'source.repository',
    /^github\.com\/[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/,
    'a repository "github.com/ORG/REPO"',
  );
  const tag = str(s['tag'], 'source.tag', /^v.{1,128}$/, `the tag "v${version}"`);
  if (tag !== `v${version}`) bad('source.tag', `"v${version}" (the version)`, tag);
  const image = parseImage(o['image']);
  const srv = obj(o['server'], 'server', ['build_sha256']);
  const issued = timestamp(o['issued_at'], 'issued_at');
  return {
    schema: MANIFEST_SCHEMA,
    version,
    semver,
    source: { repository, commit: hex(s['commit'], 'source.commit', 20), tag },
    image,
    expected: parseExpected(o['expected'], image.vcpuShapes),
    model: parseModel(o['model']),
    server: { buildSha256: hex(srv['build_sha256'], 'server.build_sha256', 32) },
    policyFloors: parseFloors(o['policy_floors']),
    issuedAt: issued.text,
    issuedAtMs: issued.ms,
  };
}

/**
 * Allowlist entry for a platform the manifest gives no values for. An empty allowlist means "not
 * constrained", so it cannot be used; this text is not hex and so never equals a register, and the
 * refusal reads "expected one of [none-in-release-manifest], got …".
 */
export const NOT_IN_MANIFEST = 'none-in-release-manifest';

const maxFloor = (a: TcbFloor, b: TcbFloor | undefined): TcbFloor => {
  if (b === undefined) return a;
  const out: Record<string, number> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? 0, v as number);
  return out;
};

const maxVersion = (a: string | null, b: string | undefined): string | null => {
  if (b === undefined) return a;
  if (a === null) return b;
  const [am, an] = a.split('.').map(Number) as [number, number | undefined];
  const [bm, bn] = b.split('.').map(Number) as [number, number];
  return bm > am || (bm === am && bn > (an ?? 0)) ? b : a;
};

const maxSvnBytes = (a: string, b: string | undefined): string => {
  if (b === undefined) return a;
  if (a === '') return b;
  let out = '';
  for (let i = 0; i < 32; i += 2) {
    const x = parseInt(a.slice(i, i + 2) || '00', 16);
    const y = parseInt(b.slice(i, i + 2), 16);
    out += Math.max(x, y).toString(16).padStart(2, '0');
  }
  return out;
};

/**
 * The policy a session is checked against when the server presents this (verified) manifest:
 * `base` (the user's policy) with the expected values REPLACED by the manifest's — so only an
 * exact match passes — and floors RAISED to the manifest's where they are higher. Nothing here
 * can relax `base`: flags (debug, simulated, provisional firmware) are copied unchanged.
 * Platforms the manifest gives no values for get an allowlist that matches nothing, so a
 * server on an unlisted platform is refused rather than accepted unpinned.
 */
export function manifestPolicy<P extends AttestationPolicy>(base: P, m: ReleaseManifest): P {
  const snpDigests = m.expected.snp.map((e) => e.launchDigest);
  const f = m.policyFloors;
  return {
    ...base,
    snp: {
      ...base.snp,
      measurements: snpDigests.length > 0 ? snpDigests : [NOT_IN_MANIFEST],
      minTcb: maxFloor(base.snp.minTcb, f.snp?.minTcb),
      minGuestSvn: Math.max(base.snp.minGuestSvn, f.snp?.minGuestSvn ?? 0),
      minFirmware: maxVersion(base.snp.minFirmware, f.snp?.minFirmware),
    },
    tdx: {
      ...base.tdx,
      mrtd: m.expected.tdx !== null ? [m.expected.tdx.mrtd] : [NOT_IN_MANIFEST],
      rtmr:
        m.expected.tdx !== null
          ? [
              base.tdx.rtmr[0] ?? [],
              [m.expected.tdx.rtmr1],
              [m.expected.tdx.rtmr2],
              base.tdx.rtmr[3] ?? [],
            ]
          : base.tdx.rtmr,
      minQeSvn: Math.max(base.tdx.minQeSvn, f.tdx?.minQeSvn ?? 0),
      minPceSvn: Math.max(base.tdx.minPceSvn, f.tdx?.minPceSvn ?? 0),
      minTeeTcbSvn: maxSvnBytes(base.tdx.minTeeTcbSvn, f.tdx?.minTeeTcbSvn),
    },
    azure: {
      ...base.azure,
      pcrs:
        m.expected.azure !== null
          ? Object.fromEntries(Object.entries(m.expected.azure.pcrs).map(([k, v]) => [k, [v]]))
          : { '0': [NOT_IN_MANIFEST] },
    },
  };
}

/** The manifest's expected values by display name ("snp.launch_digest[shape]", "tdx.rtmr1", "azure.pcr4"). */
export function expectedValueNames(m: ReleaseManifest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of m.expected.snp) out[`snp.launch_digest[${e.shape}]`] = e.launchDigest;
  if (m.expected.tdx !== null) {
    out['tdx.mrtd'] = m.expected.tdx.mrtd;
    out['tdx.rtmr1'] = m.expected.tdx.rtmr1;
    out['tdx.rtmr2'] = m.expected.tdx.rtmr2;
  }
  if (m.expected.azure !== null)
    for (const [k, v] of Object.entries(m.expected.azure.pcrs)) out[`azure.pcr${k}`] = v;
  out['model.sha256'] = m.model.sha256;
  return out;
}
