"""The citizens' web pages in a real headless Chromium (Debian's, driven by Playwright):
report through the guided form (type, the category's needs, province, regency and
district pickers, a map point, a photo attached), keep the number and code, follow the
report, download the photo without its EXIF, add a PDF, read the agency's answer, reply;
the Anonim warning; the public list and statistics show the report and nothing of who
reported; an account: sign up, report signed in, find and open the report without a
code, the username on the public page."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from services.launcher import Platform
from tests.e2e.helpers import fully_routed, staff_headers, wait_for
from tests.e2e.test_verification_console import CHROMIUM, FLAGS
from tests.unit.test_areas_uploads import _jpeg_with_location

pytestmark = pytest.mark.e2e


# Pixels the page is wider than the screen (sideways scrolling).
PHONE_OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# Visible links, buttons and fields less than 44 px tall (radio buttons and check boxes
# count by their label, which is the target; a link inside a sentence is exempt, as in
# WCAG 2.5.8).
SMALL_TARGETS = """[...document.querySelectorAll('a, button, input, select, textarea')]
  .filter(e => e.type !== 'hidden' && e.type !== 'radio' && e.type !== 'checkbox')
  .filter(e => !(e.tagName === 'A' && e.parentElement.tagName === 'P'
                 && e.parentElement.textContent.trim() !== e.textContent.trim()))
  .filter(e => { const r = e.getBoundingClientRect();
                 return r.width > 0 && r.height > 0 && r.height < 44; })
  .map(e => e.tagName + ' ' + (e.id || e.getAttribute('href') || e.name))"""
# Visible fields that no label names.
UNLABELLED = """[...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && e.type !== 'submit' && e.getBoundingClientRect().width > 0)
  .filter(e => !e.labels || e.labels.length === 0)
  .map(e => e.id || e.name)"""


def _pick_bandung(page: Any) -> None:
    """Province Jawa Barat, then Kota Bandung, as the pickers fill from the areas."""
    page.select_option("#province", "32")
    page.wait_for_selector("#regency_code option[value='32.73']", state="attached")
    page.select_option("#regency_code", "32.73")


def test_a_citizen_reports_follows_and_replies_on_the_web(
    make_platform: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium missing: make installs Debian's chromium"
    platform: Platform = make_platform("sqlite")
    base = platform.url("intake")
    photo = tmp_path / "IMG_20261120_Budi.jpg"
    photo.write_bytes(_jpeg_with_location())
    letter = tmp_path / "surat.pdf"
    letter.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/lapor")
            page.select_option("#category", "pungli")
            assert "siapa" in page.inner_text("#needs")  # what extortion needs
            page.select_option("#category", "infrastruktur")
            assert "di mana" in page.inner_text("#needs")
            page.fill("#title", "Jalan berlubang di depan pasar")
            page.fill(
                "#body",
                "Nama saya Budi. Jalan Cikutra di depan Pasar Cicadas berlubang besar sejak "
                "dua minggu lalu dan dua pengendara motor jatuh.",
            )
            page.fill("#event_date", "2026-11-20")
            _pick_bandung(page)
            page.wait_for_selector("#district_code option[value='32.73.01']", state="attached")
            page.select_option("#district_code", "32.73.01")
            page.check("#type-complaint")
            page.fill("#latitude", "-6.9022")
            page.fill("#longitude", "107.6345")
            page.set_input_files("#lampiran", str(photo))
            assert "5" in page.inner_text("#files-help")  # the limits, said up front
            page.check("#anonymous")
            page.fill("#phone", "081366660001")
            page.click("#report button[type=submit]")
            # Anonim, but the story names the reporter: warned, nothing sent yet.
            page.wait_for_selector("#self-named")
            assert page.input_value("#regency_code") == "32.73"
            page.fill(
                "#body",
                "Jalan Cikutra di depan Pasar Cicadas berlubang besar sejak dua minggu lalu "
                "dan dua pengendara motor jatuh.",
            )
            assert "IMG_20261120_Budi.jpg" in page.inner_text("#held-files")  # kept
            page.click("#report button[type=submit]")
            page.wait_for_selector("#confirmation")
            assert page.inner_text("#attached").endswith(": 1")
            tn = page.inner_text("#tracking-number").lstrip("#")
            secret = page.inner_text("#secret")
            assert len(tn) == 7 and len(secret) >= 16
            page.screenshot(path=str(tmp_path / "confirmation.png"), full_page=True)

            # The agency answers; the citizen reads it on the page the link opens.
            view = wait_for(lambda: fully_routed(platform, tn), what="routed")
            report_id = httpx.get(
                f"{platform.url('routing')}/v1/inbox",
                headers=staff_headers(platform, "agency_officer", "pemda-32.73"),
            ).json()[0]["report_id"]
            assert view["anonymous"] is True
            r = httpx.post(
                f"{platform.url('routing')}/v1/reports/{report_id}/followups",
                data={"text": "Tim kami menambal lubang itu besok pagi."},
                headers=staff_headers(platform, "agency_officer", "pemda-32.73"),
            )
            assert r.status_code == 201
            page.click("#link")

            def answered() -> bool | None:
                page.reload()
                return "menambal lubang" in page.inner_text("#history") or None

            wait_for(answered, what="the agency's answer on the page")
            assert "Pemerintah Kota Bandung" in page.inner_text("#agency")
            assert "Pengaduan" in page.inner_text("#type")
            # The photo, as the citizen downloads it: no EXIF, no camera, no place.
            with page.expect_download() as got:
                page.click("#files a")
            saved = Path(got.value.path()).read_bytes()
            with Image.open(io.BytesIO(saved)) as img:
                assert not img.getexif()
            assert got.value.suggested_filename == "lampiran-1.jpg"
            # A PDF added from the page joins the report.
            page.fill("#add textarea", "Surat keterangan RT terlampir.")
            page.set_input_files("#add-files", str(letter))
            page.click("#add button[type=submit]")
            page.wait_for_selector("[role=status]")
            assert "lampiran-2.pdf" in page.inner_text("#files")
            page.check("#s-no")
            page.fill("#reply-text", "Sudah seminggu, lubang masih ada.")
            page.click("#reply button[type=submit]")
            page.wait_for_selector("[role=status]")
            assert "lubang masih ada" in page.inner_text("#history")
            page.screenshot(path=str(tmp_path / "tracking.png"), full_page=True)

            # English is one click away.
            page.click("text=English")
            assert "History" in page.inner_text("#history")
            page.click("text=Bahasa Indonesia")

            # The tracking number alone shows the page but cannot reply.
            bare = browser.new_page()
            bare.goto(f"{base}/lacak?nomor={tn}")
            assert bare.locator("#reply").count() == 0
            forged = httpx.post(f"{base}/lacak/{tn}/balas", data={"kode": "x" * 20, "text": "abc"})
            assert forged.status_code == 404

            # The public list, the report page and the statistics: the report, no phone.
            bare.goto(f"{base}/laporan?wilayah=32&kategori=infrastruktur")
            row = bare.locator(f"tr[data-tn='{tn}']")
            assert "Kota Bandung" in row.inner_text()
            row.locator("a").click()
            assert "Pasar Cicadas" in bare.inner_text("#story")
            assert "Anonim" in bare.content() and "081366660001" not in bare.content()
            bare.goto(f"{base}/statistik")
            assert int(bare.inner_text("#total")) >= 1
            assert "Pemerintah Kota Bandung" in bare.inner_text("#by-agency")
            assert bare.inner_text("#on-time") == "100%"
            assert bare.inner_text("#on-time-count") == "1 dari 1 tanggapan pertama"

            def column(table: str) -> int:  # the sum of a table's counts
                return sum(
                    int(n) for n in bare.locator(f"{table} td:nth-child(2)").all_inner_texts()
                )

            # One source of truth: every table adds up to the total.
            total = int(bare.inner_text("#total"))
            assert column("#by-status") == column("#by-province") == column("#by-agency") == total

            # An account: sign up, report signed in, open it from "my reports" without a
            # code; the username (not the name) is on the public page.
            member = browser.new_context().new_page()
            member.goto(f"{base}/akun")
            member.click("#sign-up-link")
            member.fill("#username", "siti.warga")
            member.fill("#password", "teh-manis-dingin-77")
            member.fill("#password2", "teh-manis-dingin-77")
            member.fill("#name", "Siti Rahayu")
            member.fill("#email", "siti.rahayu@example.id")
            member.click("#sign-up button[type=submit]")
            assert member.inner_text("#username") == "siti.warga"
            member.goto(f"{base}/lapor")
            assert "siti.warga" in member.inner_text("#signed-in")
            member.check("#type-aspiration")
            member.select_option("#category", "lingkungan")
            member.fill("#title", "Taman kota perlu tempat sampah terpilah")
            member.fill(
                "#body",
                "Di Taman Cikapayang Dago, Kota Bandung, tempat sampah belum dipilah; usul "
                "disediakan tempat sampah organik dan anorganik mulai bulan depan.",
            )
            _pick_bandung(member)
            member.click("#report button[type=submit]")
            member.wait_for_selector("#confirmation")
            mine = member.inner_text("#tracking-number").lstrip("#")
            member.click("#account-link")
            member.click(f"tr[data-tn='{mine}'] a")
            assert "Aspirasi" in member.inner_text("#type")
            assert member.locator("#add").count() == 1  # the owner's form, no code in the URL
            wait_for(lambda: fully_routed(platform, mine), what="the member's report routed")
            bare.goto(f"{base}/laporan/{mine}")
            assert bare.inner_text("#reporter") == "siti.warga"
            assert "Rahayu" not in bare.content() and "example.id" not in bare.content()
            member.screenshot(path=str(tmp_path / "account.png"), full_page=True)

            # On a phone (375 x 812), every citizen page in both languages: no sideways
            # scrolling, touch targets of 44 px, a skip link to the content, a <nav>, and
            # every field with its label.
            phone = browser.new_context(viewport={"width": 375, "height": 812}).new_page()
            pages = (
                "/",
                "/lapor",
                f"/lacak?nomor={tn}",
                "/laporan",
                f"/laporan/{tn}",
                "/statistik",
            )
            for path in (
                *pages,
                "/laporan?tampilan=peta",
                "/tersimpan",
                "/akun/masuk",
                "/akun/daftar",
            ):
                for path_lang in (
                    f"{path}{'&' if '?' in path else '?'}lang={lang}" for lang in ("id", "en")
                ):
                    phone.goto(base + path_lang)
                    assert phone.evaluate(PHONE_OVERFLOW) <= 0, path_lang
                    assert phone.evaluate(SMALL_TARGETS) == [], path_lang
                    assert phone.evaluate(UNLABELLED) == [], path_lang
                    assert phone.locator("nav a").count() >= 4, path_lang
                    phone.keyboard.press("Tab")
                    assert (
                        phone.evaluate("document.activeElement.getAttribute('href')") == "#content"
                    )
            phone.goto(f"{base}/lapor")
            phone.screenshot(path=str(tmp_path / "lapor-375.png"), full_page=True)
        finally:
            browser.close()

    # The reply reached routing as the reporter's: not solved re-opens it.
    def reopened() -> dict[str, Any] | None:
        d = httpx.get(
            f"{platform.url('routing')}/v1/reports/{report_id}", headers=staff_headers(platform)
        ).json()
        return (
            d if any(e["kind"] == "reply" and e["satisfied"] is False for e in d["log"]) else None
        )

    wait_for(reopened, what="the reply in routing")
