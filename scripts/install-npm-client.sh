#!/bin/sh
# Install a pinned npm client used by an end-to-end test into a cache folder outside the
# repository (reused when already there). Prints the path of its executable.
#
#   scripts/install-npm-client.sh NAME PACKAGE BINARY VERSION
#   e.g. scripts/install-npm-client.sh codex @openai/codex codex 0.171.0
#
# The folder is ${XDG_CACHE_HOME:-~/.cache}/session-archive-tests/NAME-VERSION, where
# tests/npm_client.py looks. Needs node and npm (the npm registry). install-claude-code.sh
# and install-codex.sh call this with their pins.
set -eu
name="$1" package="$2" binary="$3" version="$4"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/session-archive-tests"
dest="$cache/$name-$version"
bin="$dest/node_modules/.bin/$binary"
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    echo "$bin"
    exit 0
fi
command -v npm >/dev/null || { echo "error: npm not found (install node and npm)" >&2; exit 1; }
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.$name-$version.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error \
    "$package@$version" >&2
"$tmp/node_modules/.bin/$binary" --version >/dev/null
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "$bin"
