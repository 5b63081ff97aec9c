"""The registry of sources: one line per agent whose sessions the archive keeps.

Claude Code comes first: it is the source of every file no other source claims (the archive
held only Claude Code sessions before the others came).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .base import Source
from .claude import ClaudeSource
from .codex import CodexSource

if TYPE_CHECKING:
    from ..roots import Root

SOURCES: tuple[Source, ...] = (
    ClaudeSource(),
    CodexSource(),
)
AGENTS = tuple(s.agent for s in SOURCES)
CLAUDE = SOURCES[0]


def by_agent(agent: str) -> Source:
    for source in SOURCES:
        if source.agent == agent:
            return source
    raise KeyError(agent)


def check_agent(agent: str | None) -> str | None:
    """``agent`` when it names a source (or None: any agent); otherwise the usage error every
    front end gives (``--agent``, the MCP tools' ``agent``, the web pages' ``agent``)."""
    if agent is None or agent in AGENTS:
        return agent
    from ..errors import UsageError

    raise UsageError(f"unknown agent {agent!r}", hint=f"use one of: {', '.join(AGENTS)}")


def for_relpath(relpath: str) -> Source:
    """The source whose reader understands the file archived at ``relpath``."""
    for source in SOURCES[1:]:
        if source.owns(relpath):
            return source
    return CLAUDE


def for_root(root: Root) -> Source:
    return by_agent(getattr(root, "agent", CLAUDE.agent))


def other_roots(environ: Mapping[str, str], home: Path) -> list[Root]:
    """Roots of every source but Claude Code (whose discovery lives in ``roots.py``)."""
    found: list[Root] = []
    for source in SOURCES[1:]:
        found.extend(source.discover(environ, home))
    return found


__all__ = ["AGENTS", "SOURCES", "Source", "by_agent", "check_agent", "for_relpath", "for_root",
           "other_roots"]
