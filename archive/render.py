"""Terminal rendering with rich: every table and view the CLI prints. Only this module and
the ``cli`` package print.

Times are stored in UTC and shown in the local time zone; sizes in binary units.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from .outward import visible
from .text import plural

if TYPE_CHECKING:  # annotations only: importing ingest would cost every search ~15 ms
    from .ingest import IngestResult
    from .repair import RepairResult
    from .restore import RestoreResult
    from .retention import AtRisk, LostSession
    from .secrets import SecretReport
    from .verify import VerifyResult


def one_line(value) -> Text:
    """A cell cut with "…" to one line where the column ends (titles: a terminal column is
    the only place they are cut)."""
    text = cell(" ".join(str(value or "").split()))
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def cell(value) -> Text:
    """A table cell holding data (paths, titles, prompts): plain text, never rich markup, its
    control characters shown (so the cell is measured as it will print)."""
    return Text("" if value is None else visible(str(value)))


class TerminalConsole(Console):
    """The console every command prints through. No character from data acts on the terminal:
    each text segment passes :func:`outward.visible` whatever built it (a table, Markdown, a
    plain string), and no hyperlink is emitted, since a link's target is hidden behind its text.
    Rich's own control segments (cursor moves of a progress bar) pass as they are."""

    def render(self, renderable, options=None):
        for segment in super().render(renderable, options):
            if segment.control is None:
                text = visible(segment.text)
                style = segment.style
                if style is not None and style.link:
                    style = style.update_link(None)
                if text is not segment.text or style is not segment.style:
                    segment = Segment(text, style)
            yield segment


def terminal_console(*, stderr: bool = False) -> TerminalConsole:
    return TerminalConsole(stderr=stderr, highlight=False, soft_wrap=False)


def local_time(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return dt.astimezone().strftime("%Y-%m-%d %H:%M")


def human_size(n: int | float) -> str:
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


# How a root was found (Root.found_by), as the note column of `archive roots` says it.
_ORIGIN_NOTES = {"ccs": "CCS instance", "cowork": "Cowork account", "config": "config.toml"}


def roots_table(rows: list[dict]) -> Table:
    table = Table(title="Config roots", title_justify="left")
    table.add_column("profile", style="bold")
    table.add_column("path", overflow="fold")
    table.add_column("sessions", justify="right")
    table.add_column("note")
    for row in rows:
        origin = row.get("origin", "default")
        notes = [_ORIGIN_NOTES.get(origin, f"${origin}" if origin.isupper() else origin)]
        if row.get("agent", "claude") != "claude":
            notes.append(f"agent {row['agent']}")
        if not row["exists"]:
            notes.append("missing")
        if row.get("aliases"):
            notes.append("also named " + ", ".join(row["aliases"]))
        if row.get("projects_shared_with"):
            notes.append(f"projects/ shared with {row['projects_shared_with']}")
        table.add_row(
            cell(row["profile"]), cell(row["path"]), str(row["session_files"]),
            cell("; ".join(notes)),
        )
    return table


def ingest_summary(console: Console, result: IngestResult) -> None:
    if result.snapshot is None:
        return  # no config root found: its warning says where ingest looked
    profiles = ", ".join(r["profile"] for r in result.roots if r["exists"])
    missing = [r["profile"] for r in result.roots if not r["exists"]]
    console.print(f"[bold]Snapshot {result.snapshot}[/bold] of {profiles}")
    if missing:
        console.print(f"  not found (skipped): {', '.join(missing)}")
    console.print(
        f"  files seen {result.files_seen}, changed {result.files_changed}, "
        f"new versions {result.versions_added}, gone from source {result.gone_from_source}"
    )
    console.print(
        f"  read {human_size(result.bytes_read)}, stored {human_size(result.bytes_stored)} "
        f"(compressed), in {result.seconds:.2f} s"
    )


def ingest_errors(console: Console, result: IngestResult) -> None:
    for err in result.errors:
        console.print(f"error: {err.profile}/{err.path}: {err.error}", markup=False)


def index_skipped(console: Console, skipped: list[dict]) -> None:
    """Transcripts left out of the index because their stored bytes are damaged."""
    for s in skipped:
        console.print(
            f"error: {s['profile']}/{s['path']} (version {s['version']}) not indexed: "
            f"{s['problem']}",
            markup=False,
        )


def versions_table(session_id: str, rows: list[dict]) -> Table:
    """One row per version; under the table, for each set-aside copy (a1, a2…), when Claude
    Code set it aside and where it lies."""
    asides = [row for row in rows if row.get("set_aside")]
    caption = "\n".join(
        f"{row['version']}: set aside {local_time(row.get('set_aside_at'))}, {row['path']}"
        for row in asides
    )
    table = Table(title=cell(f"Versions of {session_id}"), title_justify="left",
                  caption=cell(caption) if asides else None, caption_justify="left")
    for col, justify in (
        ("version", "right"), ("captured", "left"), ("size", "right"),
        ("snapshot", "right"), ("profile", "left"), ("sha256", "left"),
    ):
        table.add_column(col, justify=justify, no_wrap=True)
    for row in rows:
        table.add_row(
            str(row["version"]), local_time(row["captured_at"]), human_size(row["size"]),
            str(row["snapshot"]), cell(row["profile"]), row["sha256"][:12],
        )
    return table


def snapshots_table(rows: list[dict]) -> Table:
    table = Table(title="Snapshots", title_justify="left")
    for col, justify in (
        ("id", "right"), ("started", "left"), ("status", "left"), ("seen", "right"),
        ("changed", "right"), ("stored", "right"), ("gone", "right"), ("errors", "right"),
    ):
        table.add_column(col, justify=justify, no_wrap=True)
    for s in rows:
        table.add_row(
            str(s["id"]), local_time(s["started_at"]), s["status"], str(s["files_seen"]),
            str(s["files_changed"]), human_size(s["bytes_stored"]),
            str(s["gone_from_source"]), str(s["errors"]),
        )
    return table


def repair_report(console: Console, result: RepairResult, *, forced: bool) -> None:
    if not result.needed and not forced:
        console.print("The catalog is sound; nothing to repair (--force rebuilds it anyway).")
        return
    verb = "Would rebuild" if result.dry_run else "Rebuilt"
    console.print(
        f"{verb} the catalog from {plural(result.manifests, 'manifest')}: "
        f"{plural(result.snapshots, 'snapshot')}, {plural(result.files, 'file')}, "
        f"{plural(result.versions, 'version')}, {result.gone_from_source} gone from source.",
        markup=False,
    )
    if result.reason:
        console.print(f"Reason: {result.reason}", markup=False)
    if result.moved_aside:
        console.print(f"The old catalog is kept as {', '.join(result.moved_aside)}.",
                      markup=False)
    if not result.dry_run:
        console.print("Next: `archive reindex` rebuilds the search index.", markup=False)


def verify_report(console: Console, result: VerifyResult) -> None:
    for d in result.damage:
        console.print(f"damaged {d.what} {d.name}: {d.problem}", markup=False)
    status = "[green]sound[/green]" if result.ok else f"[red]{len(result.damage)} damaged[/red]"
    console.print(
        f"Archive {status}: {plural(result.objects_checked, 'object')} and "
        f"{plural(result.versions_checked, 'version')} checked, "
        f"{plural(result.manifests_checked, 'manifest')}"
        + (
            f"; {plural(result.unmanifested_versions, 'version')} in no manifest (the next "
            "ingest records them)"
            if result.unmanifested_versions
            else ""
        )
        + (
            f"; {plural(result.unreferenced_objects, 'unreferenced object')} (harmless, left "
            "by an interrupted ingest)"
            if result.unreferenced_objects
            else ""
        )
    )


def _short_project(project: str | None, width: int = 32) -> str:
    """``project`` in at most ``width`` characters, cut at its start at a folder boundary
    (``…/workspace/app``); its last folder stays whole even when that is wider."""
    if not project:
        return "-"
    if len(project) <= width:
        return project
    last = project.rstrip("/").rsplit("/", 1)[-1]
    tail = project[-(width - 1):] if width > 1 else ""
    cut = tail.find("/")
    if cut < 0 or len(tail) - cut - 1 < len(last):  # the cut would fall inside the last folder
        return "…/" + last if "/" in project else "…" + last[-(max(width, 2) - 1):]
    return "…" + tail[cut:]


class PathCell:
    """A table cell holding a project path, cut at its start to the width its column gets
    (``…/workspace/app``), never folded onto a second row; its last folder whole unless the
    column is narrower than that."""

    def __init__(self, path: str | None):
        self.path = visible(path) if path else "-"
        self.least = min(len(self.path), len(_short_project(self.path, 1)))

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement

        return Measurement(self.least, len(self.path))

    def __rich_console__(self, console, options):
        width = options.max_width
        short = _short_project(self.path, width)
        if len(short) > width:  # narrower than its last folder: still cut at the start
            short = "…" + self.path[-(width - 1):] if width > 1 else "…"
        yield Text(short, no_wrap=True)


def hanging(label: str, text: str):
    """``label`` then ``text``, wrapped under itself past the label (a hanging indent) rather
    than back to the first column; neither is read as markup."""
    from rich.table import Table

    grid = Table.grid()
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(Text(label), Text(text))
    return grid


# Markdown markup and escaped line breaks a snippet carries from an answer or a tool input: a
# snippet is plain text on one line.
_SNIPPET_NOISE = re.compile(r"\\[nrt]|\*\*|__|^#{1,6} |(?<=\s)#{1,6} |`{3}|\s+", re.M)


def plain_snippet(text: str, highlights=()) -> tuple[str, list[tuple[int, int]]]:
    """``text`` as one plain line (whitespace and ``\\n`` collapsed, ``**``/``##``/fences
    dropped), with the ``highlights`` spans moved to where their text now is."""
    out: list[str] = []
    where: list[int] = []  # old offset -> new offset
    n = pos = 0
    spaced = False  # the line so far ends with a space
    for m in _SNIPPET_NOISE.finditer(text):
        kept = text[pos:m.start()]
        out.append(kept)
        where.extend(range(n, n + m.start() - pos))
        n += m.start() - pos
        if kept:
            spaced = kept.endswith(" ")
        gap = " " if m.group().isspace() or m.group().startswith("\\") else ""
        if gap and spaced:
            gap = ""  # one space for the run (markup dropped between two runs of spaces)
        spaced = spaced or gap == " "
        out.append(gap)
        where.extend([n] * (m.end() - m.start()))
        n += len(gap)
        pos = m.end()
    out.append(text[pos:])
    where.extend(range(n, n + len(text) - pos))
    where.append(n + len(text) - pos)
    line = "".join(out)
    lead = len(line) - len(line.lstrip())
    line = line.strip()
    spans = []
    for start, end in highlights or ():
        lo = max(where[min(start, len(text))] - lead, 0)
        hi = min(where[min(end, len(text))] - lead, len(line))
        if lo < hi:
            spans.append((lo, hi))
    return line, spans


def _snippet_text(hit: dict) -> Snippet:
    line, spans = plain_snippet(hit["snippet"] or "", hit.get("highlights") or [])
    text = cell(line)
    for start, end in spans:
        text.stylize("bold reverse", start, end)
    return Snippet(text)


# After these a word longer than its column may break ("…/public/" | "tokenizer.css").
_BREAK_AFTER = frozenset("/\\,;:=&?|)]}>")


class Snippet:
    """A snippet wrapped to its column with every character kept, at spaces, else (a word
    longer than the column: a path, JSON) after a slash or other punctuation, and mid-word only
    where neither is near. Lines are measured in cells, so a line of double-width characters
    (CJK, ✅) is never cut with "…" (Rich's own wrap compares characters with cells there)."""

    def __init__(self, text: Text):
        self.text = text

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement

        return Measurement.get(console, options, self.text)

    def __rich_console__(self, console, options):
        for line in self.lines(options.max_width):
            line.no_wrap, line.overflow, line.end = True, "crop", "\n"
            yield line

    def lines(self, width: int) -> list[Text]:
        plain = self.text.plain
        cuts, start = [], 0
        while True:
            while start < len(plain) and plain[start] == " ":
                start += 1
            end, used = start, 0
            while end < len(plain) and used + cell_len(plain[end]) <= width:
                used += cell_len(plain[end])
                end += 1
            if end >= len(plain):
                break
            if plain[end] == " ":
                stop = end  # the next space ends the line: it vanishes in the break
            elif (space := plain.rfind(" ", start, end)) > start:
                stop = space
            else:
                stop = next((i + 1 for i in range(end - 1, start + max(width // 2, 1) - 1, -1)
                             if plain[i] in _BREAK_AFTER), max(end, start + 1))
            cuts.append((start, stop))
            start = stop
        cuts.append((start, len(plain)))
        lines = self.text.divide(sorted({n for cut in cuts for n in cut}))
        out = [piece for piece in lines if piece.plain.strip()] or [Text("")]
        for piece in out:
            piece.rstrip()
        return out


def heading(lead: str, facts: list[str], width: int, *, squeeze: int | None) -> Text:
    """A block's first line: ``lead`` in bold, then the ``facts`` dimmed. When it is too long,
    ``facts[squeeze]`` (a project path) gives way from its start down to its last folder; if it
    is still too long, the facts that do not fit go on indented lines below, each fact whole,
    so an id, a count, a time or a profile is never cut."""
    sep = " · "
    facts = [visible(f) for f in facts]
    start = cell_len(lead) + 2
    indent = min(start, 10)
    lines = [facts]
    if start + cell_len(sep.join(facts)) > width and squeeze is not None:
        over = start + cell_len(sep.join(facts)) - width
        squeezed = list(facts)
        squeezed[squeeze] = _short_project(facts[squeeze], max(cell_len(facts[squeeze]) - over, 1))
        if start + cell_len(sep.join(squeezed)) <= width:
            lines = [squeezed]
        else:  # the path may use a whole line of its own, cut only if even that is too short
            facts[squeeze] = _short_project(facts[squeeze], width - indent)
    if start + cell_len(sep.join(lines[0])) > width:
        lines, used = [[]], start
        for fact in facts:
            size = cell_len(fact) + (cell_len(sep) if lines[-1] else 0)
            if lines[-1] and used + size > width:
                lines.append([])
                used, size = indent, cell_len(fact)
            lines[-1].append(fact)
            used += size
        if (len(lines) > 1 and len(lines[-1]) == 1 and len(lines[-2]) > 2
                and indent + cell_len(sep.join([lines[-2][-1], *lines[-1]])) <= width):
            lines[-1].insert(0, lines[-2].pop())  # no fact left alone on the last line
    head = Text(visible(lead), style="bold", no_wrap=True, overflow="ellipsis")
    for n, line in enumerate(lines):
        head.append("  " if n == 0 else " ·\n" + " " * indent, style="dim")
        head.append(sep.join(line), style="dim")
    return head


# Below this width a table leaves the snippet no room: each hit becomes a heading line and its
# snippet under it.
WIDE_SEARCH = 120


def search_view(hits: list[dict], *, grouped: bool, width: int):
    """Search hits for a terminal ``width`` columns wide: a table when it is wide, else one
    block per hit (the snippet is what a person reads; it must never be squeezed out)."""
    if width >= WIDE_SEARCH:
        return search_table(hits, grouped=grouped)
    from rich.console import Group
    from rich.padding import Padding

    blocks = []
    for h in hits:
        facts = []
        if not grouped and h["turn"] is not None:
            facts.append(f"turn {h['turn']}")
        facts += [local_time(h["timestamp"]),
                  ", ".join(h.get("addresses") or h.get("profiles") or [h["profile"]]),
                  h["project"] or "-"]
        blocks.append(heading(_hit_session(h), facts, width, squeeze=len(facts) - 1))
        if grouped and h.get("title"):
            blocks.append(Text("  " + h["title"], style="italic", overflow="ellipsis",
                               no_wrap=True))
        blocks.append(Padding(_snippet_text(h), (0, 0, 0, 2)))
        blocks.append(Text(""))
    return Group(*blocks[:-1])


def _hit_session(h: dict) -> str:
    session = h["session_id"][:8] if h["session_id"] else "-"
    if h.get("agent_id"):
        session += f" ({h['agent_id']})"
    if h.get("gone_from_source"):
        session += " †"
    if h.get("prompt_only"):
        session += " (prompt only)"
    return session


def search_table(hits: list[dict], *, grouped: bool) -> Table:
    table = Table(show_lines=False, title_justify="left")
    table.add_column("session", no_wrap=True)
    if not grouped:
        table.add_column("turn", justify="right", no_wrap=True)
    table.add_column("profile", no_wrap=True)
    table.add_column("project", no_wrap=True)
    table.add_column("date", no_wrap=True)
    if grouped:
        table.add_column("title", ratio=1)
    table.add_column("snippet", ratio=1)
    for h in hits:
        cells = [cell(_hit_session(h))]
        if not grouped:
            cells.append(str(h["turn"]) if h["turn"] is not None else "-")
        profiles = ", ".join(h.get("addresses") or h.get("profiles") or [h["profile"]])
        cells += [cell(profiles), cell(_short_project(h["project"])), local_time(h["timestamp"])]
        if grouped:
            cells.append(one_line(h.get("title")))
        table.add_row(*cells, _snippet_text(h))
    return table


def sessions_view(rows: list[dict], *, width: int):
    """Sessions for a terminal ``width`` columns wide: a table when it is wide, else two lines
    per session (the facts, then the title), so the title is never squeezed out."""
    if width >= WIDE_SEARCH:
        return sessions_table(rows)
    from rich.console import Group
    from rich.padding import Padding

    blocks = []
    for r in rows:
        lead = (r["session_id"] or "-")[:8] + (" †" if r["gone_from_source"] else "")
        profiles = ", ".join(r.get("addresses") or r.get("profiles") or [r["profile"]])
        if r.get("diverged"):
            profiles += " (diverged)"
        facts = [local_time(r["ended"] or r["started"]), plural(r["turns"], "turn"),
                 tokens(r.get("context_tokens"), r.get("context_estimated")), profiles,
                 *filter(None, [fork_note(r)]), r["project"] or "-"]
        blocks.append(heading(lead, facts, width, squeeze=len(facts) - 1))
        title = one_line(_title_of(r) or "(untitled)")
        blocks.append(Padding(title, (0, 0, 0, 2)))
    return Group(*blocks)


def fork_note(r: dict) -> str:
    """``from 1a2b3c4d (turn 12)``: the session a fork came from, and the turns it took."""
    if not r.get("forked_from"):
        return ""
    return f"from {r['forked_from'][:8]} (turn {r['forked_turns']})"


def _title_of(r: dict) -> str:
    title = r["title"] or ""
    if r.get("name"):
        title = f"[{r['name']}] {title}" if r["name"] != title else f"[{r['name']}]"
    return title


def sessions_table(rows: list[dict]) -> Table:
    table = Table(title_justify="left")
    for col, justify in (
        ("session", "left"), ("profiles", "left"), ("project", "left"), ("last active", "left"),
        ("turns", "right"), ("context", "right"),
    ):
        table.add_column(col, justify=justify, no_wrap=True)
    table.add_column("title", ratio=1)
    for r in rows:
        sid = (r["session_id"] or "-")[:8] + (" †" if r["gone_from_source"] else "")
        profiles = ", ".join(r.get("addresses") or r.get("profiles") or [r["profile"]])
        if r.get("diverged"):
            profiles += " (diverged)"
        if r.get("forked_from"):
            profiles += f" · {fork_note(r)}"
        title = one_line(_title_of(r))
        table.add_row(
            cell(sid), cell(profiles), cell(_short_project(r["project"])),
            local_time(r["ended"] or r["started"]), str(r["turns"]),
            tokens(r.get("context_tokens"), r.get("context_estimated")), title,
        )
    return table


def tokens(n: int | None, estimated: bool = False) -> str:
    """102K-style token counts; ~ marks an estimate."""
    if n is None:
        return "-"
    text = f"{n / 1000:.0f}K" if n >= 1000 else str(n)
    return ("~" if estimated else "") + text


_PART_NAMES = {
    "subagents": "sub-agent transcript(s)",
    "subagent-meta": "sub-agent metadata file(s)",
    "tool-results": "tool result file(s)",
    "uploads": "upload(s)",
    "tasks": "task file(s)",
    "other": "other file(s) in its folder",
    "file-history": "file-history snapshot(s) (/rewind)",
    "set-aside": "set-aside copy(ies) (old versions)",
}


def show_session(console: Console, data: dict, *, only_turn: int | None = None) -> None:
    from rich.markdown import Markdown
    from rich.rule import Rule

    console.print(Text(data["title"] or "(untitled)", style="bold"))
    which = f"version {data['version']}"
    if isinstance(data["version"], str):  # a copy Claude Code set aside: a1, a2…
        which = f"set-aside copy {data['version']}" + (
            f", set aside {local_time(data['set_aside_at'])}" if data.get("set_aside_at") else "")
    facts = [
        f"session {data['session_id']} ({which}, profile {data['profile']})",
        f"project {data['project'] or '-'}"
        + (f" on branch {data['branch']}" if data["branch"] else ""),
        f"{local_time(data['started'])} → {local_time(data['ended'])}, "
        f"{plural(data['turn_count'], 'turn')}, models {', '.join(data['models']) or '-'}",
    ]
    if data["context_tokens"] is not None:
        facts.append(
            f"context {data['context_tokens']:,} tokens (peak {data['peak_context_tokens']:,}"
            f"{', estimated' if data['context_estimated'] else ''}), "
            f"{plural(len(data['compactions']), 'compaction')}"
        )
    if data["gone_from_source"]:
        facts.append("deleted at the source: this copy lives only in the archive")
    if data.get("parts"):
        facts.append("archived with it: " + ", ".join(
            f"{n} {_PART_NAMES.get(kind, kind)}" for kind, n in sorted(data["parts"].items())
        ))
    _facts(console, facts)
    for turn in data["turns"]:
        if only_turn is not None and turn["turn"] != only_turn:
            continue
        console.print(
            Rule(cell(f"Turn {turn['turn']} · {local_time(turn['timestamp'])}"), align="left")
        )
        prompt = Text("> ", style="bold cyan")
        prompt.append(visible(turn["prompt"] or ""), style="none")
        console.print(prompt)
        calls = turn["tool_calls"]
        for step in turn["steps"]:  # text and tool calls as they happened
            if "text" in step:
                console.print(Markdown(step["text"], hyperlinks=False))
                continue
            call = calls[step["tool_call"]]
            console.print(tool_line(call))
            if call.get("output"):  # show --tool-output
                from rich.padding import Padding

                console.print(Padding(Text(visible(call["output"].rstrip("\n")), style="dim"),
                                      (0, 0, 0, 6)))


def _facts(console: Console, facts: list[str]) -> None:
    """A view's header facts, two spaces in; a fact too long for the line wraps under itself
    (a project path and its branch stay readable as one fact)."""
    from rich.padding import Padding

    for fact in facts:
        console.print(Padding(cell(fact), (0, 0, 0, 2), expand=False))


def tool_line(call: dict):
    """``  → Bash ls -la (1.2 KiB out)``; a long one wraps under its name, indented."""
    mark = "✗" if call["is_error"] else "→"
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    grid.add_row(
        Text(f"  {mark}", style="dim"),
        Text(visible(f"{call['name']} {call['key_argument']}"
                     f" ({human_size(call['output_size'])} out)"), style="dim"),
    )
    return grid


def show_prompt_only(console: Console, data: dict) -> None:
    """A session known only from history.jsonl: its prompts, dates and project, and why there
    is nothing more."""
    from rich.rule import Rule

    console.print(Text("(prompt only) " + visible(data["prompts"][0]["prompt"] if data["prompts"]
                                                  else ""), style="bold", overflow="fold"))
    for fact in (
        f"session {data['session_id']} (profile {', '.join(data['profiles'])})",
        f"project {data['project'] or '-'}",
        f"{local_time(data['started'])} → {local_time(data['ended'])}, "
        f"{plural(len(data['prompts']), 'prompt')}",
        "the transcript was lost before archiving: history.jsonl kept only the prompts",
    ):
        _facts(console, [fact])
    for p in data["prompts"]:
        console.print(Rule(cell(f"Prompt {p['turn']} · {local_time(p['timestamp'])}"),
                           align="left"))
        prompt = Text("> ", style="bold cyan")
        prompt.append(visible(p["prompt"] or ""), style="none")
        console.print(prompt)


def stats_table(title: str, rows: list[dict], key: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(key)
    for col in ("sessions", "turns", "gone", "bloated"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(
            PathCell(r[key]) if key == "project" else cell(r[key] or "-"), str(r["sessions"]),
            str(r["turns"]), str(r["gone"]), str(r["bloated"]),
        )
    return table


def context_chart(console: Console, report: dict, width: int = 40) -> None:
    """One bar per turn (or per group of turns on long sessions), compactions marked."""
    turns = report["turns"]
    threshold = report["threshold"]
    est = " (estimated)" if report["context_estimated"] else ""
    head = f"Context of {report['session_id']}:"
    figures = (f"now {tokens(report['context_tokens'])}, "
               f"peak {tokens(report['peak_context_tokens'])}{est}, threshold {tokens(threshold)}")
    if cell_len(head) + 1 + cell_len(figures) <= console.width:
        console.print(f"{head} {figures}", highlight=False, markup=False)
    else:  # the figures whole on a line of their own, not "100K" left alone by the wrap
        console.print(head, highlight=False, markup=False)
        console.print(f"  {figures}", highlight=False, markup=False)
    if not turns:
        console.print("  (no turns)")
        return
    top = max([threshold] + [t["context_tokens"] or 0 for t in turns])
    group = max(1, -(-len(turns) // 60))  # at most 60 rows
    compactions = {}
    for c in report["compactions"]:
        compactions.setdefault(c["turn"], []).append(c)
    for start in range(0, len(turns), group):
        chunk = turns[start : start + group]
        value = max((t["context_tokens"] or 0) for t in chunk)
        label = str(chunk[0]["turn"]) if group == 1 else f"{chunk[0]['turn']}-{chunk[-1]['turn']}"
        filled = round(width * value / top) if top else 0
        style = "red" if value > threshold else "green"
        mark = round(width * threshold / top) if top else width
        bar = "█" * filled + " " * (width - filled)
        bar = bar[:mark] + "│" + bar[mark + 1 :] if mark < width else bar
        notes = []
        for t in chunk:
            for c in compactions.get(t["turn"], []):
                notes.append(
                    f"⇣ compacted ({c['trigger'] or '?'}, {tokens(c['pre_tokens'])} before)"
                )
        row = f"{label:>7} [{style}]{bar}[/{style}] {tokens(value):>6}"
        # A compaction's label stays on one line: beside its bar when both fit, else under it.
        beside = 7 + 1 + width + 1 + 6 + 1 + cell_len(" ".join(notes)) <= console.width
        console.print(row + (" " + " ".join(notes) if notes and beside else ""),
                      highlight=False)
        for note in notes if not beside else ():
            console.print(" " * 8 + note, markup=False, highlight=False)
    first = report["first_turn_over"]
    if first is None:
        console.print(f"No turn is past {tokens(threshold)} tokens.")
        return
    ways = [("fork from turn {}".format(report["suggested_fork_turn"]),
             report["commands"].get("fork")),
            ("start fresh from a hand-off", report["commands"].get("handoff"))]
    ways = [(label, cmd) for label, cmd in ways if cmd]
    count = {1: "One way", 2: "Two ways"}.get(len(ways), f"{len(ways)} ways")
    console.print(f"Turn {first} is the first past {tokens(threshold)} tokens. {count} on:",
                  markup=False, highlight=False)
    for label, cmd in ways:
        console.print(f"  {label}:", markup=False, highlight=False)
        command_line(console, cmd)
    if report.get("fork_unavailable"):
        console.print(f"  no fork: {report['fork_unavailable']}", markup=False, highlight=False)


def command_line(console: Console, command: str, indent: str = "    ") -> None:
    """A command meant to be copied: whole on its own line, never wrapped or cut (a terminal
    narrower than it wraps it softly, so a paste still gets one line)."""
    console.print(indent + command, markup=False, highlight=False, soft_wrap=True)


def diff_report(console: Console, data: dict) -> None:
    from rich.padding import Padding

    console.print(f"Copies of {data['session_id']}:", markup=False)
    for c in data["copies"]:
        console.print(
            f"  {c.get('address') or c['profile']}: {plural(c['turns'], 'turn')}, "
            f"last change {local_time(c['last_change'])}, {human_size(c['size'])}",
            markup=False,
        )
    first = data["first_differing_turn"]
    if data["identical"]:
        console.print("They are identical (same bytes).")
    elif first is None:
        console.print("Same turns, different bytes (e.g. another cwd after a restore).")
    else:
        if data["diverged"]:
            state = "Both changed after the copy (they diverged)"
        else:  # the smaller copy is the start of the larger one: the larger one grew
            grown = max(data["copies"], key=lambda c: c["size"])
            state = f"Only {grown.get('address') or grown['profile']} grew after the copy"
        same = f"same up to turn {first - 1}, different" if first > 1 else "different"
        console.print(f"{state}; {same} from turn {first}.", markup=False, highlight=False)
        for c in data["copies"]:  # the two sides of the turn where they part
            side = c.get("at_first_difference")
            head = f"{c.get('address') or c['profile']}, turn {first}"
            if side is None:
                console.print(Text(f"{head}: (no such turn: this copy ends at turn "
                                   f"{c['turns']})", style="bold"))
                continue
            console.print(Text(f"{head} · {local_time(side['timestamp'])}", style="bold"))
            console.print(Padding(Text("> " + " ".join((side["prompt"] or "").split())[:300],
                                       style="cyan"), (0, 0, 0, 2)))
            for call in side["tool_calls"][:5]:
                console.print(Padding(Text("→ " + " ".join(call.split())[:200], style="dim"),
                                      (0, 0, 0, 2)))
            answer = " ".join((side["answer"] or "(no text answer)").split())
            console.print(Padding(cell(answer[:500] + ("…" if len(answer) > 500 else "")),
                                  (0, 0, 0, 2)))


def restore_report(console: Console, result: RestoreResult, prog: str = "archive") -> None:
    """What ``restore`` wrote (or would write), and the command that resumes it; ``prog`` is
    how to name this program in a command to paste."""

    def say(text: str = "") -> None:
        console.print(text, markup=False, highlight=False, overflow="fold")

    verb = "Would restore" if result.dry_run else "Restored"
    renamed = (
        f" as {result.session_id}" if result.session_id != result.original_session_id else ""
    )
    if isinstance(result.version, str):  # a copy Claude Code set aside: a1, a2…
        which = f"set-aside copy {result.version}" + (
            f", set aside {local_time(result.set_aside_at)}" if result.set_aside_at else "")
    else:
        which = f"version {result.version} of {result.newest_version}"
    say(
        f"{verb} session {result.original_session_id}{renamed} from profile "
        f"{result.source_profile} ({which}, captured {result.captured_at}) into profile "
        f"{result.profile}"
        + (f", first {plural(result.turns, 'turn')}" if result.turns else "")
    )
    where = {"cwd": "the transcript's cwd", "--project": "--project",
             "folder": "the source folder name"}[result.project_from]
    say(f"  project: {result.project or '(unknown)'} (from {where}) -> "
        f"folder {result.project_folder}")
    for field, value in result.rewrites.items():
        say(f"  rewrite: {field} -> {value}")
    for f in result.files:
        changed = ", ".join(f"{k} in {n} lines" for k, n in f.rewritten.items())
        state = " (replaces the existing file)" if f.exists else ""
        say(f"  {f.path}  {f.size} bytes{'; ' + changed if changed else ''}{state}")
    if result.archived_snapshot is not None:
        say(f"  the files replaced were archived first (snapshot {result.archived_snapshot})")
    if result.dry_run:
        say("Nothing written (--dry-run).")
    if result.project and not Path(result.project).is_dir():
        say(f"note: the folder {result.project} does not exist here; the command below fails "
            "until it does. To put the session under another project directory:")
        command_line(console, result.again_with_project(prog), "  ")
    say("It would be resumed with:" if result.dry_run else "Resume it with:")
    command_line(console, result.resume_command, "  ")


def _blocks(title: str, items: list[tuple[str, list[str], int | None, str]], width: int):
    """Rows as blocks for a narrow terminal: a heading line (``lead`` and facts, the fact at
    the given index giving way when long), then an indented line of text."""
    from rich.console import Group
    from rich.padding import Padding

    parts: list = [Text(title, style="bold")]
    for lead, facts, squeeze, body in items:
        parts.append(heading(lead, facts, width, squeeze=squeeze))
        if body:
            parts.append(Padding(cell(body), (0, 0, 0, 2)))
    return Group(*parts)


def secrets_view(reports: list[SecretReport], *, width: int):
    """``secrets`` for a terminal ``width`` wide: the table, or blocks below WIDE_SEARCH."""
    if width >= WIDE_SEARCH:
        return secrets_table(reports)
    items = []
    for r in reports:
        kinds = ", ".join(f"{kind} ×{n}" for kind, n in r.to_dict()["kinds"].items())
        items.append((
            r.session_id[:8],
            [local_time(r.ended), f"{plural(r.total, 'string')} in "
             f"{'turn' if len(r.turns) == 1 else 'turns'} {turn_ranges(r.turns)}",
             r.profile, r.project or "-"],
            3, kinds,
        ))
    return _blocks("Sessions holding credential-shaped strings", items, width)


def secrets_table(reports: list[SecretReport]) -> Table:
    """Sessions holding credential-shaped strings: kinds and counts, never the strings."""
    table = Table(title="Sessions holding credential-shaped strings", title_justify="left")
    for col, justify in (("session", "left"), ("profile", "left"), ("project", "left"),
                         ("last active", "left"), ("found", "right"), ("turns", "left")):
        table.add_column(col, justify=justify, no_wrap=col != "turns")
    table.add_column("kinds", ratio=1)
    for r in reports:
        kinds = ", ".join(f"{kind} ×{n}" for kind, n in r.to_dict()["kinds"].items())
        table.add_row(
            cell(r.session_id[:8]), cell(r.profile), cell(_short_project(r.project)),
            local_time(r.ended), str(r.total), turn_ranges(r.turns), cell(kinds),
        )
    return table


def turn_ranges(turns: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``1-3, 7``: short enough for a table cell."""
    runs: list[list[int]] = []
    for n in turns:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs) or "-"


def last_run_text(run: dict | None, log_path) -> str:
    """The last logged ingest run, as ``schedule show`` prints it."""
    if run is None:
        return f"last run: none logged yet ({log_path})"
    when = local_time(run.get("finished"))
    if run.get("status") == "failed":
        return (f"last run: {when}, failed (exit {run.get('exit_code')}): "
                f"{run.get('message', '')}")
    if run.get("snapshot") is None:  # no config root was found: nothing was snapshotted
        return f"last run: {when}, no config root found, nothing archived"
    text = (
        f"last run: {when}, {run.get('status')}: snapshot {run.get('snapshot')}, "
        f"{plural(run.get('files_seen', 0), 'file')} seen, "
        f"{plural(run.get('versions_added', 0), 'version')} added, "
        f"{human_size(run.get('bytes_stored', 0))} stored, "
        f"{plural(run.get('error_count', 0), 'error')}"
    )
    for e in run.get("errors", [])[:10]:
        text += f"\n  {e.get('profile')} {e.get('path')}: {e.get('error')}"
    return text


def _home_short(path: str) -> str:
    import os
    from pathlib import Path

    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + os.sep) else path


def _risk_groups(rows: list[AtRisk]) -> list[tuple]:
    """(profile, first to go, the session's file, files held, files) per session."""
    from pathlib import Path

    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r.profile, r.session_id or r.relpath), []).append(r)
    out = []
    for (profile, _), group in groups.items():
        first = min(group, key=lambda r: r.days_left)
        main = next((r for r in group if r.kind == "session"), first)
        held = sum(r.archived for r in group)
        archived = "yes" if held == len(group) else "no" if held == 0 else f"{held}/{len(group)}"
        name = main.session_id or Path(main.relpath).name
        left = f"{first.days_left:.1f}" if first.days_left > 0 else "next start"
        out.append((profile, first, main, name, left, archived, len(group)))
    return out


def at_risk_view(rows: list[AtRisk], days: int, *, width: int):
    """``at-risk`` for a terminal ``width`` wide: the table, or blocks below WIDE_SEARCH."""
    if width >= WIDE_SEARCH:
        return at_risk_table(rows, days)
    items = []
    for profile, first, main, name, left, archived, files in _risk_groups(rows):
        when = f"{left} days left" if left != "next start" else "deleted at next start"
        lead = main.session_id[:8] if main.session_id else name  # the full id: --json
        items.append((lead, [when, plural(files, "file"), f"archived {archived}", profile,
                             local_time(first.mtime)], None, _home_short(main.path)))
    return _blocks(f"Deleted by Claude Code within {days} days", items, width)


def lost_view(rows: list[LostSession], *, width: int):
    """``lost`` for a terminal ``width`` wide: the table, or blocks below WIDE_SEARCH."""
    if width >= WIDE_SEARCH:
        return lost_table(rows)
    items = [(r.session_id[:8], [local_time(r.started), plural(r.prompts, "prompt"), r.profile,
                             r.project or "-"], 3, " ".join(r.first_prompt.split()))
             for r in rows]
    return _blocks("Lost sessions (in history.jsonl, not at the source, not archived)", items,
                   width)


def at_risk_table(rows: list[AtRisk], days: int) -> Table:
    """Files Claude Code deletes within ``days``, one row per session (its files together)."""
    table = Table(title=f"Deleted by Claude Code within {days} days", title_justify="left")
    for name, justify in (("days left", "right"), ("profile", "left"), ("session", "left"),
                          ("files", "right"), ("archived", "left"), ("last change", "left"),
                          ("path", "left")):
        table.add_column(name, justify=justify, overflow="fold" if name == "path" else "ellipsis")
    for profile, first, main, name, left, archived, files in _risk_groups(rows):
        table.add_row(
            Text(left), Text(profile), Text(name), Text(str(files)),
            Text(archived, style="green" if archived == "yes" else "bold red"),
            Text(local_time(first.mtime)), Text(_home_short(main.path)),
        )
    return table


def lost_table(rows: list[LostSession]) -> Table:
    table = Table(title="Lost sessions (in history.jsonl, not at the source, not archived)",
                  title_justify="left")
    for name in ("started", "profile", "session", "prompts", "project", "first prompt"):
        table.add_column(name, justify="right" if name == "prompts" else "left",
                         overflow="fold" if name == "first prompt" else "ellipsis")
    for r in rows:
        table.add_row(
            Text(local_time(r.started)), Text(r.profile), Text(r.session_id),
            Text(str(r.prompts)), Text(r.project or "-"), Text(r.first_prompt),
        )
    return table
