"""The citizen's own answers, and intake's limits, end to end: adding information and
replying to the agency with the secret from submission (the tracking number alone opens
nothing), the events they become, and 429 with Retry-After past the limits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.launcher import Platform
from tests.e2e.helpers import fully_routed, staff_headers, submit, track, wait_for

pytestmark = pytest.mark.e2e


def test_the_reporter_adds_information_and_replies_with_the_secret(make_platform: Any) -> None:
    platform: Platform = make_platform("sqlite")
    url = platform.url("intake")
    answer = submit(platform, reporter={"phone": "081377770001"})
    tn, rid, secret = answer["tracking_number"], answer["report_id"], answer["tracking_secret"]

    # Before the agency answered, there is nothing to reply to.
    early = httpx.post(f"{url}/v1/reports/{tn}/replies", json={"secret": secret, "text": "halo"})
    assert early.status_code == 409
    wait_for(lambda: fully_routed(platform, tn), what="routed")

    # The number alone, or a wrong secret: as if the report did not exist.
    for bad in ("salah-rahasia", "x" * 20):
        r = httpx.post(f"{url}/v1/reports/{tn}/information", json={"secret": bad, "text": "abc"})
        assert r.status_code == 404
    missing = httpx.post(f"{url}/v1/reports/{tn}/information", json={"text": "abc"})
    assert missing.status_code == 422

    # The agency answers; then the reporter adds a detail and says it is not solved.
    officer = staff_headers(platform, "agency_officer", "pemda-32.73")
    answered = httpx.post(
        f"{platform.url('routing')}/v1/reports/{rid}/followups",
        data={"text": "Sudah kami perbaiki kemarin."},
        headers=officer,
    )
    assert answered.status_code == 201
    added = httpx.post(
        f"{url}/v1/reports/{tn}/information",
        json={"secret": secret, "text": "Lubangnya tepat di depan toko nomor 12."},
    )
    assert added.status_code == 202, added.text
    replied = httpx.post(
        f"{url}/v1/reports/{tn}/replies",
        json={"secret": secret, "text": "Belum diperbaiki sama sekali.", "satisfied": False},
    )
    assert replied.status_code == 202, replied.text

    # Both reach the agency's page in routing, and the citizen's own page.
    admin = staff_headers(platform)

    def agency_sees() -> dict[str, Any] | None:
        d = httpx.get(f"{platform.url('routing')}/v1/reports/{rid}", headers=admin).json()
        replies = [e for e in d["log"] if e["kind"] == "reply"]
        return d if "toko nomor 12" in d["added"] and replies else None

    seen = wait_for(agency_sees, what="the agency's page")
    assert seen["log"][-1]["satisfied"] is False
    kinds = [h["kind"] for h in track(platform, tn).json()["history"]]
    assert "information_added" in kinds and "reply" in kinds

    # The SLA heard the reply: not solved re-opens the agency's first-response clock.
    def reopened() -> bool | None:
        r = httpx.get(
            f"{platform.url('sla')}/v1/reports/{rid}/sla", headers=staff_headers(platform)
        ).json()
        opened = [c for c in r["clocks"] if c["clock"] == "first_response"]
        return len(opened) >= 2 or None

    wait_for(reopened, what="the agency's clock again")


def test_limits_answer_429_with_retry_after(make_platform: Any) -> None:
    platform: Platform = make_platform(
        "sqlite",
        extra_env={"INTAKE_RATE_PER_IP_PER_MINUTE": "3", "INTAKE_RATE_PER_PHONE_PER_HOUR": "2"},
    )
    url = f"{platform.url('intake')}/v1/reports"
    body = {
        "title": "Lampu jalan mati",
        "body": "Lampu jalan di Jalan Dago depan Taman Cikapayang mati sejak seminggu.",
        "category": "infrastruktur",
        "regency_code": "32.73",
    }
    codes = [
        httpx.post(url, json={**body, "reporter": {"phone": "081377770002"}}).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]  # the phone's limit first (2 per hour)
    r = httpx.post(url, json={**body, "reporter": {"phone": "081377770003"}})
    assert r.status_code == 429  # then the address's (3 per minute)
    assert int(r.headers["retry-after"]) >= 1
    assert "Terlalu banyak" in r.json()["detail"]
