import type { CheckResult } from "../doctor/doctor-checks.js";
import type { RunCommand } from "../exec/create-command-runner.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import { parseDuration } from "../time/duration.js";

const WIRING = 'docs/runbook.md, "The deploy guard": wiring it to the team\'s deploy pipeline';

/**
 * The deploy guard as a rotation would meet it, and whether it is wired: the guard command now
 * (exit 0: no deploy running), the marker kept out of git (`git check-ignore`), and something in
 * the infra checkout besides .gitignore that names the marker (the pipeline's deploy script that
 * takes it, or the guard script that asks the CI). Until the pipeline takes the marker, the guard
 * only ever sees rotabot's own, and a deploy can start in the middle of a rotation. Reads only:
 * git runs without optional locks (GIT_OPTIONAL_LOCKS=0), so not even its index is refreshed.
 */
export async function rehearseDeployGuard(runbook: Runbook, runCommand: RunCommand): Promise<CheckResult[]> {
  const guard = runbook.deploy_guard;
  if (!guard)
    return [
      {
        check: "deploy guard",
        status: "warn",
        detail:
          "the runbook has no deploy_guard: nothing stops a rotation during a deploy, or a deploy during a rotation",
        fix: `add deploy_guard to the runbook (${WIRING})`,
      },
    ];
  const results: CheckResult[] = [];
  const ran = await runCommand({
    argv: guard.argv,
    ...(guard.env ? { env: guard.env } : {}),
    timeoutMs: parseDuration(guard.timeout) ?? 30_000,
  });
  results.push(
    ran.ok
      ? { check: "deploy guard", status: "ok", detail: `"${guard.title}" passes now (${guard.argv.join(" ")})` }
      : {
          check: "deploy guard",
          status: "fail",
          detail: `a deploy seems to be running: "${guard.title}" failed (${ran.message})`,
          fix: "a rotation would be refused now: wait for the deploy to end, or declare an incident with a reason when the deploy is the mitigation",
        },
  );
  const git = (...args: string[]) => {
    const lines: string[] = [];
    return runCommand({
      argv: ["git", ...args],
      env: { GIT_OPTIONAL_LOCKS: "0" },
      timeoutMs: 30_000,
      onLine: (line) => lines.push(line),
    }).then((result) => ({ result, lines }));
  };
  const ignored = await git("check-ignore", "-q", "--", guard.marker);
  if (ignored.result.ok)
    results.push({ check: "deploy marker", status: "ok", detail: `${guard.marker} is kept out of git (.gitignore)` });
  else if (ignored.result.exitCode === 1)
    results.push({
      check: "deploy marker",
      status: "warn",
      detail: `${guard.marker} is not in the infra checkout's .gitignore: while a rotation holds it, git shows it as a new file`,
      fix: `add ${guard.marker} to the infra repository's .gitignore`,
    });
  const mentions = await git("grep", "-l", "-F", "-e", guard.marker, "--", ".", ":!.gitignore");
  // The runner's first line is the command itself ("$ git grep ...").
  const files = mentions.result.ok ? mentions.lines.filter((l) => l !== "" && !l.startsWith("$ ")) : [];
  const ownMarkerTest = [...guard.argv, ...Object.values(guard.env ?? {})].some((a) => a.includes(guard.marker));
  results.push(
    files.length > 0
      ? {
          check: "deploy guard wiring",
          status: "ok",
          detail: `${files.join(", ")} name${files.length === 1 ? "s" : ""} ${guard.marker}: the deploy pipeline knows about rotations`,
        }
      : {
          check: "deploy guard wiring",
          status: "warn",
          detail: ownMarkerTest
            ? `the guard tests for ${guard.marker}, but nothing in the infra checkout takes it: until the deploy pipeline does, the guard sees only rotabot's own marker, and a deploy can start in the middle of a rotation`
            : `nothing in the infra checkout honours ${guard.marker}, which rotabot holds for the length of a rotation: a deploy can start in the middle of one`,
          fix: `make the deploy script take ${guard.marker} before it deploys and wait while it is there (${WIRING})`,
        },
  );
  return results;
}
