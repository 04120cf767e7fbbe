"""Times as a report's readers read them: in the report's own zone, with the zone named.

A report in Bandung shows WIB, in Makassar WITA, in Jayapura WIT, whoever reads it; the
zone is the region's (services.timezones), dates are written by Babel in the reader's
language (``Selasa, 8 Desember 2026 23.59 WIB`` / ``Tuesday 8 December 2026, 23:59 WIB``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

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
