"""The working-day calendar: weekends, national holidays, cuti bersama and closures.

National holidays come from the maintained ``holidays`` package (its ``public``
category for Indonesia). Collective leave days (cuti bersama) change every year by a
joint ministerial decree (SKB 3 Menteri), so they are *data*: entries an operator loads
from a file or sets through the API, each with its source. An entry can also declare a
day a working day (``working``), which wins over everything else: a Saturday made a
working day, or a holiday the library places on the wrong date.

Every deadline ends at the end of a working day (23:59:59) in a given time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SHIPPED_FILE = Path(__file__).parent / "data" / "calendar-id.yaml"
END_OF_DAY = time(23, 59, 59)
# Longest stretch of non-working days the calendar accepts (Idul Fitri with its cuti
# bersama is about ten): a guard against a file that closes a whole year by mistake.
MAX_CLOSED_RUN = 31


class EntryKind(StrEnum):
    """What an operator's calendar entry says about a day."""

    cuti_bersama = "cuti_bersama"
    holiday = "holiday"
    closure = "closure"
    working = "working"


class CalendarEntry(BaseModel):
    """One day of the operator's calendar data, with where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: date = Field(alias="date", description="The day (YYYY-MM-DD).")
    kind: EntryKind
    name: str = Field(min_length=1, max_length=200)
    source: str = Field(
        min_length=1, max_length=500, description="The decree or notice that sets it."
    )

    def as_file_row(self) -> dict[str, Any]:
        """The entry as the file format writes it."""
        return {
            "date": self.day.isoformat(),
            "kind": self.kind.value,
            "name": self.name,
            "source": self.source,
        }


class CalendarFile(BaseModel):
    """The file format: ``entries:`` a list of {date, kind, name, source}."""

    model_config = ConfigDict(extra="forbid")

    entries: list[CalendarEntry] = Field(max_length=10_000)


def parse_file(text: str) -> list[CalendarEntry]:
    """Entries from the YAML (or JSON) file format; raises ValueError on bad input."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML: {type(exc).__name__}") from exc
    except ValueError as exc:  # YAML read a date that does not exist
        raise ValueError(f"invalid date: {exc}") from exc
    if not isinstance(data, dict) or "entries" not in data:
        raise ValueError("the file must be a mapping with a list under 'entries'")
    try:
        entries = CalendarFile.model_validate(data).entries
    except ValidationError as exc:
        problems = [
            ".".join(str(p) for p in err["loc"]) + ": " + err["msg"] for err in exc.errors()[:5]
        ]
        raise ValueError("; ".join(problems)) from None
    seen: set[tuple[date, EntryKind]] = set()
    for entry in entries:
        key = (entry.day, entry.kind)
        if key in seen:
            raise ValueError(f"{entry.day} {entry.kind.value} appears twice")
        seen.add(key)
    return entries


def dump_file(entries: Iterable[CalendarEntry]) -> str:
    """The file format for a list of entries, sorted by day."""
    rows = [e.as_file_row() for e in sorted(entries, key=lambda e: (e.day, e.kind.value))]
    return yaml.safe_dump({"entries": rows}, allow_unicode=True, sort_keys=False)


@lru_cache(maxsize=64)
def national_holidays(year: int) -> dict[date, str]:
    """Indonesia's public holidays of a year, as the ``holidays`` package knows them."""
    return dict(holidays.country_holidays("ID", years=year, categories=("public",)))


class WorkingCalendar:
    """Which days are working days, and deadline arithmetic on them."""

    def __init__(self, entries: Iterable[CalendarEntry] = (), version: int = 0) -> None:
        self.entries = list(entries)
        self.version = version
        self._closed = {e.day: e for e in self.entries if e.kind is not EntryKind.working}
        self._open = {e.day for e in self.entries if e.kind is EntryKind.working}

    # ------------------------------------------------------------------ days

    def is_working_day(self, day: date) -> bool:
        """Not a weekend, national holiday, cuti bersama or closure (unless made working)."""
        if day in self._open:
            return True
        if day.weekday() >= 5 or day in self._closed:
            return False
        return day not in national_holidays(day.year)

    def why_closed(self, day: date) -> str | None:
        """Why a day is not a working day (None if it is one)."""
        if self.is_working_day(day):
            return None
        if day in self._closed:
            entry = self._closed[day]
            return f"{entry.kind.value}: {entry.name}"
        name = national_holidays(day.year).get(day)
        if name:
            return f"national holiday: {name}"
        return "weekend"

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next one."""
        for _ in range(MAX_CLOSED_RUN * 4):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError(f"no working day within {MAX_CLOSED_RUN * 4} days of {day}")

    # ------------------------------------------------------------------ deadlines

    @staticmethod
    def local_date(moment: datetime, tz: str) -> date:
        """The calendar day of a moment in a time zone."""
        if moment.tzinfo is None:
            raise ValueError("moments must be timezone-aware")
        return moment.astimezone(ZoneInfo(tz)).date()

    @staticmethod
    def end_of(day: date, tz: str) -> datetime:
        """The end of a day (23:59:59) in a time zone."""
        return datetime.combine(day, END_OF_DAY, tzinfo=ZoneInfo(tz))

    def add_working_days(self, start: datetime, days: int, tz: str) -> datetime:
        """End of the ``days``-th working day after ``start``'s local day.

        The day a clock starts does not count: a report routed on Friday with a 5-day
        clock is due at the end of the next Friday (holidays skipped). With ``days`` 0,
        the end of the first working day from ``start``'s day on.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        day = self.local_date(start, tz)
        if days == 0:
            return self.end_of(self.next_working_day(day), tz)
        for _ in range(days):
            day = self.next_working_day(day + timedelta(days=1))
        return self.end_of(day, tz)

    def working_days_between(self, start: datetime, end: datetime, tz: str) -> int:
        """Working days after ``start``'s local day, up to and including ``end``'s day.

        The inverse of :meth:`add_working_days`: for n >= 1,
        ``working_days_between(s, add_working_days(s, n)) == n``.
        """
        first, last = self.local_date(start, tz), self.local_date(end, tz)
        count = 0
        day = first + timedelta(days=1)
        while day <= last:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def add_calendar_days(self, start: datetime, days: int, tz: str) -> datetime:
        """End of the day ``days`` calendar days after ``start`` (moved on to a working day)."""
        day = self.local_date(start, tz) + timedelta(days=days)
        return self.end_of(self.next_working_day(day), tz)

    def warning_time(
        self, starts_at: datetime, due_at: datetime, working_days_before: int, tz: str
    ) -> datetime | None:
        """When to warn: the end of the working day ``working_days_before`` before the
        due day (so one day before means "the last working day has begun").

        None when that moment is not after the clock's start (too short to warn).
        """
        if working_days_before <= 0:
            return None
        day = self.local_date(due_at, tz)
        remaining = working_days_before
        for _ in range(MAX_CLOSED_RUN * 4 * working_days_before):
            day -= timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
                if remaining == 0:
                    break
        warn = self.end_of(day, tz)
        return warn if warn > starts_at else None


def check_closed_runs(calendar: WorkingCalendar, years: Iterable[int]) -> None:
    """Refuse a calendar with an implausibly long run of non-working days."""
    for year in years:
        run = 0
        day = date(year, 1, 1)
        while day.year == year:
            run = 0 if calendar.is_working_day(day) else run + 1
            if run > MAX_CLOSED_RUN:
                raise ValueError(f"more than {MAX_CLOSED_RUN} non-working days in a row at {day}")
            day += timedelta(days=1)
