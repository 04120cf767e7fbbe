"""The citizen's web as a person on a phone lives it, in a real headless Chromium (Debian's,
driven by Playwright), on a running platform:

- a report written with the keyboard alone, its place chosen on the map (Leaflet, served
  by intake) and the pin filling the province, regency and district through the reverse
  geocoder; the secret code in groups without look-alikes, copied with its button;
- the confirmation and tracking pages moving by themselves as the report is verified,
  routed and answered, saying what happens next and by when;
- errors that name each field in the reader's language, the Anonim warning that says
  which words, and files that survive the form coming back;
- a report written offline, kept on the phone and sent when the connection returns;
- statistics with counts beside every percentage and their charts; the public map;
- axe-core on every citizen page in both languages: no serious or critical violation.

Map tiles and the reverse geocoder are local stand-ins (tests/map_standin.py): nothing
leaves this machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from intake import domain
from services.launcher import Platform
from tests.channels import SmtpSink
from tests.e2e.helpers import fully_routed, scalar, staff_headers, wait_for
from tests.e2e.test_verification_console import CHROMIUM, FLAGS
from tests.map_standin import MapStandIn
from tests.unit.test_areas_uploads import _jpeg_with_location

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CODE = re.compile(rf"^[{domain.SECRET_ALPHABET}]{{4}}(-[{domain.SECRET_ALPHABET}]{{4}}){{4}}$")
# Cicendo, in the city of Bandung, as the stand-in geocoder knows it.
CICENDO = ("-6.905000", "107.595000")


@pytest.fixture
def map_services() -> Iterator[MapStandIn]:
    with MapStandIn() as stand_in:
        yield stand_in


def _platform(make_platform: Any, stand_in: MapStandIn, **env: str) -> Platform:
    return make_platform(  # type: ignore[no-any-return]
        "sqlite",
        extra_env={
            "INTAKE_MAP_TILES_URL": stand_in.tiles_url,
            "INTAKE_GEOCODER_URL": stand_in.geocoder_url,
            "INTAKE_LIVE_SECONDS": "1",
            **env,
        },
    )


def _axe(page: Any, where: str) -> list[str]:
    """The serious and critical violations axe-core finds on the page shown."""
    page.evaluate(AXE.read_text())  # not an inline script: the pages' CSP allows none
    found = page.evaluate(
        """async () => {
          const r = await axe.run(document);
          return {
            checked: r.passes.length + r.violations.length,
            serious: r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
              .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(' | ')),
          };
        }"""
    )
    assert found["checked"] > 10, f"axe-core checked nothing on {where}"
    return [f"{where}: {v}" for v in found["serious"]]


def _tab_to(page: Any, element_id: str, limit: int = 80) -> None:
    """Press Tab until the element has the focus (it must be reachable by keyboard)."""
    for _ in range(limit):
        if page.evaluate("() => document.activeElement && document.activeElement.id") == (
            element_id
        ):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} is not reachable with Tab")


def test_a_phone_user_reports_with_the_keyboard_and_the_map_and_watches_it_move(
    make_platform: Any, map_services: MapStandIn, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium missing: make installs Debian's chromium"
    assert AXE.exists(), "axe-core missing: make installs the npm packages"
    platform = _platform(make_platform, map_services)
    base = platform.url("intake")
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(_jpeg_with_location())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            phone = browser.new_context(viewport={"width": 375, "height": 812})
            phone.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            page = phone.new_page()
            page.goto(f"{base}/lapor")
            page.wait_for_selector("#map:not([hidden]) .leaflet-tile-loaded")

            # The keyboard alone: every field reached with Tab, chosen by typing.
            page.keyboard.press("Tab")  # the skip link
            page.keyboard.press("Enter")
            _tab_to(page, "category")
            page.keyboard.type("Infrastruktur")
            assert page.input_value("#category") == "infrastruktur"
            _tab_to(page, "title")
            page.keyboard.type("Lampu jalan mati di Jalan Pajajaran")
            _tab_to(page, "body")
            page.keyboard.type(
                "Lampu jalan di Jalan Pajajaran depan sekolah mati sejak tiga minggu lalu; "
                "malam hari gelap dan dua pejalan kaki terjatuh."
            )
            # The place: typed as a point, the map's pin fills the areas.
            _tab_to(page, "latitude")
            page.keyboard.type(CICENDO[0])
            _tab_to(page, "longitude")
            page.keyboard.type(CICENDO[1])
            page.keyboard.press("Tab")
            wait_for(
                lambda: page.input_value("#district_code") == "32.73.06" or None,
                timeout=15,
                what="the point's district",
            )
            assert page.input_value("#province") == "32"
            assert page.input_value("#regency_code") == "32.73"
            assert "Cicendo, Kota Bandung, Jawa Barat" in page.inner_text("#map-status")
            assert page.locator("#map .leaflet-marker-icon").count() == 1
            assert map_services.asked[-1]["user_agent"].startswith("Aduan/")
            # A tap on the map moves the pin and the point with it.
            box = page.locator("#map").bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2 + 30, box["y"] + box["height"] / 2)
            wait_for(
                lambda: page.input_value("#longitude") != CICENDO[1] or None,
                timeout=10,
                what="the tapped point",
            )
            assert page.input_value("#regency_code") == "32.73"
            page.locator("#place").screenshot(path=str(tmp_path / "map-375.png"))
            _tab_to(page, "lampiran")
            page.set_input_files("#lampiran", str(photo))
            _tab_to(page, "phone")
            page.keyboard.type("081377770001")
            _tab_to(page, "report-send")
            page.keyboard.press("Enter")
            page.wait_for_selector("#confirmation")

            # The code: groups of four, no look-alikes; the copy button copies it.
            tn = page.inner_text("#tracking-number").lstrip("#")
            secret = page.inner_text("#secret")
            assert CODE.match(secret), secret
            assert not set("01ILOUV") & set(secret)
            page.click("#copy")
            assert page.evaluate("() => navigator.clipboard.readText()") == secret
            assert page.inner_text("#copy") == "Tersalin"
            page.screenshot(path=str(tmp_path / "terima-375.png"), full_page=True)
            violations = _axe(page, "confirmation")

            # The confirmation page moves by itself: no reload.
            wait_for(
                lambda: page.get_attribute("#status", "data-status") == "routed" or None,
                timeout=60,
                what="the confirmation page showing the report routed",
            )
            assert "Diperbarui" in page.inner_text("#live")
            # The agency's deadline comes after the routing (the SLA opens it on reading
            # report.routed): the page shows it when it comes, still without a reload.
            wait_for(
                lambda: "Paling lambat" in page.inner_text("#next") or None,
                timeout=30,
                what="the confirmation page showing the agency's deadline",
            )

            # The tracking page opened with the code as a person types it: lower case,
            # no dashes. It follows the agency's answer without a reload.
            view = wait_for(lambda: fully_routed(platform, tn), what="routed")
            assert view["status"] == "routed"
            tracking = phone.new_page()
            tracking.goto(f"{base}/lacak/{tn}?kode={secret.replace('-', '').lower()}")
            assert tracking.locator("#add").count() == 1  # proven: the reporter's forms
            assert "Paling lambat" in tracking.inner_text("#by-when")
            officer = staff_headers(platform, "agency_officer", "pemda-32.73")
            report_id = httpx.get(f"{platform.url('routing')}/v1/inbox", headers=officer).json()[0][
                "report_id"
            ]
            r = httpx.post(
                f"{platform.url('routing')}/v1/reports/{report_id}/followups",
                data={"text": "Petugas mengganti lampu besok malam."},
                headers=officer,
            )
            assert r.status_code == 201
            wait_for(
                lambda: "mengganti lampu" in tracking.inner_text("#history") or None,
                timeout=30,
                what="the answer appearing on the open tracking page",
            )
            assert tracking.get_attribute("#status", "data-status") == "in_progress"
            assert "Sedang ditangani" in tracking.inner_text("#live")
            tracking.screenshot(path=str(tmp_path / "tracking-375.png"), full_page=True)

            # The public map shows the report (it is not Anonim); the list as before.
            public = browser.new_context(viewport={"width": 375, "height": 812}).new_page()
            public.goto(f"{base}/laporan?tampilan=peta")
            public.wait_for_selector("#reports-map .leaflet-marker-icon")
            assert public.locator(f"#reports-map [alt='#{tn}']").count() == 1
            public.locator(f"#reports-map [alt='#{tn}']").click()
            assert public.locator(f".leaflet-popup a[href='/laporan/{tn}']").count() == 1

            # Statistics: every percentage with the count it rests on, and the charts.
            public.goto(f"{base}/statistik")
            assert public.locator("#chart-months rect.bar").count() == 12
            assert public.locator("#chart-agencies rect.bar").count() >= 1
            assert public.locator("#chart-provinces rect.bar").count() >= 1
            text = public.inner_text("#content")
            for pct in re.finditer(r"\d+%", text):
                before = text[max(0, pct.start() - 40) : pct.start()]
                assert "dari" in before or pct.group() == public.inner_text("#on-time"), before
            assert "1 dari 1 (100%)" in public.inner_text("#on-time-agency")
            public.screenshot(path=str(tmp_path / "statistik-375.png"), full_page=True)

            # axe-core on every citizen page, both languages, on a phone and a desktop.
            pages = (
                "/",
                "/lapor",
                "/lacak",
                f"/lacak/{tn}",
                f"/lacak/{tn}?kode={secret}",
                "/laporan",
                "/laporan?tampilan=peta",
                f"/laporan/{tn}",
                "/statistik",
                "/akun/masuk",
                "/akun/daftar",
                "/tersimpan",
            )
            for size in ({"width": 375, "height": 812}, {"width": 1280, "height": 900}):
                reader = browser.new_context(viewport=size, bypass_csp=True).new_page()
                for path in pages:
                    for lang in ("id", "en"):
                        url = f"{base}{path}{'&' if '?' in path else '?'}lang={lang}"
                        reader.goto(url)
                        violations += _axe(reader, f"{size['width']} {url}")
            assert violations == [], violations
        finally:
            browser.close()


def test_the_form_says_what_to_fix_keeps_the_files_and_works_offline(
    make_platform: Any, map_services: MapStandIn, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    smtp = SmtpSink().start()
    platform = _platform(make_platform, map_services, **smtp.env())
    base = platform.url("intake")
    photo = tmp_path / "foto-jalan.jpg"
    photo.write_bytes(_jpeg_with_location())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            context = browser.new_context(viewport={"width": 375, "height": 812})
            page = context.new_page()

            def fill_form(body: str) -> None:
                page.select_option("#category", "infrastruktur")
                page.fill("#title", "Jalan berlubang di Cicendo")
                page.fill("#body", body)
                page.select_option("#province", "32")
                page.wait_for_selector("#regency_code option[value='32.73']", state="attached")
                page.select_option("#regency_code", "32.73")

            # Errors name the field and say how to fix it, in the reader's language.
            for lang, words in (("id", "Nomor ponsel: tulis"), ("en", "Mobile number: write")):
                page.goto(f"{base}/lapor?lang={lang}")
                fill_form("Lubang besar di Jalan Pajajaran sejak dua minggu, motor terjatuh.")
                page.fill("#phone", "12345")
                page.set_input_files("#lampiran", str(photo))
                page.click("#report-send")
                page.wait_for_selector("#errors")
                assert words in page.inner_text("#errors")
                assert page.get_attribute("#errors a", "href") == "#phone"
                assert page.get_attribute("#phone", "aria-invalid") == "true"
                assert "foto-jalan.jpg" in page.inner_text("#held-files")

            # Without JavaScript the pickers still work: the form comes back with the
            # chosen province's regencies, then the regency's districts, files kept.
            plain = browser.new_context(java_script_enabled=False).new_page()
            plain.goto(f"{base}/lapor")
            assert plain.locator("#map").is_hidden()
            plain.select_option("#province", "32")
            plain.set_input_files("#lampiran", str(photo))
            plain.click("#show-areas")
            plain.select_option("#regency_code", "32.73")
            plain.click("#show-areas")
            plain.select_option("#district_code", "32.73.06")
            assert "foto-jalan.jpg" in plain.inner_text("#held-files")
            plain.select_option("#category", "infrastruktur")
            plain.fill("#title", "Trotoar rusak di Cicendo")
            plain.fill(
                "#body", "Trotoar di Jalan Pajajaran rusak dan berlubang sejak sebulan lalu."
            )
            plain.click("#report-send")
            assert plain.inner_text("#attached").endswith("1")

            # The Anonim warning says which words, at the top; the file is still kept.
            page.goto(f"{base}/lapor?lang=id")
            fill_form("Nama saya Wahyu Santoso, jalan di depan rumah saya berlubang besar.")
            page.check("#anonymous")
            page.set_input_files("#lampiran", str(photo))
            page.click("#report-send")
            page.wait_for_selector("#self-named")
            assert "Nama saya" in page.inner_text("#self-named mark")
            top = page.locator("#self-named").bounding_box()["y"]
            assert top < page.locator("#report").bounding_box()["y"]
            assert "foto-jalan.jpg" in page.inner_text("#held-files")
            page.fill("#body", "Jalan di depan gang berlubang besar, dua motor terjatuh.")
            page.fill("#email", "wahyu.santoso@example.id")
            page.click("#report-send")  # no file chosen again
            page.wait_for_selector("#confirmation")
            assert page.inner_text("#attached").endswith("1")

            # The code, sent by email at the reporter's asking: to their own address only,
            # never on the tracking page, and not kept by notifications once sent.
            secret = page.inner_text("#secret")
            mine = page.inner_text("#tracking-number").lstrip("#")
            assert "w***@example.id" in page.inner_text("#send-code")
            page.check("#via-email")
            page.click("#send-code button")
            page.wait_for_selector("#code-sending")

            def mailed() -> str | None:
                for to, message in smtp.received():
                    body = message.get_body(("plain",))
                    text = body.get_content() if body is not None else ""
                    if to == ["wahyu.santoso@example.id"] and secret in text:
                        return str(message["Subject"])
                return None

            subject = wait_for(mailed, timeout=30, what="the code by email")
            assert "Kode rahasia" in subject and mine in subject
            page.reload()
            assert "dikirim lewat email" in page.inner_text("#history")
            assert secret not in page.inner_text("body")
            # The mail server has the message a moment before notifications records the
            # send (and forgets the code in the same transaction): wait for that record.
            wait_for(
                lambda: (
                    scalar(
                        platform,
                        "notifications",
                        "select status from notifications where template = 'secret_code'",
                    )
                    == "sent"
                ),
                timeout=15,
                what="the code's send recorded",
            )
            kept = scalar(
                platform,
                "notifications",
                "select \"values\" || coalesce(text, '') from notifications "
                "where template = 'secret_code'",
            )
            assert secret not in kept and "code" not in kept
            # Three sends at most; a contact the report does not have is refused.
            form = {"kode": secret, "via": "email"}
            for expected in (303, 303, 429):
                r = httpx.post(f"{base}/lacak/{mine}/kode", data=form)
                assert r.status_code == expected, r.text
            r = httpx.post(f"{base}/lacak/{mine}/kode", data={**form, "via": "sms"})
            assert r.status_code == 422
            # The live status answers only the token its page was given.
            assert (
                httpx.get(f"{base}/lacak/{mine}/keadaan", params={"t": "1" * 25}).status_code == 404
            )
            # A held-files field that is not this browser's own attaches nothing.
            forged = httpx.post(
                f"{base}/lapor",
                data={
                    "category": "infrastruktur",
                    "title": "Trotoar rusak",
                    "body": "Trotoar di Jalan Pajajaran rusak sejak sebulan lalu.",
                    "regency_code": "32.73",
                    "held": "W1siYWJjIl1d.0123456789abcdef0123456789abcdef",
                },
            )
            assert forged.status_code == 201 and 'id="attached"' not in forged.text

            # Offline: the form opens from the phone, the report is kept there and the
            # citizen told so; back online, it is sent and the number and code shown.
            page.goto(f"{base}/lapor")
            page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
            page.reload()
            assert page.evaluate("() => !!navigator.serviceWorker.controller")
            context.set_offline(True)
            page.goto(f"{base}/lapor")
            fill_form("Lampu jalan di Jalan Pajajaran mati sejak tiga minggu, gelap malam hari.")
            page.set_input_files("#lampiran", str(photo))
            page.fill("#phone", "081377770002")
            page.click("#report-send")
            page.wait_for_selector("#kept-offline")
            assert "disimpan di ponsel ini" in page.inner_text("#kept-offline")
            page.goto(f"{base}/")
            page.wait_for_selector("#drafts-waiting")
            assert page.inner_text("#drafts-waiting").endswith("1")
            context.set_offline(False)
            page.wait_for_selector(".draft-sent", timeout=20_000)
            tn = re.search(r"#(\d{7})", page.inner_text(".draft-sent")).group(1)  # type: ignore[union-attr]
            assert CODE.match(page.inner_text("#drafts code.secret"))
            page.screenshot(path=str(tmp_path / "offline-sent-375.png"), full_page=True)
            page.click("#drafts a.button")
            page.wait_for_selector("#summary")
            assert "lampiran-1.jpg" in page.inner_text("#files")
            # Sent once: the draft is gone, a second visit sends nothing more.
            page.goto(f"{base}/")
            page.wait_for_timeout(1500)
            assert page.locator("#drafts-waiting").count() == 0
            r = httpx.get(f"{base}/v1/reports/{tn}")
            assert r.status_code == 200

            # A draft the server sends back (Anonim, but the story names its reporter) is
            # not lost: the citizen is told to finish it, and the form takes it back,
            # filled, its file held, then sends it.
            context.set_offline(True)
            page.goto(f"{base}/lapor")
            fill_form("Nama saya Wahyu, lampu jalan di depan rumah saya mati sebulan.")
            page.check("#anonymous")
            page.set_input_files("#lampiran", str(photo))
            page.click("#report-send")
            page.wait_for_selector("#kept-offline")
            context.set_offline(False)
            page.goto(f"{base}/")
            page.wait_for_selector("#drafts [id^=draft-fix] a", timeout=20_000)
            page.click("#drafts [id^=draft-fix] a")
            page.wait_for_selector("#held-files")
            assert page.input_value("#title") == "Jalan berlubang di Cicendo"
            assert page.input_value("#regency_code") == "32.73"
            assert page.is_checked("#anonymous")
            assert "foto-jalan.jpg" in page.inner_text("#held-files")
            page.fill("#body", "Lampu jalan di depan gang mati sebulan, gelap malam hari.")
            page.click("#report-send")
            page.wait_for_selector("#confirmation")
            assert page.inner_text("#attached").endswith("1")
            page.goto(f"{base}/")
            page.wait_for_timeout(1500)
            assert page.locator("#drafts [id^=draft-fix]").count() == 0
        finally:
            browser.close()
            smtp.stop()
