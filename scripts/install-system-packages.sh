#!/usr/bin/env bash
# Installs the Debian 12 packages rotabot works with (as root), quickly when they are there:
#   ansible-core (ansible-vault, ansible-playbook), git, PostgreSQL 15 and nats-server,
#   which `rotabot sandbox` runs for real;
#   with --test also what the test suite drives: systemd (systemd-analyze for the unit),
#   util-linux (runuser), chromium with an emoji font for the web chat's browser test, and
#   ansible-lint (6.13), which `npm test` runs on the install role and the box's playbooks.
set -euo pipefail
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need ansible-vault ansible-core
need git git
need nats-server nats-server
need python3 python3
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
if [ "${1:-}" = "--test" ]; then
  need systemd-analyze systemd
  need runuser util-linux
  need chromium chromium
  need ansible-lint ansible-lint
  [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
