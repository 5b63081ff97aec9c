"""The fence around Whoosh's internals holds: who imports Whoosh, who touches its private names,
which Whoosh those names were checked against, and that every fast path is the one taken."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import random
import re
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest
from index_helpers import REPO, doc, filler_turns, index_sessions, make_session

from archive import search as ix
from archive.errors import IndexDamaged
from archive.search import IndexWriter, SearchFilters, merges, search
from archive.search._whoosh import PRIVATE_NAMES, TAKEN, WhooshInternalsChanged, blocks, codec

PACKAGE = REPO / "archive"
FENCE = PACKAGE / "search" / "_whoosh"


def _sources(*roots: Path, exclude: Path | None = None) -> list[Path]:
    files = [p for root in roots for p in sorted(root.rglob("*.py"))]
    return [p for p in files if exclude is None or exclude not in p.parents]


def _whoosh_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        found += [n for n in names if n.split(".")[0] == "whoosh"]
    return found


def test_only_the_search_package_imports_whoosh():
    search_pkg = PACKAGE / "search"
    outside = {str(p.relative_to(REPO)): _whoosh_imports(p)
               for p in _sources(PACKAGE, REPO / "scripts", exclude=search_pkg)}
    assert {k: v for k, v in outside.items() if v} == {}
    # The scan sees imports where they are (so an empty result above means something).
    assert _whoosh_imports(search_pkg / "folder.py")
    # And the search package is a library: it never imports the CLI layer.
    for path in _sources(search_pkg):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module or ""]
                assert not {n.split(".")[0] for n in names} & {"typer", "rich", "click"}, path


_PRIVATE_ATTRS = {name for _owner, name in PRIVATE_NAMES if name.startswith("_")}
_PRIVATE_MODULE_NAMES = {f"{owner}.{name}" for owner, name in PRIVATE_NAMES}


def _private_uses(path: Path) -> list[str]:
    """Private Whoosh names ``path`` touches: attributes, getattr/hasattr strings, imports."""
    uses = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in _PRIVATE_ATTRS:
            uses.append(f"{node.lineno}: .{node.attr}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
              and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
              and node.args[1].value in _PRIVATE_ATTRS):
            uses.append(f"{node.lineno}: {node.func.id}(…, {node.args[1].value!r})")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("whoosh"):
            for alias in node.names:
                if (alias.name.startswith("_")
                        or f"{node.module}.{alias.name}" in _PRIVATE_MODULE_NAMES):
                    uses.append(f"{node.lineno}: from {node.module} import {alias.name}")
    return uses


def test_only_the_fence_touches_private_whoosh_names():
    """Everything outside archive/search/_whoosh/ (the rest of the package, scripts, tests other
    than this one) uses Whoosh's public API only. Declared names without a leading underscore
    (a pool's ``runs``, a writer's ``docnum``) are too common to scan for; the contract test
    below still checks that each exists."""
    here = Path(__file__).resolve()
    files = _sources(PACKAGE, REPO / "scripts", REPO / "tests", exclude=FENCE)
    outside = {str(p.relative_to(REPO)): _private_uses(p) for p in files if p != here}
    assert {k: v for k, v in outside.items() if v} == {}
    # The scan finds the fence's own uses: the check above can fail.
    assert _private_uses(FENCE / "blocks.py") and _private_uses(FENCE / "segment.py")


def test_every_declared_private_name_is_used_in_the_fence():
    """The list stays the list of what the fence relies on, not a stale one."""
    text = "\n".join(p.read_text() for p in _sources(FENCE))
    unused = [(o, n) for o, n in PRIVATE_NAMES if not re.search(rf"\b{re.escape(n)}\b", text)]
    assert unused == []


def _resolve(owner: str):
    """A dotted owner (module, class, nested class) to the object."""
    parts = owner.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(owner)


def _has(obj, name: str) -> bool:
    """``name`` is an attribute of ``obj``, or an instance attribute its class (or a base)
    assigns in a method."""
    if hasattr(obj, name):
        return True
    if not inspect.isclass(obj):
        return False
    pattern = re.compile(rf"\bself\.{re.escape(name)}\s*=")
    for klass in obj.__mro__:
        if klass.__module__.startswith("whoosh") and pattern.search(inspect.getsource(klass)):
            return True
    return False


def test_contract_pinned_whoosh_has_every_private_name():
    pyproject = (REPO / "pyproject.toml").read_text()
    pin = re.search(r'"whoosh-reloaded==([^"]+)"', pyproject).group(1)
    assert version("whoosh-reloaded") == pin
    missing = [(owner, name) for owner, name in PRIVATE_NAMES if not _has(_resolve(owner), name)]
    assert missing == []
    assert not _has(_resolve("whoosh.writing.SegmentWriter"), "_no_such_name")  # can fail


def test_lean_whoosh_import():
    """Searching does not pay for asyncio/urllib/morphology imports; later importers still get
    the real modules."""
    code = textwrap.dedent("""
        import sys
        import archive.search
        heavy = ("asyncio", "urllib.request", "whoosh.lang.morph_en")
        heavy = [m for m in heavy if m in sys.modules]
        assert not heavy, heavy
        import cached_property, urllib.request
        assert hasattr(cached_property, "threaded_cached_property")
        assert hasattr(urllib.request, "urlopen")
        from whoosh.query.terms import variations
        assert "rendering" in variations("render")
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_stored_offsets_are_written(tmp_path):
    """Small segments keep their stored-fields offsets table (a search would rebuild it)."""
    d = tmp_path / "index"
    index_sessions(d, [doc("default", make_session("a", [{"prompt": "fig"}]))])
    with ix.open_index(d).searcher() as s:
        (leaf, _), = s.reader().leaf_readers()
        leaf.stored_fields(0)
        column = leaf._perdoc._readers["_stored"]
        while hasattr(column, "_child"):
            column = column._child
        assert column.had_stored_offsets


# ------------------------------------------------------------------------------------------
# Each fast path is the one taken on a normal index


@pytest.fixture
def taken():
    TAKEN.clear()
    yield TAKEN
    TAKEN.clear()


def test_fast_writer_paths_are_taken(tmp_path, taken, monkeypatch):
    """Indexing uses the lean document writer, the batched pool (spilled runs merged in
    batches), cached lengths at flush, stored offsets; merges copy posting blocks whole."""
    monkeypatch.setattr(merges, "MAX_SEGMENTS", 3)
    monkeypatch.setattr(merges, "MERGE_FACTOR", 2)
    rnd = random.Random(3)
    d = tmp_path / "index"
    docs = [doc("default", make_session(f"w{i}", filler_turns(rnd, 6))) for i in range(30)]
    with IndexWriter(d, limitmb=1) as w:
        assert sum(w.replace_session(x) for x in docs) == 30 * 7
        w.commit(1)
    assert taken["segment.lean_add"] == 30 * 7 and taken["segment.stock_add"] == 0
    assert taken["pool.batched_run"] > 0 and taken["pool.batched_merge"] > 0
    assert taken["pool.stock_merge"] == 0
    assert taken["segment.block_postings"] == 1 and taken["postings.terms"] == 1
    assert taken["writer.stored_offsets"] == 1
    for i in range(4):  # small daily commits: merged by the policy
        index_sessions(d, [doc("default", make_session(f"day{i}", [{"prompt": "olive"}]))], i + 2)
    assert taken["merge.blocks"] > 0 and taken["merge.size_estimated"] == 0
    assert len(search(d, "olive", limit=10)) == 4


@pytest.fixture(scope="module")
def two_segments(tmp_path_factory):
    d = tmp_path_factory.mktemp("fence") / "index"
    rnd = random.Random(9)
    index_sessions(d, [doc(["work", "home"][i % 2], make_session(f"s{i}", filler_turns(rnd, 4)))
                       for i in range(10)])
    index_sessions(d, [doc("work", make_session("late", [{"prompt": "bravo charlie"}]))], 2)
    return d


@pytest.mark.parametrize("query", ["bravo", '"bravo charlie"', "bravo charlie",
                                   "bravo OR zulu", "(bravo OR kilo) lima", "prompt:bravo"],
                         ids=["term", "phrase", "and", "or", "nested", "field"])
def test_fast_scorer_and_block_reader_are_taken(two_segments, taken, query):
    hits = search(two_segments, query, SearchFilters(profile="work"), limit=5)
    assert hits
    assert taken["scorer.fast"] == 1 and taken["scorer.stock"] == 0
    assert taken["filter.fast"] == 1 and taken["filter.stock"] == 0
    assert taken["blocks.raw"] + taken["blocks.inlined"] > 0
    assert taken["lengths.in_memory"] > 0


@pytest.mark.parametrize("query", ["bravo NOT charlie", "brav*"], ids=["not", "prefix"])
def test_other_shapes_are_counted_as_whooshs_search(two_segments, taken, query):
    assert search(two_segments, query, limit=5)
    assert taken["scorer.stock"] == 1 and taken["scorer.fast"] == 0


def test_a_date_filter_is_counted_as_whooshs(two_segments, taken):
    from datetime import UTC, datetime

    assert search(two_segments, "bravo", SearchFilters(since=datetime(2000, 1, 1, tzinfo=UTC)))
    assert taken["filter.stock"] == 1 and taken["scorer.fast"] == 1


def test_a_changed_term_format_fails_loudly(two_segments, monkeypatch):
    """A posting list not in the format the block reader knows raises, naming it, instead of
    quietly taking Whoosh's slow path."""

    class OtherTermInfo:
        pass

    monkeypatch.setattr(blocks, "W3TermInfo", OtherTermInfo)
    with pytest.raises(WhooshInternalsChanged, match="not W3TermInfo"):
        search(two_segments, "bravo")


def test_a_garbled_posting_block_is_a_damaged_index(tmp_path, monkeypatch):
    """A block whose payload no longer decodes (its zlib stream or its lengths broken) is
    reported as a damaged index (exit 65 with the reindex hint at the CLI), not a crash, by
    the fast scorer and by Whoosh's own matchers (a prefix query) alike."""
    d = tmp_path / "index"
    rnd = random.Random(3)
    index_sessions(d, [doc("default", make_session(f"g{i}", filler_turns(rnd, 8)))
                       for i in range(20)])
    with ix.open_index(d).searcher() as s:
        leaf = s.reader().leaf_readers()[0][0]
        info = leaf.term_info("prompt", "bravo")
        assert not info.is_inlined()
        start = info.extent()[0]
        pf = leaf._terms._postfile
        header, payload, _end, _last = codec.read_block(pf, start + 4)
        assert header[3] & codec._ZLIBBED  # a zlib'd block
        garbled = bytearray(pf.get(payload, 16))
    (seg,) = d.glob("*.seg")
    data = seg.read_bytes()
    at = data.index(bytes(garbled))
    seg.write_bytes(data[:at] + b"\xff" * 16 + data[at + 16:])
    from archive.search import ranking

    for query in ("bravo", "brav*"):
        ranking._SEARCHERS.clear()
        with pytest.raises(IndexDamaged, match="index is damaged"):
            search(d, query, limit=5)


def test_a_changed_length_column_fails_loudly(tmp_path, monkeypatch):
    d = tmp_path / "index"
    index_sessions(d, [doc("default", make_session("a", [{"prompt": "fig tree"}]))])
    from whoosh.columns import NumericColumn

    init = NumericColumn.Reader.__init__

    def wider(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._fixedlen = 2

    monkeypatch.setattr(NumericColumn.Reader, "__init__", wider)
    with pytest.raises(WhooshInternalsChanged, match="not 1 byte wide"):
        search(d, "fig")


def test_multiprocess_writer_is_the_guarded_one(tmp_path, taken):
    rnd = random.Random(5)
    d = tmp_path / "index"
    with IndexWriter(d, procs=2) as w:
        for i in range(4):
            w.replace_session(doc("default", make_session(f"p{i}", filler_turns(rnd, 3))))
        w.commit(1)
    assert taken["writer.multiprocess"] == 1 and taken["writer.stored_offsets"] >= 1
    assert ix.doc_count(d) == 4 * 4
