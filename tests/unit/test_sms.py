"""What an SMS to 1708 asks for: commands despite case, spacing and typos, the place and
the category of a free-text report."""

from __future__ import annotations

import pytest

from intake.sms import Command, category_of, find_regency, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BANTUAN", Command("help")),
        ("  bantuan ", Command("help")),
        ("?", Command("help")),
        ("", Command("help")),
        ("Status 1234567", Command("status", "1234567")),
        ("STATSU #1234567", Command("status", "1234567")),  # a typo
        ("cek   1234567", Command("status", "1234567")),
        ("lacak 1234567", Command("status", "1234567")),
        ("TAMBAH 1234567 lokasinya depan toko", Command("add", "1234567", "lokasinya depan toko")),
        ("tambha 1234567 jam 7 pagi", Command("add", "1234567", "jam 7 pagi")),
        # INFO with a number adds to the report; glued, or with a sign between.
        ("INFO 1074276 lokasinya dekat pasar", Command("add", "1074276", "lokasinya dekat pasar")),
        ("info1074276 lokasinya dekat pasar", Command("add", "1074276", "lokasinya dekat pasar")),
        ("Tambah#1074276 jam 7", Command("add", "1074276", "jam 7")),
        ("STATUS:1074276", Command("status", "1074276")),
        ("cek1074276", Command("status", "1074276")),
        # BALAS answers the agency.
        ("BALAS 1074276 sudah diperbaiki", Command("reply", "1074276", "sudah diperbaiki")),
        ("blas 1074276 belum, masih rusak", Command("reply", "1074276", "belum, masih rusak")),
        # Drafts and notices.
        ("BATAL", Command("cancel")),
        ("batal.", Command("cancel")),
        ("STOP", Command("stop")),
        ("Berhenti", Command("stop")),
        ("stop!", Command("stop")),
        ("MULAI", Command("start")),
        ("mulai lagi", Command("start")),
        ("HELP", Command("help")),
        ("tolong", Command("help")),
        ("INFO", Command("help")),
    ],
)
def test_commands(text: str, expected: Command) -> None:
    assert parse(text) == expected


def test_anything_else_is_a_report() -> None:
    got = parse("Jalan  berlubang di Jl. Cikutra, Kota Bandung sejak Senin")
    assert got.kind == "report" and got.text.startswith("Jalan berlubang di Jl.")
    # "Status" with no number, or a word only near a command, is still a report.
    assert parse("Statusnya jalan rusak parah di Surabaya").kind == "report"
    assert parse("Info: lampu jalan mati di Kota Semarang sejak kemarin").kind == "report"
    # A complaint that starts with a command's word is still a complaint.
    assert parse("Stop pungli di kantor kelurahan Cikutra, Kota Bandung").kind == "report"
    assert parse("Batal berangkat karena jembatan putus di Kabupaten Garut").kind == "report"
    assert parse("Mulai kemarin air PDAM mati di Kota Bogor").kind == "report"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Jalan berlubang di Kota Bandung", "32.73"),
        ("jalan rusak di kabupaten bandung dekat soreang", "32.04"),
        ("Lampu mati di bandung", "32.73"),  # a bare name: the city
        ("Sampah menumpuk di SURABAYA", "35.78"),
        ("Banjir di Kota Administrasi Jakarta Timur", "31.75"),
        ("Pungli di kantor kelurahan", None),
    ],
)
def test_the_place_is_read_from_the_text(text: str, code: str | None) -> None:
    assert find_regency(text) == code


def test_the_category_is_guessed_verifiers_correct_it() -> None:
    assert category_of("Ada pungutan liar di kantor desa") == "pungli"
    assert category_of("Listrik padam tiga hari") == "listrik"
    assert category_of("Jalan berlubang besar") == "infrastruktur"
    assert category_of("Antrean KTP lama sekali") == "kependudukan"
    assert category_of("Pelayanan lambat") == "pelayanan-publik"


def test_consent_to_an_identity_request_takes_the_exact_words_only() -> None:
    assert parse("SETUJU 4542662") == parse("setuju #4542662")
    assert parse("SETUJU 4542662").kind == "consent"
    assert parse("Tolak 4542662.").kind == "decline"
    assert parse("tolak 4542662").tracking_number == "4542662"
    # A typo, or more words after the number, is not taken for consent: it is a report.
    assert parse("SETUJA 4542662").kind == "report"
    assert parse("setuju 4542662 tapi jalan masih rusak").kind == "report"
    assert parse("setuju").kind == "report"
