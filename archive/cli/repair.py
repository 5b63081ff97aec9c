"""The ``repair`` command: rebuild a lost or damaged catalog."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import EXIT_FAILURE
from .common import ArchiveDirOpt, JsonOpt, archive_path, command, print_json, stdout


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
    from ..repair import repair as run_repair

    result = run_repair(
        archive_path(archive_dir), force=force, dry_run=dry_run, durable=default_durable()
    )
    if json:
        print_json(result.to_dict())
    else:
        out = stdout()
        if not result.needed and not force:
            out.print("The catalog is sound; nothing to repair (--force rebuilds it anyway).")
            return
        verb = "Would rebuild" if dry_run else "Rebuilt"
        out.print(
            f"{verb} the catalog from {result.manifests} manifests: {result.snapshots} "
            f"snapshots, {result.files} files, {result.versions} versions, "
            f"{result.gone_from_source} gone from source.",
            markup=False,
        )
        if result.reason:
            out.print(f"Reason: {result.reason}", markup=False)
        if result.moved_aside:
            out.print(f"The old catalog is kept as {', '.join(result.moved_aside)}.", markup=False)
        if not dry_run:
            out.print("Next: `archive reindex` rebuilds the search index.", markup=False)
    for m in result.damaged_manifests:
        typer.echo(f"error: manifest {m['name']}: {m['problem']}", err=True)
    if result.missing_objects:
        typer.echo(
            f"error: {result.missing_objects} objects named by manifests are missing "
            "(`archive verify` names the versions that need them)",
            err=True,
        )
    if not result.ok:
        raise typer.Exit(EXIT_FAILURE)
