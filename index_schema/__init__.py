"""The Whoosh schema of the search index, its analyzer and its version.

Bumping ``SCHEMA_VERSION`` rebuilds every index: searches refuse an index whose recorded version
differs (``IndexOutOfDate``, "run archive reindex") and the next ingest that has anything to
index rebuilds it. Bump it whenever a change here alters what is written to disk or how text is
tokenised (fields, field types, analyzer), because an old index would otherwise silently miss
words or fail to unpickle.

Versions: 1 kept each document's texts in its stored fields; 2 keeps them in the ``src`` column,
so ranking reads only small stored fields and the texts are read for the hits shown.

This module is pickled by reference into the index's table of contents (Whoosh stores the schema
with the index), so the class names and their module path are part of the on-disk format too.
"""

from __future__ import annotations

import functools
import re
import sys
import types
from collections import defaultdict
from pickle import dumps


def _lazy(module: str, name: str):
    """A function that imports ``module`` on first call and forwards to its ``name``."""

    def call(*args, **kwargs):
        import importlib

        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return call


def _import_whoosh_lean() -> None:
    """Import Whoosh without three heavy imports it does not need here (~90 ms per search).

    whoosh.compat imports urllib.request (http, ssl, email…) for a download helper,
    whoosh.reading imports the ``cached_property`` package, which imports asyncio, and
    whoosh.query.terms loads a large English morphology table for a query type we never build.
    While Whoosh itself is imported, stand-ins answer those imports (functools.cached_property
    behaves the same; the functions import the real module when called). They are removed
    right after, so any later importer gets the real modules.
    """
    if "whoosh.reading" in sys.modules:
        return
    stubs = {}
    for module, name, value in (
        ("cached_property", "cached_property", functools.cached_property),
        ("urllib.request", "urlretrieve", None),
        ("whoosh.lang.morph_en", "variations", None),
    ):
        if module not in sys.modules:
            stub = types.ModuleType(module)
            setattr(stub, name, value if value is not None else _lazy(module, name))
            stubs[module] = stub
    sys.modules.update(stubs)
    try:
        import whoosh.compat  # noqa: F401
        import whoosh.query  # noqa: F401
        import whoosh.reading  # noqa: F401
    finally:
        for module, stub in stubs.items():
            if sys.modules.get(module) is stub:
                del sys.modules[module]


_import_whoosh_lean()

# isort: split
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter  # noqa: E402
from whoosh.analysis.filters import STOP_WORDS  # noqa: E402
from whoosh.columns import CompressedBytesColumn  # noqa: E402
from whoosh.fields import (  # noqa: E402
    BOOLEAN,
    COLUMN,
    DATETIME,
    ID,
    KEYWORD,
    NUMERIC,
    TEXT,
    Schema,
)
from whoosh.system import pack_uint  # noqa: E402

SCHEMA_VERSION: int = 2

# Searched when a query word has no ``field:`` prefix, most important first (snippets prefer
# the earlier fields too).
TEXT_FIELDS: tuple[str, ...] = (
    "prompt",
    "title",
    "answer",
    "thinking",
    "tool_input",
    "tool_output",
)

# Query-time weights (BM25F boosts): a word the user typed or a title outweighs the answer, which
# outweighs thinking and tool I/O. Applied by the query parser, so changing them needs no reindex.
FIELD_BOOSTS: dict[str, float] = {
    "prompt": 4.0,
    "title": 4.0,
    "answer": 2.0,
    "thinking": 1.0,
    "tool_input": 1.0,
    "tool_output": 1.0,
    "files": 1.0,
}

# Scripts written without spaces between words, plus Hangul (whose words carry attached particles):
# a run of these characters is indexed as overlapping character bigrams.
_CJK_CHARS = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3005-\u3007"  # 々 〆 〇
    "\u3021-\u3029"  # Hangzhou numerals
    "\u3040-\u30ff"  # Hiragana, Katakana (includes ー)
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended A
    "\uac00-\ud7ff"  # Hangul syllables, Jamo extended B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B..G
)
CJK_RUN = re.compile(f"[{_CJK_CHARS}]+")


def is_cjk(text: str) -> bool:
    """True when the token is made of CJK characters only (as the bigram filter emits them)."""
    return bool(text) and CJK_RUN.fullmatch(text) is not None


class CJKBigramFilter(Filter):
    """Split CJK runs inside tokens into overlapping bigrams; pass other text through.

    The word tokenizer keeps ``外部キー制約のエラー`` as one token, so no word inside it could be
    found. Bigrams make any substring of two or more characters findable: the query goes through
    the same analyzer and its bigrams are matched as a phrase (``multitoken_query="phrase"``).
    A lone CJK character stays a unigram. Mixed tokens (``jwtトークン``) are split at script
    boundaries. Positions are renumbered so a run's bigrams are consecutive.
    """

    def __call__(self, tokens):
        pos = -1
        for t in tokens:
            text = t.text
            if text.isascii() or CJK_RUN.search(text) is None:
                pos += 1
                if t.positions:
                    t.pos = pos
                yield t
                continue
            base = t.startchar if t.chars else 0
            for start, end, cjk in _pieces(text):
                if not cjk or end - start == 1:
                    pos += 1
                    t.text = text[start:end]
                    if t.positions:
                        t.pos = pos
                    if t.chars:
                        t.startchar, t.endchar = base + start, base + end
                    yield t
                    continue
                for i in range(start, end - 1):
                    pos += 1
                    t.text = text[i : i + 2]
                    if t.positions:
                        t.pos = pos
                    if t.chars:
                        t.startchar, t.endchar = base + i, base + i + 2
                    yield t


def _pieces(text: str):
    """(start, end, is_cjk) for the alternating CJK / non-CJK parts of ``text``."""
    last = 0
    for m in CJK_RUN.finditer(text):
        if m.start() > last:
            yield last, m.start(), False
        yield m.start(), m.end(), True
        last = m.end()
    if last < len(text):
        yield last, len(text), False


class StopUnlessCJKFilter(Filter):
    """Drop English stop words and one-character tokens, but never CJK tokens.

    Whoosh's StopFilter drops every token shorter than two characters, which would lose a lone
    kanji; this one keeps CJK tokens and renumbers positions so phrases stay contiguous.
    """

    def __init__(self, stoplist=STOP_WORDS, minsize: int = 2):
        self.stops = frozenset(stoplist)
        self.min = minsize

    def __call__(self, tokens):
        stops, minsize = self.stops, self.min
        pos = -1
        for t in tokens:
            text = t.text
            if (len(text) < minsize or text in stops) and not (
                not text.isascii() and is_cjk(text)
            ):
                continue
            pos += 1
            if t.positions:
                t.pos = pos
            yield t


def text_analyzer():
    """Words split at anything not a letter or digit (``jwt.decode()`` → jwt, decod;
    ``refresh_token`` → refresh, token), lowercased, CJK runs as bigrams, English stop words
    removed, English stems. The same analyzer runs on queries."""
    return (
        RegexTokenizer(r"[^\W_]+")
        | LowercaseFilter()
        | CJKBigramFilter()
        | StopUnlessCJKFilter()
        | StemFilter(lang="en", cachesize=50000)
    )


_WORD = re.compile(r"[^\W_]+")
_word_cache: dict[str, tuple[str, ...]] = {}
_WORD_CACHE_MAX = 200_000
_cache_analyzer = None


def index_terms(text: str) -> list[str]:
    """The terms ``text_analyzer()`` yields for ``text``, in order, computed word by word.

    Every filter of the analyzer works on one token at a time and positions are just the
    index in the output, so analysing each word separately (cached: text is Zipfian) gives
    exactly the same terms and positions as analysing the whole text, several times faster.
    """
    global _cache_analyzer
    if _cache_analyzer is None:
        _cache_analyzer = text_analyzer()
    cache = _word_cache
    out: list[str] = []
    for word in _WORD.findall(text):
        terms = cache.get(word)
        if terms is None:
            terms = tuple(t.text for t in _cache_analyzer(word))
            if len(cache) >= _WORD_CACHE_MAX:
                cache.clear()
            cache[word] = terms
        out.extend(terms)
    return out


class AnalyzedText(TEXT):
    """TEXT whose indexing runs the analyzer through ``index_terms`` (same terms, positions
    and weights as Whoosh's generic path, which costs most of the indexing time).
    Queries still go through the field's analyzer."""

    def index(self, value, **kwargs):
        if not isinstance(value, str):
            yield from super().index(value, **kwargs)
            return
        fmt = self.format
        fb = fmt.field_boost
        terms = index_terms(value)
        if not fmt.supports("positions"):
            counts: dict[str, int] = {}
            for term in terms:
                counts[term] = counts.get(term, 0) + 1
            for term, n in counts.items():
                yield term.encode("utf-8"), n, n * fb, pack_uint(n)
            return
        poses: dict[str, list[int]] = defaultdict(list)
        for i, term in enumerate(terms):
            poses[term].append(i)
        one = _ONE
        for term, lst in poses.items():
            n = len(lst)
            if n == 1:
                yield term.encode("utf-8"), 1, fb, one + dumps(lst, 2)
            else:
                # Whoosh's Positions encoding: count, then the pickled position deltas.
                deltas = [lst[0]]
                deltas += [b - a for a, b in zip(lst, lst[1:], strict=False)]
                yield term.encode("utf-8"), n, n * fb, pack_uint(n) + dumps(deltas, 2)


_ONE = pack_uint(1)


class TextsColumn(CompressedBytesColumn):
    """A document's texts (JSON, zlib level 1), read only for the hits a search shows.

    Offsets are written for every segment: without them, opening the column rebuilds them in a
    Python loop over every document (Whoosh writes them only past 32,768 documents)."""

    def __init__(self):
        super().__init__(level=1)

    def writer(self, dbfile):
        w = super().writer(dbfile)
        w.cutoff = 0
        return w


def build_schema() -> Schema:
    """One document per turn (kind="turn") plus one per session (kind="session").

    Text fields keep positions for phrase search (CJK words are phrases of bigrams), except
    tool input/output (see ``bulk_text``). The column ``src`` holds the document's texts, for
    snippets and to rebuild a session document without the transcript.
    """
    ana = text_analyzer()

    def text(stored: bool = False):
        return AnalyzedText(
            analyzer=ana, phrase=True, stored=stored, multitoken_query="phrase"
        )

    def bulk_text():
        # Tool I/O is most of the indexed text: no positions makes indexing ~15% faster and the
        # index ~25% smaller. Multi-token words and "phrases" become AND of their terms here.
        return AnalyzedText(analyzer=ana, phrase=False, multitoken_query="and")

    return Schema(
        kind=ID(stored=True),
        key=ID(stored=True),
        session_key=ID(),  # the key, on session documents only: finds them in one lookup
        session_id=ID(stored=True),
        parent_session_id=ID(stored=True),
        agent_id=ID(stored=True),
        is_subagent=BOOLEAN(stored=True),
        profile=ID(stored=True),
        project=ID(stored=True),
        branch=ID(stored=True),
        models=KEYWORD(commas=True, lowercase=True),
        tools=KEYWORD(commas=True, lowercase=True),
        files=text(),
        turn=NUMERIC(int, bits=32, signed=False, stored=True),
        timestamp=DATETIME(stored=True, sortable=True),
        gone_from_source=BOOLEAN(stored=True),
        title=text(stored=True),
        prompt=text(),
        answer=text(),
        thinking=text(),
        tool_input=bulk_text(),
        tool_output=bulk_text(),
        src=COLUMN(TextsColumn()),
    )
