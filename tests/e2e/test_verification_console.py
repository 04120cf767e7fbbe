"""The verifiers' console in a real headless Chromium (Debian's, driven by Playwright):
sign in with a staff token, find the queued report first in the queue, read the checks'
findings, protect the reporter and verify with one key, and see the report routed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from services import auth
from services.launcher import Platform
from tests.e2e.helpers import NAMED_ANONYMOUS, fully_routed, submit, wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_a_verifier_signs_in_reads_the_findings_and_verifies_with_one_key(
    make_platform: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium missing: make installs Debian's chromium"
    platform: Platform = make_platform("sqlite")
    named = submit(
        platform,
        **NAMED_ANONYMOUS,
        reporter={"phone": "081200000009"},
    )
    base = platform.url("verification")
    token = platform.staff_token(auth.Role.verifier, "verifikator-ui")
    officer = platform.staff_token(auth.Role.agency_officer, "petugas-ui", "pemda-32.73")

    def queued() -> bool:
        r = httpx.get(f"{base}/v1/queue", headers={"authorization": f"Bearer {token}"})
        return any(c["report_id"] == named["report_id"] for c in r.json())

    wait_for(queued, what="the report in the queue")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page()
            # Not signed in: the console sends us to sign in, and comes back after.
            page.goto(f"{base}/console/queue")
            assert "/console/login" in page.url
            # An agency officer's token does not open the verifiers' console.
            page.fill("#token", officer)
            page.click("button[type=submit]")
            assert "Peran Anda tidak dapat" in page.inner_text("[role=alert]")
            page.fill("#token", token)
            page.click("button[type=submit]")
            page.wait_for_url("**/console/queue")
            row = page.locator(f"tr[data-report='{named['report_id']}']")
            assert f"#{named['tracking_number']}" in row.inner_text()
            assert "privacy" in row.inner_text()  # why it is here
            page.screenshot(path=str(tmp_path / "queue.png"))
            # English is one click away, and stays.
            page.click("text=English")
            assert "Verification queue" in page.inner_text("h1")
            page.click("text=Bahasa Indonesia")

            row.locator("a").click()
            page.wait_for_url(f"**/console/cases/{named['report_id']}")
            findings = page.inner_text("#findings")
            assert "Privasi pelapor" in findings and "anonymous_names_reporter" not in findings
            assert "nama: Budi Santoso" in findings
            assert "081200000009" not in page.content()  # verification has no contact data

            # "v" jumps to the verify form; the verifier redacts and protects.
            page.keyboard.press("v")
            assert page.evaluate("document.activeElement.name") == "reason"
            page.keyboard.type("Lengkap; nama pelapor dihapus dari judul.")
            page.fill("#verify input[name=title]", "Lampu jalan mati di Jalan Cikutra")
            page.check("#verify input[name=anonymous]")
            page.screenshot(path=str(tmp_path / "case.png"))
            page.click("#verify button[type=submit]")
            page.wait_for_url("**/console/queue?done=*")
            assert f"#{named['tracking_number']}" in page.inner_text("[role=status]")
            assert page.locator(f"tr[data-report='{named['report_id']}']").count() == 0

            # The audit log on the report's page names the verifier.
            page.goto(f"{base}/console/cases/{named['report_id']}")
            audit = page.inner_text("#audit")
            assert "verifikator-ui (verifikator)" in audit and "Diverifikasi" in audit

            # A forged form (no CSRF value) is refused.
            forged = page.request.post(
                f"{base}/console/cases/{named['report_id']}/reject",
                form={"reason_code": "abuse", "reason": "forged"},
            )
            assert forged.status == 403
        finally:
            browser.close()

    routed = wait_for(lambda: fully_routed(platform, named["tracking_number"]), what="routed")
    assert routed["status"] == "routed"
