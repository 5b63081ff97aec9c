"""How text becomes terms: words split at non-letters, CJK runs as bigrams, stop words, stems;
and which runs of characters are data, not words, and are left out of the index.

The same analyzer runs at index time and on queries, so changing anything here changes what
the index holds: bump ``schema.SCHEMA_VERSION`` when an index built before would answer wrongly.
The filter classes are pickled by reference into the index's table of contents, so their names
and this module's path are on-disk format.
"""

from __future__ import annotations

import re

from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.analysis.filters import STOP_WORDS

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


# Data pasted into a prompt or printed by a tool (base64 blobs, data: URIs, hex dumps, keys)
# would make every few characters a term of its own: 8 MiB of base64 made a 67 MiB index.
# A run of NOISE_MIN or more characters of the base64/base64url alphabet is left out of the
# document's indexed and stored text (replaced by NOISE_MARK) when it looks random: it holds a
# digit and its character class (upper, lower, digit) changes at 30% or more of its first 256
# characters (random base64 ~58%, long hex ~47%, the structured start of a PNG ~34%;
# identifiers rarely hold digits, and change class at 10-35%; words and paths less). Runs of
# hex pieces of up to 64 digits (git SHAs, SHA-256 digests, UUIDs) stay, and so do shorter
# runs: tokens and keys of up to 47 characters (a GitHub token has 40) can still be searched
# for, while blobs are longer (base64 lines have 64 or 76 characters, or are one run). A run
# the masking step recognises as a credential stays too (it is masked wherever it is shown).
NOISE_MIN = 48
NOISE_MARK = "\u2026"
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_=-"
_SHAPE = bytes(0x61 if c in _ALPHABET else 0x20 for c in range(256))  # alphabet: a; else: space
_LONG_RUN = b"a" * NOISE_MIN
_CLASS_CHANGE = re.compile(r"[a-z](?=[A-Z0-9])|[A-Z](?=[a-z0-9])|[0-9](?=[A-Za-z])")
_NOT_HEX_ID = re.compile(r"[g-zG-Z]|[0-9a-fA-F]{65}")
_DIGIT = re.compile(r"[0-9]")


def is_noise(run: str) -> bool:
    """True for a run that looks like encoded data rather than words or an id."""
    if _NOT_HEX_ID.search(run) is None:
        return False  # hex pieces of at most 64 digits: ids people search for
    sample = run[:256]
    if _DIGIT.search(sample) is None:
        return False
    return len(_CLASS_CHANGE.findall(sample)) >= 0.3 * (len(sample) - 1)


def _credential(text: str, start: int, end: int) -> bool:
    """The run is (or ends) a credential the masking step recognises (``sk-ant-…``, a
    ``password=`` value): kept, so a search finds where a key was pasted and its snippet says
    ``[REDACTED:<kind>]`` instead of an ellipsis. A label may stand just before the run."""
    from archive.redact import find_secrets  # only when a run looks like data: rare

    lo = max(0, start - 64)
    first, last = start - lo, end - lo
    # The credential must be the run (a label may begin it): a trigger met by chance inside a
    # blob keeps no blob.
    return any(f.start <= first + 16 and f.end >= last - 2
               for f in find_secrets(text[lo:end]))


def elide_noise(text: str) -> str:
    """``text`` with each random-looking run of NOISE_MIN+ base64 characters replaced by
    NOISE_MARK. Texts without such a run (nearly all) are returned as they are after a scan at
    C speed: the text's shape (alphabet or not) as bytes, searched for a long run."""
    if len(text) < NOISE_MIN:
        return text
    shape = text.encode("ascii", "replace").translate(_SHAPE)  # one byte per character
    start = shape.find(_LONG_RUN)
    if start < 0:
        return text
    parts: list[str] = []
    last = 0
    while start >= 0:
        end = shape.find(b" ", start)
        if end < 0:
            end = len(shape)
        label = text[start:end].rstrip("=").rfind("=")
        if label >= 0:  # `NAME=value`: the name stays words; only the value may be data
            start += label + 1
        if end - start >= NOISE_MIN and is_noise(text[start:end]) and not _credential(
            text, start, end
        ):
            parts += (text[last:start], NOISE_MARK)
            last = end
        start = shape.find(_LONG_RUN, end)
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


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

