#!/usr/bin/env bash
# Installs the real tools the tests use (Debian 12, as root): ansible-core for ansible-vault
# and ansible-playbook, git, PostgreSQL 15, nats-server, and systemd-analyze and runuser for the
# install playbook's test. Quick when they are already there.
set -euo pipefail
missing=()
command -v ansible-vault >/dev/null || missing+=(ansible-core)
command -v git >/dev/null || missing+=(git)
command -v nats-server >/dev/null || missing+=(nats-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v runuser >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
