"""Privacy in the data, across every channel: reports come in with unique canary names,
phone numbers and emails through the REST API (named and Anonim), the web form (with a
photo), the web signed in to an account, Open311 and SMS through the real Kannel. Then
every topic (but the private contact topic), every public page, every API and Open311
response, the agencies' view and the services' logs are scanned: any canary fails it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services import catalog, regions
from services.launcher import Platform
from tests.channels import KannelGateway
from tests.e2e.helpers import fully_routed, staff_headers, submit, wait_for
from tests.kafka_helpers import read_topic
from tests.unit.test_areas_uploads import _jpeg_with_location

pytestmark = pytest.mark.e2e

SECRET = "sms-privacy-secret-1708"


@dataclass(frozen=True)
class Canary:
    """A person no other test invents: every form of their contact data is a needle."""

    mark: str
    first: str
    last: str
    phone: str
    email: str

    @classmethod
    def new(cls, first: str) -> Canary:
        mark = uuid.uuid4().hex[:10]
        digits = str(int(mark, 16) % 10**8).zfill(8)
        return cls(mark, first, f"Kenari{mark}", "0813" + digits, f"kenari{mark}@example.id")

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def needles(self) -> list[str]:
        e164 = "+62" + self.phone[1:]
        return [self.mark, self.phone, e164, e164[1:], self.email]


STORY = (
    "Jalan Cikutra di depan Pasar Cicadas berlubang besar sejak dua minggu lalu dan dua "
    "pengendara motor jatuh pada malam hari."
)


def _web_form(canary: Canary, **extra: str) -> dict[str, str]:
    return {
        "title": "Jalan berlubang di Cikutra",
        "body": STORY,
        "category": "infrastruktur",
        "regency_code": "32.73",
        "name": canary.name,
        "phone": canary.phone,
        "email": canary.email,
        **extra,
    }


def _tracking_number(html: str) -> str:
    return html.split('id="tracking-number">#', 1)[1][:7]


def test_no_contact_data_leaves_intake_through_any_channel(
    make_platform: Any, tmp_path: Path
) -> None:
    platform: Platform = make_platform("sqlite", extra_env={"INTAKE_SMS_SECRET": SECRET})
    intake = platform.url("intake")
    people = {
        k: Canary.new(first)
        for k, first in [
            ("api", "Putri"),
            ("anon", "Dewi"),
            ("web", "Agus"),
            ("account", "Rina"),
            ("open311", "Bayu"),
            ("sms", "Wati"),
        ]
    }
    reports: dict[str, tuple[str, str | None]] = {}  # channel -> (tracking number, secret)

    # REST API, named and Anonim.
    for key, anonymous in (("api", False), ("anon", True)):
        p = people[key]
        a = submit(
            platform,
            anonymous=anonymous,
            body=STORY,
            reporter={"name": p.name, "phone": p.phone, "email": p.email},
        )
        reports[key] = (a["tracking_number"], a["tracking_secret"])

    # The web form, with a photo.
    r = httpx.post(
        f"{intake}/lapor",
        data=_web_form(people["web"]),
        files=[("lampiran", ("foto.jpg", _jpeg_with_location(), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    reports["web"] = (_tracking_number(r.text), r.text.split('id="secret">', 1)[1].split("<")[0])

    # The web, signed in to an account that holds the contact data.
    p = people["account"]
    signup = httpx.post(
        f"{intake}/akun/daftar",
        data={
            "username": f"akun{uuid.uuid4().hex[:6]}",
            "password": "sepeda-biru-tua-88",
            "password2": "sepeda-biru-tua-88",
            "name": p.name,
            "phone": p.phone,
            "email": p.email,
        },
    )
    assert signup.status_code == 303
    r = httpx.post(
        f"{intake}/lapor",
        data=_web_form(p, name="", phone="", email=""),
        cookies=signup.cookies,
    )
    assert r.status_code == 201, r.text
    reports["account"] = (_tracking_number(r.text), None)

    # Open311, as a partner app.
    p = people["open311"]
    key = httpx.post(
        f"{intake}/v1/partners", json={"name": "Aplikasi Uji"}, headers=staff_headers(platform)
    ).json()["api_key"]
    r = httpx.post(
        f"{intake}/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "infrastruktur",
            "description": STORY,
            "attribute[regency_code]": "32.73",
            "first_name": p.first,
            "last_name": p.last,
            "email": p.email,
            "phone": p.phone,
        },
    )
    assert r.status_code == 201, r.text
    reports["open311"] = (r.json()[0]["service_request_id"], None)

    # SMS through the real Kannel.
    kannel = KannelGateway(
        tmp_path / "kannel", sms_service_url=f"{intake}/v1/sms/kannel?secret={SECRET}"
    ).start()
    try:
        kannel.send(people["sms"].phone, "Jalan berlubang besar di Jl. Cikutra, Kota Bandung")
        reply = wait_for(
            lambda: next((m.text for m in kannel.received() if "#" in m.text), None),
            30,
            "the SMS reply",
        )
    finally:
        kannel.stop()
    reports["sms"] = (reply.split("#", 1)[1][:7], None)

    for tn, _ in reports.values():
        wait_for(lambda tn=tn: fully_routed(platform, tn), what=f"{tn} routed")

    needles = {n: k for k, c in people.items() for n in c.needles}

    def clean(text: str, where: str) -> None:
        hits = [f"{needles[n]}:{n}" for n in needles if n in text]
        assert not hits, f"{where} carries {hits}"

    # Every topic but the private one, and the per-province feed topics.
    kit = platform.kit()
    assert platform.bootstrap
    topics = [t.full_name(kit) for t in catalog.TOPICS if not t.private]
    topics += [regions.province_topic(kit, "32")]
    records = read_topic(platform.bootstrap, topics, idle=3, timeout=60)
    for rec in records:
        blob = (rec.value or b"") + (rec.key or b"") + b"".join(rec.headers.values())
        clean(blob.decode("utf-8", "replace"), rec.topic)
    seen = {rec.topic for rec in records}
    # Each report was submitted, verified, routed and given a deadline, and the province
    # feed carried it: all of them were read.
    assert len(records) >= 6 * 4 and regions.province_topic(kit, "32") in seen
    assert {t.full_name(kit) for t in catalog.TOPICS if t.name == "report.submitted"} <= seen

    # Public pages, the citizen's own pages, the REST API and Open311.
    admin = staff_headers(platform)
    officer = staff_headers(platform, "agency_officer", "pemda-32.73")
    urls = [
        f"{intake}/",
        f"{intake}/laporan",
        f"{intake}/laporan?q=Cikutra",
        f"{intake}/statistik",
        f"{intake}/v1/categories",
        f"{intake}/openapi.json",
        f"{intake}/open311/v2/requests.json",
        f"{intake}/open311/v2/requests.xml",
        f"{platform.url('routing')}/v1/inbox",
    ]
    for tn, secret in reports.values():
        urls += [
            f"{intake}/laporan/{tn}",
            f"{intake}/lacak/{tn}",
            f"{intake}/v1/reports/{tn}",
            f"{intake}/open311/v2/requests/{tn}.json",
            f"{intake}/open311/v2/requests/{tn}.xml",
        ]
        if secret:
            urls += [
                f"{intake}/lacak/{tn}?kode={secret}",
                f"{intake}/v1/reports/{tn}?secret={secret}",
            ]
    for url in urls:
        got = httpx.get(url, headers=officer)
        assert got.status_code == 200, (url, got.status_code)
        clean(got.text, url)
    account_page = httpx.get(f"{intake}/akun", cookies=signup.cookies)
    assert account_page.status_code == 200
    clean(account_page.text, "/akun")

    # What the agency sees of each report, as an administrator.
    inbox = httpx.get(f"{platform.url('routing')}/v1/inbox", headers=officer).json()
    assert len(inbox) >= 6
    for row in inbox:
        detail = httpx.get(
            f"{platform.url('routing')}/v1/reports/{row['report_id']}", headers=admin
        )
        clean(detail.text, "routing report")

    # The services' logs.
    for log in Path(platform.log_dir).glob("*.log"):
        clean(log.read_text(errors="replace"), log.name)
