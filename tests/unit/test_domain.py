"""Pure rules of each service: no broker, no database."""

from __future__ import annotations

import pytest

from intake import domain as intake
from notifications import domain as notes
from services import lifecycle
from services.logs import redact
from verification import checks

WIB = "Asia/Jakarta"


class TestIntakeRules:
    @pytest.mark.parametrize(
        ("raw", "e164"),
        [
            ("081234567890", "+6281234567890"),
            ("+62 812-3456-7890", "+6281234567890"),
            ("6281234567890", "+6281234567890"),
            ("0812 3456 789", "+628123456789"),
        ],
    )
    def test_phone_normalised_to_e164(self, raw: str, e164: str) -> None:
        assert intake.normalise_phone(raw) == e164

    @pytest.mark.parametrize("raw", ["12345", "+1 415 555 0100", "0812", "abc", "021-555-1234"])
    def test_bad_phone_refused(self, raw: str) -> None:
        with pytest.raises(ValueError):
            intake.normalise_phone(raw)

    def test_phone_masked_last_four(self) -> None:
        assert intake.mask_phone("+6281234567890") == "0812-3456-XXXX"

    def test_tracking_numbers_are_seven_digits_and_spread(self) -> None:
        numbers = [intake.new_tracking_number() for _ in range(2000)]
        assert all(len(n) == 7 and n.isdigit() and n[0] != "0" for n in numbers)
        assert len(set(numbers)) > 1990
        ordered = sorted(int(n) for n in numbers[:50])
        assert ordered != [int(n) for n in numbers[:50]]  # not handed out in sequence

    def test_every_status_is_a_lifecycle_state_with_both_labels(self) -> None:
        assert set(intake.STATUSES) == set(lifecycle.STATES)
        for _, label_id, label_en in intake.STATUSES.values():
            assert label_id and label_en and label_id != label_en


class TestVerification:
    @pytest.mark.parametrize("body", ["", "   ", "123 456 789", "!!! ???", "ok", "tes tes"])
    def test_empty_is_rejected_with_reason(self, body: str) -> None:
        found = checks.abuse("Judul", body, checks.Thresholds())
        assert found is not None and found.rule == "empty"
        assert "kosong" in found.detail and "story" in found.detail
        outcome = checks.decide([found])
        assert (outcome.action, outcome.reason_code) == ("rejected", "empty")

    def test_every_category_says_what_it_needs(self) -> None:
        assert set(checks.REQUIRED) == set(intake.CATEGORIES)


class TestNotifications:
    def test_templates_in_both_languages(self) -> None:
        for template in notes.TEMPLATES:
            id_text = notes.render(
                template, "id", tracking_number="1234567", agency_name="X", reason="r"
            )
            en_text = notes.render(
                template, "en", tracking_number="1234567", agency_name="X", reason="r"
            )
            assert "1234567" in id_text and "1234567" in en_text and id_text != en_text

    def test_channel_choice_and_masking(self) -> None:
        assert notes.channel_for("+628123", "a@b.id") == "sms"
        assert notes.channel_for(None, "a@b.id") == "email"
        assert notes.channel_for(None, None) is None
        assert notes.mask("+6281234567890") == "+628123456XXXX"
        assert notes.mask("siti@example.id") == "***@example.id"


def test_logs_redact_contact_data() -> None:
    text = redact("reply to siti.aminah@example.id or 081234567890 / +6281234567890")
    assert "siti" not in text and "1234567890" not in text


def test_passwords_are_salted_scrypt_hashes() -> None:
    first = intake.hash_password("kopi-susu-hangat-42")
    second = intake.hash_password("kopi-susu-hangat-42")
    assert first != second  # salted
    assert first.startswith("scrypt$32768$8$1$") and "kopi" not in first
    assert intake.check_password("kopi-susu-hangat-42", first)
    assert not intake.check_password("kopi-susu-hangat-43", first)
    assert not intake.check_password("kopi-susu-hangat-42", "md5$abc")
    assert not intake.check_password("x", "scrypt$not$a$hash")


def test_weak_passwords_and_bad_usernames_are_refused() -> None:
    assert intake.password_problem("budi", "pendek") is not None
    assert intake.password_problem("budi", "budi-1234567") is not None
    assert intake.password_problem("budi", "aaaaaaaaaaaa") is not None
    assert intake.password_problem("budi", "teh-manis-dingin-77") is None
    assert intake.USERNAME.fullmatch("warga.bandung")
    assert not intake.USERNAME.fullmatch("Warga Bandung")
    assert not intake.USERNAME.fullmatch("ab")


def test_an_anonim_story_naming_its_reporter_is_noticed() -> None:
    from intake.web import names_self

    story = "Jalan di depan rumah Pak Haryanto berlubang sejak Senin."
    assert names_self(story, "Haryanto Wibowo", None)
    assert not names_self(story, "Siti Aminah", None)
    assert names_self("Hubungi saya di 0812 3456 7890 bila perlu.", None, None)
    assert names_self("Nomor saya berakhir 34567890.", "", "+6281234567890")
    assert names_self("Nama saya tidak penting.", None, None)
    assert not names_self("Lampu jalan mati tiga minggu.", "Budi", "081234567890")
