"""Dates typed by a person (``--since``, ``--until``, ``--at``) into UTC datetimes.

Accepted: anything python-dateutil reads as an absolute date or time (``2026-11-01``,
``2026-11-01 14:30``, ``Nov 1 2026``, ISO-8601 with a zone), the words ``now``, ``today``,
``yesterday``, and ``N unit(s) ago`` / ``Nunit`` with unit minutes, hours, days, weeks, months
or years (``3 days ago``, ``2w``). Times without a zone are local time. A bare date as an
upper bound means the end of that day, so ``--until 2026-11-01`` includes that day.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from .errors import UsageError

_RELATIVE = re.compile(
    r"^\s*(\d+)\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?|mo|months?|y|years?)"
    r"(\s+ago)?\s*$",
    re.IGNORECASE,
)
_UNITS = {
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "wk": "weeks", "wks": "weeks", "week": "weeks", "weeks": "weeks",
    "mo": "months", "month": "months", "months": "months",
    "y": "years", "year": "years", "years": "years",
}
_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def parse_when(text: str, *, end_of_day: bool = False, now: datetime | None = None) -> datetime:
    """A tz-aware UTC datetime for ``text``; raises UsageError with the accepted forms."""
    now = now or datetime.now(UTC)
    local_now = now.astimezone()
    word = text.strip().lower()
    day_start = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if word == "now":
        return now
    if word in ("today", "yesterday"):
        start = day_start - timedelta(days=1 if word == "yesterday" else 0)
        result = start + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else start
        return result.astimezone(UTC)
    # dateutil costs ~25 ms to import: only commands given a date pay for it.
    from dateutil import parser as date_parser
    from dateutil.relativedelta import relativedelta

    m = _RELATIVE.match(word)
    if m:
        amount, unit = int(m.group(1)), _UNITS[m.group(2).lower()]
        return (local_now - relativedelta(**{unit: amount})).astimezone(UTC)
    try:
        parsed = date_parser.parse(text)
    except (ValueError, OverflowError):
        raise UsageError(
            f"cannot read the date {text!r}",
            hint="use e.g. 2026-11-01, '2026-11-01 14:30', yesterday, '3 days ago', 2w",
        ) from None
    if end_of_day and _DATE_ONLY.match(text) and parsed.time() == time(0, 0):
        parsed = parsed + timedelta(days=1) - timedelta(microseconds=1)
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # local time
    return parsed.astimezone(UTC)


def iso_utc(dt: datetime | None) -> str | None:
    """The one timestamp format of the catalog: UTC with microseconds, sortable as text."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
