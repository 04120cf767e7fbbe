"""Privacy in the data, across every channel: reports come in with unique canary names,
phone numbers and emails through the REST API (named and Anonim), the web form (with a
photo), the web signed in to an account, Open311 and SMS through the real Kannel; Anonim
stories name their own reporter every way people write it, and a verifier covers what
the automatic masking cannot know (a house number). Then every topic (but the private
contact topic), every public page, every API and Open311 response, the agencies' view,
the consoles (the right agency's, another agency's, the verifiers'), the services'
metrics and their logs are scanned: any canary fails it."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services import auth, catalog, regions, sealing
from services.contracts import decode
from services.launcher import Platform
from tests.channels import KannelGateway
from tests.e2e.helpers import fully_routed, staff_headers, submit, track, wait_for
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
        return [self.mark, self.phone, e164, e164[1:], self.email, *self.spellings[1:]]

    @property
    def spellings(self) -> list[str]:
        """The phone as people write it in a story."""
        p = self.phone
        return [
            p,
            f"{p[:4]}-{p[4:8]}-{p[8:]}",
            f"+62 {p[1:4]} {p[4:8]} {p[8:]}",
            f"62{p[1:]}",
            f"{p[:4]}.{p[4:8]}.{p[8:]}",
            " ".join(p),
        ]

    def story(self) -> str:
        """An Anonim story that names its own reporter, every way people do it."""
        s = self.spellings
        return (
            f"{STORY} Nama saya {self.name}. Hubungi saya di {s[1]} atau {s[2]}, WA {s[3]}, "
            f"telepon {s[4]} ({s[5]}), email {self.email}. Terima kasih, {self.last}."
        )


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


def _report_id(platform: Platform, tn: str) -> str:
    from tests.e2e.helpers import scalar

    return str(
        scalar(platform, "intake", "SELECT id FROM reports WHERE tracking_number = :tn", tn=tn)
    )


def _surface(where: str) -> str:
    """A scanned text's surface, for the count: the topic, the page kind, the log."""
    if where.startswith("http"):
        path = where.split("/", 3)[3].split("?")[0]
        parts = ["{id}" if p[:1].isdigit() or len(p) >= 30 else p for p in path.split("/")]
        return "/" + "/".join(parts)
    if where.endswith(".log") or " " in where or where.startswith("/"):
        return where
    return "topic " + where.split(".", 1)[1]  # without the namespace


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
            ("anon_named", "Siti"),
            ("web_anon", "Rahmawati"),
            ("open311_anon", "Yusuf"),
            ("redacted", "Lestari"),
        ]
    }
    # Anonim reporters whose own story names them: intake masks them out of everything it
    # sends; they read their own words on their own page only.
    self_named = ("anon_named", "web_anon", "open311_anon", "redacted")
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
    p = people["anon_named"]
    a = submit(
        platform,
        anonymous=True,
        title=f"Jalan berlubang, lapor {p.first}",
        body=p.story(),
        reporter={"name": p.name, "phone": p.phone, "email": p.email},
    )
    reports["anon_named"] = (a["tracking_number"], a["tracking_secret"])
    # A story that points at its reporter in words no masking can know (the house number,
    # here the canary's mark): the verifier covers them with the redaction tool.
    p = people["redacted"]
    a = submit(
        platform,
        anonymous=True,
        # A neighbour's phone (no one's contact intake knows) sends it to a verifier.
        body=f"{p.story()} Rumah saya nomor {p.mark} di gang sempit, tetangga 0812 5550 1234.",
        reporter={"name": p.name, "phone": p.phone, "email": p.email},
    )
    reports["redacted"] = (a["tracking_number"], a["tracking_secret"])
    # And adds to it, with the same mark and their own phone (report.information_added).
    added = httpx.post(
        f"{intake}/v1/reports/{a['tracking_number']}/information",
        json={
            "secret": a["tracking_secret"],
            "text": f"Tambahan: dekat warung, rumah nomor {p.mark}, hubungi {p.spellings[1]}",
        },
    )
    assert added.status_code == 202, added.text
    p = people["web_anon"]
    warned = httpx.post(f"{intake}/lapor", data=_web_form(p, body=p.story(), anonymous="1"))
    assert warned.status_code == 422  # the form warns; the citizen sends it anyway
    r = httpx.post(f"{intake}/lapor", data=_web_form(p, body=p.story(), anonymous="1", anyway="1"))
    assert r.status_code == 201, r.text[:2000]
    reports["web_anon"] = (
        _tracking_number(r.text),
        r.text.split('id="secret">', 1)[1].split("<")[0],
    )

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
    p = people["open311_anon"]
    r = httpx.post(
        f"{intake}/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "infrastruktur",
            "description": p.story(),
            "attribute[regency_code]": "32.73",
            "attribute[anonymous]": "true",
            "first_name": p.first,
            "last_name": p.last,
            "email": p.email,
            "phone": p.phone,
        },
    )
    assert r.status_code == 201, r.text
    reports["open311_anon"] = (r.json()[0]["service_request_id"], None)

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

    # A verifier reads the masked stories of the self-named ones and sends them on.
    verifier = staff_headers(platform, "verifier")
    vurl = platform.url("verification")
    for key in self_named:
        tn = reports[key][0]
        rid = _report_id(platform, tn)
        case = wait_for(
            lambda rid=rid, key=key: (
                (c := httpx.get(f"{vurl}/v1/cases/{rid}", headers=verifier)).status_code == 200
                and c.json()["state"] in ("queued", "decided")
                and (key != "redacted" or "dekat warung" in c.json()["text"])
                and c.json()
            ),
            what=f"{key} checked",
        )
        mark = people[key].mark
        if key == "redacted":  # the mark alone is no name part: only a verifier can see it
            assert case["state"] == "queued" and f"nomor {mark}" in case["text"]
            ok = httpx.post(
                f"{vurl}/v1/cases/{rid}/verify",
                # The reason is published too: it is covered like the story.
                json={
                    "reason": f"Nomor rumah {mark} disamarkan",
                    "redact": [mark, "0812 5550 1234"],
                },
                headers=verifier,
            )
            assert ok.status_code == 200, ok.text
            assert mark not in ok.text and "nomor [disamarkan]" in ok.json()["text"]
            continue
        assert mark not in case["text"] and "[disamarkan]" in case["text"], (key, case)
        if case["state"] == "queued":
            ok = httpx.post(
                f"{vurl}/v1/cases/{rid}/verify",
                json={"reason": "Identitas disamarkan"},
                headers=verifier,
            )
            assert ok.status_code == 200, ok.text
    for tn, _ in reports.values():
        wait_for(lambda tn=tn: fully_routed(platform, tn), what=f"{tn} routed")

    needles = {n: k for k, c in people.items() for n in c.needles}

    scanned: Counter[str] = Counter()  # surface -> texts scanned (printed with -s)

    def clean(text: str, where: str, but: tuple[str, ...] = ()) -> None:
        hits = [f"{needles[n]}:{n}" for n in needles if n in text and n not in but]
        assert not hits, f"{where} carries {hits}"
        scanned[_surface(where)] += 1

    # Before a verifier has read them, the words travel sealed (services.sealing): the
    # words a verifier covers are on no topic at all, report.submitted included.
    # Every topic but the private one, and the per-province feed topics.
    submitted = {
        t.full_name(platform.kit()) for t in catalog.TOPICS if t.name == "report.submitted"
    }
    opened: list[str] = []
    kit = platform.kit()
    assert platform.bootstrap
    topics = [t.full_name(kit) for t in catalog.TOPICS if not t.private]
    topics += [regions.province_topic(kit, "32")]
    records = read_topic(platform.bootstrap, topics, idle=3, timeout=60)
    for rec in records:
        blob = (rec.value or b"") + (rec.key or b"") + b"".join(rec.headers.values())
        clean(blob.decode("utf-8", "replace"), rec.topic)
        if rec.topic in submitted:  # the words were there, sealed: the services' keys open them
            event = decode(rec.value)
            assert event.type == "id.aduan.report.submitted.v2"
            opened.append(sealing.opened_submitted(event.payload()).body)  # type: ignore[arg-type]
    assert any(people["redacted"].mark in body for body in opened)
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
    for key, (tn, secret) in reports.items():
        urls += [
            f"{intake}/laporan/{tn}",
            f"{intake}/lacak/{tn}",
            f"{intake}/v1/reports/{tn}",
            f"{intake}/open311/v2/requests/{tn}.json",
            f"{intake}/open311/v2/requests/{tn}.xml",
        ]
        if secret and key not in self_named:
            urls += [
                f"{intake}/lacak/{tn}?kode={secret}",
                f"{intake}/v1/reports/{tn}?secret={secret}",
            ]
    # The reporter reads their own words on their own page; everyone else the masked ones.
    tn, secret = reports["anon_named"]
    own = httpx.get(f"{intake}/v1/reports/{tn}", params={"secret": secret}).json()
    assert own["title"] == f"Jalan berlubang, lapor {people['anon_named'].first}"
    seen_by_others = httpx.get(f"{intake}/v1/reports/{tn}").json()
    assert seen_by_others["title"] == "Jalan berlubang, lapor [disamarkan]"
    # The words a verifier covered in an addition: the reporter still reads them.
    tn, secret = reports["redacted"]
    mine = httpx.get(f"{intake}/v1/reports/{tn}", params={"secret": secret}).json()
    assert any(f"nomor {people['redacted'].mark}" in h["detail"] for h in mine["history"])
    theirs = httpx.get(f"{intake}/v1/reports/{tn}").json()
    assert any("nomor [disamarkan]" in h["detail"] for h in theirs["history"])
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

    # The consoles: the agency's own (a cookie holds the sign-in), another agency's, and
    # the verifiers' (verification keeps only the masked and covered texts).
    routing_url, vurl = platform.url("routing"), platform.url("verification")
    other = platform.staff_token(auth.Role.agency_officer, "petugas-lain", "pemda-31.71")
    own = platform.staff_token(auth.Role.agency_officer, "petugas-kenari", "pemda-32.73")
    pages = 0
    for token, may_read in ((own, True), (other, False)):
        inbox = httpx.get(f"{routing_url}/console/inbox", cookies={"aduan_staff_routing": token})
        assert inbox.status_code == 200
        clean(inbox.text, "agency console inbox")
        for row in httpx.get(f"{routing_url}/v1/inbox", headers=officer).json():
            got = httpx.get(
                f"{routing_url}/console/reports/{row['report_id']}",
                cookies={"aduan_staff_routing": token},
            )
            assert got.status_code == (200 if may_read else 404), (row, got.status_code)
            clean(got.text, "agency console report")
            pages += 1
    verifier_token = platform.staff_token(auth.Role.verifier, "verifikator-kenari")
    for tn, _ in reports.values():
        for url in (f"{vurl}/console/queue", f"{vurl}/console/cases/{_report_id(platform, tn)}"):
            got = httpx.get(url, cookies={"aduan_staff_verification": verifier_token})
            assert got.status_code == 200, (url, got.status_code)
            clean(got.text, url)
    assert pages >= 2 * 6

    # The services' metrics, and their logs.
    for inst in platform.instances:
        metrics = httpx.get(f"{inst.url}/metrics")
        assert metrics.status_code == 200, inst.key
        clean(metrics.text, f"{inst.key} /metrics")
    for log in Path(platform.log_dir).glob("*.log"):
        clean(log.read_text(errors="replace"), log.name)
    print(f"\nprivacy canary: {len(needles)} needles, 0 hits on", dict(sorted(scanned.items())))


def test_a_report_a_verifier_makes_anonim_later_reads_masked_for_everyone_else(
    make_platform: Any,
) -> None:
    """A named reporter who wrote their name and phone in the story; the agency returns
    it and a verifier, reading it again, makes it Anonim: from then on the agency, the
    public and the new routing read the masked words (intake sent them beforehand, in
    report.submitted.anonymous_*); the reporter still reads their own."""
    from tests.e2e.helpers import routing_of

    platform: Platform = make_platform("sqlite")
    intake, routing = platform.url("intake"), platform.url("routing")
    story = (
        f"{STORY} Saya Hendra Gunawan, warga setempat; hubungi saya di 0812-3334-4455 bila "
        "perlu keterangan."
    )
    made = submit(
        platform, body=story, reporter={"name": "Hendra Gunawan", "phone": "081233344455"}
    )
    rid, tn = made["report_id"], made["tracking_number"]
    wait_for(lambda: fully_routed(platform, tn), what="routed")
    agency = routing_of(platform, rid)["agency_id"]
    officer = staff_headers(platform, "agency_officer", agency)
    back = httpx.post(
        f"{routing}/v1/reports/{rid}/return",
        json={"reason": "Mohon diperiksa ulang sebelum diteruskan."},
        headers=officer,
    )
    assert back.status_code == 200, back.text
    verifier, vurl = staff_headers(platform, "verifier"), platform.url("verification")
    wait_for(
        lambda: httpx.get(f"{vurl}/v1/cases/{rid}", headers=verifier).json()["state"] == "queued",
        what="the case back in the queue",
    )
    ok = httpx.post(
        f"{vurl}/v1/cases/{rid}/verify",
        json={"reason": "Pelapor dilindungi: dijadikan Anonim", "anonymous": True},
        headers=verifier,
    )
    assert ok.status_code == 200, ok.text
    assert "Hendra" not in ok.json()["text"] and ok.json()["anonymous"]
    admin = staff_headers(platform)

    def masked_copy() -> str | None:
        got = httpx.get(f"{routing}/v1/reports/{rid}", headers=admin)
        return got.text if got.json()["anonymous"] and "[disamarkan]" in got.text else None

    copy = wait_for(masked_copy, what="routing's copy masked")
    # Intake reads the verifier's decision on its own, after or before routing does.
    wait_for(
        lambda: [h["kind"] for h in track(platform, tn).json()["history"]].count("verified") == 2,
        what="intake has read the second verification",
    )
    for text, where in (
        (copy, "the agency's copy"),
        (httpx.get(f"{intake}/laporan/{tn}").text, "the public page"),
        (httpx.get(f"{intake}/v1/reports/{tn}").text, "the public API"),
        (httpx.get(f"{intake}/open311/v2/requests/{tn}.json").text, "Open311"),
    ):
        assert "Hendra" not in text and "3334" not in text, where
    assert tn not in httpx.get(f"{intake}/laporan", params={"q": "Hendra"}).text
    own = httpx.get(f"{intake}/v1/staff/reports/{rid}/original", headers=admin).json()
    assert "Hendra Gunawan" in own["story"]
