"""Snippets: a one-line window of a hit's text around the query's words, with highlights.

Secrets are masked in the whole text before the window is cut (see ``Highlighter.snippet``).
"""

from __future__ import annotations

import bisect
import re

from whoosh import query as Q

from .analysis import is_cjk, text_analyzer
from .query_text import walk
from .schema import TEXT_FIELDS

_SNIPPET_WIDTH = 200


class Highlighter:
    """Finds the query's words in stored text without re-analysing whole documents.

    A regex finds candidate words fast (stems are word prefixes, except a final y→i); each
    candidate is then run through the index analyzer and kept only if it yields a query term,
    so highlights agree with what the index matched. CJK terms are matched literally.
    """

    def __init__(self, q, *, redact: bool = False):
        self.redact = redact
        self.terms: dict[str, set[str]] = {}
        self.prefixes: dict[str, set[str]] = {}
        self.literals: dict[str, set[str]] = {}
        for node, negated in walk(q):
            field = getattr(node, "fieldname", None)
            if negated or field not in TEXT_FIELDS:
                continue
            if isinstance(node, Q.Phrase):
                words = [w for w in node.words if isinstance(w, str)]
                if words and all(is_cjk(w) for w in words):
                    lit = words[0] + "".join(w[1:] for w in words[1:])
                    self.literals.setdefault(field, set()).add(lit)
                else:
                    self.terms.setdefault(field, set()).update(words)
            elif isinstance(node, Q.Prefix):
                self.prefixes.setdefault(field, set()).add(node.text)
            elif isinstance(node, Q.Term) and isinstance(node.text, str):
                if is_cjk(node.text):
                    self.literals.setdefault(field, set()).add(node.text)
                else:
                    self.terms.setdefault(field, set()).add(node.text)
        self._analyzer = text_analyzer()
        self._cache: dict[str, list[str]] = {}
        self._regex: dict[str, re.Pattern | None] = {}

    def _pattern(self, field: str):
        if field not in self._regex:
            stems = self.terms.get(field, set()) | self.prefixes.get(field, set())
            alts = sorted({s[:-1] if s.endswith("i") and len(s) > 2 else s for s in stems},
                          key=len, reverse=True)
            lits = sorted(self.literals.get(field, set()), key=len, reverse=True)
            parts = []
            if alts:
                alt = "|".join(map(re.escape, alts))
                parts.append(rf"(?<![^\W_])(?:{alt})[^\W_]*")
            if lits:
                parts.append("|".join(map(re.escape, lits)))
            self._regex[field] = re.compile("|".join(parts), re.I) if parts else None
        return self._regex[field]

    def _tokens(self, word: str) -> list[str]:
        toks = self._cache.get(word)
        if toks is None:
            toks = [t.text for t in self._analyzer(word)]
            if len(self._cache) < 10000:
                self._cache[word] = toks
        return toks

    def _matches(self, field: str, text: str) -> list[tuple[int, int]]:
        pattern = self._pattern(field)
        if pattern is None:
            return []
        terms = self.terms.get(field, set())
        prefixes = tuple(self.prefixes.get(field, ()))
        lits = self.literals.get(field, set())
        spans = []
        for m in pattern.finditer(text):
            word = m.group(0)
            if word in lits or word.lower() in lits:
                spans.append(m.span())
            else:
                toks = self._tokens(word)
                if any(t in terms or (prefixes and t.startswith(prefixes)) for t in toks):
                    spans.append(m.span())
            if len(spans) >= 200:
                break
        return spans

    def snippet(self, texts: list[tuple[str, str]]) -> tuple[str, list[tuple[int, int]]]:
        """A window of the first text (in the given field order) that matches, else of the
        first non-empty one. Secrets are masked in the whole text before the window is cut:
        masking the window afterwards could leave a secret's cut-off edge readable."""
        if self.redact:
            from archive.redact import redact_spans
        for field, text in texts:
            if not text or self._pattern(field) is None:
                continue
            masks: list[tuple[int, int]] = []
            if self.redact:
                text, masks = redact_spans(text)
            spans = self._matches(field, text)
            if masks:  # a query word inside a mask ("token" in [REDACTED:...]) is not a hit
                spans = [sp for sp in spans if not any(sp[0] < e and sp[1] > s for s, e in masks)]
            if spans:
                return window(text, spans)
        for _, text in texts:
            if text and text.strip():
                return window(redact_spans(text)[0] if self.redact else text, [])
        return "", []


def window(text: str, spans: list[tuple[int, int]], width: int = _SNIPPET_WIDTH):
    """~width characters around the densest group of matches, on one line, with spans."""
    start = 0
    if spans:
        starts = [sp[0] for sp in spans[:50]]
        reach = width * 2 // 3
        best, best_i = -1, 0
        for i, s0 in enumerate(starts):
            n = bisect.bisect_left(starts, s0 + reach, i) - i
            if n > best:
                best, best_i = n, i
        first = starts[best_i]
        start = max(0, first - width // 4)
        if start:  # begin at a word boundary
            sp = text.rfind(" ", max(0, start - 20), first)
            start = sp + 1 if sp >= 0 else start
    end = min(len(text), start + width)
    if end < len(text):
        sp = text.find(" ", end, end + 20)
        end = sp if sp >= 0 else end
    raw = text[start:end]
    # Collapse whitespace runs to one space; track how far each run shifts what follows.
    pieces, shifts, removed, last = [], [], 0, 0
    for m in _SPACES.finditer(raw):
        pieces.append(raw[last : m.start()])
        pieces.append(" ")
        removed += (m.end() - m.start()) - 1
        shifts.append((m.end(), removed))
        last = m.end()
    pieces.append(raw[last:])
    body = "".join(pieces)
    lead = len(body) - len(body.lstrip())
    body = body.strip()
    prefix = "…" if start > 0 else ""
    ends = [e for e, _ in shifts]

    def new_pos(i: int) -> int:  # position in the snippet of raw[i]
        k = bisect.bisect_right(ends, i)
        return i - (shifts[k - 1][1] if k else 0) - lead + len(prefix)

    highlights = []
    for s0, e0 in spans:
        if s0 >= start and e0 <= end:
            hs, he = new_pos(s0 - start), new_pos(e0 - 1 - start) + 1
            if he > hs:
                highlights.append((hs, he))
    snippet = prefix + body + ("…" if end < len(text) else "")
    return snippet, highlights


_SPACES = re.compile(r"\s+")
