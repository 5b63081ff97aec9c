"""Small formatting filters for the templates: local times, token counts, sizes, snippets."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape


def local_time(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def tokens(n: int | None, estimated: bool = False) -> str:
    """102K-style token counts; ~ marks an estimate (as the CLI prints them)."""
    if n is None:
        return "-"
    text = f"{n / 1000:.0f}K" if n >= 1000 else str(n)
    return ("~" if estimated else "") + text


def size(n: int | float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def short_project(project: str | None, width: int = 40) -> str:
    if not project:
        return "-"
    return project if len(project) <= width else "…" + project[-(width - 1):]


def snippet(hit: dict) -> Markup:
    """A search snippet with its matched spans in <mark>; every piece escaped."""
    text = hit.get("snippet") or ""
    out, pos = [], 0
    for start, end in sorted(hit.get("highlights") or []):
        if start < pos or end > len(text):
            continue
        out.append(escape(text[pos:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


FILTERS = {
    "local_time": local_time,
    "tokens": tokens,
    "size": size,
    "short_project": short_project,
    "snippet": snippet,
    "plural": plural,
}
