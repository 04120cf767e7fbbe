"""Identity release as the LAPOR! FAQ describes it, through the running platform: an
officer asks with a reason, an administrator approves or refuses, an Anonim reporter
consents or declines on their tracking page; on release the agency in charge, and only
for that report, reads the name and contact at intake; the reporter is told; every step
is in the report's handling log. Another agency never can."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.launcher import Platform
from tests.e2e.helpers import (
    console_cookie,
    fully_routed,
    routing_of,
    staff_headers,
    submit,
    track,
    wait_for,
)

pytestmark = pytest.mark.e2e


def _routed(platform: Platform, **report: Any) -> tuple[dict[str, Any], str]:
    made = submit(platform, **report)
    wait_for(lambda: fully_routed(platform, made["tracking_number"]), what="routed")
    return made, routing_of(platform, made["report_id"])["agency_id"]


def _screenshots(url: str, where: Path) -> None:
    """The consent question as the reporter sees it, on a desktop and on a phone."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_verification_console import CHROMIUM, FLAGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            for width in (1280, 375):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(url)
                assert page.locator("#identity-consent button").count() == 2
                page.screenshot(path=str(where / f"consent-{width}.png"), full_page=True)
                # Nothing wider than the screen on a phone.
                assert page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            browser.close()


def _consoles(platform: Platform, rid: str, agency: str, where: Path) -> None:
    from playwright.sync_api import sync_playwright

    from services import auth
    from tests.e2e.test_verification_console import CHROMIUM, FLAGS

    base = f"{platform.url('routing')}/console"
    officer = platform.staff_token(auth.Role.agency_officer, "petugas-id", agency)
    admin = platform.staff_token(auth.Role.administrator, "admin-id")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            for token, role in ((officer, "officer"), (admin, "admin")):
                ctx = browser.new_context()
                page = ctx.new_page()
                console_cookie(page, platform.url("routing"), "routing", token)
                page.goto(f"{base}/inbox")
                page.wait_for_url("**/console/**")
                if role == "officer":
                    page.goto(f"{base}/reports/{rid}")
                    page.fill("#identity-reason", "Perlu bertemu pelapor untuk menunjukkan lokasi.")
                    page.click("#identity-request button")
                    page.wait_for_selector("#identity .request[data-status=requested]")
                    page.screenshot(path=str(where / "identity-asked.png"), full_page=True)
                    officer_page = page
                else:
                    page.goto(f"{base}/identity")
                    assert "Perlu bertemu pelapor" in page.inner_text("main")
                    page.screenshot(path=str(where / "identity-requests.png"), full_page=True)
                    page.click(".request button[value='1']")
                    page.wait_for_url("**/console/identity?done=released")
            officer_page.reload()
            link = officer_page.locator("#identity-link")
            assert link.count() == 1
            officer_page.set_viewport_size({"width": 375, "height": 800})
            officer_page.screenshot(path=str(where / "identity-released-375.png"), full_page=True)
            shown = officer_page.request.get(link.get_attribute("href") or "")
            assert shown.status == 200 and shown.json()["name"] == "Agus Salim"
        finally:
            browser.close()


def test_identity_reaches_one_agency_for_one_report_only_as_approved_and_consented(
    make_platform: Any, tmp_path: Path
) -> None:
    platform: Platform = make_platform("sqlite")
    routing, intake = platform.url("routing"), platform.url("intake")
    admin = staff_headers(platform)
    named, agency = _routed(platform, reporter={"name": "Rudi Hartono", "phone": "081299911122"})
    officer = staff_headers(platform, "agency_officer", agency)
    stranger = staff_headers(platform, "agency_officer", "pemda-31.71")
    rid = named["report_id"]
    identity = f"{intake}/v1/staff/reports/{rid}/identity"

    # Before any release, and for another agency: nothing.
    assert httpx.get(identity, headers=officer).status_code == 404
    ask = f"{routing}/v1/reports/{rid}/identity-requests"
    reason = {"reason": "Perlu memastikan lokasi tepat bersama pelapor di lapangan."}
    assert httpx.post(ask, json=reason, headers=stranger).status_code == 404
    assert httpx.post(ask, json={"reason": "short"}, headers=officer).status_code == 422
    made = httpx.post(ask, json=reason, headers=officer)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "requested"
    assert httpx.post(ask, json=reason, headers=officer).status_code == 409
    # Only an administrator decides.
    decide = f"{routing}/v1/identity-requests/{made.json()['request_id']}/decision"
    assert httpx.post(decide, json={"approve": True}, headers=officer).status_code == 403
    waiting = httpx.get(f"{routing}/v1/identity-requests", headers=admin).json()
    assert [r["report_id"] for r in waiting] == [rid]
    done = httpx.post(decide, json={"approve": True, "note": "Disetujui"}, headers=admin)
    assert done.json()["status"] == "released"  # a named report needs no consent
    assert httpx.post(decide, json={"approve": False}, headers=admin).status_code == 409

    # The agency in charge reads it at intake (for this report only), no one else.
    seen = wait_for(
        lambda: (r := httpx.get(identity, headers=officer)).status_code == 200 and r.json(),
        what="the release at intake",
    )
    assert seen["name"] == "Rudi Hartono" and seen["phone"] == "+6281299911122"
    assert httpx.get(identity, headers=stranger).status_code == 404
    detail = httpx.get(f"{routing}/v1/reports/{rid}", headers=officer).json()
    assert detail["identity"]["released"] and detail["identity"]["url"] == identity
    kinds = [e["kind"] for e in detail["log"]]
    assert "identity_requested" in kinds and "identity_released" in kinds
    # The reporter is told, on their own page; the public never reads of it.
    own = wait_for(
        lambda: [
            h
            for h in track(
                platform, named["tracking_number"], secret=named["tracking_secret"]
            ).json()["history"]
            if h["kind"] == "identity_released"
        ],
        what="the reporter told",
    )
    assert "instansi ini" in own[0]["label"]
    public = track(platform, named["tracking_number"]).json()["history"]
    assert not [h for h in public if h["kind"].startswith("identity_")]

    # An Anonim report: approval is not enough, the reporter decides.
    anon, agency2 = _routed(
        platform, anonymous=True, reporter={"name": "Sri Wahyuni", "phone": "081277700011"}
    )
    officer2 = staff_headers(platform, "agency_officer", agency2)
    rid2, tn2, code = anon["report_id"], anon["tracking_number"], anon["tracking_secret"]
    identity2 = f"{intake}/v1/staff/reports/{rid2}/identity"
    made = httpx.post(
        f"{routing}/v1/reports/{rid2}/identity-requests", json=reason, headers=officer2
    ).json()
    decided = httpx.post(
        f"{routing}/v1/identity-requests/{made['request_id']}/decision",
        json={"approve": True},
        headers=admin,
    ).json()
    assert decided["status"] == "awaiting_consent"

    def asked() -> str | None:
        text = httpx.get(f"{intake}/lacak/{tn2}", params={"kode": code}).text
        return text if 'id="identity-consent"' in text else None

    page = wait_for(asked, what="the consent asked on the tracking page")
    assert "lokasi tepat" in page
    _screenshots(f"{intake}/lacak/{tn2}?kode={code}", tmp_path)
    assert httpx.get(identity2, headers=officer2).status_code == 404  # not before consent
    # Without the code there is no question to answer, and no one else can answer it.
    assert 'id="identity-consent"' not in httpx.get(f"{intake}/lacak/{tn2}").text
    forged = httpx.post(f"{intake}/lacak/{tn2}/identitas", data={"consent": "ya", "kode": "x" * 12})
    assert forged.status_code == 404
    said = httpx.post(f"{intake}/lacak/{tn2}/identitas", data={"consent": "ya", "kode": code})
    assert said.status_code == 303
    seen = wait_for(
        lambda: (r := httpx.get(identity2, headers=officer2)).status_code == 200 and r.json(),
        what="the release after consent",
    )
    assert seen["name"] == "Sri Wahyuni"
    assert httpx.get(identity2, headers=officer).status_code in (200, 404)
    if agency2 != agency:
        assert httpx.get(identity2, headers=officer).status_code == 404

    # Refused by the administrator, or declined by the reporter: never released.
    for refuse in (True, False):
        other, agency3 = _routed(platform, anonymous=True, reporter={"phone": "081266600022"})
        officer3 = staff_headers(platform, "agency_officer", agency3)
        made = httpx.post(
            f"{routing}/v1/reports/{other['report_id']}/identity-requests",
            json=reason,
            headers=officer3,
        ).json()
        decided = httpx.post(
            f"{routing}/v1/identity-requests/{made['request_id']}/decision",
            json={"approve": not refuse},
            headers=admin,
        ).json()
        if not refuse:
            consent = f"{intake}/v1/reports/{other['tracking_number']}/identity-consent"
            answer = wait_for(
                lambda consent=consent, other=other: (
                    (
                        r := httpx.post(
                            consent, json={"secret": other["tracking_secret"], "consent": False}
                        )
                    ).status_code
                    == 200
                    and r.json()
                ),
                what="the question at intake",
            )
            assert answer["status"] == "declined"
            wait_for(
                lambda made=made: httpx.get(
                    f"{routing}/v1/identity-requests", params={"status": "declined"}, headers=admin
                ).json(),
                what="the decline at routing",
            )
        else:
            assert decided["status"] == "refused"
        url = f"{intake}/v1/staff/reports/{other['report_id']}/identity"
        assert httpx.get(url, headers=officer3).status_code == 404
    # The same through the consoles, in Chromium: the officer asks on the report's page,
    # the administrator approves on the requests' page, the officer opens the identity.
    console_case, agency4 = _routed(
        platform, reporter={"name": "Agus Salim", "phone": "081211122233"}
    )
    _consoles(platform, console_case["report_id"], agency4, tmp_path)

    # No identity in the services' logs (who read it is logged, never what).
    for log in Path(platform.log_dir).glob("*.log"):
        text = log.read_text(errors="replace")
        assert not re.search(r"Rudi Hartono|Sri Wahyuni|81299911122|81277700011", text), log
