"""Sessions and index builders shared by the index tests (real Whoosh indexes in tmp_path)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archive.search import IndexedSession, IndexWriter
from archive.transcript import Session, ToolCall, Turn

REPO = Path(__file__).resolve().parents[2]
FILLER = (
    "bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar "
    "papa quebec romeo sierra tango uniform victor whiskey yankee zulu"
).split()
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def filler(rnd: random.Random, n: int) -> str:
    return " ".join(rnd.choice(FILLER) for _ in range(n))


def make_session(
    session_id: str,
    turns: list[dict],
    *,
    start: datetime = T0,
    project: str = "/home/u/proj",
    branch: str = "main",
    model: str = "claude-opus-4-1",
    title: str | None = None,
    agent_id: str | None = None,
) -> Session:
    """turns: dicts with prompt, answer, thinking, tools=[(name, input, output)]."""
    built = []
    for i, t in enumerate(turns, 1):
        calls = [
            ToolCall(id=f"{session_id}-{i}-{k}", name=name, input_text=inp, output=out,
                     key_argument=f"/src/file{k}.py")
            for k, (name, inp, out) in enumerate(t.get("tools", []))
        ]
        ts = t.get("timestamp", start + timedelta(minutes=i))
        built.append(
            Turn(number=i, prompt=t.get("prompt", ""), answer=t.get("answer", ""),
                 thinking=t.get("thinking", ""), tool_calls=calls, timestamp=ts,
                 end_timestamp=ts + timedelta(seconds=30), models=[model])
        )
    return Session(
        session_id=session_id,
        agent_id=agent_id,
        is_subagent=agent_id is not None,
        project=project,
        git_branch=branch,
        models=[model],
        started=start,
        ended=built[-1].end_timestamp if built else start,
        title=title,
        tools=sorted({c.name for t in built for c in t.tool_calls}),
        files=sorted({c.key_argument for t in built for c in t.tool_calls}),
        turns=built,
    )


def filler_turns(rnd: random.Random, n: int) -> list[dict]:
    return [
        {
            "prompt": filler(rnd, 12),
            "answer": filler(rnd, 40),
            "thinking": filler(rnd, 10),
            "tools": [("Bash", '{"command": "ls"}', filler(rnd, 30))],
        }
        for _ in range(n)
    ]


def index_sessions(index_dir: Path, docs: list[IndexedSession], snapshot: int = 1) -> int:
    with IndexWriter(index_dir) as w:
        added = sum(w.replace_session(d) for d in docs)
        w.commit(snapshot)
    return added


def key_of(profile: str, sid: str) -> str:
    return f"{profile}/projects/-x/{sid}.jsonl"


def doc(profile: str, session: Session, **kw) -> IndexedSession:
    return IndexedSession(key=key_of(profile, session.session_id), profile=profile,
                          session=session, **kw)


# ------------------------------------------------------------------------------------------
# Finding things
