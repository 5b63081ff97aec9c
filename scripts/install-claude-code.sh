#!/bin/sh
# Install the pinned Claude Code used by the end-to-end tests (see install-npm-client.sh).
# Prints the path of the `claude` executable.
#
#   scripts/install-claude-code.sh            # version pinned below
#   CLAUDE_CODE_VERSION=2.1.328 scripts/install-claude-code.sh
set -eu
exec "$(dirname "$0")/install-npm-client.sh" claude-code @anthropic-ai/claude-code claude \
    "${CLAUDE_CODE_VERSION:-2.1.328}"
