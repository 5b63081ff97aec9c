"""Several machines, one archive: ``remote add|list|remove|key``, ``push``, ``pull``.

Thin wrappers over archive/remote/; boto3 and cryptography are imported only when a command
talks to a bucket or seals something, so other commands' start-up does not grow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import EXIT_FAILURE, UsageError
from .common import (
    ArchiveDirOpt,
    JsonOpt,
    QuietOpt,
    app,
    archive_path,
    command,
    guard,
    print_json,
    stdout,
)

remote_app = typer.Typer(
    help="Buckets (S3-compatible) this archive pushes to and pulls from.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(remote_app, name="remote")

RemoteArg = Annotated[
    str | None,
    typer.Argument(help="The remote's name [default: the only one].", show_default=False),
]


def _remote_command(name: str):
    def decorate(fn):
        return remote_app.command(name)(guard(fn))

    return decorate


@_remote_command("add")
def remote_add(
    name: Annotated[str, typer.Argument(help="A short name for the remote, e.g. cloud.")],
    url: Annotated[str, typer.Argument(help="s3://BUCKET or s3://BUCKET/PREFIX")],
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="The S3 API's URL for stores other than AWS "
                     "(R2, MinIO, SeaweedFS), e.g. http://127.0.0.1:8333."),
    ] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="Join with the key another machine printed.")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help="Read the key from this file.")
    ] = None,
    machine_name: Annotated[
        str | None,
        typer.Option("--machine-name", help="This machine's label on other machines "
                     "[default: the host name]."),
    ] = None,
    archive_dir: ArchiveDirOpt = None,
):
    """Add a bucket; the first machine makes its key, the others join with --key.

    Credentials come from the usual AWS chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, ~/.aws). The
    bucket is contacted once: a key that does not open its data is refused and nothing is
    recorded. The key is kept in the archive folder (0600); `archive remote key NAME` prints it.

    Example: archive remote add cloud s3://my-bucket/sessions --machine-name laptop
    """
    from ..remote import config
    from ..remote.bucket import Bucket
    from ..remote.crypto import Keys, new_key, parse_key
    from ..remote.layout import check_key

    adir = archive_path(archive_dir)
    config.check_name(name)
    config.parse_url(url)
    if key and key_file:
        raise UsageError("give --key or --key-file, not both")
    if key_file:
        try:
            key = key_file.read_text()
        except OSError as exc:
            raise UsageError(f"cannot read {key_file}: {exc.strerror}") from None
    if key:
        parse_key(key)
        key = key.strip()
    made = key is None
    key = key or new_key()
    if name in config.load_remotes(adir):
        raise UsageError(
            f"a remote called {name!r} exists", hint="`archive remote remove` it first"
        )
    if machine_name is not None:
        config.check_name(machine_name, "machine name")  # part of profile names elsewhere
    remote = config.Remote(name=name, url=url, endpoint=endpoint, machine_name=machine_name)
    check_key(Bucket(remote), Keys(key), name, create=True)
    config.add_remote(adir, remote, key)
    out = stdout()
    out.print(f"Added remote {name} ({url}) as machine {remote.label}.", markup=False)
    if made:
        out.print(
            f"A new key was made; to join from another machine, run `archive remote key {name}` "
            "here and pass it with --key there. Keep a copy: without it the bucket is unreadable.",
            markup=False,
        )


@_remote_command("list")
def remote_list(archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """List the remotes: name, URL, endpoint, and this machine's label there.

    Example: archive remote list
    """
    from ..remote.config import load_remotes

    remotes = load_remotes(archive_path(archive_dir))
    if json:
        print_json([r.to_dict() for r in remotes.values()])
        return
    if not remotes:
        typer.echo("No remotes (`archive remote add NAME s3://BUCKET`).")
        return
    for r in remotes.values():
        typer.echo(f"{r.name}\t{r.url}\t{r.endpoint or '(AWS)'}\tas {r.label}")


@_remote_command("remove")
def remote_remove(
    name: Annotated[str, typer.Argument(help="The remote to forget.")],
    archive_dir: ArchiveDirOpt = None,
):
    """Forget a remote on this machine, with its key. The bucket is not touched.

    Print the key first (`archive remote key NAME`) unless another machine holds it.

    Example: archive remote remove cloud
    """
    from ..remote.config import remove_remote

    r = remove_remote(archive_path(archive_dir), name)
    typer.echo(f"Removed remote {r.name} ({r.url}); the bucket was not touched.")


@_remote_command("key")
def remote_key(
    name: Annotated[str, typer.Argument(help="The remote whose key to print.")],
    archive_dir: ArchiveDirOpt = None,
):
    """Print a remote's key, to join from another machine with `remote add … --key`.

    Anyone holding the key and the bucket's credentials can read every session pushed there.

    Example: archive remote key cloud
    """
    from ..remote.config import get_remote, read_key

    adir = archive_path(archive_dir)
    typer.echo(read_key(adir, get_remote(adir, name).name))


@command()
def push(
    name: RemoteArg = None,
    heal: Annotated[
        bool,
        typer.Option("--heal", help="Also re-check every object this machine pushed and "
                     "replace those damaged in the bucket with the sound local copy."),
    ] = False,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
):
    """Send this machine's snapshots to a remote: objects it lacks, then the manifests.

    Nothing in the bucket is rewritten or deleted; an object already there (from any machine)
    is not sent again. An interrupted push is completed by the next one. After `archive verify
    --remote` found damage, --heal replaces damaged objects this machine holds. Exit 1 when a
    local manifest or object is damaged (named; `archive verify` says more).

    Example: archive push cloud
    """
    from ..remote.push import push as run_push

    result = run_push(archive_path(archive_dir), name, heal=heal)
    if json:
        print_json(result.to_dict())
    elif not quiet:
        from ..text import plural

        stdout().print(
            f"Pushed to {result.remote} as {result.label}: "
            f"{plural(result.manifests_sent, 'manifest')}, "
            f"{plural(result.objects_sent, 'object')} ({_size(result.bytes_sent)}); "
            f"{plural(result.objects_present, 'object')} already there"
            + (f"; {plural(result.objects_healed, 'damaged object')} replaced." if heal else "."),
            markup=False,
        )
    for p in result.problems:
        typer.echo(f"error: {p}", err=True)
    if result.problems:
        raise typer.Exit(EXIT_FAILURE)


@command()
def pull(
    name: RemoteArg = None,
    again: Annotated[
        bool, typer.Option("--again", help="Re-read every manifest (after `archive repair`).")
    ] = False,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
):
    """Add other machines' sessions from a remote, as profiles MACHINE:PROFILE.

    Each object is authenticated and re-hashed before it is stored; a manifest or object that
    fails is refused and named (exit 1), and nothing it describes is recorded. Then search,
    sessions, show, export and restore see those sessions.

    Example: archive pull cloud && archive sessions --profile laptop:default
    """
    from ..remote.pull import pull as run_pull

    result = run_pull(archive_path(archive_dir), name, again=again)
    if json:
        print_json(result.to_dict())
    elif not quiet:
        from ..text import plural

        machines = ", ".join(sorted(result.machines.values())) or "no other machine"
        stdout().print(
            f"Pulled from {result.remote} ({machines}): "
            f"{plural(result.manifests_applied, 'manifest')}, "
            f"{plural(result.versions_added, 'version')}, "
            f"{plural(result.objects_fetched, 'object')} ({_size(result.bytes_fetched)}).",
            markup=False,
        )
    for p in result.refused:
        typer.echo(f"error: refused {p['key']}: {p['problem']}", err=True)
    if result.refused:
        raise typer.Exit(EXIT_FAILURE)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
