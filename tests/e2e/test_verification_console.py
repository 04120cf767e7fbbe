"""The verifiers' console in a real headless Chromium (Debian's, driven by Playwright):
sign in with a staff token, find the queued report first in the queue, read the checks'
findings, cover the reporter's name and address and withhold a photo with the redaction
tool, protect the reporter and verify with one key; then see what each audience reads:
the agency and the public the covered version, the reporter and administrators the
original, and an audit line that says where without the words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from services import auth
from services.launcher import Platform
from tests.e2e.helpers import NAMED_ANONYMOUS, console_cookie, fully_routed, submit, wait_for
from tests.unit.test_areas_uploads import _jpeg_with_location

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
    # The reporter adds a photo of their own street: the verifier will withhold it.
    intake = platform.url("intake")
    added = httpx.post(
        f"{intake}/v1/reports/{named['tracking_number']}/attachments",
        data={"secret": named["tracking_secret"], "text": "Foto depan rumah Budi Santoso."},
        files=[("files", ("rumah.jpg", _jpeg_with_location(), "image/jpeg"))],
    )
    assert added.status_code == 201, added.text
    photo = added.json()[0]["attachment_id"]
    verifier = {"authorization": f"Bearer {token}"}
    wait_for(
        lambda: httpx.get(f"{base}/v1/cases/{named['report_id']}", headers=verifier).json()[
            "reporter_files"
        ],
        what="the photo in the case",
    )

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page()
            # Not signed in: the console sends us to sign in, and comes back after.
            page.goto(f"{base}/console/queue")
            assert "/auth/login" in page.url  # the staff sign-in page, on routing
            # An agency officer's token does not open the verifiers' console.
            console_cookie(page, base, "verification", officer)
            page.goto(f"{base}/console/queue")
            assert "/auth/login" in page.url
            console_cookie(page, base, "verification", token)
            page.goto(f"{base}/console/queue")
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
            # The redaction tool: select the name in the report and cover it; type the
            # address; withhold the photo.
            page.evaluate(
                """() => {
                  const story = document.getElementById("story");
                  const node = story.firstChild, at = node.textContent.indexOf("Budi Santoso");
                  const range = document.createRange();
                  range.setStart(node, at); range.setEnd(node, at + "Budi Santoso".length);
                  const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
                }"""
            )
            page.click("#cover-selection")
            assert page.input_value("#redact") == "Budi Santoso"
            page.fill("#redact", page.input_value("#redact") + "\nRT 04/RW 07")
            page.check(f"#verify input[name=withhold][value='{photo}']")
            page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
            page.set_viewport_size({"width": 375, "height": 800})
            page.screenshot(path=str(tmp_path / "case-375.png"), full_page=True)
            page.click("#verify button[type=submit]")
            page.wait_for_url("**/console/queue?done=*")
            assert f"#{named['tracking_number']}" in page.inner_text("[role=status]")
            assert page.locator(f"tr[data-report='{named['report_id']}']").count() == 0

            # The audit log on the report's page names the verifier.
            page.goto(f"{base}/console/cases/{named['report_id']}")
            audit = page.inner_text("#audit")
            assert "verifikator-ui (verifikator)" in audit and "Diverifikasi" in audit
            # Where and how much was covered, and which file: never the covered words.
            assert "Disamarkan" in audit and "passage(s) covered" in audit, audit
            assert f"withheld {photo}" in audit
            assert "Budi" not in page.content() and "RT 04" not in page.content()
            assert "ditahan" in page.inner_text("#reporter-files")

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

    # The agency reads the covered version, and the withheld photo is not theirs to open.
    as_officer = {"authorization": f"Bearer {officer}"}
    copy = httpx.get(
        f"{platform.url('routing')}/v1/reports/{named['report_id']}", headers=as_officer
    )
    assert copy.status_code == 200, copy.text
    assert "Budi" not in copy.text and "RT 04" not in copy.text, copy.text
    assert "[disamarkan]" in copy.json()["story"] and not copy.json()["reporter_files"]
    staff_file = f"{intake}/v1/staff/reports/{named['report_id']}/attachments/{photo}"
    assert httpx.get(staff_file, headers=as_officer).status_code == 404
    assert httpx.get(staff_file, headers=verifier).status_code == 200
    # The public, and the public's search, read the covered version.
    tn = named["tracking_number"]
    public = httpx.get(f"{intake}/laporan/{tn}")
    assert public.status_code == 200 and "[disamarkan]" in public.text
    assert "Budi" not in public.text and "RT 04" not in public.text
    assert tn not in httpx.get(f"{intake}/laporan", params={"q": "Budi Santoso"}).text
    assert tn in httpx.get(f"{intake}/laporan", params={"q": "Lampu jalan mati"}).text
    # Administrators read the original, the reporter their own words.
    admin = {"authorization": f"Bearer {platform.staff_token(auth.Role.administrator, 'adm')}"}
    original = httpx.get(f"{intake}/v1/staff/reports/{named['report_id']}/original", headers=admin)
    assert original.status_code == 200
    assert "Budi Santoso" in original.json()["story"] and original.json()["withheld"] == [photo]
    assert "Budi" not in original.json()["public_story"]
    assert httpx.get(original.url, headers=as_officer).status_code == 403
    own = httpx.get(f"{intake}/v1/reports/{tn}", params={"secret": named["tracking_secret"]})
    assert own.json()["title"] == "Lampu jalan mati"
