"""Library-level tests of the pieces under ingest: roots, the chunker, the store, dates, imports."""

from __future__ import annotations

import ast
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.dates import parse_when
from archive.errors import UsageError
from archive.paths import encode_project_path
from archive.roots import classify, discover_roots, iter_root_files, iter_root_stats
from archive.store import Chunker, CorruptObject, ObjectStore


def test_ccs_shared_projects_folder_is_captured_once(tmp_path):
    home = tmp_path
    group = home / ".ccs/shared/context-groups/team/projects"
    (group / "-p").mkdir(parents=True)
    (group / "-p" / "s1.jsonl").write_text("{}\n")
    for name in ("alpha", "beta"):
        inst = home / ".ccs/instances" / name
        inst.mkdir(parents=True)
        (inst / "projects").symlink_to(group)
        (inst / "history.jsonl").write_text(f'{{"display":"{name}"}}\n')
    roots = discover_roots(environ={}, home=home)
    by_name = {r.profile: r for r in roots}
    assert by_name["beta"].projects_shared_with == "alpha"
    files = {r.profile: sorted(f.relpath for f in iter_root_files(r)) for r in roots}
    assert files["alpha"] == ["history.jsonl", "projects/-p/s1.jsonl"]
    assert files["beta"] == ["history.jsonl"]  # its own history, not the shared sessions again


def test_symlink_loop_in_a_root_does_not_trap_the_walk(tmp_path):
    root = tmp_path / ".claude"
    proj = root / "projects" / "-p"
    proj.mkdir(parents=True)
    (proj / "a.jsonl").write_text("{}\n")
    (proj / "loop").symlink_to(root / "projects")
    (proj / "self.jsonl").symlink_to(proj / "self.jsonl")  # a file symlink loop
    root = next(r for r in discover_roots(environ={}, home=tmp_path) if r.profile == "default")
    paths = [f.relpath for f in iter_root_files(root)]
    assert paths == ["projects/-p/a.jsonl"]


def test_stat_walk_matches_the_source_file_walk(tmp_path):
    """Ingest skips unchanged files on the bare stat tuples; they must be the very files, stats
    and order of iter_root_files, with paths that name the same files."""
    root_dir = tmp_path / ".claude"
    for project in ("-b", "-a"):
        sdir = root_dir / "projects" / project / "s1" / "subagents"
        sdir.mkdir(parents=True)
        (sdir / "agent-x.jsonl").write_text("{}\n")
        (root_dir / "projects" / project / "s1.jsonl").write_text("{}\n{}\n")
    (root_dir / "projects" / "-c").symlink_to(root_dir / "projects" / "-a")  # same real folder
    (root_dir / "history.jsonl").write_text("{}\n")
    root = next(r for r in discover_roots(environ={}, home=tmp_path) if r.profile == "default")
    files = list(iter_root_files(root))
    stats = list(iter_root_stats(root))
    assert [f.relpath for f in files] == [s[0] for s in stats]
    assert [(f.size, f.mtime_ns, f.inode) for f in files] == [s[2:] for s in stats]
    assert [str(f.abspath) for f in files] == [str(Path(s[1])) for s in stats]
    assert all(Path(s[1]).samefile(root.path / s[0]) for s in stats)
    assert sorted(f.relpath for f in files) == [
        "history.jsonl", "projects/-a/s1.jsonl", "projects/-a/s1/subagents/agent-x.jsonl",
        "projects/-b/s1.jsonl", "projects/-b/s1/subagents/agent-x.jsonl",
    ]  # -c is -a again: walked once
    assert {(f.kind, f.session_id) for f in files if f.relpath.endswith("/s1.jsonl")} == {
        ("session", "s1")
    }


@pytest.mark.parametrize(
    ("relpath", "expected"),
    [
        ("history.jsonl", ("history", None)),
        ("projects/-p/abc.jsonl", ("session", "abc")),
        ("projects/-p/agent-1234.jsonl", ("subagent", None)),
        ("projects/-p/abc/subagents/agent-a1.jsonl", ("subagent", "abc")),
        ("projects/-p/abc/subagents/workflows/wf_1/agent-b.jsonl", ("subagent", "abc")),
        ("projects/-p/abc/subagents/agent-a1.meta.json", ("sidecar", "abc")),
        ("projects/-p/abc/tool-results/t1.txt", ("tool-result", "abc")),
        ("projects/-p/memory/notes.md", ("memory", None)),
        ("projects/-p/sessions-index.json", ("other", None)),
        ("settings.json", ("other", None)),
    ],
    ids=["history", "session", "legacy-agent", "subagent", "workflow-agent", "meta-json",
         "tool-result", "memory", "sessions-index", "outside-projects"],
)
def test_classify(relpath, expected):
    assert classify(relpath) == expected


def test_chunker_cuts_at_line_boundaries_and_keeps_every_byte():
    lines = [(b"x" * (i % 997)) + b"\n" for i in range(20000)]
    data = b"".join(lines)
    chunker = Chunker(target=64 * 1024, maximum=128 * 1024)
    chunks = []
    for start in range(0, len(data), 10_000):
        chunks.extend(chunker.feed(data[start : start + 10_000]))
    chunks.extend(chunker.finish())
    assert b"".join(chunks) == data
    assert len(chunks) > 10
    assert all(c.endswith(b"\n") for c in chunks)
    assert all(len(c) <= 128 * 1024 for c in chunks)


def test_chunker_cuts_a_huge_line_at_the_maximum():
    chunker = Chunker(target=1000, maximum=4000)
    chunks = list(chunker.feed(b"y" * 10_000)) + list(chunker.finish())
    assert [len(c) for c in chunks] == [4000, 4000, 2000]


def test_store_roundtrip_and_damage(tmp_path):
    store = ObjectStore(tmp_path / "objects", durable=True)
    sha, stored, new = store.put(b"hello\n" * 1000)
    assert new and sha == hashlib.sha256(b"hello\n" * 1000).hexdigest()
    assert stored < 6000
    assert store.put(b"hello\n" * 1000) == (sha, stored, False)
    assert store.get(sha) == b"hello\n" * 1000
    path = store.path_for(sha)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(CorruptObject, match="damaged"):
        store.get(sha)
    path.unlink()
    with pytest.raises(CorruptObject, match="missing"):
        store.get(sha)


@pytest.mark.parametrize(
    ("text", "end_of_day", "expected"),
    [
        ("2026-11-01T10:00:00Z", False, datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("3 days ago", False, datetime(2026, 11, 22, 12, tzinfo=UTC)),
        ("2w", False, datetime(2026, 11, 11, 12, tzinfo=UTC)),
        ("now", False, datetime(2026, 11, 25, 12, tzinfo=UTC)),
    ],
    ids=["iso-utc", "days-ago", "weeks-short", "now"],
)
def test_parse_when(text, end_of_day, expected):
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert parse_when(text, end_of_day=end_of_day, now=now) == expected


def test_parse_when_bare_date_as_upper_bound_includes_the_day():
    start = parse_when("2026-11-01")
    end = parse_when("2026-11-01", end_of_day=True)
    assert (end - start).total_seconds() == pytest.approx(86400, abs=0.01)


def test_parse_when_rejects_garbage():
    with pytest.raises(UsageError, match="cannot read the date"):
        parse_when("the day after the thing")


@pytest.mark.parametrize(
    ("path", "encoded"),
    [
        ("/home/me/my_app", "-home-me-my-app"),
        ("/Users/x/.local/a b", "-Users-x--local-a-b"),
        ("/tmp/Проект", "-tmp-------"),
        ("C:\\git\\cc-plus", "C--git-cc-plus"),
    ],
    ids=["underscore", "dot-and-space", "cyrillic", "windows"],
)
def test_encode_project_path(path, encoded):
    assert encode_project_path(path) == encoded


def test_library_never_imports_the_cli_layer():
    """Only the front-ends (the cli package, the tui picker) and render.py may import typer or
    rich."""
    package = Path(__file__).parent.parent / "archive"
    allowed = {"render.py", "__main__.py"}
    checked = 0
    for module in package.rglob("*.py"):
        rel = module.relative_to(package)
        if rel.parts[0] in ("cli", "tui") or str(rel) in allowed:
            continue
        checked += 1
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"typer", "rich", "click"}, (
                    f"{rel} imports {name}"
                )
    assert checked > 20  # the walk found the library


def _module_imports(package: Path) -> dict[str, set[str]]:
    """For each module of ``archive``: the ``archive`` modules it imports at module level
    (relative and absolute; imports inside functions run late and make no circle at import)."""
    modules = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_package)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        edges: set[str] = set()
        statements = list(ast.parse(path.read_text()).body)
        while statements:  # module level, including if/try blocks (not TYPE_CHECKING)
            node = statements.pop()
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.If | ast.Try):
                statements += node.body + node.orelse + getattr(node, "finalbody", [])
                statements += [s for h in getattr(node, "handlers", []) for s in h.body]
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                # ``from . import x`` may name a submodule
                targets = [f"{mod}.{a.name}" for a in node.names] + [mod]
            for t in targets:
                if t in modules and t != name:
                    edges.add(t)
        graph[name] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle_in_the_package():
    """A module never imports (at module level) one that imports it back, directly or not."""
    graph = _module_imports(Path(__file__).parent.parent / "archive")
    assert "archive.cli.common" in graph["archive.cli.read"]  # the walk sees relative imports
    assert "archive.cli.read" in graph["archive.cli"]  # ... and ``from . import read``
    assert not any(e.startswith("archive.cli.") and e != "archive.cli.common"
                   for e in graph["archive.cli.common"]), "cli/common.py is the leaf"
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_check_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


