"""Context size: how much each turn sent to the model, and two ways on from a bloated session.

The figures come from the parser (usage of the main chain, each streamed message counted once;
estimated as characters / 4 when a transcript has no usage). A session past the threshold can
go on as a fork from its last turn under it (``archive restore --turns N --new-id``), where its
source can fork it (``Source.no_fork`` says why not), or as a fresh start from a hand-off
document that fits a token budget (``export --budget``).
"""

from __future__ import annotations

import shlex
from collections import Counter

from .transcript import estimate_tokens
from .views import LoadedSession, session_dict

DEFAULT_THRESHOLD = 100_000
DEFAULT_BUDGET = 20_000  # tokens of a suggested hand-off document


def context_report(loaded: LoadedSession, threshold: int = DEFAULT_THRESHOLD) -> dict:
    """``archive context --json``: per-turn context, compactions, first turn over, fork turn."""
    s = loaded.session
    turns = [{"turn": t.number, "context_tokens": t.context_tokens} for t in s.turns]
    first_over = next(
        (t.number for t in s.turns if (t.context_tokens or 0) > threshold), None
    )
    fork = first_over - 1 if first_over and first_over > 1 else None
    no_fork = None
    if first_over and fork is None:
        no_fork = "turn 1 is already past it: there is no earlier turn to fork from"
    elif fork is not None:
        from .sources import for_relpath

        no_fork = for_relpath(getattr(loaded.file, "relpath", None) or "").no_fork
        if no_fork is not None:
            fork = None
    sid = s.session_id or loaded.file.session_id
    profile = loaded.file.profile
    commands = {}
    if fork:
        commands["fork"] = (
            f"archive restore {shlex.quote(sid)} --turns {fork} --new-id --to "
            f"{shlex.quote(profile)}"
        )
    if first_over:
        commands["handoff"] = (
            f"archive export {shlex.quote(sid)} --format md --budget {DEFAULT_BUDGET}"
        )
    return {
        "session_id": sid,
        "profile": profile,
        "context_tokens": s.context_tokens,
        "peak_context_tokens": s.peak_context_tokens,
        "context_estimated": s.context_estimated,
        "threshold": threshold,
        "first_turn_over": first_over,
        "compactions": [
            {"turn": c.turn, "trigger": c.trigger, "pre_tokens": c.pre_tokens}
            for c in s.compactions
        ],
        "turns": turns,
        "suggested_fork_turn": fork,
        "fork_unavailable": no_fork,  # why no fork is offered past the threshold, or None
        "commands": commands,
    }


# -- the budgeted hand-off document ----------------------------------------------------------


def _cut(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[:limit].rstrip() + " […]"


class _Plan:
    """How much of each turn goes in. The first and the last turn stay whole as long as
    anything else can give way; middle turns lose answers first, then tool lines."""

    def __init__(self, n: int):
        self.answer_limit: list[int | None] = [None] * n
        self.tools: list[bool] = [True] * n
        self.prompt_limit: list[int | None] = [None] * n


def _render(data: dict, turns: list[dict], plan: _Plan, notes: list[str]) -> str:
    title = " ".join((data["title"] or "(untitled)").split())
    lines = [f"# Hand-off: {title}", ""]
    lines += [f"> {note}" for note in notes]
    if notes:
        lines.append("")
    lines.append(f"- **Session:** {data['session_id']} ({data['profile'] or 'file'})")
    lines.append(f"- **Project:** {data['project'] or '?'}")
    if data["branch"]:
        lines.append(f"- **Branch:** {data['branch']}")
    if data["files"]:
        lines.append("- **Files touched:** " + ", ".join(f"`{f}`" for f in data["files"]))
    for i, t in enumerate(turns):
        lines += ["", f"## Turn {t['turn']}", "", "**Prompt**", ""]
        lines.append(_cut(t["prompt"], plan.prompt_limit[i]))
        if plan.tools[i] and t["tool_calls"]:
            lines += ["", "**Tools:** " + "; ".join(
                f"{c['name']} {c['key_argument']}".strip() for c in t["tool_calls"]
            )]
        answer = _cut(t["last_answer"], plan.answer_limit[i])
        if answer:
            lines += ["", "**Answer**", "", answer]
    return "\n".join(lines).rstrip() + "\n"


def _fits(text: str, budget: int) -> bool:
    return estimate_tokens(len(text)) <= budget


def _shrink(data, turns, plan, notes, budget, field: str, which: list[int]) -> bool:
    """Lower ``field`` limits of turns ``which`` to the largest common limit that fits."""
    limits = getattr(plan, field)
    longest = max((len(turns[i][_SOURCE[field]]) for i in which), default=0)
    lo, hi = 0, longest
    for i in which:
        limits[i] = 0
    if not _fits(_render(data, turns, plan, notes), budget):
        return False
    while lo < hi:  # the largest limit that still fits
        mid = (lo + hi + 1) // 2
        for i in which:
            limits[i] = mid
        if _fits(_render(data, turns, plan, notes), budget):
            lo = mid
        else:
            hi = mid - 1
    for i in which:
        limits[i] = lo
    return True


_SOURCE = {"answer_limit": "last_answer", "prompt_limit": "prompt"}


def handoff_markdown(
    loaded: LoadedSession, budget: int, *, masked: Counter | None = None
) -> tuple[str, list[str]]:
    """A markdown hand-off that fits ``budget`` tokens (characters / 4), and what was cut.

    With ``masked`` (a Counter), credential-shaped strings are masked first and counted there,
    so the budget holds for the text that is really written."""
    turns_src = loaded.session.turns
    data = session_dict(loaded, turns_src)
    turns = [
        dict(t, last_answer=src.last_answer)
        for t, src in zip(data["turns"], turns_src, strict=True)
    ]
    if masked is not None:
        from .redact import redact_data

        data = redact_data(data, masked)
        turns = redact_data(turns, masked)
    plan = _Plan(len(turns))
    middle = list(range(1, len(turns) - 1))
    notes: list[str] = []
    if _fits(_render(data, turns, plan, notes), budget):
        return _render(data, turns, plan, notes), notes
    ends = sorted({0, len(turns) - 1})
    steps = [
        ("answer_limit", middle, "answers of turns {r} shortened"),
        ("tools", middle, "tool lines of turns {r} left out"),
        ("prompt_limit", middle, "prompts of turns {r} shortened"),
        ("answer_limit", ends, "answers of the first and last turns shortened"),
    ]
    for field, which, wording in steps:
        if not which:
            continue
        span = "{}–{}".format(turns[which[0]]["turn"], turns[which[-1]]["turn"])
        notes.append(f"Shortened to fit {budget:,} tokens: " + wording.format(r=span))
        if field == "tools":
            for i in which:
                plan.tools[i] = False
            done = _fits(_render(data, turns, plan, notes), budget)
        else:
            done = _shrink(data, turns, plan, notes, budget, field, which)
        if done:
            return _render(data, turns, plan, notes), notes
    notes.append(
        f"Does not fit {budget:,} tokens even shortened: the first and last prompts alone "
        "are larger"
    )
    return _render(data, turns, plan, notes), notes
