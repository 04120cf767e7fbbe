"""Every SMS the platform sends fits one GSM-7 segment where it can, two at most: a citizen
may pay per 160-character part (70 once one character is outside GSM-7). Counted with
the ``gsm0338`` codec (3GPP TS 23.038), and with notifications' own encoder, which is
what is sent."""

from __future__ import annotations

import math

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest

from intake import sms
from notifications import domain as notices
from services import lifecycle

# The longest agency name in the shipped directory is shorter than this one.
LONG_AGENCY = "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Kepulauan Tanimbar"
TYPICAL_AGENCY = "Pemerintah Kota Bandung"
VALUES = {
    "tracking_number": "1234567",
    "reason": "Laporan tidak menyebut lokasi kejadian. / The report does not say where.",
    "missing": "where when",
    "ombudsman_url": "https://ombudsman.go.id/pengaduan",
    "code": "7KQM-2H4X-PW9C-M3TB-ZX8D",
}
# Templates that carry free text from someone else (a verifier's reason): two parts.
FREE_TEXT = {"rejected"}


def segments(text: str) -> int:
    """Parts a text needs, by the standard's codec: GSM-7 septets, else UTF-16 units."""
    try:
        septets = len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        return 1 if units <= 70 else math.ceil(units / 67)
    return 1 if septets <= 160 else math.ceil(septets / 153)


def sent(text: str) -> int:
    """Parts notifications' encoder gives the text, uncut."""
    return notices.sms_text(text, max_parts=99).parts


def test_the_counter_counts_as_the_standard_says() -> None:
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension: two septets
    assert segments("😀" + "a" * 66) == 1 and segments("😀" + "a" * 69) == 2  # UCS-2
    assert sent("a" * 161) == segments("a" * 161) == 2


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("template", sorted(notices.REPORTER_TEMPLATES))
def test_every_sms_notice_fits_one_segment_two_at_most(template: str, language: str) -> None:
    typical = notices.render(template, language, **{**VALUES, "agency_name": TYPICAL_AGENCY})
    worst = notices.render(template, language, **{**VALUES, "agency_name": LONG_AGENCY})
    assert "$" not in typical, typical  # every variable filled
    assert segments(worst) <= 2 and sent(worst) <= 2, (len(worst), worst)
    if template not in FREE_TEXT:
        assert segments(typical) == sent(typical) == 1, (len(typical), typical)
    # One language only: an Indonesian notice carries no English, and the other way round.
    other = notices.render(template, "en" if language == "id" else "id", **VALUES)
    assert typical != other


def _replies() -> dict[str, str]:
    long_story = "Jalan berlubang besar di depan pasar sejak dua minggu lalu " * 3
    states = {code: lifecycle.label(code, "id") for code in lifecycle.STATES}
    longest_state = max(states.values(), key=len)
    return {
        "help": sms.HELP,
        "ask_place": sms.ask_place(long_story),
        "expired_and_ask": sms.DRAFT_EXPIRED + sms.ask_place(long_story),
        "not_answerable": sms.NOT_ANSWERABLE,
        "status_longest": f"#1234567: {longest_state} ({LONG_AGENCY}).",
        "received_after_expired": sms.DRAFT_EXPIRED
        + "Laporan diterima, nomor #1234567. Cek: CEK 1234567. Tambah: INFO 1234567 <teks>.",
        **{f"reply:{k}": v for k, v in sms.REPLIES.items()},
    }


@pytest.mark.parametrize(("name", "text"), sorted(_replies().items()))
def test_every_sms_reply_fits_one_segment(name: str, text: str) -> None:
    filled = text.format(tn="1234567", agency=LONG_AGENCY[:60])
    limit = 2 if name.startswith("expired") or name.endswith("after_expired") else 1
    assert segments(filled) <= limit and sent(filled) <= limit, (len(filled), filled)
