"""OpenID Connect sign-in for a ministry with its own provider (tests/oidc_standin.py):
the authorization code flow with PKCE, the ID token's signature and nonce checked, the
claims mapped to role and agency by configuration, back to the console that asked."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.launcher import Platform
from tests.e2e.helpers import fully_routed, submit, wait_for
from tests.oidc_standin import OidcStandIn

pytestmark = pytest.mark.e2e


def _sign_in(client: httpx.Client, routing: str) -> httpx.Response:
    """From the console, through the sign-in page and the provider, back to the console."""
    answer = client.get(f"{routing}/console/inbox")
    assert answer.status_code == 303 and "/auth/login?to=" in answer.headers["location"]
    to = parse_qs(urlsplit(answer.headers["location"]).query)["to"][0]
    answer = client.get(f"{routing}/auth/oidc/sso", params={"to": to})
    assert answer.status_code == 303
    authorize = answer.headers["location"]
    assert "code_challenge=" in authorize and "code_challenge_method=S256" in authorize
    answer = client.get(authorize)  # the provider approves at once
    assert answer.status_code == 302
    return client.get(answer.headers["location"])  # routing's callback


def test_a_ministry_signs_in_with_its_own_provider(make_platform: Any) -> None:
    provider = OidcStandIn().start()
    config = [
        {
            "name": "sso",
            "label": "SSO Pemkot Bandung",
            "issuer": provider.issuer,
            "client_id": "aduan",
            "role_claim": "aduan_role",
            "roles": {
                "koordinator": "coordinator",
                "penghubung": "unit_officer",
                "pemantau": "monitor",
            },
            "agency_claim": "unit_kerja",
            "agencies": {"PEMKOT-BDG": "pemda-32.73", "KEC-COBLONG": "kec-32.73.02"},
        }
    ]
    platform: Platform = make_platform(
        "sqlite", extra_env={"ROUTING_OIDC_PROVIDERS": json.dumps(config)}
    )
    routing = platform.url("routing")
    try:
        page = httpx.get(f"{routing}/auth/login")
        assert "SSO Pemkot Bandung" in page.text

        provider.next_claims = {
            "sub": "a1b2c3",
            "email": "rina@bandung.go.id",
            "email_verified": True,
            "name": "Rina Koordinator",
            "aduan_role": "koordinator",
            "unit_kerja": "PEMKOT-BDG",
        }
        with httpx.Client() as client:
            back = _sign_in(client, routing)
            assert back.status_code == 303, back.text
            assert "/console/session?" in back.headers["location"]
            assert client.get(back.headers["location"]).status_code == 303
            inbox = client.get(f"{routing}/console/inbox")
            assert inbox.status_code == 200
            assert "rina (coordinator)" in inbox.text
            account = client.get(f"{routing}/auth/account")
            assert "Pemerintah Kota Bandung" in account.text

            # The provider moves her to a kecamatan: the next sign-in follows the claims
            # and ends the sessions she had as a coordinator.
            provider.next_claims = {
                **provider.next_claims,
                "aduan_role": "penghubung",
                "unit_kerja": "KEC-COBLONG",
            }
            old_console = client.cookies.get("aduan_staff_routing")
            client.cookies.clear()
            back = _sign_in(client, routing)
            assert back.status_code == 303
            client.get(back.headers["location"])
            assert "rina (unit_officer)" in client.get(f"{routing}/console/inbox").text
            # The coordinator's console token died with the change (staff.access).
            bearer = {"authorization": f"Bearer {old_console}"}
            wait_for(
                lambda: httpx.get(f"{routing}/v1/inbox", headers=bearer).status_code == 401,
                what="the coordinator's old token refused",
            )
            new_console = client.cookies.get("aduan_staff_routing")
            mine = {"authorization": f"Bearer {new_console}"}
            assert httpx.get(f"{routing}/v1/inbox", headers=mine).status_code == 200

        # The Ombudsman's monitor reads every agency's inbox and changes nothing.
        provider.next_claims = {
            "sub": "omb-1",
            "email": "pemantau@ombudsman.go.id",
            "email_verified": True,
            "name": "Pemantau Ombudsman",
            "aduan_role": "pemantau",
        }
        report = submit(platform, district_code="32.73.01", reporter={"phone": "081322250001"})
        wait_for(lambda: fully_routed(platform, report["tracking_number"]), what="routed")
        with httpx.Client() as client:
            back = _sign_in(client, routing)
            client.get(back.headers["location"])
            page = client.get(f"{routing}/console/reports/{report['report_id']}")
            assert page.status_code == 200 and 'id="followup"' not in page.text
            token = {"authorization": f"Bearer {client.cookies.get('aduan_staff_routing')}"}
            inbox = httpx.get(f"{routing}/v1/inbox", headers=token)
            assert report["report_id"] in inbox.text
            done = httpx.post(
                f"{routing}/v1/reports/{report['report_id']}/resolve",
                json={"summary": "Sudah selesai"},
                headers=token,
            )
            assert done.status_code == 403

        # A claim that maps to no role, or an ID token for another nonce, gets nowhere.
        provider.next_claims = {**provider.next_claims, "sub": "x9", "aduan_role": "tamu"}
        with httpx.Client() as client:
            refused = _sign_in(client, routing)
            assert refused.status_code == 401
            assert "aduan_signin" not in client.cookies
        provider.next_claims = {**provider.next_claims, "aduan_role": "pemantau"}
        provider.nonce_override = "nonce-of-another-sign-in"
        with httpx.Client() as client:
            refused = _sign_in(client, routing)
            assert refused.status_code == 401
            assert "aduan_signin" not in client.cookies
        provider.nonce_override = None
        with httpx.Client() as client:  # the same person, the right nonce: in
            assert _sign_in(client, routing).status_code == 303
        assert provider.refused == []  # every request we made carried PKCE properly
    finally:
        provider.stop()
