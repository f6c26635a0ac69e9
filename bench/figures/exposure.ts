import { readFileSync } from "node:fs";
import path from "node:path";
import type { Rotation } from "../../src/model/rotation.js";
import { SANDBOX_IDS, startStagingBox, type StagingBox } from "../../src/sandbox/start-staging-box.js";
import { walkRotation, type WalkOptions } from "../../test/support/chat-driver.js";
import { spawnBot } from "../../test/support/run-rotabot.js";
import { decryptVault } from "../../test/support/vault-fixture.js";
import type { Figure } from "../lib/measure.js";

const { rotabot: BOT, notifyBot: NOTIFY_BOT, opsChat: OPS, alice: ALICE } = SANDBOX_IDS;
const PROJECT_ROOT = path.join(import.meta.dirname, "..", "..");

/** What the operator does by hand for each secret (instantly, the same in both orders). */
function operator(box: StagingBox, secret: string): { command: string; options: Partial<WalkOptions> } {
  // The value in use (the old one, until the rename), read when the operator revokes it.
  const current = (key: string) =>
    new RegExp(`^${key}: "([^"]+)"$`, "m").exec(
      decryptVault(path.join(box.infraDir, "infra/group_vars/all/vault.yml"), box.passwordFile),
    )![1]!;
  switch (secret) {
    case "signalwire": {
      const pat = box.repository.createToken();
      const revoke = () => void box.repository.revokeToken(current("vault_signalwire_token"));
      return { command: "/rotate signalwire", options: { token: () => pat, beforeDone: revoke } };
    }
    case "sentry": {
      const dsn = box.sentry.createDsn();
      const disable = () => void box.sentry.disableKey(current("vault_sentry_dsn"));
      return { command: "/rotate sentry", options: { token: () => dsn, beforeDone: disable } };
    }
    case "telegram": {
      let token = "";
      return {
        command: "/rotate telegram",
        options: { beforeDone: () => void (token = box.telegram.issueNewToken(NOTIFY_BOT)), token: () => token },
      };
    }
    default:
      return { command: `/rotate ${secret}`, options: {} };
  }
}

/** Seconds the old value stayed accepted: the measured window, else (routine, no refusal check) to the procedure's last step. */
function exposureOf(r: Rotation): number {
  if (r.exposure) return r.exposure.seconds;
  const last = r.steps.filter((s) => s.phase === "procedure" && s.endedAt).at(-1)!;
  return (Date.parse(last.endedAt!) - Date.parse(r.createdAt)) / 1000;
}

/**
 * (j) Per secret, the exposure window of a compromise rotation next to a routine one, both
 * measured in the same run on the box (real PostgreSQL, NATS, ansible-playbook, the stand-ins),
 * from the declaration: to the check that proves the old value refused, or for a routine order
 * without one (PostgreSQL), to its last procedure step (the drain). BENCH_SECRETS=sentry,postgres
 * measures only those.
 */
export async function measureExposure(): Promise<{ figures: Figure[]; notes: string[] }> {
  const secrets = (process.env.BENCH_SECRETS ?? "telegram,signalwire,postgres,nats,sentry,api-token").split(",");
  const box = await startStagingBox({ packageRoot: PROJECT_ROOT, env: process.env });
  const bot = spawnBot(box.rotabotEnv, box.infraDir);
  const figures: Figure[] = [];
  const notes: string[] = [];
  const journal = (id: string) =>
    JSON.parse(readFileSync(path.join(box.rotabotEnv.STATE_DIR!, "rotations", `${id}.json`), "utf8")) as Rotation;
  try {
    await bot.ready();
    for (const secret of secrets) {
      const walk = async (suffix: string) => {
        const { command, options } = operator(box, secret);
        const walked = await walkRotation(`${command}${suffix}`, {
          tg: box.telegram,
          botId: BOT,
          opsChat: OPS,
          operator: ALICE,
          promptTimeoutMs: 600_000,
          ...options,
        });
        return journal(walked.rotationId);
      };
      const routine = await walk("");
      const compromise = await walk(" compromised bench: the compromise order against the routine one");
      const [c, r] = [exposureOf(compromise), exposureOf(routine)];
      figures.push({
        name: `(j) ${secret}: exposure window, compromise order`,
        value: c,
        unit: "s",
        baseline: { name: "routine order", value: r },
        goal: { text: "< routine", met: c < r },
      });
      notes.push(
        `(j) ${secret}: compromise ${c.toFixed(1)} s (${compromise.exposure?.proven ? `to “${compromise.exposure.by}”` : "not proven"}), routine ${r.toFixed(1)} s (${routine.exposure ? `to “${routine.exposure.by}”` : "to its last procedure step"})`,
      );
    }
  } finally {
    await bot.stop();
    await box.stop();
  }
  return { figures, notes };
}
