#!/usr/bin/env bash
# `npm test`: type-check, lint (eslint, and ansible-lint on the install role and the box's
# playbooks) and format check, beside one vitest run of every project (vitest.config.ts):
#
#   unit         pure logic, no build
#   integration  real ansible-vault, PostgreSQL, nats-server in-process
#   e2e          the built rotabot as a process, on the machine's Node.js (Node.js 20 on a fresh
#                Debian 12 here, what the Quick start runs)
#   e2e@node24   the process tests again with rotabot on Node.js 24, the LTS line the install role
#                deploys (from the npm registry: scripts/install-node24.sh; nothing else is
#                downloaded); vitest.config.ts names the few that run on one Node.js only, and why
#
# One run, not one per Node.js: the files of both share the workers, so the run waits for its
# longest file, not for the longest of each pass. The static checks run beside it (their output
# follows it), so their CPU fills the tests' waits on real processes.
#
# Arguments replace the plan: `npm test -- test/e2e/age-command.test.ts` runs that file in each
# project it belongs to.
set -euo pipefail
cd "$(dirname "$0")/.."

ROTABOT_TEST_NODE24=$(bash scripts/install-node24.sh)
export ROTABOT_TEST_NODE24

checks_log=$(mktemp)
trap 'rm -f "$checks_log"' EXIT
(npm run --silent typecheck && npm run --silent lint && npm run --silent lint:ansible && npm run --silent format:check) >"$checks_log" 2>&1 &
checks=$!

echo "== tests: rotabot on the machine's Node.js $(node --version) and on Node.js $("$ROTABOT_TEST_NODE24" --version) (e2e@node24)"
tests_status=0
node node_modules/vitest/vitest.mjs run "$@" || tests_status=$?
echo "== type-check, lint, ansible-lint, format check"
checks_status=0
wait "$checks" || checks_status=$?
cat "$checks_log"
[ "$checks_status" -eq 0 ] || echo "npm test: the type-check, lint, ansible-lint or format check failed (above)" >&2
[ "$tests_status" -eq 0 ] || echo "npm test: tests failed (above)" >&2
[ "$checks_status" -eq 0 ] && [ "$tests_status" -eq 0 ]
