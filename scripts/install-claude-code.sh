#!/bin/sh
# Install the pinned Claude Code used by the end-to-end MCP test, into a cache folder outside
# the repository (reused when already there). Prints the path of the `claude` executable.
#
#   scripts/install-claude-code.sh            # version pinned below
#   CLAUDE_CODE_VERSION=2.1.328 scripts/install-claude-code.sh
#
# The folder is ${XDG_CACHE_HOME:-~/.cache}/session-archive-tests/claude-code-<version>;
# tests/claude_code.py looks in the same place. Needs node and npm (the npm registry).
set -eu
version="${CLAUDE_CODE_VERSION:-2.1.328}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/session-archive-tests"
dest="$cache/claude-code-$version"
bin="$dest/node_modules/.bin/claude"
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    echo "$bin"
    exit 0
fi
command -v npm >/dev/null || { echo "error: npm not found (install node and npm)" >&2; exit 1; }
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.claude-code-$version.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error \
    "@anthropic-ai/claude-code@$version" >&2
"$tmp/node_modules/.bin/claude" --version >/dev/null
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "$bin"
