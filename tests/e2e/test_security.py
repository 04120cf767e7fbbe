"""Regression tests for what an attacker found from outside (issue 20), on one running
platform: a report's internals by id are staff's only, integers beyond what a database
holds answer 422 (never 500), an unknown message key in a console link answers the page
with a generic message, an officer's file keeps no name of its own, and looking reports
up by number is rate-limited (429 with Retry-After) on every way to do it, and so is
guessing staff passwords."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services import auth
from services.launcher import Platform
from tests.e2e.helpers import routing_of, scalar, staff_headers, submit, wait_for
from tests.unit.test_areas_uploads import _jpeg_with_location

pytestmark = pytest.mark.e2e

LOOKUPS = 8


def test_what_an_attacker_found_from_outside_holds(make_platform: Any) -> None:
    platform: Platform = make_platform(
        "sqlite", extra_env={"INTAKE_LOOKUPS_PER_IP_PER_MINUTE": str(LOOKUPS)}
    )
    made = submit(platform, confidential=True, reporter={"phone": "081244455566"})
    rid = made["report_id"]
    # Waited for in intake's database: looking it up by number counts against the limit.
    wait_for(
        lambda: (
            scalar(platform, "intake", "SELECT status FROM reports WHERE id = :r", r=rid)
            == "routed"
        ),
        what="routed",
    )
    agency = routing_of(platform, rid)["agency_id"]
    admin, verifier = staff_headers(platform), staff_headers(platform, "verifier")
    officer = staff_headers(platform, "agency_officer", agency)

    # A Rahasia report's clocks, notices and decision name its number and agency: staff's.
    for url in (
        f"{platform.url('sla')}/v1/reports/{rid}/sla",
        f"{platform.url('sla')}/v1/reports/{rid}/deadlines",
        f"{platform.url('notifications')}/v1/reports/{rid}/notifications",
        f"{platform.url('verification')}/v1/decisions/{rid}",
    ):
        assert httpx.get(url).status_code == 401, url
        assert httpx.get(url, headers=officer).status_code == 403, url
        assert httpx.get(url, headers=verifier).status_code == 200, url

    # Integers beyond 2^63 (or a float) are refused before any database sees them.
    routing = platform.url("routing")
    for method, url in (
        ("GET", f"{routing}/v1/inbox?offset=150641127218001182720"),
        ("GET", f"{routing}/v1/agencies?offset=2e35"),
        ("DELETE", f"{routing}/v1/rules/69120000000000000000000"),
    ):
        got = httpx.request(method, url, headers=admin)
        assert got.status_code == 422, (url, got.status_code, got.text[:200])
    # An unknown message key in a console link: the page, with a generic message.
    token = platform.staff_token(auth.Role.verifier, "verifikator-sec")
    page = httpx.get(
        f"{platform.url('verification')}/console/cases/{rid}",
        params={"error": "foo<script>"},
        cookies={"aduan_staff_verification": token},
    )
    assert page.status_code == 200 and "Terjadi kesalahan" in page.text
    assert "foo<script>" not in page.text

    # An officer's file keeps no name of its own (it may be a path, or a person's name).
    posted = httpx.post(
        f"{routing}/v1/reports/{rid}/followups",
        data={"text": "Foto lokasi setelah perbaikan."},
        files=[("files", ("../../../../tmp/evil<x>.jpg", _jpeg_with_location(), "image/jpeg"))],
        headers=officer,
    )
    assert posted.status_code == 201, posted.text
    assert [a["filename"] for a in posted.json()["attachments"]] == ["lampiran-1.jpg"]

    # Citizens' forms: a browser's post from another origin (here another port of the same
    # host, which SameSite does not tell apart), or without the page's token, is refused.
    intake = platform.url("intake")
    named = submit(platform, reporter={"phone": "081244455577"})
    tn, code = named["tracking_number"], named["tracking_secret"]
    add = f"{intake}/lacak/{tn}/tambah"
    elsewhere = intake.rsplit(":", 1)[0] + ":1"
    with httpx.Client() as browser:
        own = browser.get(f"{intake}/lacak/{tn}", params={"kode": code})
        form_token = own.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"kode": code, "text": "Info tambahan dari warga.", "csrf": form_token}
        forged = browser.post(add, data=form, headers={"origin": elsewhere})
        assert forged.status_code == 403
        cross = browser.post(add, data=form, headers={"sec-fetch-site": "same-site"})
        assert cross.status_code == 403
        no_token = browser.post(add, data={**form, "csrf": ""}, headers={"origin": intake})
        assert no_token.status_code == 403
        # A cookie planted by the other port does not help: the token is keyed.
        planted = httpx.post(
            add,
            data={**form, "csrf": "x" * 32},
            headers={"origin": intake},
            cookies={"aduan_form": "y" * 32},
        )
        assert planted.status_code == 403
        ok = browser.post(add, data=form, headers={"origin": intake})
        assert ok.status_code == 303, ok.text[:300]
    _forged_in_chromium(add, code)

    # Headers: nosniff on every answer; pages' scripts only with the page's nonce; the API
    # docs with a CSP and never in a frame.
    lapor = httpx.get(f"{intake}/lapor")
    csp = lapor.headers["content-security-policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'nonce-" in script_src
    nonce = script_src.split("'nonce-", 1)[1].split("'", 1)[0]
    # Every script of the page is the site's own file or carries this page's nonce.
    scripts = re.findall(r"<script([^>]*)>", lapor.text)
    assert scripts and all(
        re.search(r'\ssrc="/(static|vendor)/', attrs) or f'nonce="{nonce}"' in attrs
        for attrs in scripts
    ), scripts
    assert nonce not in httpx.get(f"{intake}/lapor").headers["content-security-policy"]
    for url in (
        f"{intake}/lapor",
        f"{intake}/v1/categories",
        f"{intake}/docs",
        f"{intake}/metrics",
        f"{platform.url('routing')}/v1/inbox",
        f"{platform.url('verification')}/console/queue",
        f"{platform.url('notifications')}/health",
    ):
        assert httpx.get(url).headers.get("x-content-type-options") == "nosniff", url
    docs = httpx.get(f"{platform.url('routing')}/docs")
    assert docs.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    data = httpx.get(f"{intake}/v1/categories").headers["content-security-policy"]
    assert data.startswith("default-src 'none'")

    # Each console keeps its own sign-in, from the sign-in page's one-minute grant, which
    # works once; behind a TLS proxy every cookie is Secure.
    jar = httpx.Client()
    secret = platform.auth_secret()
    now = datetime.now(UTC)
    signed_in = auth.Session("sec-session", now, now + timedelta(hours=1))
    officer = auth.Staff("petugas-sec", auth.Role.coordinator, agency, "sec-session")
    verifier = auth.Staff("verif-sec", auth.Role.verifier, None, "sec-session-2")
    grants = {
        "routing": auth.issue_grant(secret, officer, signed_in),
        "verification": auth.issue_grant(
            secret, verifier, auth.Session("sec-session-2", now, now + timedelta(hours=1))
        ),
    }
    for name, grant in grants.items():
        signed = jar.get(f"{platform.url(name)}/console/session", params={"grant": grant})
        assert signed.status_code == 303, name
        again = httpx.get(f"{platform.url(name)}/console/session", params={"grant": grant})
        assert again.status_code == 401, name  # a grant works once
    assert {"aduan_staff_routing", "aduan_staff_verification"} <= set(jar.cookies.keys())
    assert jar.get(f"{platform.url('routing')}/console/inbox").status_code == 200
    assert jar.get(f"{platform.url('verification')}/console/queue").status_code == 200
    jar.close()
    behind_tls = httpx.get(
        f"{platform.url('routing')}/console/session",
        params={"grant": auth.issue_grant(secret, officer, signed_in)},
        headers={"x-forwarded-proto": "https"},
    )
    assert "secure" in behind_tls.headers["set-cookie"].lower()
    # The sign-in page sends people back only to a configured console.
    evil = httpx.get(
        f"{platform.url('routing')}/auth/login",
        params={"to": "https://evil.example/console/session"},
    )
    assert evil.status_code == 200 and "evil.example" not in evil.text
    page_cookie = httpx.get(f"{intake}/lapor", headers={"x-forwarded-proto": "https"})
    assert "secure" in page_cookie.headers["set-cookie"].lower()

    # Looking reports up by number is slow to guess: every way of doing it shares a limit.
    ways = [
        f"{intake}/v1/reports/{{n}}",
        f"{intake}/lacak/{{n}}",
        f"{intake}/laporan/{{n}}",
        f"{intake}/open311/v2/requests/{{n}}.json",
    ]
    started = time.monotonic()
    answers = [
        httpx.get(ways[i % len(ways)].format(n=str(2_000_000 + i))) for i in range(LOOKUPS + 4)
    ]
    # A lookup comes back every 60 / LOOKUPS seconds: on a loaded machine, while asking.
    back = int((time.monotonic() - started) * LOOKUPS / 60)
    codes = [a.status_code for a in answers]
    assert codes.count(429) >= 4 - back and 429 not in codes[: LOOKUPS - 1], (codes, back)
    limited = next(a for a in answers if a.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    # Open311 says it in its own error format.
    open311 = [a for i, a in enumerate(answers) if i % 4 == 3 and a.status_code == 429]
    assert open311 and open311[0].json()[0]["code"] == 429, codes

    # Guessing staff passwords from one address: ten failures a minute, then 429 (the
    # accounts' own lock comes after five failures in a row on one account).
    started, guesses = time.monotonic(), []
    while 429 not in [g.status_code for g in guesses] and len(guesses) < 30:
        guesses.append(
            httpx.post(
                f"{routing}/auth/login",
                data={"email": f"tebak{len(guesses)}@aduan.go.id", "password": "salah lagi"},
            )
        )
    back = int((time.monotonic() - started) / 6)  # a failure comes back every 6 seconds
    codes = [g.status_code for g in guesses]
    assert set(codes[:-1]) == {401} and 10 <= len(codes) - 1 <= 10 + back, (codes, back)
    assert 1 <= int(guesses[-1].headers["retry-after"]) <= 6
    assert "Terlalu banyak percobaan" in guesses[-1].text, guesses[-1].text


def _forged_in_chromium(add: str, code: str) -> None:
    """Another site's page that posts to the tracking page's form: the browser sends it
    with the citizen's cookies, and it is refused."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_verification_console import CHROMIUM, FLAGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page()
            answers: list[int] = []
            page.on("response", lambda r: answers.append(r.status) if r.url == add else None)
            page.set_content(
                f'<form method="post" action="{add}" id="f">'
                f'<input name="kode" value="{code}"><input name="text" value="palsu">'
                '</form><script>document.getElementById("f").submit()</script>'
            )
            page.wait_for_load_state()
            page.wait_for_timeout(500)
            assert answers == [403], answers
        finally:
            browser.close()
