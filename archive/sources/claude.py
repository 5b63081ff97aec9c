"""Claude Code as a source: a thin adapter over the modules that have always read it.

Discovery (``roots.discover_roots``, which also settles CCS aliases and shared ``projects/``
folders), the walk, ``roots.classify``, ``transcript.parse_lines`` and the project-folder logic
of ``restore`` stay where they are; this module only gives them the shape of :class:`Source`.
"""

from __future__ import annotations

import os
import stat
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

    def live_transcripts(self, root: Root, session_id: str | None = None
                         ) -> Iterator[tuple[str, str, int]]:
        """With ``session_id``, a look at ``projects/*/<id>.jsonl`` (in each Cowork task's
        config folder for a Cowork account) instead of a walk of the whole root."""
        if session_id is None:
            yield from super().live_transcripts(root)
            return
        if not root.exists or root.projects_shared_with:  # captured under the other profile
            return
        if root.origin == "cowork":
            configs = [f"{task.name}/.claude/" for task in _scan(root.path)
                       if task.name.startswith("local_") and task.is_dir(follow_symlinks=False)]
        else:
            configs = [""]
        name = f"{session_id}.jsonl"
        for config in configs:
            for folder in _scan(os.path.join(root.path, f"{config}projects")):
                try:
                    st = os.lstat(os.path.join(folder.path, name))
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):  # ingest does not follow symlinks to files
                    yield f"{config}projects/{folder.name}/{name}", session_id, st.st_mtime_ns

    def companions(self, root: Root, relpath: str, session_id: str) -> list[str]:
        """The session's folder beside the transcript (``subagents/``, ``tool-results/``, …)
        and its ``file-history/<id>/`` in the same config folder."""
        folder = relpath.rsplit("/", 1)[0]
        config = relpath[: relpath.index("projects/")]
        out = []
        for rel_dir in (f"{folder}/{session_id}", f"{config}file-history/{session_id}"):
            for dirpath, _dirs, files in os.walk(os.path.join(root.path, rel_dir)):
                rel = os.path.relpath(dirpath, root.path).replace(os.sep, "/")
                out += [f"{rel}/{name}" for name in sorted(files)]
        return out

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


def _scan(path) -> list[os.DirEntry]:
    """The entries of a folder, none when it cannot be read."""
    try:
        return list(os.scandir(path))
    except OSError:
        return []
