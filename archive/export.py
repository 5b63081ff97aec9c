"""Export one session as Markdown, a self-contained HTML page, or normalised JSON.

Invariants:

- Exports mask credential-shaped strings by default (see redact.py); only ``redact=False``
  (``--no-redact``) keeps them. Masking applies to the exported copy: the archive is only read,
  and restore and ``cat`` never alter a byte.
- JSON is :func:`archive.views.session_dict`, the shape of ``show --json``, so the two agree
  field for field (``--tool-output`` adds each call's ``input`` and ``output``).
- HTML loads nothing: inline CSS, no script, no external font or image, and a
  Content-Security-Policy that forbids every fetch. Every string from a transcript is escaped.
- Markdown is the essential context for starting fresh: prompts and answers in full, one line
  per tool call, tool output only on request (capped per call like the index, and marked so).
- A file is written atomically (fsutil: temp file, fsync, rename), 0600; an existing file is
  never replaced unless ``force``, and only a regular file is ever replaced (never a FIFO, a
  device or a symlink).
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import orjson

from .errors import ArchiveError, TargetExists, UsageError
from .fsutil import atomic_write, check_replaceable
from .text import plural
from .transcript import Session, Turn, shorten
from .views import LoadedSession, session_dict, turn_dict

FORMATS = ("md", "html", "json")


# -- which turns -------------------------------------------------------------------------------

_RANGE = re.compile(r"(?P<a>\d+)?(?P<colon>:)?(?P<b>\d+)?")


def parse_turns(spec: str) -> tuple[int | None, int | None]:
    """``A:B``, ``A:``, ``:B`` or ``N`` (1-based, inclusive) as ``(first, last)``, None = open.

    Checked before the session is read, so a typo fails at once."""
    text = spec.strip()
    m = _RANGE.fullmatch(text)
    if not text or m is None or (m["colon"] is None and m["a"] is None):
        raise UsageError(
            f"bad --turns {spec!r}", hint="use A:B, A: or :B with 1-based turn numbers, e.g. 2:5"
        )
    first = int(m["a"]) if m["a"] else None
    last = int(m["b"]) if m["b"] else None
    if m["colon"] is None:
        last = first
    if first == 0 or last == 0:
        raise UsageError(f"bad --turns {spec!r}", hint="turns are numbered from 1")
    if first is not None and last is not None and first > last:
        raise UsageError(f"bad --turns {spec!r}", hint=f"{first} comes after {last}")
    return first, last


def select_turns(session: Session, turns: str | tuple[int | None, int | None] | None) -> list[Turn]:
    """The turns a range names; a bound past the last turn is an error, not a silent cut."""
    if turns is None:
        return list(session.turns)
    first, last = parse_turns(turns) if isinstance(turns, str) else turns
    count = len(session.turns)
    for bound in (first, last):
        if bound is not None and bound > count:
            raise UsageError(
                f"session {session.session_id} has no turn {bound}",
                hint=f"it has {count} turn{'s' if count != 1 else ''}",
            )
    return session.turns[(first or 1) - 1 : last or count]


# -- the data every format renders -------------------------------------------------------------


def _not_archived(session: Session) -> LoadedSession:
    """A transcript read from disk, shaped like an archived one (no profile, path, version)."""
    file = SimpleNamespace(profile=None, relpath=None, gone_snapshot=None)
    return LoadedSession(file=file, version=SimpleNamespace(seq=None), session=session, others=[])


def export_data(
    source: LoadedSession | Session,
    turns: str | tuple[int | None, int | None] | None = None,
    *,
    tool_output: bool = False,
) -> dict:
    """The normalised session (``show --json``'s shape) restricted to ``turns``."""
    loaded = source if isinstance(source, LoadedSession) else _not_archived(source)
    chosen = select_turns(loaded.session, turns)
    data = session_dict(loaded, chosen)
    if tool_output:
        data["turns"] = [turn_dict(t, with_tool_output=True) for t in chosen]
    return data


@dataclass
class Export:
    text: str
    turns: int  # turns exported
    masked: Counter = field(default_factory=Counter)  # secrets masked, by kind


def export_session(
    source: LoadedSession | Session,
    fmt: str = "md",
    *,
    turns: str | tuple[int | None, int | None] | None = None,
    tool_output: bool = False,
    redact: bool = True,
) -> Export:
    """Render ``source`` (an archived session, or one parsed from a file) in ``fmt``."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    data = export_data(source, turns, tool_output=tool_output)
    if redact:
        from .redact import redact_data

        # Mask the data, not the rendered text: escaping (HTML) or quoting (JSON) would
        # otherwise change what a secret looks like. Field names are ours, not data.
        data = redact_data(data)
    render = {"md": render_markdown, "html": render_html, "json": render_json}[fmt]
    text = render(data)
    masked: Counter = Counter()
    if redact:
        from .redact import masks_in

        # What the document holds: a format shows some texts twice (the title in html) or
        # leaves some out, so the masks counted in the data would not match the file.
        masked = masks_in(text)
    return Export(text=text, turns=len(data["turns"]), masked=masked)


# -- shared wording ----------------------------------------------------------------------------


def _when(iso: str | None) -> str:
    if not iso:
        return "?"
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def _turn_span(data: dict) -> str:
    turns = data["turns"]
    total = data["turn_count"]
    if len(turns) == total:
        return str(total)
    if not turns:
        return f"0 of {total}"
    first, last = turns[0]["turn"], turns[-1]["turn"]
    shown = str(first) if first == last else f"{first}–{last}"
    return f"{shown} of {total}"


def _facts(data: dict) -> list[tuple[str, str]]:
    """(label, value) pairs shown at the top of md and html; values are plain text."""
    facts = [("Session", data["session_id"] or "?")]
    where = []
    if data["profile"]:
        where.append(f"profile {data['profile']}")
    if data["version"] is not None:
        where.append(f"version {data['version']}")
    if where:
        facts[0] = ("Session", f"{facts[0][1]} ({', '.join(where)})")
    project = data["project"] or "?"
    if data["branch"]:
        project += f" (branch {data['branch']})"
    facts.append(("Project", project))
    facts.append(("Dates", f"{_when(data['started'])} → {_when(data['ended'])}"))
    facts.append(("Turns", _turn_span(data)))
    if data["models"]:
        facts.append(("Models", ", ".join(data["models"])))
    if data["context_tokens"] is not None:
        estimated = ", estimated" if data["context_estimated"] else ""
        facts.append(
            (
                "Context",
                f"{data['context_tokens']:,} tokens (peak {data['peak_context_tokens']:,}"
                f"{estimated}), {plural(len(data['compactions']), 'compaction')}",
            )
        )
    if data["gone_from_source"]:
        facts.append(("Note", "deleted at the source: this copy lives only in the archive"))
    return facts


def _output_note(call: dict) -> str | None:
    """Says when the output shown is only the start of what the tool returned."""
    shown, size = len(call.get("output") or ""), call["output_size"]
    if size > shown:
        return f"first {shown:,} of {size:,} characters"
    return None


# -- Markdown ----------------------------------------------------------------------------------


def _md_code(text: str) -> str:
    """``text`` as inline code whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_fenced(text: str, indent: str = "") -> list[str]:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [indent + fence, *(indent + line for line in text.split("\n")), indent + fence]


def render_markdown(data: dict) -> str:
    lines = [f"# {' '.join((data['title'] or '(untitled)').split())}", ""]
    lines += [f"- **{label}:** {value}" for label, value in _facts(data)]
    for turn in data["turns"]:
        lines += ["", "---", "", f"## Turn {turn['turn']} · {_when(turn['timestamp'])}", ""]
        lines += ["**Prompt**", "", turn["prompt"], ""]
        if turn["tool_calls"]:
            lines += ["**Tool calls**", ""]
            for call in turn["tool_calls"]:
                line = f"- {call['name'] or '?'}"
                if call["key_argument"]:
                    line += " " + _md_code(call["key_argument"])
                if call["is_error"]:
                    line += " (error)"
                lines.append(line)
                if "output" in call and call["output"]:
                    note = _output_note(call)
                    if note:
                        lines.append(f"  output, {note}:")
                    lines += _md_fenced(call["output"], "  ")
            lines.append("")
        lines += ["**Answer**", "", turn["answer"] or "_(no text answer)_"]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- HTML --------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light dark; --fg: #1d1f23; --bg: #fdfdfc; --muted: #60656f;
  --line: #d9dce1; --prompt: #eef4ff; --accent: #2f5fb3; --code: #f3f3f1; --err: #b3261e; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e4e6ea; --bg: #16181c; --muted: #9aa0aa; --line: #33373e;
    --prompt: #1d2636; --accent: #8ab4f8; --code: #20232a; --err: #f2b8b5; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
.page { max-width: 54rem; margin: 0 auto; padding: 2rem 1.25rem 4rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
h2 time { color: var(--muted); font-weight: normal; font-size: .9rem; margin-left: .5rem; }
a { color: var(--accent); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0;
  font-size: .92rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
nav.toc { margin: 1.5rem 0 2rem; padding: .75rem 1rem; border: 1px solid var(--line);
  border-radius: 6px; font-size: .92rem; }
nav.toc h2 { font-size: 1rem; margin: 0 0 .4rem; }
nav.toc ol { margin: 0; padding-left: 2.2rem; max-height: 22rem; overflow-y: auto; }
section.turn { border-top: 1px solid var(--line); padding-top: 1.25rem; margin-top: 1.75rem; }
.label { font-size: .75rem; letter-spacing: .06em; text-transform: uppercase;
  color: var(--muted); margin-bottom: .25rem; }
.prompt { background: var(--prompt); border-left: 4px solid var(--accent);
  padding: .6rem .9rem; border-radius: 4px; margin-bottom: 1rem; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
pre { background: var(--code); padding: .6rem .8rem; border-radius: 4px; overflow-x: auto;
  font: .85rem/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
code { font: .88em ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  overflow-wrap: anywhere; }
ul.tools { list-style: none; padding: 0; margin: 0 0 1rem; font-size: .9rem; }
ul.tools li { padding: .1rem 0; color: var(--muted); }
ul.tools .name { color: var(--fg); font-weight: 600; margin-right: .4rem; }
ul.tools .error { color: var(--err); }
details summary { cursor: pointer; font-size: .85rem; }
.md { overflow-wrap: anywhere; }
.md h1, .md h2, .md h3, .md h4 { font-size: 1.05rem; margin: 1rem 0 .4rem; }
.md table { border-collapse: collapse; margin: .5rem 0; font-size: .92rem; }
.md th, .md td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; }
footer { margin-top: 3rem; color: var(--muted); font-size: .8rem; }
"""

# Nothing may be fetched, even if a string slipped through unescaped.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)


def _esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


_FENCE = re.compile(r"^```[^\n]*\n?", re.MULTILINE)


def _html_text(text: str) -> str:
    """Plain text (a prompt) as HTML keeping its line breaks; fenced code blocks become
    <pre>."""
    out = []
    for i, part in enumerate(_FENCE.split(text)):
        if not part.strip("\n"):
            continue
        if i % 2:  # inside a fence (an unclosed one runs to the end)
            out.append(f"<pre><code>{_esc(part.rstrip(chr(10)))}</code></pre>")
            continue
        escaped = _esc(part.strip("\n"))
        out.append(f'<div class="text">{escaped}</div>')
    return "\n".join(out)


def _markdown_html(text: str) -> str:
    """An answer's Markdown as HTML (headings, lists, tables, code blocks, emphasis) by
    markdown-it-py, with raw HTML off: a ``<script>`` in a transcript stays text. Links to
    ``javascript:`` and the like are refused by markdown-it, and the page's CSP fetches
    nothing."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    return f'<div class="md">{md.render(text)}</div>'



def render_html(data: dict) -> str:
    title = " ".join((data["title"] or "(untitled)").split())
    facts = "\n".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in _facts(data))
    toc = "\n".join(
        f'<li value="{t["turn"]}"><a href="#turn-{t["turn"]}">{_esc(shorten(t["prompt"], 90))}'
        "</a></li>"
        for t in data["turns"]
    )
    sections = []
    for turn in data["turns"]:
        n = turn["turn"]
        parts = [
            f'<section class="turn" id="turn-{n}">',
            f'<h2><a href="#turn-{n}">Turn {n}</a><time>{_esc(_when(turn["timestamp"]))}</time>'
            "</h2>",
            f'<div class="prompt"><div class="label">Prompt</div>{_html_text(turn["prompt"])}'
            "</div>",
        ]
        if turn["tool_calls"]:
            items = []
            for call in turn["tool_calls"]:
                item = f'<li><span class="name">{_esc(call["name"] or "?")}</span>'
                if call["key_argument"]:
                    item += f"<code>{_esc(call['key_argument'])}</code>"
                if call["is_error"]:
                    item += ' <span class="error">(error)</span>'
                if call.get("output"):
                    note = _output_note(call)
                    summary = "output" + (f", {note}" if note else "")
                    item += (
                        f"<details><summary>{_esc(summary)}</summary>"
                        f"<pre>{_esc(call['output'])}</pre></details>"
                    )
                items.append(item + "</li>")
            parts.append('<ul class="tools">' + "\n".join(items) + "</ul>")
        answer = (
            _markdown_html(turn["answer"])
            if turn["answer"]
            else "<p><em>(no text answer)</em></p>"
        )
        parts.append(f'<div class="answer"><div class="label">Answer</div>{answer}</div>')
        parts.append("</section>")
        sections.append("\n".join(parts))
    nav = (
        f'<nav class="toc"><h2>Turns</h2><ol>\n{toc}\n</ol></nav>' if data["turns"] else
        '<p class="label">No turns</p>'
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        '<div class="page">\n<header>\n'
        f"<h1>{_esc(title)}</h1>\n<dl class=\"facts\">\n{facts}\n</dl>\n</header>\n"
        f"{nav}\n<main>\n" + "\n".join(sections) + "\n</main>\n"
        "<footer>Exported by session-archive.</footer>\n</div>\n</body>\n</html>\n"
    )


# -- JSON --------------------------------------------------------------------------------------


def render_json(data: dict) -> str:
    """Byte for byte what ``show --json`` prints for the same data."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


# -- writing a file ----------------------------------------------------------------------------


def check_export_target(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Refuse an ``-o`` target before anything is read: a folder or anything but a regular file
    (a FIFO, a device, a symlink: exit 2, even with ``force``), or an existing file without
    ``force`` (exit 3). :func:`write_export` checks again when it writes."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder", hint="give a file name")
    if check_replaceable(path) and not force:
        raise TargetExists(f"{path} already exists", hint="--force replaces it")
    return path


def write_export(path: str | os.PathLike[str], text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically with mode 0600; refuse an existing file unless
    ``force``, and anything but a regular file always. Exports hold whole conversations, so they
    are as private as the archive."""
    path = check_export_target(path, force=force)
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"no folder {parent}")
    try:
        return atomic_write(path, text.encode("utf-8"), replace=force)
    except OSError as exc:
        raise ArchiveError(f"cannot write {path}: {exc.strerror or exc}") from None


__all__ = [
    "FORMATS",
    "Export",
    "check_export_target",
    "export_data",
    "export_session",
    "parse_turns",
    "render_html",
    "render_json",
    "render_markdown",
    "select_turns",
    "write_export",
]
