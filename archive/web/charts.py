"""Chart geometry, drawn server-side as SVG: the page needs no chart library and works offline.

Functions here turn figures into coordinates and labels; the templates write the SVG elements
(so every label goes through autoescape), and the stylesheet colours them by class name.
"""

from __future__ import annotations

import math
from itertools import pairwise


def nice_ticks(top: float, count: int = 5) -> list[int]:
    """Round axis values from 0 to at least ``top``."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    step = max(1, int(step))
    return list(range(0, int(top) + step + 1, step))[: count + 2]


def short(n: int | float) -> str:
    """102K / 1.2M style numbers for axis labels."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    if n >= 1000:
        return f"{n / 1000:.0f}K"
    return str(int(n))


def context_chart(report: dict, width: int = 960, height: int = 320) -> dict:
    """Tokens per turn as a line over an area, the threshold, compactions and the fork turn."""
    left, right, top_pad, bottom = 56, 16, 16, 36
    turns = report["turns"]
    values = [t["context_tokens"] or 0 for t in turns]
    top = max([report["threshold"], *values, 1])
    ticks = nice_ticks(top * 1.05)
    ymax = ticks[-1]
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    n = max(len(turns), 1)

    def x(turn: float) -> float:  # turn 1 at the left edge, the last at the right
        return left + (plot_w * (turn - 1) / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - v / ymax)

    points = [(round(x(t["turn"]), 1), round(y(v), 1)) for t, v in zip(turns, values, strict=True)]
    line = " ".join(f"{px},{py}" for px, py in points)
    area = ""
    if points:
        base = round(y(0), 1)
        area = f"M{points[0][0]},{base} L" + " L".join(f"{px},{py}" for px, py in points)
        area += f" L{points[-1][0]},{base} Z"
    over = report["threshold"]
    xstep = max(1, math.ceil(n / 12))
    return {
        "width": width, "height": height, "left": left, "right": width - right,
        "top": top_pad, "bottom": height - bottom,
        "line": line, "area": area,
        "dots": [
            {"x": px, "y": py, "turn": t["turn"], "tokens": v, "over": v > over}
            for (px, py), t, v in zip(points, turns, values, strict=True)
        ] if n <= 400 else [],
        "yticks": [{"y": round(y(v), 1), "label": short(v)} for v in ticks],
        "xticks": [{"x": round(x(t), 1), "label": str(t)}
                   for t in range(1, n + 1, xstep)] if turns else [],
        "threshold": _threshold(round(y(over), 1), f"threshold {short(over)}", points,
                                left, width - right, top_pad),
        "compactions": [
            {"x": round(x(max(c["turn"], 1) + (0.5 if c["turn"] else 0)), 1),
             "turn": c["turn"], "trigger": c["trigger"] or "?",
             "pre": short(c["pre_tokens"]) if c["pre_tokens"] else "?"}
            for c in report["compactions"]
        ],
        "fork": ({"x": round(x(report["suggested_fork_turn"]), 1),
                  "turn": report["suggested_fork_turn"]}
                 if report["suggested_fork_turn"] else None),
    }


# The threshold label's text: 12px (style.css); a wide average glyph, and the box it takes
# around its baseline.
GLYPH_W, ASCENT, DESCENT, GAP = 7.0, 11.0, 3.0, 5.0


def _threshold(ty: float, label: str, points: list[tuple[float, float]], left: float,
               right: float, top: float) -> dict:
    """The threshold line and where its label goes: above the line at its right end, unless the
    curve or a point crosses that box (a session ending near the threshold put its last point
    under the label); then the first free place along the line, right to left, above or
    below it."""
    w = len(label) * GLYPH_W
    slots = max(int((right - left - w) // 40), 0)
    for step in range(slots + 1):
        x1 = right - 4 - step * 40
        for base in (ty - GAP, ty + GAP + ASCENT):
            box = (x1 - w, base - ASCENT, x1, base + DESCENT)
            if base - ASCENT >= top and not _hits(box, points):
                return {"y": ty, "label": label, "label_x": round(x1, 1),
                        "label_y": round(base, 1)}
    # Nowhere is free (a dense curve along the line): the usual place.
    return {"y": ty, "label": label, "label_x": round(right - 4, 1), "label_y": round(ty - GAP, 1)}


def _hits(box: tuple[float, float, float, float], points: list[tuple[float, float]],
          radius: float = 4.0) -> bool:
    """Whether a point (a dot of ``radius``) or the line between two points enters ``box``."""
    x0, y0, x1, y1 = box
    for px, py in points:
        if x0 - radius <= px <= x1 + radius and y0 - radius <= py <= y1 + radius:
            return True
    for (ax, ay), (bx, by) in pairwise(points):
        lo, hi = max(min(ax, bx), x0), min(max(ax, bx), x1)
        if lo > hi:
            continue
        at = [ay if ax == bx else ay + (by - ay) * (x - ax) / (bx - ax) for x in (lo, hi)]
        if min(at) <= y1 and max(at) >= y0:
            return True
    return False


def stacked_bars(days: list[str], groups: list[str], values: list[list[int]],
                 width: int = 960, height: int = 220) -> dict:
    """One bar per day, one segment per group (values[day][group])."""
    left, right, top_pad, bottom = 56, 16, 12, 40
    totals = [sum(v) for v in values]
    ticks = nice_ticks(max(totals + [1]) * 1.05)
    ymax = ticks[-1]
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    slot = plot_w / max(len(days), 1)
    bar_w = max(1.0, slot * 0.8)
    bars = []
    for i, (day, row) in enumerate(zip(days, values, strict=True)):
        y = top_pad + plot_h
        for g, v in enumerate(row):
            if not v:
                continue
            h = plot_h * v / ymax
            y -= h
            bars.append({"x": round(left + i * slot + (slot - bar_w) / 2, 1), "y": round(y, 1),
                         "w": round(bar_w, 1), "h": round(h, 1), "cls": f"g{g % 9}",
                         "title": f"{day} · {groups[g]}: {v:,}"})
    xstep = max(1, math.ceil(len(days) / 10))
    return {
        "width": width, "height": height, "left": left, "right": width - right,
        "top": top_pad, "bottom": height - bottom, "bars": bars,
        "yticks": [{"y": round(top_pad + plot_h * (1 - v / ymax), 1), "label": short(v)}
                   for v in ticks],
        "xticks": [{"x": round(left + i * slot + slot / 2, 1), "label": days[i][5:]}
                   for i in range(0, len(days), xstep)],
        "total": sum(totals),
    }
