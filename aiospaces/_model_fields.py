"""Reading the Hub's JSON leniently: the small field parsers every model's `from_dict` shares.

A field of the wrong type reads as None instead of failing the whole model (design.md §2).
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["opt_datetime", "opt_str", "parse_datetime"]


def parse_datetime(value: str) -> datetime:
    """Parse the Hub's ISO-8601 timestamps (`2025-03-07T12:24:18.657Z`, recording test_manage_variables).

    Raises:
        ValueError: if `value` is not ISO-8601.
    """
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def opt_datetime(value: object) -> datetime | None:
    """A timestamp field: its datetime, or None when absent, empty or not ISO-8601."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def opt_str(value: object) -> str | None:
    """A text field: the string, or None when absent or of another type."""
    return value if isinstance(value, str) else None
