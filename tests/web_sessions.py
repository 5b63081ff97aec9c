"""Generated Claude Code transcripts for the web tests and the web benchmark: long sessions
whose context grows past the threshold and is compacted, and sessions holding given text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

ANSWER = """Here is what I changed in `{name}`:

1. read the module
2. fixed the **off-by-one** in the loop

| step | result |
|------|--------|
| test | passed |

```python
def turn_{n}(items):
    return [x * {n} for x in items if x]
```
"""


def write_session(path: Path, session_id: str, turns: list[dict], *, cwd: str = "/work/proj",
                  start: datetime | None = None, compact_after: dict[int, int] | None = None
                  ) -> Path:
    """A transcript with one line per prompt, answer and tool result. Each turn is a dict with
    ``prompt``, ``answer`` and optionally ``thinking``, ``command``, ``output``, ``tokens``
    (context of its answer). ``compact_after`` maps a turn to the tokens before a compaction
    that follows it."""
    start = start or datetime.now(UTC) - timedelta(hours=len(turns) // 60 + 1)
    common = {"sessionId": session_id, "cwd": cwd, "version": "2.1.0", "gitBranch": "main"}
    lines = []
    for i, t in enumerate(turns, 1):
        stamp = (start + timedelta(seconds=60 * i)).isoformat().replace("+00:00", "Z")
        content = []
        if t.get("thinking"):
            content.append({"type": "thinking", "thinking": t["thinking"]})
        content.append({"type": "text", "text": t["answer"]})
        if t.get("command"):
            content.append({"type": "tool_use", "id": f"tool{i}", "name": "Bash",
                            "input": {"command": t["command"]}})
        lines += [
            {**common, "type": "user", "uuid": f"u{i}", "timestamp": stamp,
             "message": {"role": "user", "content": t["prompt"]}},
            {**common, "type": "assistant", "uuid": f"a{i}", "timestamp": stamp,
             "message": {"id": f"m{i}", "role": "assistant", "model": "claude-test-1",
                         "usage": {"input_tokens": t.get("tokens", 100 * i)},
                         "content": content}},
        ]
        if t.get("command"):
            lines.append({**common, "type": "user", "uuid": f"r{i}", "timestamp": stamp,
                          "message": {"role": "user", "content": [
                              {"type": "tool_result", "tool_use_id": f"tool{i}",
                               "content": t.get("output", "")}]}})
        if compact_after and i in compact_after:
            lines.append({**common, "type": "system", "subtype": "compact_boundary",
                          "uuid": f"c{i}", "timestamp": stamp,
                          "compactMetadata": {"trigger": "auto", "preTokens": compact_after[i]}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def long_turns(n: int, *, step: int = 1000, compact_at: int | None = None) -> list[dict]:
    """``n`` turns whose context grows by ``step`` tokens a turn, falling back to a tenth
    after ``compact_at``."""
    out = []
    tokens = 0
    for i in range(1, n + 1):
        tokens = tokens // 10 if compact_at and i == compact_at + 1 else tokens + step
        out.append({
            "prompt": f"Step {i}: fix the loop in module_{i}.py and run the tests",
            "answer": ANSWER.format(name=f"module_{i}.py", n=i),
            "thinking": f"The loop in module_{i} starts at 1; it should start at 0.",
            "command": f"pytest tests/test_module_{i}.py -q",
            "output": f"{i} passed in 0.{i % 10}s",
            "tokens": tokens,
        })
    return out
