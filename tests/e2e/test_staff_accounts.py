"""Staff accounts as LAPOR! organises them, in a real Chromium (Debian's, by Playwright).

The first administrator comes from ``aduan staff create-admin``'s one-time link, sets a
password and the required second factor, and invites an agency coordinator by email (an
aiosmtpd server receives it). The coordinator sets a password and a second factor, signs
in from the agencies' console, invites an officer of one of the agency's kecamatan and
disposes a report there. The officer sees only that report and answers it; another
agency's coordinator gets 404 for it. Once the administrator disables the officer, their
open session is refused by every service within 60 seconds."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyotp
import pytest

from routing.staff import Refused
from services import auth
from services.launcher import Platform
from tests.channels import SmtpSink
from tests.e2e.helpers import fully_routed, submit, wait_for
from tests.e2e.test_verification_console import CHROMIUM, FLAGS

pytestmark = pytest.mark.e2e
PASSWORD = {
    "admin@aduan.go.id": "kopi tubruk di pagi hari",
    "koordinator@bandung.go.id": "angkot hijau lewat dago",
    "penghubung@bandung.go.id": "hujan deras sore di coblong",
}


def _link(smtp: SmtpSink, address: str) -> str:
    """The one-time link in the invitation that reached ``address``."""

    def found() -> str | None:
        for to, mail in smtp.received():
            if address in to:
                body = mail.get_body(("plain",))
                assert isinstance(body, EmailMessage)
                match = re.search(r"https?://\S+/auth/invitation/[\w-]+", body.get_content())
                return match.group(0) if match else None
        return None

    return wait_for(found, what=f"the invitation to {address}")


def _code(page: Any) -> str:
    """The current TOTP code of the key shown on an enrolment page."""
    return pyotp.TOTP(page.inner_text("#totp-key").strip()).now()


def _set_password(page: Any, link: str, email: str, second_factor: bool) -> str | None:
    """Open a one-time link, set the password (and the second factor): the TOTP key."""
    page.goto(link)
    assert email in page.inner_text("main")
    page.fill("#password", PASSWORD[email])
    page.fill("#password_again", PASSWORD[email])
    key = None
    if second_factor:
        key = page.inner_text("#totp-key").strip()
        page.fill("#code", _code(page))
    page.click("main button[type=submit]")
    page.wait_for_url("**/auth/login?ready=1")
    return key


def _sign_in(page: Any, email: str, key: str | None) -> None:
    """On the sign-in page: the password, then the code when there is a second factor.

    The code's answer is read from the server (303 on, 401 refused) rather than from the
    browser's navigation events: when the answer leads to a console on another origin,
    Chromium can report the navigation before the redirect is followed (seen with the
    URL still on /auth/code), so a navigation event says nothing about the outcome."""
    page.fill("#email", email)
    page.fill("#password", PASSWORD[email])
    page.click("main button[type=submit]")
    if key is None:
        return
    page.wait_for_url("**/auth/code")
    totp = pyotp.TOTP(key)

    def code_posted(response: Any) -> bool:
        return response.request.method == "POST" and urlsplit(response.url).path == "/auth/code"

    for attempt in (1, 2):
        with page.expect_response(code_posted) as answer:
            page.fill("#code", totp.now())
            page.click("main button[type=submit]")
        status = answer.value.status
        if status == 303:
            return
        # A code is good once: an earlier sign-in (or the enrolment) may have used this
        # step's code already; the next step's code is good.
        assert status == 401 and attempt == 1, f"the code was answered {status}"
        page.wait_for_selector("#code-error")
        time.sleep(31 - time.time() % 30)


def _console_token(context: Any) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "aduan_staff_routing")


def test_staff_invite_sign_in_dispose_answer_and_disable(
    make_platform: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium missing: make installs Debian's chromium"
    smtp = SmtpSink().start()
    platform: Platform = make_platform("sqlite", extra_env=smtp.env())
    routing = platform.url("routing")
    mine = submit(platform, district_code="32.73.02", reporter={"phone": "081322230001"})
    other = submit(platform, district_code="32.73.01", reporter={"phone": "081322230002"})
    for r in (mine, other):
        wait_for(lambda r=r: fully_routed(platform, r["tracking_number"]), what="routed")

    link = platform.create_admin("admin@aduan.go.id", "Admin Nasional")
    assert link.startswith(f"{routing}/auth/invitation/")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            # The administrator: a second factor is required of them.
            admin = browser.new_context()
            page = admin.new_page()
            page.goto(link)
            assert page.get_attribute("#code", "required") is not None
            # Without the code the server refuses too (the browser would not send it).
            form = page.locator("input[name=enrol]").get_attribute("value")
            bare = httpx.post(
                link,
                data={
                    "password": PASSWORD["admin@aduan.go.id"],
                    "password_again": PASSWORD["admin@aduan.go.id"],
                    "enrol": form,
                },
            )
            assert bare.status_code == 422 and "faktor kedua" in bare.text
            admin_key = _set_password(page, link, "admin@aduan.go.id", second_factor=True)
            assert page.inner_text(".notice")  # "Your account is ready: sign in."
            _sign_in(page, "admin@aduan.go.id", admin_key)
            page.wait_for_url("**/auth/account")
            assert "Admin Nasional" in page.inner_text("main")
            # The link works once.
            assert httpx.get(link).status_code == 404

            page.goto(f"{routing}/auth/staff")
            page.fill("#inv-email", "koordinator@bandung.go.id")
            page.fill("#inv-name", "Rina Koordinator")
            page.select_option("#inv-role", "coordinator")
            page.fill("#inv-agency", "pemda-32.73")
            page.click("form.invite button[type=submit]")
            page.wait_for_url("**/auth/staff?done=invited*")

            # The coordinator: from the email, a password and a second factor.
            coordinator = browser.new_context()
            cpage = coordinator.new_page()
            invitation = _link(smtp, "koordinator@bandung.go.id")
            coord_key = _set_password(
                cpage, invitation, "koordinator@bandung.go.id", second_factor=True
            )
            # Signing in from the console: the sign-in page sends them back to it.
            cpage.goto(f"{routing}/console/inbox")
            cpage.wait_for_url("**/auth/login?to=*")
            _sign_in(cpage, "koordinator@bandung.go.id", coord_key)
            cpage.wait_for_url("**/console/inbox")
            for r in (mine, other):
                assert cpage.locator(f"tr[data-report='{r['report_id']}']").count() == 1
            # Inviting an officer of one of the agency's kecamatan (the only choices).
            cpage.click("text=Akun saya")
            cpage.wait_for_url("**/auth/account")
            cpage.goto(f"{routing}/auth/staff")
            options = cpage.locator("#inv-role option").all_inner_texts()
            assert len(options) == 1, options  # a coordinator invites unit officers only
            cpage.fill("#inv-email", "penghubung@bandung.go.id")
            cpage.fill("#inv-name", "Budi Penghubung")
            cpage.select_option("#inv-agency", "kec-32.73.02")
            cpage.click("form.invite button[type=submit]")
            cpage.wait_for_url("**/auth/staff?done=invited*")
            # Disposing the report to that kecamatan.
            cpage.goto(f"{routing}/console/reports/{mine['report_id']}")
            cpage.select_option("#forward select[name=to]", "kec-32.73.02")
            cpage.fill("#forward textarea[name=reason]", "Lokasi di wilayah Coblong")
            cpage.click("#forward button[type=submit]")
            cpage.wait_for_selector("#subunit")

            # The officer: no second factor (it is offered, not required of them).
            officer = browser.new_context()
            opage = officer.new_page()
            invitation = _link(smtp, "penghubung@bandung.go.id")
            _set_password(opage, invitation, "penghubung@bandung.go.id", second_factor=False)
            opage.goto(f"{routing}/console/inbox")
            _sign_in(opage, "penghubung@bandung.go.id", None)
            opage.wait_for_url("**/console/inbox")
            assert opage.locator(f"tr[data-report='{mine['report_id']}']").count() == 1
            assert opage.locator("tr[data-report]").count() == 1  # only what was disposed
            gone = opage.goto(f"{routing}/console/reports/{other['report_id']}")
            assert gone is not None and gone.status == 404
            opage.goto(f"{routing}/console/reports/{mine['report_id']}")
            assert opage.locator("#forward").count() == 0  # a unit officer does not dispose
            opage.fill("#followup textarea[name=text]", "Tim kecamatan sudah meninjau lokasi.")
            opage.click("#followup button[type=submit]")
            opage.wait_for_selector("tr.entry-followup")
            token = _console_token(officer)
            bearer = {"authorization": f"Bearer {token}"}

            # Another agency's coordinator: 404, as if the report did not exist.
            outsider = platform.staff_token(auth.Role.coordinator, "koord-sby", "pemda-35.78")
            seen = httpx.get(
                f"{routing}/v1/reports/{mine['report_id']}",
                headers={"authorization": f"Bearer {outsider}"},
            )
            assert seen.status_code == 404

            # What the officer's token opens on each service before it is disabled.
            checks = {
                "routing": (f"{routing}/v1/inbox", 200),
                "notifications": (f"{platform.url('notifications')}/v1/endpoints", 200),
                "intake": (
                    f"{platform.url('intake')}/v1/staff/reports/{mine['report_id']}/identity",
                    403,
                ),
                "verification": (f"{platform.url('verification')}/v1/queue", 403),
                "sla": (f"{platform.url('sla')}/v1/reports/{mine['report_id']}/sla", 403),
            }
            for name, (url, status) in checks.items():
                assert httpx.get(url, headers=bearer).status_code == status, name

            # The administrator disables the officer.
            page.goto(f"{routing}/auth/staff")
            page.click("#account-penghubung form[action$='/disable'] button")
            page.wait_for_url("**/auth/staff?done=disable")
            disabled_at = time.monotonic()
            refused: dict[str, float] = {}

            def all_refused() -> bool | None:
                for name, (url, _) in checks.items():
                    if name not in refused and httpx.get(url, headers=bearer).status_code == 401:
                        refused[name] = time.monotonic() - disabled_at
                return len(refused) == len(checks) or None

            wait_for(all_refused, timeout=60, what=f"every service to refuse ({refused})")
            print(f"officer refused after disabling, seconds: {refused}")
            again = opage.goto(f"{routing}/console/inbox")
            assert again is not None and "/auth/login" in opage.url
            # And they cannot sign in again.
            _sign_in(opage, "penghubung@bandung.go.id", None)
            opage.wait_for_selector("#sign-in-error")

            # One sign-in for every console: the administrator, signed in on routing,
            # opens the verifiers' console (another origin) without signing in again...
            verification = platform.url("verification")
            page.goto(f"{verification}/console/queue")
            page.wait_for_url(f"{verification}/console/queue")
            # ...signs out there, which ends the session on the sign-in page too...
            page.click("header form button")
            page.wait_for_url("**/auth/login?out=1")
            assert page.inner_text(".notice")
            gone = page.goto(f"{routing}/auth/account")
            assert gone is not None and "/auth/login" in page.url
            # ...and signs in again from the verifiers' console, which gets them back.
            page.goto(f"{verification}/console/queue")
            page.wait_for_url("**/auth/login?to=*")
            _sign_in(page, "admin@aduan.go.id", admin_key)
            page.wait_for_url(f"{verification}/console/queue")

            # The audit names who signed in and who disabled whom.
            page.goto(f"{routing}/auth/staff")
            audit = page.inner_text("main")
            assert "akun dinonaktifkan → penghubung" in audit and "\tmasuk\t" in audit
            assert "\tkeluar\t" in audit  # the sign-out from the verifiers' console
            # A password reset: the coordinator's session ends at once and a new link
            # arrives; the old password no longer works.
            coord_token = _console_token(coordinator)
            page.click("#account-koordinator form[action$='/reset'] button")
            page.wait_for_url("**/auth/staff?done=reset")
            wait_for(
                lambda: (
                    httpx.get(
                        f"{routing}/v1/inbox", headers={"authorization": f"Bearer {coord_token}"}
                    ).status_code
                    == 401
                ),
                what="the coordinator's session ended by the reset",
            )

            def reset_link() -> str | None:
                links = [
                    re.search(
                        r"https?://\S+/auth/invitation/[\w-]+", m.get_body(("plain",)).get_content()
                    )  # type: ignore[union-attr]
                    for to, m in smtp.received()
                    if "koordinator@bandung.go.id" in to
                ]
                return links[-1].group(0) if len(links) == 2 and links[-1] else None

            fresh = wait_for(reset_link, what="the reset link")
            assert fresh != invitation
            for width in (1280, 375):
                shot = browser.new_page(viewport={"width": width, "height": 900})
                shot.goto(fresh)
                assert "Pilih kata sandi baru" in shot.inner_text("h1")
                shot.screenshot(path=str(tmp_path / f"staff-reset-{width}.png"), full_page=True)
                shot.goto(f"{routing}/auth/login")
                shot.screenshot(path=str(tmp_path / f"staff-login-{width}.png"), full_page=True)
                shot.close()
            cpage.goto(f"{routing}/auth/login")
            cpage.fill("#email", "koordinator@bandung.go.id")
            cpage.fill("#password", PASSWORD["koordinator@bandung.go.id"])
            cpage.click("main button[type=submit]")
            assert cpage.locator("#sign-in-error").count() == 1

            # `aduan staff link` (no email server): a new link replaces the unused one;
            # a disabled account gets none.
            printed = platform.staff_link("koordinator@bandung.go.id")
            assert printed != fresh and httpx.get(printed).status_code == 200
            assert httpx.get(fresh).status_code == 404
            with pytest.raises(Refused):
                platform.staff_link("penghubung@bandung.go.id")

            # The administrator's pages fit a phone: no page scrolls sideways.
            for name in ("staff", "account"):
                for width in (1280, 375):
                    shot = admin.new_page()
                    shot.set_viewport_size({"width": width, "height": 900})
                    shot.goto(f"{routing}/auth/{name}")
                    wide = shot.evaluate("document.documentElement.scrollWidth")
                    assert wide <= width, (name, width, wide)
                    shot.screenshot(
                        path=str(tmp_path / f"staff-{name}-{width}.png"), full_page=True
                    )
                    shot.close()
        finally:
            browser.close()
            smtp.stop()
