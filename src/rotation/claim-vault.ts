import type { SecretLocks } from "./create-secret-locks.js";
import type { Rotation } from "./model.js";
import { REFUSALS } from "./prompts.js";
import { isTerminal } from "./queries.js";
import type { StepDeps } from "./steps/step-kind.js";

export interface VaultClaimDeps {
  locks: SecretLocks;
  /** A rotation by id, from memory or its journal; undefined when it has none. */
  load: (id: string) => Promise<Readonly<Rotation> | undefined>;
  self: { pid: number; host: string };
  now: () => Date;
}

/**
 * The vault is one file, committed once per rotation: two rotations that both changed it would
 * commit each other's changes, and an abort could not put the committed file back. So a rotation
 * claims the vault before its first write and keeps the claim until it ends (the engine releases
 * it with the secret's lock). A claim whose rotation has ended, or has no journal, is taken over.
 */
export function createVaultClaim({ locks, load, self, now }: VaultClaimDeps): StepDeps["claimVault"] {
  return async (rotation) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const claim = await locks.claimVault({
        rotationId: rotation.id,
        initiator: rotation.initiator.name,
        startedAt: now().toISOString(),
        ...self,
      });
      if (claim.state === "taken") return { ok: true };
      if (claim.state === "contended") break;
      if (claim.state === "unreadable") return { ok: false, message: REFUSALS.unreadableVaultClaim(claim.file) };
      if (claim.holder.rotationId === rotation.id) return { ok: true };
      const other = await load(claim.holder.rotationId);
      if (other && !isTerminal(other)) return { ok: false, message: REFUSALS.vaultClaimedBy(other) };
      await locks.releaseVault(claim.holder.rotationId);
    }
    return { ok: false, message: REFUSALS.lockContended("the vault") };
  };
}
