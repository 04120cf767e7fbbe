"""Masking a reporter out of the words they wrote, and contacts out of public texts."""

from __future__ import annotations

import pytest

from services.masking import MASK, identity_pattern, mask_contacts, mask_identity

SITI = identity_pattern("Siti Rahmawati", "+6281277788899", "siti.r@example.id", ["sitir88"])


@pytest.mark.parametrize(
    "written",
    [
        "081277788899",
        "0812-7778-8899",
        "0812 7778 8899",
        "0812.7778.8899",
        "+62 812 7778 8899",
        "+6281277788899",
        "6281277788899",
        "(+62) 812-7778-8899",
        "0 8 1 2 7 7 7 8 8 8 9 9",
        "siti.r@example.id",
        "SITI.R@EXAMPLE.ID",
        "Siti",
        "rahmawati",
        "sitir88",
    ],
)
def test_every_spelling_of_the_reporter_is_masked(written: str) -> None:
    masked = mask_identity(f"Hubungi {written} ya.", SITI)
    assert masked == f"Hubungi {MASK} ya.", masked


def test_other_people_and_numbers_stay() -> None:
    text = "Pak Budi di RT 04/RW 07, Jalan Melati No. 12, sejak 2026, nomor 0812-1111-2222."
    assert mask_identity(text, SITI) == text
    assert mask_identity("apa saja", None) == "apa saja"
    assert identity_pattern(None, None, None) is None


def test_public_texts_lose_every_contact_and_nik() -> None:
    text = (
        "Hubungi 0813 1111 2222, +62 812-3333-4444 atau a.b@c.co.id; NIK 3273 0123 4567 8901 "
        "dan 3273012345678901. Rumah No. 12, RT 04/RW 07, tahun 2026, Rp50.000."
    )
    masked = mask_contacts(text)
    assert masked.count(MASK) == 5, masked
    assert "Rumah No. 12, RT 04/RW 07, tahun 2026, Rp50.000." in masked
