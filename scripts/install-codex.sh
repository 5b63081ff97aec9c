#!/bin/sh
# Install the pinned Codex CLI used by the Codex end-to-end test, into a cache folder outside
# the repository (reused when already there). Prints the path of the `codex` executable.
#
#   scripts/install-codex.sh            # version pinned below
#   CODEX_VERSION=0.171.0 scripts/install-codex.sh
#
# The folder is ${XDG_CACHE_HOME:-~/.cache}/session-archive-tests/codex-<version>;
# tests/codex_cli.py looks in the same place. Needs node and npm (the npm registry).
set -eu
version="${CODEX_VERSION:-0.171.0}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/session-archive-tests"
dest="$cache/codex-$version"
bin="$dest/node_modules/.bin/codex"
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    echo "$bin"
    exit 0
fi
command -v npm >/dev/null || { echo "error: npm not found (install node and npm)" >&2; exit 1; }
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.codex-$version.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error \
    "@openai/codex@$version" >&2
"$tmp/node_modules/.bin/codex" --version >/dev/null
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "$bin"
