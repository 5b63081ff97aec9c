"""Claude Code as a source: a thin adapter over the modules that have always read it.

Discovery (``roots.discover_roots``, which also settles CCS aliases and shared ``projects/``
folders), the walk, ``roots.classify``, ``transcript.parse_lines`` and the project-folder logic
of ``restore`` stay where they are; this module only gives them the shape of :class:`Source`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .base import Source

if TYPE_CHECKING:
    from ..roots import Root, StatTuple, WalkReport
    from ..transcript import Session


class ClaudeSource(Source):
    agent = "claude"
    label = "Claude Code"
    tops = ("projects", "history.jsonl")

    def discover(self, environ: Mapping[str, str], home: Path) -> list[Root]:
        from ..roots import discover_roots

        return [r for r in discover_roots(environ=dict(environ), home=home) if r.agent == "claude"]

    def iter_stats(self, root: Root, report: WalkReport) -> Iterator[StatTuple]:
        from ..roots import iter_root_stats

        return iter_root_stats(root, report)

    def classify(self, relpath: str) -> tuple[str, str | None]:
        from ..roots import classify

        return classify(relpath)

    def parse(
        self,
        stream: BinaryIO,
        *,
        kind: str,
        session_id: str | None,
        tool_output_cap: int,
        file_size: int | None,
    ) -> Session:
        from ..transcript import iter_lines, parse_lines

        is_subagent = kind == "subagent"
        session = parse_lines(
            iter_lines(stream),
            session_id=None if is_subagent else session_id,
            is_subagent=is_subagent,
            tool_output_cap=tool_output_cap,
            file_size=file_size,
        )
        if is_subagent and session_id:
            session.session_id = session_id  # the folder names the parent session
        return session

    def restore_relpath(self, relpath: str, session_id: str) -> str:
        """The source's own project folder; ``restore`` moves it to the folder of the cwd."""
        folder = relpath.split("/")[1]
        return f"projects/{folder}/{session_id}.jsonl"

    def resume_command(self, root: Root, project: str | None, session_id: str) -> str:
        from ..restore import resume_command

        return resume_command(root, project, session_id)

    def resume_argv(self, root: Root, session_id: str) -> tuple[list[str], dict[str, str]]:
        from ..resume import launch_for

        launch = launch_for(root, session_id, None)
        return launch.argv, launch.env
