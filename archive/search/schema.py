"""The Whoosh schema of the search index and its version.

Bumping ``SCHEMA_VERSION`` rebuilds every index: searches refuse an index whose recorded version
differs (``IndexOutOfDate``, "run archive reindex") and the next ingest that has anything to
index rebuilds it. Bump it whenever a change alters what is written to disk or how text is
tokenised (fields, field types, analyzer, or the module path of a pickled class), because an old
index would otherwise silently miss words or fail to unpickle.

Versions: 1 kept each document's texts in its stored fields; 2 keeps them in the ``src`` column,
so ranking reads only small stored fields and the texts are read for the hits shown; 3 is 2
with the schema's classes moved from ``index_schema`` to ``archive.search`` (Whoosh pickles the
schema with the index, class paths included); 4 adds ``agent``, the source of the session
(``claude``, ``codex``), for ``--agent``; 5 keeps positions in ``CompactPositions`` (a byte
or two per position instead of a pickled list); 6 writes segments with ``CompactCodec`` (posting
blocks as typed arrays instead of pickles).
"""

from __future__ import annotations

from whoosh.fields import BOOLEAN, COLUMN, DATETIME, ID, KEYWORD, NUMERIC, Schema

from ._whoosh.fields import AnalyzedText, TextsColumn
from .analysis import text_analyzer

SCHEMA_VERSION: int = 6

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
        agent=ID(stored=True),
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
