"""The report categories every service shares: code -> (Indonesian, English) names.

Intake offers them, verification knows what each needs (5W1H), routing maps them to
agencies. Codes are stable: they travel in events.
"""

from __future__ import annotations

from services import i18n
from services.i18n import N_

_CATEGORIES_EN: dict[str, str] = {
    "infrastruktur": N_("category", "Infrastructure and roads"),
    "kesehatan": N_("category", "Health"),
    "pendidikan": N_("category", "Education"),
    "kependudukan": N_("category", "Civil registration"),
    "lingkungan": N_("category", "Environment and sanitation"),
    "pelayanan-publik": N_("category", "Public services"),
    "pungli": N_("category", "Illegal levies (extortion)"),
    "bansos": N_("category", "Social assistance"),
    "listrik": N_("category", "Electricity"),
    "air-bersih": N_("category", "Water supply"),
    "transportasi": N_("category", "Transport"),
    "kepolisian": N_("category", "Police services"),
}
CATEGORIES: dict[str, tuple[str, str]] = i18n.pairs("category", _CATEGORIES_EN)


# What a complete report of each category must say (5W1H: what, who, where, when, how,
# why). A pothole needs only a place; extortion needs who, where, when and how. Intake's
# forms and Open311 show it; verification checks it.
NEEDS: dict[str, tuple[str, ...]] = {
    "infrastruktur": ("what", "where"),
    "lingkungan": ("what", "where"),
    "listrik": ("what", "where"),
    "air-bersih": ("what", "where"),
    "transportasi": ("what", "where"),
    "kesehatan": ("what", "where"),
    "pendidikan": ("what", "where"),
    "kependudukan": ("what", "where"),
    "bansos": ("what", "where"),
    "pelayanan-publik": ("what", "where"),
    "kepolisian": ("what", "where", "when"),
    "pungli": ("what", "who", "where", "when", "how"),
}


# The 5W1H elements as a citizen is asked for them: code -> (Indonesian, English).
_ELEMENTS_EN: dict[str, str] = {
    "what": N_("element", "what happened"),
    "where": N_("element", "where exactly (street, number, RT/RW, name of the office or facility)"),
    "when": N_("element", "when it happened (date or day, time)"),
    "who": N_("element", "who was involved (position, description or the officer's name)"),
    "how": N_("element", "how it happened (for instance how much money was asked and how)"),
}
ELEMENTS: dict[str, tuple[str, str]] = i18n.pairs("element", _ELEMENTS_EN)


# The same, short enough for one SMS (notices name what is missing with these).
_ELEMENTS_SHORT_EN: dict[str, str] = {
    "what": N_("element_short", "what happened"),
    "where": N_("element_short", "the exact place"),
    "when": N_("element_short", "the date and time"),
    "who": N_("element_short", "who was involved"),
    "how": N_("element_short", "how it happened"),
}
ELEMENTS_SHORT: dict[str, tuple[str, str]] = i18n.pairs("element_short", _ELEMENTS_SHORT_EN)


def elements_short(codes: list[str] | tuple[str, ...], lang: str = "id") -> str:
    """The missing elements in a few words each, in one language (for an SMS)."""
    i = 1 if lang == "en" else 0
    return ", ".join(ELEMENTS_SHORT[c][i] for c in codes if c in ELEMENTS_SHORT)


def elements_text(codes: list[str] | tuple[str, ...], lang: str = "id") -> str:
    """The missing elements, named for the reader, in one language."""
    i = 1 if lang == "en" else 0
    return "; ".join(ELEMENTS[c][i] for c in codes if c in ELEMENTS)
