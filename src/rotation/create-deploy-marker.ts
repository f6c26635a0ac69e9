import { readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { fail, type Result } from "../result.js";

interface MarkerContent {
  by: "rotabot";
  rotationId: string;
  step: string;
  pid: number;
  since: string;
}

/**
 * The deploy guard's marker (default INFRA_DIR/.deploy-in-progress), held by rotabot from a
 * rotation's first vault write or service change until the rotation ends, so the team's deploy
 * tooling waits instead of rendering a half-rotated vault; a marker someone else holds stops such
 * a step ("avoid rotating during an active deploy"), unless an incident is declared.
 */
export function createDeployMarker({ file, isAlive }: { file: string; isAlive: (pid: number) => boolean }) {
  const read = async (): Promise<MarkerContent | "foreign" | undefined> => {
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const content = JSON.parse(text) as MarkerContent;
      return content.by === "rotabot" ? content : "foreign";
    } catch {
      return "foreign";
    }
  };
  const name = path.basename(file);
  return {
    file,
    /** Takes the marker for a step; refuses when a deploy holds it (not when `incident`: then it goes ahead without). */
    async hold(
      rotationId: string,
      step: string,
      incident: boolean,
    ): Promise<Result<{ held: boolean }, "deploy_running">> {
      const content: MarkerContent = {
        by: "rotabot",
        rotationId,
        step,
        pid: process.pid,
        since: new Date().toISOString(),
      };
      try {
        await writeFile(file, `${JSON.stringify(content)}\n`, { flag: "wx", mode: 0o644 });
        return { ok: true, held: true };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await read();
      const ours =
        holder !== undefined && holder !== "foreign" && (holder.rotationId === rotationId || !isAlive(holder.pid));
      if (holder === undefined || ours) {
        await writeFile(file, `${JSON.stringify(content)}\n`, { mode: 0o644 });
        return { ok: true, held: true };
      }
      if (incident) return { ok: true, held: false };
      const who = holder === "foreign" ? "a deploy" : `rotabot rotation ${holder.rotationId} (“${holder.step}”)`;
      return fail(
        "deploy_running",
        `${name} in INFRA_DIR says ${who} is running: the runbook says not to rotate during an active deploy. Wait until it is gone, then Retry (or remove ${name} if that deploy is over)`,
      );
    },
    /** Lets go of the marker, if it is still this rotation's. */
    async release(rotationId: string): Promise<void> {
      const holder = await read();
      if (holder !== undefined && holder !== "foreign" && holder.rotationId === rotationId)
        await unlink(file).catch(() => undefined);
    },
    /**
     * After a crash: removes a marker left by a rotabot process that is gone, unless its rotation
     * is still in flight (a deploy must wait for it to be resumed and finished, or aborted).
     */
    async clearStale(inFlight: (rotationId: string) => Promise<boolean>): Promise<void> {
      const holder = await read();
      if (holder !== undefined && holder !== "foreign" && !isAlive(holder.pid) && !(await inFlight(holder.rotationId)))
        await unlink(file).catch(() => undefined);
    },
  };
}
export type DeployMarker = ReturnType<typeof createDeployMarker>;
