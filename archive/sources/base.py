"""The one small interface every source of sessions implements (Claude Code, Codex CLI, …).

A *source* is an agent that writes transcripts into config roots of its own. Everything the
archive does past capturing bytes (parse, index, show, restore, resume) asks the source of a
file, so a third agent is one new module plus one line in :mod:`archive.sources`.

Which source a file belongs to is told by the first part of its path in the root
(``Source.tops``): the parts of two sources never overlap, so a catalog row needs no extra
column to be routed back to its reader.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from ..roots import Root, StatTuple, WalkReport
    from ..transcript import Session


class Source:
    """A reader of one agent's transcripts. Subclasses set the class attributes and override
    the methods; they never import typer/rich, and import nothing heavy at module level."""

    agent: str = ""  # the name in --agent, session_meta.agent and the index: "claude", "codex"
    label: str = ""  # what people call it: "Claude Code", "Codex CLI"
    tops: tuple[str, ...] = ()  # first path parts in a root that belong to this source
    # Why a session of this source cannot be forked (``restore --turns N --new-id``), or None
    # when it can: ``context`` offers the fork only where restore would do it, else says this.
    no_fork: str | None = None

    def discover(self, environ: Mapping[str, str], home: Path) -> list[Root]:
        """The roots (profiles) of this source found on this machine; missing ones included
        with ``exists=False`` where the agent would create them."""
        raise NotImplementedError

    def iter_stats(self, root: Root, report: WalkReport) -> Iterator[StatTuple]:
        """``(relpath, path, size, mtime_ns, inode)`` of every file to capture in ``root``."""
        raise NotImplementedError

    def classify(self, relpath: str) -> tuple[str, str | None]:
        """(kind, session id or None) of a file from its path alone; kind ``session`` for a
        main transcript."""
        raise NotImplementedError

    def parse(
        self,
        stream: BinaryIO,
        *,
        kind: str,
        session_id: str | None,
        tool_output_cap: int,
        file_size: int | None,
    ) -> Session:
        """One archived version of a transcript as a :class:`~archive.transcript.Session`."""
        raise NotImplementedError

    def restore_relpath(self, relpath: str, session_id: str) -> str:
        """Where, relative to a target root, the transcript archived at ``relpath`` goes so the
        agent finds it when resuming ``session_id``."""
        raise NotImplementedError

    def resume_command(self, root: Root, project: str | None, session_id: str) -> str:
        """The shell line that resumes ``session_id`` restored into ``root``."""
        raise NotImplementedError

    def resume_argv(self, root: Root, session_id: str) -> tuple[list[str], dict[str, str]]:
        """The same as a command to run: (argv, variables added to the environment)."""
        raise NotImplementedError

    def live_transcripts(self, root: Root, session_id: str | None = None
                         ) -> Iterator[tuple[str, str, int]]:
        """``(relpath, session id, mtime_ns)`` of each main transcript in ``root`` as it is now
        (only ``session_id``'s when given): what ``resume`` captures fresh before restoring,
        and what ``resume --last`` compares. Walks the root; a source may know a shorter way."""
        from ..roots import WalkReport

        for relpath, _path, _size, mtime_ns, _inode in self.iter_stats(root, WalkReport()):
            kind, sid = self.classify(relpath)
            if kind == "session" and sid and (session_id is None or sid == session_id):
                yield relpath, sid, mtime_ns

    def companions(self, root: Root, relpath: str, session_id: str) -> list[str]:
        """The files, relative to ``root``, captured and restored with the transcript at
        ``relpath`` (its sidecars); none unless the source keeps some."""
        return []

    def owns(self, relpath: str) -> bool:
        return relpath.split("/", 1)[0] in self.tops
