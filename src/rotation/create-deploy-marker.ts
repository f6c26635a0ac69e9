import { unlink } from "node:fs/promises";
import path from "node:path";
import { createPlainFile, readPlainFile } from "../fs/plain-file.js";
import { fail, type Result } from "../result.js";

interface MarkerContent {
  by: "rotabot";
  rotationId: string;
  step: string;
  pid: number;
  since: string;
}

/** Whose the marker is: rotabot's (which rotation), a deploy's, nobody's, or something that is no plain file. */
type MarkerHolder = MarkerContent | "foreign" | undefined | { notAFile: string };

/** Attempts at taking a marker that keeps changing between our look at it and our write. */
const ATTEMPTS = 3;

/**
 * The deploy guard's marker (default INFRA_DIR/.deploy-in-progress), held by rotabot from a
 * rotation's first vault write or service change until the rotation ends, so the team's deploy
 * tooling waits instead of rendering a half-rotated vault; a marker someone else holds stops such
 * a step ("avoid rotating during an active deploy"), unless an incident is declared.
 *
 * INFRA_DIR may be writable by more people than rotabot's own folders, so the marker is only ever
 * created new (O_EXCL) and read without following links (O_NOFOLLOW): a symbolic link at its name,
 * dangling or not, is refused with the fix, never followed to create or overwrite a file elsewhere.
 */
export function createDeployMarker({ file, isAlive }: { file: string; isAlive: (pid: number) => boolean }) {
  const read = async (): Promise<MarkerHolder> => {
    const found = await readPlainFile(file);
    if (found.state === "missing") return undefined;
    if (found.state === "not_a_file") return { notAFile: found.what };
    try {
      const content = JSON.parse(found.text) as MarkerContent | null;
      return content?.by === "rotabot" && typeof content.rotationId === "string" ? content : "foreign";
    } catch {
      return "foreign";
    }
  };
  const isRotabots = (holder: MarkerHolder): holder is MarkerContent => typeof holder === "object" && "by" in holder;
  const name = path.basename(file);
  return {
    file,
    /**
     * Takes the marker for a step; refuses when a deploy holds it (not when `incident`: then it
     * goes ahead without), and always when something other than a plain file is at its name.
     */
    async hold(
      rotationId: string,
      step: string,
      incident: boolean,
    ): Promise<Result<{ held: boolean }, "deploy_running" | "marker_not_a_file">> {
      const content: MarkerContent = {
        by: "rotabot",
        rotationId,
        step,
        pid: process.pid,
        since: new Date().toISOString(),
      };
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        try {
          await createPlainFile(file, `${JSON.stringify(content)}\n`, 0o644);
          return { ok: true, held: true };
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        const holder = await read();
        if (typeof holder === "object" && "notAFile" in holder)
          return fail(
            "marker_not_a_file",
            `${file} ${holder.notAFile}, not the deploy marker file rotabot and the deploy pipeline write; rotabot never follows a link there (it would create or overwrite a file outside INFRA_DIR). Find out who made it, remove it (rm ${file}), then Retry. Nothing was changed`,
          );
        // Ours (a step of this rotation took it already), or left by a rotabot that is gone: replaced.
        const ours = isRotabots(holder) && (holder.rotationId === rotationId || !isAlive(holder.pid));
        if (holder === undefined) continue;
        if (ours) {
          await unlink(file).catch(() => undefined);
          continue;
        }
        if (incident) return { ok: true, held: false };
        const who = isRotabots(holder) ? `rotabot rotation ${holder.rotationId} (“${holder.step}”)` : "a deploy";
        return fail(
          "deploy_running",
          `${name} in INFRA_DIR says ${who} is running: the runbook says not to rotate during an active deploy. Wait until it is gone, then Retry (or remove ${name} if that deploy is over)`,
        );
      }
      return fail(
        "deploy_running",
        `${name} in INFRA_DIR kept appearing and disappearing while rotabot tried to take it: something else writes it. Find out what, then Retry`,
      );
    },
    /** The rotabot rotation that holds the marker, if rotabot holds it. */
    async holder(): Promise<{ rotationId: string; step: string } | undefined> {
      const holder = await read();
      return isRotabots(holder) ? { rotationId: holder.rotationId, step: holder.step } : undefined;
    },
    /** Lets go of the marker, if it is still this rotation's. */
    async release(rotationId: string): Promise<void> {
      const holder = await read();
      if (isRotabots(holder) && holder.rotationId === rotationId) await unlink(file).catch(() => undefined);
    },
    /**
     * After a crash: removes a marker left by a rotabot process that is gone, unless its rotation
     * is still in flight (a deploy must wait for it to be resumed and finished, or aborted).
     */
    async clearStale(inFlight: (rotationId: string) => Promise<boolean>): Promise<void> {
      const holder = await read();
      if (isRotabots(holder) && !isAlive(holder.pid) && !(await inFlight(holder.rotationId)))
        await unlink(file).catch(() => undefined);
    },
  };
}
export type DeployMarker = ReturnType<typeof createDeployMarker>;
