/**
 * The real SEV-SNP vectors in ../shared/vectors predate AMD-SB-3023: their SNP SPLs (2..24) are
 * below the default per-product floors (0x1b on Milan/Genoa, 0x04 on Turin), so the default policy
 * now refuses them for `policy.min_tcb`. Tests that check what EXPECTED.json records for those
 * vectors pin that floor away explicitly, here, and nowhere else (issue #13: floors as data).
 */
import type { AttestationPolicy } from '../../protocol/attestation/policy';

export function withoutSnpBulletinFloors<P extends AttestationPolicy>(p: P): P {
  return { ...p, snp: { ...p.snp, minTcbByProduct: {} } };
}

/** The same as a `--policy` file body for the CLI. */
export const VECTOR_POLICY_JSON = JSON.stringify({ snp: { minTcbByProduct: {} } });
