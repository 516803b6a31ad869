"""SQL pieces the domain packages share: intervals of seconds and LIKE patterns for "contains" searches."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

# The escape character of every LIKE pattern made here; pass it as `escape=` (or ESCAPE '\' in SQL text).
LIKE_ESCAPE = "\\"


def interval(seconds: float | sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """An SQL interval of `seconds` (a number or an expression), bound as a parameter, never spliced into SQL."""
    # make_interval(years, months, weeks, days, hours, mins, secs)
    return sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds, type_=sa.Interval)


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching values that contain `text` literally: its %, _ and backslashes are escaped."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"
