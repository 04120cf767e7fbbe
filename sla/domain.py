"""SLA's pure rules: working days and deadlines."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def is_working_day(day: date) -> bool:
    """Monday to Friday (national holidays and cuti bersama come as data later)."""
    return day.weekday() < 5


def add_working_days(start: datetime, days: int, tz: str) -> datetime:
    """End of the ``days``-th working day after ``start``'s local day, as an aware time.

    The day a clock starts does not count: a report routed on Friday afternoon with a
    5-day clock is due at the end of the next Friday, in the agency's time zone.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    zone = ZoneInfo(tz)
    day = start.astimezone(zone).date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)
