"""Indonesia's three time zones, by Kemendagri province code.

A deadline ends at the end of the working day where the agency that must act sits:
WIB (UTC+7, ``Asia/Jakarta``), WITA (UTC+8, ``Asia/Makassar``), WIT (UTC+9,
``Asia/Jayapura``). National agencies sit in Jakarta.
"""

from __future__ import annotations

WIB = "Asia/Jakarta"
WITA = "Asia/Makassar"
WIT = "Asia/Jayapura"

# Provinces outside WIB; every other province code is WIB (Sumatra, Java, Kalimantan
# Barat and Tengah).
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96"}

LABELS = {WIB: "WIB", WITA: "WITA", WIT: "WIT"}


def of_region(code: str) -> str:
    """The IANA zone of a province or regency code (``32``, ``32.73``, ``32.73.01``)."""
    province = code.split(".")[0]
    if province in _WIT:
        return WIT
    if province in _WITA:
        return WITA
    return WIB
