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
        assert "STATUS" in wait_for(lambda: reply(1), 30, "the help SMS")

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
    bad = httpx.get(base, params={"secret": SECRET, "from": "garbage", "text": "halo"})
    assert bad.status_code == 400
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
