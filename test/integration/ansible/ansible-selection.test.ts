import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelectionCache } from "../../../src/ansible/create-selection-cache.js";
import { checkPlaybookSelectsTasks } from "../../../src/ansible/list-tasks.js";
import { checkTasksRan, parsePlayRecap, parseTaskResults } from "../../../src/ansible/play-recap.js";
import { allowedEnv } from "../../../src/exec/allowed-env.js";
import { createCommandRunner } from "../../../src/exec/create-command-runner.js";
import { createRedactor } from "../../../src/logging/redactor.js";

// Real ansible-playbook (Debian's ansible-core 2.14) on small playbooks: what --tags, hosts and
// --limit select, and what a run's PLAY RECAP says about it.
let dir: string;
const env = { ...allowedEnv(process.env), ANSIBLE_NOCOLOR: "1", ANSIBLE_RETRY_FILES_ENABLED: "0" };
const deps = () => ({
  runCommand: createCommandRunner({ cwd: dir, baseEnv: env, redactor: createRedactor() }),
});
const playbook = (name: string, ...extra: string[]) => [
  "ansible-playbook",
  "-i",
  "inventory.yml",
  `playbooks/${name}`,
  "--vault-password-file",
  "pass.txt",
  ...extra,
];
const run = (argv: string[]) =>
  execa(argv[0]!, argv.slice(1), { cwd: dir, env, extendEnv: false, reject: false, all: true });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "rotabot-ansible-"));
  mkdirSync(path.join(dir, "playbooks"));
  mkdirSync(path.join(dir, "group_vars/all"), { recursive: true });
  writeFileSync(path.join(dir, "pass.txt"), "a vault password\n", { mode: 0o600 });
  // An encrypted vault in group_vars, as in the infra checkout: running needs the password file.
  await execa(
    "ansible-vault",
    ["encrypt", "--vault-password-file", "pass.txt", "--output", "group_vars/all/vault.yml", "-"],
    { cwd: dir, input: "vault_thing: secret-thing\n" },
  );
  writeFileSync(
    path.join(dir, "inventory.yml"),
    `all:
  children:
    staging:
      hosts:
        localhost: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}
    nats:
      hosts:
        localhost:
    empty_group:
      hosts: {}
`,
  );
  const debug = (name: string, tags: string) =>
    `    - name: ${name}\n      ansible.builtin.debug: {msg: "${name}"}\n      tags: ${tags}\n`;
  writeFileSync(
    path.join(dir, "playbooks/reload.yml"),
    `- name: Reload
  hosts: nats
  gather_facts: false
  tasks:
${debug("Test the config", "[config_test]")}${debug("Reload", "[reload]")}${debug("Only when asked", "[old_refused, never]")}`,
  );
  writeFileSync(
    path.join(dir, "playbooks/nowhere.yml"),
    `- name: Nowhere
  hosts: not_in_inventory
  gather_facts: false
  tasks:
${debug("Do it", "[config]")}`,
  );
  writeFileSync(
    path.join(dir, "playbooks/templated.yml"),
    `- name: Templated hosts
  hosts: "{{ target_group }}"
  gather_facts: false
  tasks:
${debug("Do it", "[config]")}`,
  );
  writeFileSync(
    path.join(dir, "playbooks/includes.yml"),
    `- name: Includes
  hosts: staging
  gather_facts: false
  tasks:
    - ansible.builtin.include_tasks: ../tasks.yml
      tags: [deploy]
`,
  );
  writeFileSync(path.join(dir, "tasks.yml"), `- name: Untagged\n  ansible.builtin.debug: {msg: x}\n`);
  writeFileSync(
    path.join(dir, "playbooks/skipped.yml"),
    `- name: Skipped
  hosts: staging
  gather_facts: false
  tasks:
    - name: Never true
      ansible.builtin.debug: {msg: x}
      when: false
`,
  );
  // A role-like play: facts gathered, settings loaded by an `always` task, the work tagged.
  writeFileSync(
    path.join(dir, "playbooks/always.yml"),
    `- name: With always
  hosts: staging
  gather_facts: true
  tasks:
${debug("Load settings", "[always]")}${debug("Render config", "[config]")}`,
  );
  writeFileSync(
    path.join(dir, "playbooks/facts.yml"),
    `- name: Facts, then tagged work
  hosts: staging
  gather_facts: true
  tasks:
${debug("Render config", "[config]")}`,
  );
  writeFileSync(path.join(dir, "playbooks/broken.yml"), `- name: Broken\n  hosts: staging\n  tasks: [ {\n`);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("checkPlaybookSelectsTasks: --list-tasks with the step's own inventory, tags and limit", () => {
  it("lists the tasks and hosts a step would run, `never` tasks included when their tag is asked for", async () => {
    const reload = await checkPlaybookSelectsTasks(playbook("reload.yml", "--tags", "reload"), deps());
    expect(reload).toMatchObject({
      ok: true,
      tasks: [{ name: "Reload", tags: ["reload"] }],
      hosts: ["localhost"],
      summary: "1 task on localhost",
      warnings: [],
    });
    const old = await checkPlaybookSelectsTasks(playbook("reload.yml", "--tags", "old_refused"), deps());
    expect(old).toMatchObject({ ok: true, tasks: [{ name: "Only when asked" }] });
    const all = await checkPlaybookSelectsTasks(playbook("reload.yml"), deps());
    expect(all.ok && all.tasks.map((t) => t.name)).toEqual(["Test the config", "Reload"]);
  });

  it("refuses tags that select no task (a run would do nothing and exit 0), naming the playbook's tags", async () => {
    const argv = playbook("reload.yml", "--tags", "relaod");
    const typo = await checkPlaybookSelectsTasks(argv, deps());
    expect(typo).toEqual({
      ok: false,
      reason: "selects_no_task",
      message:
        "--tags relaod selects no task in playbooks/reload.yml: check the tag names (its tasks are tagged config_test, old_refused, reload)",
    });
    // What the check prevents: ansible-playbook itself runs nothing and exits 0.
    const ran = await run(argv);
    expect(ran.exitCode).toBe(0);
    expect(checkTasksRan(ran.all)).toMatchObject({ ok: false, reason: "no_task_ran" });
  });

  it("refuses plays whose hosts match nothing, and reports a --limit that matches nothing", async () => {
    const nowhere = await checkPlaybookSelectsTasks(playbook("nowhere.yml", "--tags", "config"), deps());
    expect(nowhere).toMatchObject({
      ok: false,
      reason: "targets_no_host",
      message: expect.stringContaining(
        'target "not_in_inventory", which matches no host in inventory.yml: add the host to the inventory',
      ) as string,
    });
    expect((await run(playbook("nowhere.yml", "--tags", "config"))).exitCode).toBe(0);
    const limited = await checkPlaybookSelectsTasks(playbook("reload.yml", "--limit", "nats9"), deps());
    expect(limited).toMatchObject({
      ok: false,
      reason: "list_failed",
      message: expect.stringContaining("leaves us with no hosts to target") as string,
    });
  });

  it("keeps the step's extra vars, and explains a playbook ansible cannot parse", async () => {
    const templated = await checkPlaybookSelectsTasks(playbook("templated.yml", "-e", "target_group=nats"), deps());
    expect(templated).toMatchObject({ ok: true, hosts: ["localhost"] });
    const broken = await checkPlaybookSelectsTasks(playbook("broken.yml"), deps());
    expect(broken).toMatchObject({
      ok: false,
      reason: "list_failed",
      message: expect.stringMatching(
        /^ansible-playbook --list-tasks failed for playbooks\/broken\.yml: ERROR! /,
      ) as string,
    });
    expect(await checkPlaybookSelectsTasks(["docker", "exec", "nats", "true"], deps())).toMatchObject({
      ok: false,
      reason: "not_a_playbook",
    });
  });

  it("warns when the tags select only a dynamic include, whose untagged tasks will not run", async () => {
    const argv = playbook("includes.yml", "--tags", "deploy");
    const include = await checkPlaybookSelectsTasks(argv, deps());
    expect(include).toMatchObject({
      ok: true,
      warnings: [expect.stringContaining("selects only dynamic includes") as string],
    });
    const ran = await run(argv);
    expect(ran.all).not.toContain("TASK [Untagged]");
  });
});

describe("`always` tasks and facts gathering are not the work a step asks for (issue 21, point 3)", () => {
  it("refuses a tag whose only selected tasks are `always` tasks, which a run would still run and exit 0", async () => {
    const argv = playbook("always.yml", "--tags", "confg");
    expect(await checkPlaybookSelectsTasks(argv, deps())).toEqual({
      ok: false,
      reason: "selects_no_task",
      message:
        "--tags confg selects only tasks tagged `always` in playbooks/always.yml (Load settings): they run under any tag, so a run would do none of what confg names and still exit 0; check the tag names (its tasks are tagged config)",
    });
    // What ansible-playbook 2.14 does with it: the facts and the `always` task run, ok=2, exit 0.
    const ran = await run(argv);
    expect(ran.exitCode).toBe(0);
    expect(ran.all).toContain("TASK [Gathering Facts]");
    expect(ran.all).toContain("TASK [Load settings]");
    expect(parsePlayRecap(ran.all)).toEqual([expect.objectContaining({ host: "localhost", ok: 2 })]);
    expect(parseTaskResults(ran.all)).toEqual([
      { task: "Gathering Facts", host: "localhost", status: "ok" },
      { task: "Load settings", host: "localhost", status: "ok" },
    ]);
    expect(checkTasksRan(ran.all, ["Load settings"])).toEqual({
      ok: false,
      reason: "no_task_ran",
      message:
        "the playbook ran no task (localhost: 0 skipped) besides gathering facts, the always task \"Load settings\", which are not the step's work, though it exited 0: its --tags or its plays' hosts select nothing; check them with rotabot doctor",
    });

    const right = await checkPlaybookSelectsTasks(playbook("always.yml", "--tags", "config"), deps());
    expect(right).toMatchObject({
      ok: true,
      tasks: [{ name: "Render config", tags: ["config"] }],
      alwaysOnly: ["Load settings"],
      summary: "1 task (and 1 tagged always) on localhost",
    });
    const work = await run(playbook("always.yml", "--tags", "config"));
    expect(checkTasksRan(work.all, ["Load settings"])).toMatchObject({ ok: true });
  });

  it("does not count facts gathering as work: a run of tags that select nothing shows ok=1 and did nothing", async () => {
    const ran = await run(playbook("facts.yml", "--tags", "confg"));
    expect(ran.exitCode).toBe(0);
    expect(parsePlayRecap(ran.all)).toEqual([expect.objectContaining({ host: "localhost", ok: 1, changed: 0 })]);
    expect(checkTasksRan(ran.all)).toMatchObject({
      ok: false,
      reason: "no_task_ran",
      message: expect.stringContaining("besides gathering facts, which are not the step's work") as string,
    });
    expect(checkTasksRan((await run(playbook("facts.yml", "--tags", "config"))).all)).toMatchObject({ ok: true });
  });
});

describe("checkTasksRan: the PLAY RECAP of a real run", () => {
  it("accepts a run that ran tasks", async () => {
    const ran = await run(playbook("reload.yml", "--tags", "config_test,reload"));
    expect(ran.exitCode).toBe(0);
    expect(parsePlayRecap(ran.all)).toEqual([
      { host: "localhost", ok: 2, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 },
    ]);
    expect(checkTasksRan(ran.all)).toEqual({
      ok: true,
      hosts: [expect.objectContaining({ host: "localhost", ok: 2 })],
      note: "localhost: ok=2 changed=0",
    });
    expect(checkTasksRan(ran.all.split("\n").slice(-8))).toMatchObject({ ok: true });
  });

  it("calls a run that skipped everything, or matched no host, a run that did nothing", async () => {
    const skipped = await run(playbook("skipped.yml"));
    expect(skipped.exitCode).toBe(0);
    expect(checkTasksRan(skipped.all)).toEqual({
      ok: false,
      reason: "no_task_ran",
      message:
        "the playbook ran no task (localhost: 1 skipped), though it exited 0: its --tags or its plays' hosts select nothing; check them with rotabot doctor",
    });
    const nowhere = await run(playbook("nowhere.yml"));
    expect(nowhere.all).toContain("skipping: no hosts matched");
    expect(parsePlayRecap(nowhere.all)).toEqual([]);
    expect(checkTasksRan(nowhere.all)).toMatchObject({ ok: false, reason: "no_task_ran" });
  });

  it("says when there is no recap to judge by", async () => {
    const syntax = await run(playbook("reload.yml", "--syntax-check"));
    expect(syntax.exitCode).toBe(0);
    expect(checkTasksRan(syntax.all)).toMatchObject({ ok: false, reason: "no_recap" });
  });

  it("remembers a passed --list-tasks check for a while, never a failed one (what Start reuses from the plan)", async () => {
    const runner = deps().runCommand;
    const listed: string[] = [];
    let clock = Date.parse("2026-11-27T08:00:00Z");
    const check = createSelectionCache({
      runCommand: (spec) => {
        listed.push(spec.argv.join(" "));
        return runner(spec);
      },
      now: () => new Date(clock),
      ttlMs: 60_000,
    });
    const reload = playbook("reload.yml", "--tags", "reload");
    const [first, second] = await Promise.all([check(reload), check(reload)]);
    expect([first.ok, second.ok, listed.length]).toEqual([true, true, 1]);
    clock += 59_000;
    expect((await check(reload)).ok).toBe(true);
    expect(listed.length).toBe(1);
    clock += 2_000;
    expect((await check(reload)).ok).toBe(true);
    expect(listed.length).toBe(2);

    const typo = playbook("reload.yml", "--tags", "relaod");
    expect((await check(typo)).ok).toBe(false);
    const perCheck = listed.length - 2;
    expect((await check(typo)).ok).toBe(false);
    expect(listed.length - 2).toBe(2 * perCheck);
  });
});
