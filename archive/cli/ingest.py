"""The commands that write the archive: ingest, reindex, repair; and verify, which checks it.

Ingest and reindex take the archive lock (through the library); progress goes to stderr on a
terminal only, so cron and ``--json`` see nothing but the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import EXIT_FAILURE, EXIT_USAGE, ArchiveError
from ..text import plural
from .common import (
    ArchiveDirOpt,
    JsonOpt,
    QuietOpt,
    RootOpt,
    archive_path,
    command,
    config_roots,
    open_repo,
    print_json,
    say,
    stderr,
    stdout,
)


@command()
def ingest(
    root: RootOpt = None,
    archive_dir: ArchiveDirOpt = None,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for another ingest to finish.")
    ] = 0.0,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
    log: Annotated[
        Path | None,
        typer.Option(help="Append this run's result to a log file (kept to the last 10 runs)."),
    ] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Then push to every remote (`archive remote`).")
    ] = False,
    pull: Annotated[
        bool, typer.Option("--pull", help="Then pull from every remote.")
    ] = False,
):
    """Snapshot the session files of every config root into the archive.

    Only files whose size, mtime or inode changed are read; a file that grew is stored as its
    new tail. Exit 0 when all went well, 1 when some files could not be read, 75 when another
    ingest holds the archive.

    Example: archive ingest --quiet   (from cron)
    """
    from ..ingest import default_durable
    from ..ingest import ingest as run_ingest
    from ..render import ingest_errors, ingest_summary

    adir = archive_path(archive_dir)
    found = config_roots(adir, root)
    err = stderr()
    bar = _Phases(err) if not quiet and not json and _on_terminal(err) else None
    try:
        result = run_ingest(adir, found, wait=wait, durable=default_durable(),
                            progress=bar.update if bar else None)
    except ArchiveError as exc:
        if log:
            _log_failure(log, exc)
        raise
    finally:
        if bar:
            bar.stop()
    if log:
        from ..runlog import append_run

        try:
            append_run(log, result)
        except ArchiveError as exc:
            result.warnings.append(f"cannot write the log: {exc}")
    for warning in result.warnings:
        say(f"warning: {warning}", err=True)
    if json:
        print_json(result.to_dict())
    elif not quiet:
        ingest_summary(stdout(), result)
    code = _sync_remotes(adir, push, pull, quiet or json)
    if result.errors:
        ingest_errors(err, result)
        raise typer.Exit(EXIT_FAILURE)
    if code:
        raise typer.Exit(code)


def _on_terminal(err) -> bool:
    """Progress only for a person watching: stdout and stderr both a terminal (not cron, not
    a pipe or a log file)."""
    return err.is_terminal and stdout().is_terminal


class _Phases:
    """Ingest's progress on stderr, phase by phase: scan (files found), store (bytes read of
    the bytes the scan found to read, a bar and an estimate), index (bytes of transcripts
    indexed of those to index, a bar and an estimate), then the index being written. The
    spinner turns while a long file is read or parsed, so it never sits still; the bar is
    transient, gone when the summary prints."""

    _SAY = {
        "scan": lambda done, total: f"{plural(done, 'file')} found",
        "store": lambda done, total: f"{_size(done)} of {_size(total)} read",
        "index": lambda done, total: f"{_size(done)} of {_size(total)} indexed",
        "commit": lambda done, total: "writing the index",
    }

    def __init__(self, err):
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            SpinnerColumn(), TextColumn("{task.description:<5}"), BarColumn(bar_width=24),
            TextColumn("{task.fields[detail]}"), TimeRemainingColumn(),
            console=err, transient=True,
        )
        self.phase = None
        self.task = self.bar.add_task("scan", total=None, detail="")
        self.bar.start()

    def update(self, phase: str, done: int, total: int | None) -> None:
        detail = self._SAY[phase](done, total)
        label = "index" if phase == "commit" else phase
        if phase != self.phase:  # a new phase: its own bar, estimate and clock, drawn now
            self.phase = phase
            self.bar.reset(self.task, total=total, completed=done, description=label,
                           detail=detail)
            self.bar.refresh()
        else:
            self.bar.update(self.task, total=total, completed=done, detail=detail)

    def stop(self) -> None:
        self.bar.stop()


def _size(n: int | None) -> str:
    from ..render import human_size

    return human_size(n or 0)


def _sync_remotes(adir: Path, push: bool, pull: bool, quiet: bool) -> int:
    """``ingest --push/--pull``: each remote in turn, push before pull (this machine's news
    leaves even when a pull fails). A failure is one error line; the exit code is the first
    failure's, after every remote was tried."""
    if not (push or pull):
        return 0
    from ..remote.config import load_remotes

    remotes = load_remotes(adir)
    if not remotes:
        typer.echo("error: --push/--pull: no remote added yet (`archive remote add NAME "
                   "s3://BUCKET`)", err=True)
        return EXIT_USAGE
    code = 0
    for name in remotes:
        for on, verb in ((push, "push"), (pull, "pull")):
            if not on:
                continue
            try:
                if verb == "push":
                    from ..remote.push import push as run

                    problems = run(adir, name).problems
                else:
                    from ..remote.pull import pull as run

                    problems = [f"refused {p['key']}: {p['problem']}"
                                for p in run(adir, name).refused]
            except ArchiveError as exc:
                problems = [f"{exc} ({exc.hint})" if exc.hint else str(exc)]
                code = code or exc.exit_code
            for p in problems:
                typer.echo(f"error: {verb} {name}: {p}", err=True)
            code = code or (EXIT_FAILURE if problems else 0)
            if not problems and not quiet:
                typer.echo(f"{verb} {name}: done", err=True)
    return code


def _log_failure(log: Path, exc: ArchiveError) -> None:
    from ..runlog import append_failure

    try:
        append_failure(log, str(exc), exit_code=exc.exit_code)
    except ArchiveError:
        pass  # the error itself is reported on stderr; a log we cannot write changes nothing


@command()
def verify(
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
    remote: Annotated[
        str | None,
        typer.Option("--remote", metavar="NAME",
                     help="Check a remote's bucket against its manifests instead."),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option("--sample", metavar="N", min=1,
                     help="With --remote: fetch and re-hash N random objects, not all."),
    ] = None,
):
    """Re-hash every stored object and check every catalog reference.

    With --remote NAME, check the bucket instead: every manifest of every machine opens, every
    object they name is there, and each object (or --sample N of them) authenticates and
    re-hashes. Exit 0 when sound, 1 with a list of what is damaged.

    Example: archive verify; archive verify --remote cloud --sample 200
    """
    if remote is not None:
        _verify_remote(archive_path(archive_dir), remote, sample, json)
        return
    if sample is not None:
        raise ArchiveError(
            "--sample needs --remote", hint="archive verify --remote NAME --sample N", exit_code=2
        )
    from ..verify import verify as run_verify

    with open_repo(archive_path(archive_dir)) as repo:
        result = run_verify(repo)
    if json:
        print_json(result.to_dict())
    else:
        from ..render import verify_report

        verify_report(stdout(), result)
    if not result.ok:
        raise typer.Exit(EXIT_FAILURE)


def _verify_remote(adir: Path, name: str, sample: int | None, json: bool) -> None:
    from ..remote.check import verify_remote

    result = verify_remote(adir, name, sample=sample)
    if json:
        print_json(result.to_dict())
    else:
        checked = f"{result.objects_checked} of {result.objects_named} objects re-hashed"
        stdout().print(
            f"Remote {result.remote}: {result.manifests} manifests from "
            f"{len(result.machines)} machines, {checked}"
            + (f", {result.unreferenced} not named by any manifest yet" if result.unreferenced
               else "")
            + (": sound." if result.ok else f": {len(result.problems)} problems."),
            markup=False,
        )
        for p in result.problems:
            who = f" (needed by {p['needed_by']})" if p.get("needed_by") else ""
            stdout().print(f"  {p['what']} {p['key']}: {p['problem']}{who}", markup=False)
    if not result.ok:
        raise typer.Exit(EXIT_FAILURE)


@command()
def reindex(archive_dir: ArchiveDirOpt = None, quiet: QuietOpt = False, json: JsonOpt = False):
    """Rebuild the search index from the archive alone.

    Needed after an upgrade that changes the index schema; safe at any time. A transcript
    whose stored bytes are damaged is left out and named (exit 1); all others are indexed.

    Example: archive reindex
    """
    from ..fsutil import private_umask
    from ..indexer import update_index
    from ..lock import ArchiveLock
    from ..repo import Repository

    adir = archive_path(archive_dir)
    open_repo(adir).close()  # no archive, or a damaged catalog: say so before locking
    err = stderr()
    with private_umask(), ArchiveLock(adir, purpose="reindex"):
        with Repository(adir, readonly=False) as repo:
            snapshots = repo.catalog.snapshots()
            last = snapshots[-1]["id"] if snapshots else 0
            bar = _Phases(err) if not quiet and not json and _on_terminal(err) else None
            try:
                stats = update_index(repo, last, rebuild=True,
                                     progress=bar.update if bar else None)
            finally:
                if bar:
                    bar.stop()
    if json:
        print_json(stats.to_dict())
    elif not quiet:
        stdout().print(
            f"Reindexed {plural(stats.transcripts, 'transcript')}: "
            f"{plural(stats.turns, 'turn')}, {plural(stats.documents, 'document')}"
            + (f", {plural(stats.bad_lines, 'bad line')} skipped" if stats.bad_lines else "")
        )
    if stats.skipped:
        from ..render import index_skipped

        index_skipped(err, stats.skipped)
        raise typer.Exit(EXIT_FAILURE)


@command()
def repair(
    archive_dir: ArchiveDirOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even though the catalog looks sound.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say what a rebuilt catalog would hold; change nothing."),
    ] = False,
    json: JsonOpt = False,
):
    """Rebuild a missing or damaged catalog from the snapshot manifests and the objects.

    The damaged catalog is moved aside as catalog.damaged-TIME.sqlite, never deleted. Every
    snapshot, file, version and "gone from source" flag the manifests record comes back; run
    `archive reindex` afterwards to rebuild the search index. Exit 0 when everything was
    recovered, 1 when a manifest was damaged or names an object that is missing.

    Example: archive repair && archive reindex
    """
    from ..ingest import default_durable
    from ..render import repair_report
    from ..repair import repair as run_repair

    result = run_repair(
        archive_path(archive_dir), force=force, dry_run=dry_run, durable=default_durable()
    )
    if json:
        print_json(result.to_dict())
    else:
        repair_report(stdout(), result, forced=force)
    for m in result.damaged_manifests:
        typer.echo(f"error: manifest {m['name']}: {m['problem']}", err=True)
    if result.missing_objects:
        typer.echo(
            f"error: {plural(result.missing_objects, 'object')} named by manifests missing "
            "(`archive verify` names the versions that need them)",
            err=True,
        )
    if not result.ok:
        raise typer.Exit(EXIT_FAILURE)
