/**
 * Shared vocabulary of the attestation pipeline: parse → verify → validate.
 * Verification does not stop at the first problem: every check is recorded with a stable id
 * (e.g. `signature`, `cert_chain`, `policy.debug`) and a message naming the field and both values.
 */

/** Evidence kinds carried in a ServerHello evidence bundle. */
export type EvidenceKind =
  | 'sev-snp' // raw SNP ATTESTATION_REPORT (+ VCEK/VLEK, ASK/ASVK, ARK certificates)
  | 'azure-hcl' // Azure vTPM HCL report (SNP or TDX inside) + TPM quote
  | 'tdx' // Intel TDX DCAP quote v4/v5 (+ collateral)
  | 'nvidia-gpu' // NVIDIA SPDM GET_MEASUREMENTS report + device chain + RIMs
  | 'nvidia-switch'; // NVSwitch SPDM report + chain

/**
 * One piece of evidence as carried on the wire: a kind plus named byte strings ("parts").
 * Part names per kind are documented in docs/PROTOCOL.md (e.g. sev-snp: `report`, `vcek` or
 * `vlek`, `ask` or `asvk`, `ark`, `crl`; nvidia-gpu: `report`, `chain`, `rim.driver`, `rim.vbios`,
 * `ocsp.*`). A part's content is what the hardware or the certificate authority produced.
 */
export interface EvidenceItem {
  readonly kind: EvidenceKind;
  /** Free-form label, e.g. the GPU index ("gpu0"); empty when there is one item of the kind. */
  readonly label: string;
  readonly parts: ReadonlyMap<string, Uint8Array>;
}

export interface Check {
  /** Stable identifier, e.g. `signature`, `cert_chain`, `chip_id`, `tcb`, `policy.debug`. */
  readonly id: string;
  readonly ok: boolean;
  /** Human-readable; on failure it names the field and both the expected and the actual value. */
  readonly message: string;
}

/** Decoded fields shown to the user (hex strings, numbers, booleans, nested objects). */
export type FieldValue =
  string | number | boolean | null | readonly FieldValue[] | { readonly [k: string]: FieldValue };
export type Fields = { readonly [k: string]: FieldValue };

export interface VerificationReport {
  readonly ok: boolean;
  readonly kind: EvidenceKind;
  readonly label?: string;
  readonly checks: readonly Check[];
  readonly fields: Fields;
  /** True when the chain ends in a simulated (development) root rather than a pinned vendor root. */
  readonly simulated: boolean;
}

/** The values each side derives from the handshake transcript hash (protocol/handshake). */
export interface BindingValues {
  /** 64 bytes: SEV-SNP REPORT_DATA / TDX REPORTDATA = SHA-512(label ‖ th). */
  readonly cpuReportData: Uint8Array;
  /** 32 bytes: NVIDIA GPU nonce = SHA-256(label ‖ th). */
  readonly gpuNonce: Uint8Array;
}

/** What the handshake sees of the attestation verdict; it derives keys only when `ok`. */
export interface EvidenceVerdict {
  readonly ok: boolean;
  readonly reports: readonly VerificationReport[];
  /** The evidence kinds that were required and found (or required and missing). */
  readonly summary: string;
  /** The signed release manifest the evidence was checked against (docs/RELEASES.md), if any. */
  readonly release?: ReleaseSummary;
}

/** A verified release manifest, for display and export (plain data; hex lowercase). */
export interface ReleaseSummary {
  readonly version: string;
  readonly manifestSha256: string;
  /**
   * Where the manifest came from: the server's evidence, a file the user pinned, or the copy
   * shipped with the client (the .vsix) when the server offered none.
   */
  readonly source: 'server' | 'pinned' | 'bundled';
  readonly repository: string;
  readonly commit: string;
  readonly identity: string;
  readonly issuer: string;
  readonly logIndex: string;
  /** ISO time of the verified signature, and of the newest witness when one was needed. */
  readonly signedAt: string;
  readonly freshAt: string;
  readonly rollback: 'new' | 'upgrade' | 'same' | 'downgrade-allowed';
  readonly previousVersion: string | null;
  /** Relaxations in effect (explicit user choices), empty when none. */
  readonly relaxations: readonly string[];
  readonly modelSha256: string;
  readonly modelRef: string;
  /** Expected values by name (e.g. "snp.launch_digest[qemu-8]", "tdx.mrtd", "azure.pcr4"). */
  readonly expected: { readonly [name: string]: string };
  /** The image inputs the manifest publishes (for the report's recompute commands); absent in older views. */
  readonly image?: ReleaseImageInputs;
}

/** The image inputs a release manifest publishes (protocol/release/manifest.ts ImageInputs). */
export interface ReleaseImageInputs {
  readonly ovmfSha256: string;
  readonly kernelSha256: string;
  readonly initrdSha256: string;
  readonly cmdline: string;
  readonly vcpuShapes: readonly {
    readonly name: string;
    readonly vcpus: number;
    readonly vcpuType: string;
    readonly vmm: string;
    readonly guestFeatures: string;
  }[];
}

/**
 * Called by the client handshake after it has received the ServerHello and computed the binding
 * values, and before it derives any key. The client cannot send application data unless this
 * returns `ok: true`.
 */
export type EvidenceVerifier = (
  items: readonly EvidenceItem[],
  binding: BindingValues,
) => Promise<EvidenceVerdict>;

/** Server side: produce evidence bound to this session's binding values. */
export interface EvidenceProvider {
  readonly kind: EvidenceKind;
  /** Human-readable description for the server's start-up summary. */
  readonly description: string;
  readonly simulated: boolean;
  collect(binding: BindingValues): Promise<EvidenceItem[]>;
}

/** Injected clock and fetcher for verification (tests pin the time inside a vector's window). */
export interface VerifyContext {
  readonly now: () => Date;
  /** Optional network fetcher (AMD KDS, NVIDIA RIM service); never required in tests. */
  readonly fetch?: (url: string) => Promise<Uint8Array>;
  /**
   * Extra pinned roots (tests and embedders only). Treated exactly like the roots compiled into
   * protocol/attestation/roots: same checks, reports name them as pinned test roots, the session
   * is NOT marked simulated. Never reachable from VS Code settings, config files or CLI flags.
   */
  readonly trustAnchors?: TrustAnchors;
}

/** A certificate as DER bytes or PEM text. */
export type AnchorCertificate = Uint8Array | string;

/**
 * Programmatic trust-anchor injection (docs/ATTESTATION.md "Injected test roots"): extra pinned
 * roots per vendor, for tests that run the production trust path against the simulated providers
 * (`teechat-server --simulated-roots-out`) and for embedders with their own roots. It is an API
 * only: no VS Code setting, config file or CLI flag of TEEChat ever fills it. The evidence's own
 * copy of a root is never trusted unless it equals a compiled-in or injected one.
 */
export interface TrustAnchors {
  /** AMD ARKs per product (SEV-SNP and the SNP core of Azure HCL evidence). */
  readonly amdArk?: Partial<Record<'milan' | 'genoa' | 'turin', readonly AnchorCertificate[]>>;
  /** NVIDIA Device Identity roots (GPU / NVSwitch device certificate chains). */
  readonly nvidiaDevice?: readonly AnchorCertificate[];
  /** NVIDIA CoRIM / RIM signing roots. */
  readonly nvidiaRim?: readonly AnchorCertificate[];
}
