"""Times as a report's readers read them: in the report's own zone, with the zone named.

A report in Bandung shows WIB, in Makassar WITA, in Jayapura WIT, whoever reads it; the
zone is the region's (services.timezones), dates are written by Babel in the reader's
language (``Selasa, 8 Desember 2026 23.59 WIB`` / ``Tuesday 8 December 2026, 23:59 WIB``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from babel.dates import format_datetime

from services import timezones

_PATTERN = {"id": "EEEE, d MMMM y HH.mm", "en": "EEEE d MMMM y, HH:mm"}
_SHORT = {"id": "d MMM y HH.mm", "en": "d MMM y, HH:mm"}


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_of(region_code: str | None) -> str:
    """The IANA zone of a region code (WIB when unknown)."""
    return timezones.of_region(region_code) if region_code else timezones.WIB


def zone_label(region_code: str | None) -> str:
    """WIB, WITA or WIT."""
    return timezones.LABELS[zone_of(region_code)]


def local(when: datetime, region_code: str | None) -> datetime:
    """``when`` in the region's zone (naive times are UTC)."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(_zone(zone_of(region_code)))


def format_local(
    when: datetime | None, region_code: str | None, lang: str = "id", short: bool = False
) -> str:
    """A time in the region's zone, written for the reader, the zone named."""
    if when is None:
        return ""
    patterns = _SHORT if short else _PATTERN
    locale = "en" if lang == "en" else "id"
    zone = _zone(zone_of(region_code))
    text = format_datetime(local(when, region_code), patterns[locale], tzinfo=zone, locale=locale)
    return f"{text} {zone_label(region_code)}"


@lru_cache(maxsize=16)
def _national_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year, categories=("public",)))


def working_days_left(due: datetime, region_code: str | None, now: datetime | None = None) -> int:
    """Working days from tomorrow to the due day, both counted in the region's zone.

    Weekends and national holidays are skipped; the SLA's own calendar also knows the
    year's cuti bersama and closures, and its ``due_at`` (always shown beside this) is
    the exact deadline.
    """
    today = local(now or datetime.now(UTC), region_code).date()
    last = local(due, region_code).date()
    count, day = 0, today + timedelta(days=1)
    while day <= last:
        if day.weekday() < 5 and day not in _national_holidays(day.year):
            count += 1
        day += timedelta(days=1)
    return count


_LEFT = {
    "overdue": ("lewat batas", "overdue"),
    "hours": ("jam lagi", "hours left"),
    "days": ("hari kerja lagi", "working days left"),
    "until": ("batas", "due"),
}


def time_left(
    due: datetime | None, region_code: str | None, lang: str = "id", working: bool = True
) -> tuple[str, str]:
    """A clock's time left as staff read it, and a CSS class (late, soon or none): in
    working days for a clock that counts them, hours on its last day, the deadline itself
    in the region's zone beside it."""
    if due is None:
        return "", ""
    i = 1 if lang == "en" else 0
    aware = due if due.tzinfo else due.replace(tzinfo=UTC)
    seconds = (aware - datetime.now(UTC)).total_seconds()
    when = format_local(aware, region_code, lang, short=True)
    if seconds < 0:
        return f"{_LEFT['overdue'][i]} ({when})", "late"
    days = working_days_left(aware, region_code) if working else int(seconds // 86400)
    if days == 0:
        return f"{max(1, round(seconds / 3600))} {_LEFT['hours'][i]} ({when})", "soon"
    unit = _LEFT["days"][i] if working else ("hari lagi", "days left")[i]
    if days == 1 and lang == "en":
        unit = unit.replace("days", "day")
    return f"{days} {unit} ({_LEFT['until'][i]} {when})", ""
