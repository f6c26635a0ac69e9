import { checkPlaybookSelectsTasks, type ListTasksDeps } from "./list-tasks.js";

export type SelectsTasks = (argv: readonly string[]) => ReturnType<typeof checkPlaybookSelectsTasks>;

/**
 * `checkPlaybookSelectsTasks`, remembered for `ttlMs` when it passed: the check runs the real
 * `ansible-playbook --list-tasks` (a second or more each), so the rotation starts it while the
 * operator reads the plan, and Start finds the answer ready. A failure is never remembered (a fix
 * shows at once); a playbook changed within the time still cannot make a step "succeed" having done
 * nothing, because every run's PLAY RECAP is checked too (src/ansible/play-recap.ts).
 */
export function createSelectionCache(deps: ListTasksDeps & { now: () => Date; ttlMs: number }): SelectsTasks {
  const passed = new Map<string, { at: number; result: ReturnType<SelectsTasks> }>();
  return (argv) => {
    const key = argv.join("\0");
    const now = deps.now().getTime();
    const known = passed.get(key);
    if (known && now - known.at < deps.ttlMs) return known.result;
    const result = checkPlaybookSelectsTasks(argv, deps);
    passed.set(key, { at: now, result });
    void result.then(
      (r) => (r.ok ? undefined : passed.delete(key)),
      () => passed.delete(key),
    );
    return result;
  };
}
