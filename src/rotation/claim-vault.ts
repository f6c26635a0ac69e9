import type { DeployMarker } from "./create-deploy-marker.js";
import type { SecretLocks } from "./create-secret-locks.js";
import type { Rotation } from "../model/rotation.js";
import { REFUSALS } from "./prompts.js";
import { isTerminal } from "./queries.js";
import type { StepDeps } from "../steps/step-kind.js";

export interface VaultClaimDeps {
  locks: SecretLocks;
  /** A rotation by id, from memory or its journal; undefined when it has none. */
  load: (id: string) => Promise<Readonly<Rotation> | undefined>;
  self: { pid: number; host: string };
  now: () => Date;
  /** The deploy guard's marker, taken with the claim; undefined when the runbook has no deploy guard. */
  deployMarker: DeployMarker | undefined;
}

/**
 * The vault is one file, committed once per rotation: two rotations that both changed it would
 * commit each other's changes, and an abort could not put the committed file back. So a rotation
 * claims the vault before its first write and keeps the claim until it ends (the engine releases
 * it with the secret's lock). A claim whose rotation has ended, or has no journal, is taken over.
 *
 * From that first write on, a deploy would render a half-rotated vault (the templates take
 * `<key>_new` where it exists: an environment not yet rolled out would get a value its database or
 * NATS does not accept yet), so the claim also takes the deploy guard's marker, until the end.
 */
export function createVaultClaim(deps: VaultClaimDeps): StepDeps["claimVault"] {
  const claim = claimOnly(deps);
  return async (rotation) => {
    const claimed = await claim(rotation);
    if (!claimed.ok) return claimed;
    const held = await deps.deployMarker?.hold(
      rotation.id,
      "a new value is in the vault",
      rotation.incident !== undefined,
    );
    return held && !held.ok ? { ok: false, message: held.message } : { ok: true };
  };
}

function claimOnly({ locks, load, self, now }: VaultClaimDeps): StepDeps["claimVault"] {
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
      if (claim.state === "unreadable")
        return { ok: false, message: REFUSALS.unreadableVaultClaim(claim.file, claim.what) };
      if (claim.holder.rotationId === rotation.id) return { ok: true };
      const other = await load(claim.holder.rotationId);
      if (other && !isTerminal(other)) return { ok: false, message: REFUSALS.vaultClaimedBy(other) };
      await locks.releaseVault(claim.holder.rotationId);
    }
    return { ok: false, message: REFUSALS.lockContended("the vault") };
  };
}
