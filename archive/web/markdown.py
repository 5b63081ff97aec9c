"""Transcript Markdown to HTML that cannot run anything.

markdown-it-py with raw HTML off (tags in a transcript come out as text), images off (a page
never fetches a URL a transcript names), links limited to markdown-it's safe schemes, and code
highlighted by Pygments into class names (the stylesheet is the package's own, so the
Content-Security-Policy needs no inline style).
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape

# Code blocks past this are shown plain: highlighting a huge tool dump costs more than it gives.
HIGHLIGHT_LIMIT = 20_000


def _highlight(code: str, lang: str, _attrs: str) -> str:
    if not lang or len(code) > HIGHLIGHT_LIMIT:
        return ""  # markdown-it escapes it
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(lang.split()[0], stripnl=False)
    except ClassNotFound:
        return ""
    return highlight(code, lexer, HtmlFormatter(nowrap=True, classprefix="hl-"))


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    md = MarkdownIt("js-default", {"html": False, "linkify": False, "highlight": _highlight})
    md.disable("image")
    return md


def render(text: str) -> Markup:
    """Markdown of one answer (already masked) as safe HTML."""
    if not text:
        return Markup("")
    return Markup(_parser().render(text))


def plain(text: str) -> Markup:
    """Text shown as typed (prompts, tool output): escaped, line breaks kept by CSS."""
    return escape(text)


@lru_cache(maxsize=1)
def pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(classprefix="hl-").get_style_defs(".md pre code")
