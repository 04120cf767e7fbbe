"""User-facing texts in gettext catalogues, read with Babel.

A text is written once in the code, in English, marked with :func:`N_` and a context
(``state``, ``step``, ``notice``...: the same English can read differently in
Indonesian by context). Each language has its catalogue,
``services/locale/<lang>/LC_MESSAGES/aduan.po``, which a translator edits with any PO
editor; ``make messages`` extracts the marked texts from the code into
``services/locale/aduan.pot`` and merges them into every catalogue. A test fails when a
marked text has no translation in a language.

The catalogues are read as PO files at first use (no compiled ``.mo`` to keep in step).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("id", "en")
DOMAIN = "aduan"
LOCALE_DIR = Path(__file__).parent / "locale"


def N_(context: str, msgid: str) -> str:
    """Mark a text for the catalogues; it is translated where it is shown."""
    return msgid


def po_path(lang: str) -> Path:
    """The catalogue file of a language."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def catalogue(lang: str) -> dict[tuple[str, str], str]:
    """(context, English) -> the text in ``lang``, for every translated entry."""
    with po_path(lang).open("rb") as f:
        cat = read_po(f, locale=lang, domain=DOMAIN)
    return {
        (m.context or "", str(m.id)): str(m.string)
        for m in cat
        if m.id and m.string and not m.fuzzy
    }


def text(context: str, msgid: str, lang: str = "id") -> str:
    """A marked text in the reader's language (Indonesian unless English)."""
    if lang not in LANGUAGES:
        lang = "id"
    return catalogue(lang).get((context, msgid), msgid)


def pairs(context: str, english: dict[str, str]) -> dict[str, tuple[str, str]]:
    """A table of marked texts as (Indonesian, English) pairs, the shape the pages and
    messages index by language."""
    return {key: (text(context, en, "id"), en) for key, en in english.items()}


def one_language(text: str, lang: str) -> str:
    """One language of a text written "Indonesian. / English." (the checks' findings and
    reasons, which verification writes in both): the reader's half, never both."""
    if " / " not in text:
        return text
    id_part, en_part = text.split(" / ", 1)
    return en_part if lang == "en" else id_part
