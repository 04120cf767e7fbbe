"""SMS to 1708 end to end through the real Kannel from Debian: fakesmsc plays the phone,
bearerbox and smsbox's sms-service post each SMS to intake, and intake's answer comes
back to the phone as the reply SMS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from services.launcher import Platform
from tests.channels import KannelGateway
from tests.e2e.helpers import fully_routed, scalar, staff_headers, track, wait_for

pytestmark = pytest.mark.e2e

SECRET = "sms-test-secret-1708"


def test_an_sms_becomes_a_report_and_the_reply_carries_its_number(
    make_platform: Any, tmp_path: Path
) -> None:
    platform: Platform = make_platform("sqlite", extra_env={"INTAKE_SMS_SECRET": SECRET})
    intake = platform.url("intake")
    kannel = KannelGateway(
        tmp_path / "kannel", sms_service_url=f"{intake}/v1/sms/kannel?secret={SECRET}"
    ).start()
    phone = "081398765432"
    try:

        def reply(n: int, to: str = phone) -> str | None:
            got = [m for m in kannel.received() if m.to == to]
            return got[n - 1].text if len(got) >= n else None

        # Help, despite the typo and the case.
        kannel.send(phone, "bantun")
        assert "CEK <no>" in wait_for(lambda: reply(1), 30, "the help SMS")

        # A report: the place is in the text; the reply has the tracking number.
        kannel.send(phone, "Jalan berlubang besar di Jl. Cikutra depan Pasar Cicadas, Kota Bandung")
        text = wait_for(lambda: reply(2), 30, "the reply SMS")
        assert "Laporan diterima" in text
        tn = text.split("#", 1)[1][:7]
        view = wait_for(lambda: fully_routed(platform, tn), what="routed")
        assert view["agency"] == "Pemerintah Kota Bandung" and view["category"] == "infrastruktur"

        # Without a place: asked for it, then the next SMS completes the same report.
        kannel.send(phone, "Lampu jalan mati di gang sebelah masjid sejak Senin")
        assert "kota/kabupaten" in wait_for(lambda: reply(3), 30, "asked for the place")
        kannel.send(phone, "Surabaya")
        second = wait_for(lambda: reply(4), 30, "the second report")
        tn2 = second.split("#", 1)[1][:7]
        assert track(platform, tn2).json()["regency_code"] == "35.78"

        # Status, for the reporter's phone only.
        kannel.send(phone, f"status {tn}")
        assert f"#{tn}" in wait_for(lambda: reply(5), 30, "the status SMS")
        # INFO glued to the number adds to the report (it used to start a new draft).
        kannel.send(phone, f"info{tn} lokasinya dekat pasar")
        assert f"Informasi untuk #{tn}" in wait_for(lambda: reply(6), 30, "the INFO reply")
        wait_for(
            lambda: any(
                h["kind"] == "information_added" and "dekat pasar" in h["detail"]
                for h in track(platform, tn).json()["history"]
            ),
            what="the addition on the report",
        )
        # BALAS answers the agency the report is with (a typo forgiven).
        kannel.send(phone, f"blas {tn} tolong segera, sudah ada yang jatuh")
        assert f"Balasan untuk #{tn}" in wait_for(lambda: reply(7), 30, "the BALAS reply")
        wait_for(
            lambda: any(
                h["kind"] == "reply" and "sudah ada yang jatuh" in h["detail"]
                for h in track(platform, tn).json()["history"]
            ),
            what="the reply on the report",
        )
        # A draft says what it keeps and how to cancel it; BATAL cancels; STOP is no draft.
        kannel.send(phone, "Pungutan liar di kantor kelurahan saat urus KTP")
        kept = wait_for(lambda: reply(8), 30, "the draft reply")
        assert 'Kami simpan "Pungutan liar di kantor k..." 24 jam' in kept and "BATAL" in kept
        kannel.send(phone, "batal")
        assert "dihapus" in wait_for(lambda: reply(9), 30, "the BATAL reply")
        reports = scalar(platform, "intake", "SELECT count(*) FROM reports")
        kannel.send(phone, "STOP")
        assert "dihentikan" in wait_for(lambda: reply(10), 30, "the STOP reply")
        kannel.send(phone, "Kota Bandung")  # no draft waits, and a place alone is no report
        assert "Tulis keluhan" in wait_for(lambda: reply(11), 30, "after STOP")
        assert scalar(platform, "intake", "SELECT count(*) FROM reports") == reports
        # Notifications learnt it: no notice goes to this phone by SMS, until MULAI.
        e164 = "+62" + phone[1:]
        wait_for(
            lambda: (
                scalar(
                    platform,
                    "notifications",
                    f"SELECT count(*) FROM contacts WHERE phone = '{e164}' AND NOT sms_notices",
                )
                >= 1
            ),
            what="notifications stopped SMS to the phone",
        )
        kannel.send(phone, "mulai lagi")
        assert "dinyalakan" in wait_for(lambda: reply(12), 30, "the MULAI reply")
        wait_for(
            lambda: (
                scalar(
                    platform,
                    "notifications",
                    f"SELECT count(*) FROM contacts WHERE phone = '{e164}' AND NOT sms_notices",
                )
                == 0
            ),
            what="notifications send SMS to the phone again",
        )
        other = "081311112222"
        kannel.send(other, f"STATUS {tn}")
        assert "tidak ditemukan" in wait_for(lambda: reply(1, other), 30, "another phone")

        # A phone the administrators blocked: told so, and no report.
        blocked = httpx.post(
            f"{intake}/v1/blocked-senders",
            json={"phone": other, "reason": "SMS iklan berulang"},
            headers=staff_headers(platform),
        )
        assert blocked.status_code == 201
        kannel.send(other, "Promo pulsa murah hubungi kami, Kota Bandung")
        assert "diblokir" in wait_for(lambda: reply(2, other), 30, "the blocked reply")
    finally:
        kannel.stop()

    # The webhook: the shared secret and an allowed address, or nothing.
    base = f"{intake}/v1/sms/kannel"
    assert httpx.get(base, params={"from": phone, "text": "x"}).status_code == 403
    assert httpx.get(base, params={"secret": "wrong", "from": phone}).status_code == 403
    # A sender nobody can answer (an operator's name): no reply (Kannel sends none for an
    # empty answer), no report, counted; a foreign number: a polite reply, no report.
    before = scalar(platform, "intake", "SELECT count(*) FROM reports")
    for sender in ("TELKOMSEL", "garbage", ""):
        quiet = httpx.get(
            base, params={"secret": SECRET, "from": sender, "text": "Jalan rusak, Kota Bandung"}
        )
        assert quiet.status_code == 200 and quiet.text == "", sender
    foreign = httpx.get(
        base, params={"secret": SECRET, "from": "+442071234567", "text": "Jalan rusak di Bandung"}
    )
    assert foreign.status_code == 200 and "nomor seluler Indonesia" in foreign.text
    assert scalar(platform, "intake", "SELECT count(*) FROM reports") == before
    metrics = httpx.get(f"{intake}/metrics").text
    assert 'aduan_sms_unanswered_total{reason="unanswerable_sender"} 3.0' in metrics
    # The same text twice within a minute, each with its own Kannel id: one report.
    twice = {
        "secret": SECRET,
        "from": "081355553333",
        "text": "Sampah menumpuk di TPS Jl. Cikutra sejak seminggu, Kota Bandung",
    }
    one = httpx.get(base, params={**twice, "id": "kannel-a"}).text
    two = httpx.get(base, params={**twice, "id": "kannel-b", "text": twice["text"] + " "}).text
    assert one == two and "#" in one
    assert scalar(platform, "intake", "SELECT count(*) FROM reports") == before + 1
    # An SMS delivered twice (the same Kannel id) makes one report.
    before = scalar(platform, "intake", "SELECT count(*) FROM reports")
    params = {
        "secret": SECRET,
        "from": "081355554444",
        "to": "1708",
        "id": "kannel-msg-1",
        "text": "Sampah menumpuk di pasar, Kota Bandung",
    }
    first, again = httpx.get(base, params=params).text, httpx.get(base, params=params).text
    assert first == again and "#" in first
    assert scalar(platform, "intake", "SELECT count(*) FROM reports") == before + 1
    # Shown masked, never in full, on the citizen's page.
    tn3 = first.split("#", 1)[1][:7]
    assert "081355554444" not in track(platform, tn3).text
    # An INFO or a BALAS sent twice within a minute (a new Kannel id each time) is added
    # once; both copies get the same answer.
    for words in (f"INFO {tn} ada tiang listrik roboh juga", f"BALAS {tn} mohon dikabari lagi"):
        answers = {
            httpx.get(
                base, params={"secret": SECRET, "from": phone, "id": f"k-{i}", "text": w}
            ).text
            for i, w in enumerate((words, words.lower() + "  "))
        }
        assert len(answers) == 1 and f"#{tn}" in answers.pop(), words
    history = track(platform, tn).json()["history"]
    assert sum("tiang listrik roboh" in h["detail"] for h in history) == 1
    assert sum("mohon dikabari lagi" in h["detail"] for h in history) == 1
