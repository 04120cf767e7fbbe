"""The agencies' console in a real headless Chromium (Debian's, driven by Playwright): an
officer signs in, finds the report in the inbox, posts a follow-up with a photo, forwards
it to a kecamatan, reads the reporter's reply and marks it done; an officer of another
agency cannot open it; an administrator connects a region from the directory, which
releases its pending report, and tries a rule in the dry run."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from services import auth
from services.contracts import ReportReporterReplied
from services.launcher import Platform
from tests.e2e.helpers import (
    console_cookie,
    fully_routed,
    publish,
    staff_headers,
    submit,
    track,
    wait_for,
)
from tests.e2e.test_verification_console import CHROMIUM, FLAGS

pytestmark = pytest.mark.e2e


def _sign_in(page: Any, base: str, token: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/console/inbox")
    assert "/auth/login" in page.url  # not signed in: the staff sign-in page
    console_cookie(page, base, "routing", token)
    page.goto(f"{base}/console/inbox")
    page.wait_for_url("**/console/inbox")


def test_an_officer_handles_a_report_and_an_administrator_connects_a_region(
    make_platform: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium missing: make installs Debian's chromium"
    platform: Platform = make_platform("sqlite")
    base = platform.url("routing")
    report = submit(platform, district_code="32.73.01", reporter={"phone": "081322220001"})
    held = submit(platform, regency_code="95.01", reporter={"phone": "081322220002"})
    wait_for(lambda: fully_routed(platform, report["tracking_number"]), what="routed")
    wait_for(
        lambda: (
            track(platform, held["tracking_number"]).json()["status"] == "pending_region" or None
        ),
        what="pending",
    )
    officer = platform.staff_token(auth.Role.agency_officer, "petugas-bdg", "pemda-32.73")
    outsider = platform.staff_token(auth.Role.agency_officer, "petugas-sby", "pemda-35.78")
    admin = platform.staff_token(auth.Role.administrator, "admin-nasional")
    photo = tmp_path / "jalan.png"
    img = Image.new("RGB", (32, 32), (90, 90, 90))
    info = PngInfo()
    info.add_text("Comment", "lokasi-rahasia")
    img.save(photo, "PNG", pnginfo=info)
    assert b"lokasi-rahasia" in photo.read_bytes()
    # The reporter attached a letter; the agency opens it from intake, signed in once.
    letter = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    attached = httpx.post(
        f"{platform.url('intake')}/v1/reports/{report['tracking_number']}/attachments",
        data={"secret": report["tracking_secret"]},
        files=[("files", ("surat.pdf", letter, "application/pdf"))],
    )
    assert attached.status_code == 201, attached.text

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page()
            _sign_in(page, base, officer)
            row = page.locator(f"tr[data-report='{report['report_id']}']")
            assert "Kota Bandung" in row.inner_text()
            assert "Dinas Pekerjaan Umum" in row.inner_text()
            row.locator("a").click()
            page.wait_for_url(f"**/console/reports/{report['report_id']}")
            assert "Jalan Cikutra" in page.inner_text("#story")
            assert "Kecamatan Sukasari" in page.inner_text("#summary")
            assert "081322220001" not in page.content()

            def files_shown() -> bool | None:
                page.reload()
                return page.locator("#reporter-files a").count() == 1 or None

            wait_for(files_shown, what="the reporter's file on the console")
            with page.expect_download() as got:
                page.click("#reporter-files a")
            assert Path(got.value.path()).read_bytes() == letter

            # A follow-up with a photo: posted, logged, the photo without its text chunk.
            page.fill("#followup textarea[name=text]", "Tim UPT sudah meninjau lokasi hari ini.")
            page.set_input_files("#followup input[type=file]", str(photo))
            page.click("#followup button[type=submit]")
            page.wait_for_selector("tr.entry-followup")
            entry = page.inner_text("tr.entry-followup")
            assert (
                "Tim UPT sudah meninjau" in entry
                and "lampiran-1.png" in entry
                and "jalan.png" not in entry
            )
            link = page.locator("tr.entry-followup a").get_attribute("href")
            got = page.request.get(f"{base}{link}")
            assert got.status == 200 and b"lokasi-rahasia" not in got.body()
            with Image.open(io.BytesIO(got.body())) as stored:
                assert stored.size == (32, 32)

            # Forward to the right kecamatan.
            page.select_option("#forward select[name=to]", "kec-32.73.02")
            page.fill("#forward textarea[name=reason]", "Lokasi di wilayah Coblong")
            page.click("#forward button[type=submit]")
            page.wait_for_selector("#subunit")
            assert "Kecamatan Coblong" in page.inner_text("#subunit")

            # The reporter's reply arrives on the same page.
            reply = ReportReporterReplied(
                report_id=report["report_id"],
                reply_id=uuid.uuid4().hex,
                satisfied=None,
                text="Terima kasih, lubangnya di depan nomor 12.",
                replied_at=datetime.now(UTC),
            )
            publish(
                platform, "report.reporter_replied", "/aduan/intake", reply, report["report_id"]
            )

            def reply_shown() -> bool | None:
                page.reload()
                return "lubangnya di depan nomor 12" in page.inner_text("#history") or None

            wait_for(reply_shown, what="the reply on the page")
            page.fill("#resolve textarea[name=summary]", "Lubang ditambal.")
            page.click("#resolve button[type=submit]")
            page.wait_for_selector("tr.entry-resolved")
            assert "Selesai menurut instansi" in page.inner_text("#status")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            # English is one click away.
            page.click("text=English")
            assert "Handling history" in page.inner_text("#history")
            page.click("text=Bahasa Indonesia")

            # An officer of another city cannot open it, nor post to it.
            other = browser.new_page()
            _sign_in(other, base, outsider)
            assert other.locator(f"tr[data-report='{report['report_id']}']").count() == 0
            response = other.goto(f"{base}/console/reports/{report['report_id']}")
            assert response is not None and response.status == 404
            assert other.goto(f"{base}/console/directory").status == 403  # type: ignore[union-attr]
            # A forged post without the CSRF value is refused.
            forged = other.request.post(
                f"{base}/console/reports/{report['report_id']}/resolve",
                form={"summary": "palsu"},
            )
            assert forged.status == 403

            # The administrator connects Kabupaten Jayawijaya: its pending report goes.
            adm = browser.new_page()
            _sign_in(adm, base, admin)
            adm.goto(f"{base}/console/pending")
            assert "95.01" in adm.inner_text("#pending")
            adm.goto(f"{base}/console/directory?q=jayawijaya&kind=pemkab")
            adm.click("#agencies a")
            assert "Belum terhubung" in adm.inner_text("#connection")
            adm.click("#connect button")
            adm.wait_for_selector("[role=status]")
            assert "1 laporan dilepaskan" in adm.inner_text("[role=status]")
            assert "Terhubung" in adm.inner_text("#connection")
            # A new unit under it, from the same page.
            adm.fill("#add-unit input[name=code]", "upt-jalan")
            adm.fill("#add-unit input[name=name]", "UPT Jalan dan Jembatan")
            adm.check("#add-unit input[value=infrastruktur]")
            adm.click("#add-unit button[type=submit]")
            adm.wait_for_selector("text=UPT Jalan dan Jembatan")
            # The dry run says where a report would go.
            adm.goto(f"{base}/console/rules")
            adm.select_option("#dry-run select[name=category]", "kesehatan")
            adm.fill("#dry-run input[name=regency_code]", "31.71")
            adm.fill("#dry-run input[name=district_code]", "31.71.01")
            adm.click("#dry-run button[type=submit]")
            trial = adm.inner_text("#trial")
            assert "Daerah Khusus Ibukota Jakarta" in trial and "Dinas Kesehatan" in trial
            assert "Kecamatan Gambir" in trial
            adm.screenshot(path=str(tmp_path / "rules.png"), full_page=True)
        finally:
            browser.close()

    released = wait_for(lambda: fully_routed(platform, held["tracking_number"]), what="released")
    assert released["agency"] == "Pemerintah Kabupaten Jayawijaya"
    r = httpx.get(
        f"{base}/v1/reports/{held['report_id']}",
        headers=staff_headers(platform, "agency_officer", "pemda-95.01"),
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["unit_id"] == "pemda-95.01-pupr"
    unit = httpx.get(
        f"{base}/v1/agencies/pemda-95.01-upt-jalan", headers=staff_headers(platform), timeout=10
    ).json()
    assert unit["parent_id"] == "pemda-95.01" and unit["categories"] == ["infrastruktur"]
