#!/bin/sh
# Install the pinned Codex CLI used by the Codex end-to-end test (see install-npm-client.sh).
# Prints the path of the `codex` executable.
#
#   scripts/install-codex.sh            # version pinned below
#   CODEX_VERSION=0.171.0 scripts/install-codex.sh
set -eu
exec "$(dirname "$0")/install-npm-client.sh" codex @openai/codex codex "${CODEX_VERSION:-0.171.0}"
