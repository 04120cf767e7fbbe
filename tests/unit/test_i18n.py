"""The catalogues: every text marked in the code exists in both languages."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services import i18n, lifecycle
from services.categories import CATEGORIES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "intake", "verification", "routing", "sla", "notifications")


def _marked() -> set[tuple[str, str]]:
    """Every (context, text) marked with N_ in the code, as Babel extracts it."""
    found: set[tuple[str, str]] = set()
    for package in PACKAGES:
        for _file, _line, message, _comments, context in extract_from_dir(
            ROOT / package,
            method_map=[("**.py", "python")],
            keywords={"N_": ((1, "c"), 2)},
        ):
            found.add((context or "", message))
    return found


def test_every_marked_text_is_translated_in_both_languages() -> None:
    marked = _marked()
    assert len(marked) > 100
    for lang in i18n.LANGUAGES:
        catalogue = i18n.catalogue(lang)
        missing = sorted(marked - set(catalogue))
        assert not missing, f"{lang}: no translation for {missing[:5]} (run make messages)"
    # Words Indonesian writes as English does; any other identical text is one left
    # untranslated.
    alike = {"-", "Email", "Status", "Sub-unit", "administrator"}
    indonesian = i18n.catalogue("id")
    same = [key for key in marked if indonesian[key] == key[1] and key[1] not in alike]
    assert not same, f"Indonesian texts left in English: {same[:5]}"


def test_the_template_is_current() -> None:
    with (i18n.LOCALE_DIR / "aduan.pot").open("rb") as f:
        template = {(m.context or "", str(m.id)) for m in read_po(f) if m.id}
    assert template == _marked(), "run make messages"


def test_texts_follow_the_reader() -> None:
    state = lifecycle.state("closed")
    assert (state.label("id"), state.label("en")) == ("Selesai", "Closed")
    assert i18n.text("state", "Closed", "fr") == "Selesai"  # unknown language: Indonesian
    assert CATEGORIES["kesehatan"] == ("Kesehatan", "Health")
    assert i18n.text("state", "not a marked text", "id") == "not a marked text"
