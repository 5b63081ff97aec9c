"""The ingest log: one block per run, for cron users and ``archive schedule show``.

Cron mails nothing when a quiet ingest succeeds, so this file is where "did last night's run
happen, and how did it go" is answered. It holds counts, timestamps and (profile, path, error)
of failures: paths are fine, transcript content never (nothing here reads a transcript).
It stays small: only the last ``keep_runs`` blocks are kept, fewer if ``max_bytes`` demands.

Format (logfmt-like, so a person can read it and the code can parse it back; strings are
JSON-quoted so a newline in a file name cannot break a block)::

    run finished="2026-11-02T03:17:04.560Z" started="2026-11-02T03:17:00.120Z" status="ok" …
      error profile="work" path="projects/-x/4f2a….jsonl" error="Permission denied"
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from .errors import ArchiveError
from .fsutil import atomic_write, check_replaceable, private_mkdir
from .ingest import IngestResult

KEEP_RUNS = 10
MAX_BYTES = 1_000_000
MAX_ERROR_LINES = 50  # per run: the header has the total; a thousand more lines say little
MAX_MESSAGE = 1000  # characters of one value (a path, an error message)
_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')
_COUNTS = (
    "files_seen", "files_changed", "versions_added", "bytes_read", "bytes_stored",
    "gone_from_source",
)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fmt(key: str, value) -> str:
    if isinstance(value, bool) or value is None:
        value = str(value).lower() if value is not None else "null"
        return f"{key}={value}"
    if isinstance(value, int | float):
        return f"{key}={value}"
    text = str(value)
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    return f"{key}={orjson.dumps(text).decode()}"


def _line(head: str, fields: dict) -> str:
    return " ".join([head, *(_fmt(k, v) for k, v in fields.items())]) + "\n"


def _block(header: dict, errors: list[dict], warnings: list[str], max_errors: int) -> str:
    out = [_line("run", header)]
    for e in errors[:max_errors]:
        out.append(_line("  error", {"profile": e["profile"], "path": e["path"],
                                     "error": e["error"]}))
    if len(errors) > max_errors:
        out.append(_line("  omitted", {"errors": len(errors) - max_errors}))
    for w in warnings[:max_errors]:
        out.append(_line("  warning", {"message": w}))
    return "".join(out)


def append_run(
    log_path: Path,
    result: IngestResult,
    *,
    keep_runs: int = KEEP_RUNS,
    max_bytes: int = MAX_BYTES,
    now: datetime | None = None,
) -> None:
    """Append the block of one finished ingest run, then rotate."""
    finished = now or datetime.now(UTC)
    header = {
        "finished": _iso(finished),
        "started": _iso(finished - timedelta(seconds=result.seconds)),
        "status": "errors" if result.errors else "ok",
        "snapshot": result.snapshot,
        **{k: getattr(result, k) for k in _COUNTS},
        "errors": len(result.errors),
        "seconds": round(result.seconds, 3),
    }
    if result.indexed is not None:
        header["indexed_transcripts"] = result.indexed.transcripts
        header["indexed_documents"] = result.indexed.documents
    errors = [e.to_dict() for e in result.errors]
    _append(log_path, header, errors, list(result.warnings), keep_runs, max_bytes)


def append_failure(
    log_path: Path,
    message: str,
    *,
    exit_code: int,
    keep_runs: int = KEEP_RUNS,
    max_bytes: int = MAX_BYTES,
    now: datetime | None = None,
) -> None:
    """Log a run that produced no result (archive locked, bad config): ``show`` reports it."""
    stamp = _iso(now or datetime.now(UTC))
    header = {"finished": stamp, "started": stamp, "status": "failed", "exit_code": exit_code,
              "message": message}
    _append(log_path, header, [], [], keep_runs, max_bytes)


def _append(log_path, header, errors, warnings, keep_runs, max_bytes) -> None:
    log_path = Path(log_path)
    max_errors = MAX_ERROR_LINES
    block = _block(header, errors, warnings, max_errors)
    while len(block.encode()) > max_bytes and max_errors > 0:  # the newest run must fit
        max_errors //= 2
        block = _block(header, errors, warnings, max_errors)
    older = _blocks(_read_tail(log_path, max_bytes))
    keep_older = max(keep_runs - 1, 0)
    blocks = older[max(len(older) - keep_older, 0):] + [block]
    size = sum(len(b.encode()) for b in blocks)
    while len(blocks) > 1 and size > max_bytes:
        size -= len(blocks.pop(0).encode())
    _write_private(log_path, "".join(blocks))


def _read_tail(path: Path, max_bytes: int) -> str:
    """The end of the log: enough to hold every block we keep (more would be dropped anyway)."""
    try:
        if not check_replaceable(path):  # a FIFO would block the open; a device is no log
            return ""
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 2 * max_bytes))
            data = fh.read()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ArchiveError(f"cannot read the log {path}: {exc.strerror}") from None
    return data.decode("utf-8", "replace")


def _blocks(text: str) -> list[str]:
    """Whole blocks; anything before the first ``run`` line (a cut block) is dropped."""
    blocks: list[list[str]] = []
    for line in re.findall(r"[^\n]*\n|[^\n]+$", text):  # not splitlines: U+2028 is no break
        if line.startswith("run "):
            blocks.append([line])
        elif blocks and line.startswith("  "):
            blocks[-1].append(line if line.endswith("\n") else line + "\n")
    return ["".join(b) if b[0].endswith("\n") else "".join(b) + "\n" for b in blocks]


def _write_private(path: Path, text: str) -> None:
    """Replace the log at once (0600), creating its folder 0700 when missing. Only a regular
    file is replaced: ``--log /dev/stdout`` must not turn a device link into a file."""
    try:
        private_mkdir(path.parent)
        atomic_write(path, text.encode("utf-8"))
    except OSError as exc:
        raise ArchiveError(f"cannot write the log {path}: {exc.strerror or exc}") from None


def _parse_line(line: str) -> dict:
    out: dict = {}
    for key, raw in _PAIR.findall(line):
        if raw.startswith('"'):
            try:
                out[key] = orjson.loads(raw)
            except orjson.JSONDecodeError:
                out[key] = raw
        elif raw in ("true", "false", "null"):
            out[key] = {"true": True, "false": False, "null": None}[raw]
        else:
            try:
                out[key] = int(raw)
            except ValueError:
                try:
                    out[key] = float(raw)
                except ValueError:
                    out[key] = raw
    return out


def _parse_block(block: str) -> dict:
    lines = block.rstrip("\n").split("\n")
    run = _parse_line(lines[0][len("run "):])
    run["error_count"] = run.pop("errors", 0)
    run["errors"] = []
    run["warnings"] = []
    for line in lines[1:]:
        kind, _, rest = line.strip().partition(" ")
        fields = _parse_line(rest)
        if kind == "error":
            run["errors"].append(
                {k: fields.get(k) for k in ("profile", "path", "error")}
            )
        elif kind == "warning":
            run["warnings"].append(fields.get("message"))
        elif kind == "omitted":
            run["errors_omitted"] = fields.get("errors", 0)
    return run


def read_runs(log_path: Path) -> list[dict]:
    """Every run the log holds, oldest first (see ``last_run`` for the keys)."""
    return [_parse_block(b) for b in _blocks(_read_tail(Path(log_path), MAX_BYTES * 4))]


def last_run(log_path: Path) -> dict | None:
    """The newest run: ``finished``, ``started`` (UTC ISO), ``status`` (ok | errors | failed),
    the counts of IngestResult, ``error_count``, ``errors`` [{profile, path, error}],
    ``warnings``; None when nothing was logged yet."""
    runs = read_runs(log_path)
    return runs[-1] if runs else None
