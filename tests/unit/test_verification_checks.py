"""Verification's automatic checks: each explains itself, and on the labelled sets the
automatic rejections stay precise (rejecting a valid report is the harm LAPOR! did)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.verification_checks import DATA, HELD_OUT, evaluate, load, scores
from verification.checks import (
    Earlier,
    Thresholds,
    abuse,
    completeness,
    decide,
    duplicate,
    elements,
    out_of_scope,
    privacy,
    run_checks,
)

T = Thresholds()
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def check(**overrides: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "title": "Jalan berlubang",
        "body": "Jalan Cikutra depan SD Negeri 5 berlubang besar sejak dua minggu dan "
        "sudah ada motor yang jatuh.",
        "category": "infrastruktur",
        "anonymous": False,
        "reporter_ref": "r1",
        "regency_code": "32.73",
        "submitted_at": NOW,
        "earlier": [],
        "recent_by_reporter": 0,
        "blocked_reason": None,
        "thresholds": T,
    }
    args.update(overrides)
    return run_checks(**args)  # type: ignore[arg-type]


def test_a_complete_pothole_report_is_verified() -> None:
    outcome = check()
    assert outcome.action == "verified" and outcome.findings == ()


def test_a_pothole_needs_a_place_and_extortion_needs_who_where_when_how() -> None:
    found = completeness(
        "infrastruktur",
        "Jalan rusak",
        "Jalannya rusak parah banyak lubang dan sering bikin celaka pengendara.",
        T,
    )
    assert found is not None and found.evidence == ("where",)
    assert "di mana" in found.detail and "where" in found.detail
    extortion = completeness(
        "pungli",
        "Ada pungli",
        "Ada pungutan liar yang sangat meresahkan masyarakat, mohon ditindak tegas.",
        T,
    )
    assert extortion is not None and extortion.evidence == ("who", "where", "when", "how")
    full = completeness(
        "pungli",
        "Pungli KTP",
        "Selasa 14 Oktober pukul 10 di kantor Kecamatan Coblong petugas loket meminta "
        "uang Rp 150.000 tanpa kuitansi.",
        T,
    )
    assert full is None


def test_elements_name_the_words_that_show_them() -> None:
    found = elements(
        "x", "Kemarin pukul 9 di Puskesmas Sememi dokter meminta Rp 50.000 untuk surat.", 6
    )
    assert "Puskesmas Sememi" in found["where"]
    assert any("pukul 9" in w for w in found["when"]) and "Kemarin" in found["when"]
    assert "dokter" in found["who"] and any("Rp" in w for w in found["how"])
    # A place noun followed by an ordinary word is no place.
    assert "where" not in elements("x", "Pelayanan di puskesmas sangat buruk sekali.", 6)


def test_an_incomplete_report_asks_for_what_is_missing_instead_of_rejecting() -> None:
    outcome = check(body="Jalannya rusak parah banyak lubang, tolong segera diperbaiki.")
    assert outcome.action == "information_requested"
    assert outcome.missing == ("where",) and outcome.reason_code == "incomplete"


def test_legal_cases_go_elsewhere_but_complaints_about_police_service_stay() -> None:
    legal = out_of_scope(
        "pelayanan-publik",
        "Warisan",
        "Paman menguasai tanah warisan dan saya ingin menggugat ke pengadilan.",
    )
    assert legal is not None and legal.confident and "pengadilan" in legal.detail
    assert "warisan" in legal.evidence
    service = out_of_scope(
        "kepolisian",
        "Laporan pencurian tidak diproses",
        "Laporan pencurian saya di Polsek Coblong belum diproses dan tidak ada SP2HP.",
    )
    assert service is None
    # One legal word beside a street problem ("rawan begal") is no legal case.
    assert out_of_scope("infrastruktur", "Lampu mati", "Jalan gelap dan rawan begal.") is None


def test_abuse_empty_advertising_and_nonsense() -> None:
    empty = abuse("tes", "ok sip", T)
    assert empty is not None and empty.rule == "empty"
    ads = abuse("Promo", "Promo pinjaman cepat cair, klik bit.ly/x sekarang", T)
    assert ads is not None and ads.rule == "advertising" and ads.confident
    mash = abuse("asdf", "asdfghjkl qwertyuiop zxcvbnm asdf", T)
    assert mash is not None and mash.rule == "nonsense"
    names = abuse(
        "Jalan Demang Lebar Daun amblas",
        "Jalan Demang Lebar Daun dekat simpang Polda amblas lima meter.",
        T,
    )
    assert names is None  # place names are words, not mashing


def test_privacy_hint_for_an_anonymous_report_naming_its_reporter() -> None:
    body = "Nama saya Budi Santoso, hubungi 081234567890. Jalan Kaligawe berlubang."
    found = privacy(True, "Jalan", body)
    assert found is not None and not found.confident
    assert "nama: Budi Santoso" in found.evidence
    assert any(e.startswith("telepon: ") and e.endswith("XXXX") for e in found.evidence)
    assert "081234567890" not in " ".join(found.evidence)
    assert privacy(False, "Jalan", body) is None
    outcome = check(anonymous=True, body="Nama saya Budi Santoso. " + check().reason)
    assert outcome.action == "queued" and "privacy" in outcome.reason


def test_duplicates_by_the_same_reporter_or_about_the_same_place() -> None:
    first = Earlier(
        "r-1",
        "1234567",
        "r1",
        "infrastruktur",
        "32.73",
        "Jalan Cikutra depan SD Negeri 5 berlubang besar sejak dua minggu, motor jatuh.",
        NOW - timedelta(days=2),
    )
    again = check(earlier=[first])
    assert again.action == "rejected" and again.reason_code == "duplicate"
    assert again.duplicate_of == "r-1" and "#1234567" in again.reason
    other = duplicate(
        "r2",
        "infrastruktur",
        "32.73",
        "Lubang besar di Jalan Cikutra depan SD Negeri 5, pengendara motor jatuh.",
        NOW,
        [first],
        T,
    )
    assert other is not None and other.rule == "same_place"
    # Another citizen is told the number only of a report they could open themselves.
    assert "#1234567" not in other.detail and "warga lain" in other.detail
    assert other.evidence[:2] == ("r-1", "1234567")  # staff still see the link
    public = duplicate(
        "r2",
        "infrastruktur",
        "32.73",
        "Lubang besar di Jalan Cikutra depan SD Negeri 5, pengendara motor jatuh.",
        NOW,
        [Earlier(**{**first.__dict__, "public": True})],
        T,
    )
    assert public is not None and "#1234567" in public.detail
    # Outside the window, or in another regency: a new case.
    assert (
        check(
            earlier=[
                first.__class__(**{**first.__dict__, "submitted_at": NOW - timedelta(days=60)})
            ]
        ).action
        == "verified"
    )
    elsewhere = Earlier(**{**first.__dict__, "reporter_ref": "r9", "regency_code": "35.78"})
    assert check(earlier=[elsewhere]).action == "verified"


def test_blocked_senders_and_floods() -> None:
    assert check(blocked_reason="spam berulang").reason_code == "abuse"
    flooded = check(recent_by_reporter=T.flood_per_hour)
    assert flooded.action == "queued" and "flood" in flooded.reason


def test_decide_prefers_the_most_serious_confident_finding() -> None:
    assert decide([]).action == "verified"


@pytest.mark.parametrize("path", [DATA, HELD_OUT], ids=["labelled", "held-out"])
def test_automatic_rejections_are_precise_on_the_labelled_sets(path) -> None:  # type: ignore[no-untyped-def]
    table = scores(evaluate(load(path)))
    for cls in ("duplicate", "out_of_scope", "spam"):
        assert table[cls]["precision"] >= 0.95, (cls, table[cls])
    # Reports verified automatically are complete ones (the held-out set was written
    # after tuning: its numbers are lower, and are the ones in the closing note).
    assert table["complete"]["precision"] >= 0.9
    assert table["incomplete"]["recall"] >= 0.8
