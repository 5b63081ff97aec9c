"""Query text: checks for what Whoosh's lenient parser would silently reinterpret, then parsing
with the project's fields, boosts and aliases.
"""

from __future__ import annotations

import re

from whoosh import query as Q
from whoosh.qparser import FieldAliasPlugin, MultifieldParser

from archive.errors import UsageError

from .analysis import is_cjk
from .schema import FIELD_BOOSTS, TEXT_FIELDS

# Query aliases people type naturally; the schema names are plural.
ALIASES = {"tools": ["tool"], "models": ["model"], "files": ["file"]}
_FIELD_RE = re.compile(r"(?<![\w.:/\\-])([A-Za-z_]\w*):(?=(.?))")
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}


def _outside_quotes(query: str) -> list[str]:
    return query.split('"')[0::2]


def _precheck(query: str, schema) -> None:
    """Reject what Whoosh's lenient parser would silently reinterpret."""
    if not query.strip():
        raise UsageError("empty query")
    if query.count('"') % 2:
        raise UsageError('unbalanced quote (") in query')
    outside = '""'.join(_outside_quotes(query))  # quoted text emptied, quotes kept
    depth = 0
    for ch in outside:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            break
    if depth:
        raise UsageError("unbalanced parenthesis in query")
    known = set(schema.names()) | {a for names in ALIASES.values() for a in names}
    for m in _FIELD_RE.finditer(outside):
        name, after = m.group(1), m.group(2)
        if after in ("/", "\\", ":"):  # URLs, Windows paths, C++ scopes: text, not a field
            continue
        if name not in known:
            raise UsageError(
                f"unknown field {name!r} in query (put text containing ':' in quotes)"
            )
        if after in ("", " ", "\t", ")"):
            raise UsageError(f"nothing after {name + ':'!r} in query")
    words = outside.split()
    if words and (words[0] in _OPERATORS - {"NOT"} or words[-1] in _OPERATORS):
        op = words[0] if words[0] in _OPERATORS else words[-1]
        raise UsageError(f"{op} needs words on both sides")
    for a, b in zip(words, words[1:], strict=False):
        if a in _OPERATORS and b in _OPERATORS - {"NOT"}:
            raise UsageError(f"{a} {b}: two operators in a row")


def walk(q, negated: bool = False):
    yield q, negated
    for child in q.children():
        yield from walk(child, negated or isinstance(q, Q.Not))


def _adapt(schema):
    def fix(q):
        """Phrases on fields without positions become AND (Whoosh would raise). A lone CJK
        character is indexed only when it stands alone; inside a run it starts bigrams: match
        both."""
        if isinstance(q, Q.Phrase) and q.fieldname in schema:
            fmt = schema[q.fieldname].format
            if fmt is not None and not fmt.supports("positions"):
                terms = [Q.Term(q.fieldname, w, boost=q.boost) for w in q.words]
                return terms[0] if len(terms) == 1 else Q.And(terms)
            return q
        return _widen_single_cjk(q)

    return fix


def _widen_single_cjk(q):
    if (
        isinstance(q, Q.Term)
        and isinstance(q.text, str)
        and len(q.text) == 1
        and is_cjk(q.text)
    ):
        return Q.Or([q, Q.Prefix(q.fieldname, q.text, boost=q.boost)])
    return q


def parse_query(query: str, schema):
    """Parse with the project's rules; UsageError for anything malformed or empty."""
    _precheck(query, schema)
    parser = MultifieldParser(
        list(TEXT_FIELDS), schema, fieldboosts=FIELD_BOOSTS
    )
    parser.add_plugin(FieldAliasPlugin(ALIASES))
    try:
        q = parser.parse(query)
    except Exception as e:  # Whoosh's parser errors carry no useful type
        raise UsageError(f"cannot parse query: {e}") from None
    for node, _ in walk(q):
        error = getattr(node, "error", None)
        if error:
            raise UsageError(f"bad value in query: {error}")
    if q is Q.NullQuery or isinstance(q, type(Q.NullQuery)):
        raise UsageError(
            "query has no searchable words (common English words and single letters are not "
            "indexed)"
        )
    return q.accept(_adapt(schema))


def scored_fields(q) -> set[str]:
    return {f for node, _ in walk(q) if (f := getattr(node, "fieldname", None))}

