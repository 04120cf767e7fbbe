"""Whole journeys of a report, as each of its audiences lives them.

Every path of a report's life runs through the real broker and the five services, on
SQLite and on PostgreSQL. After each action the test waits until every audience reads the
same state (the kit's lifecycle) and checks what each one sees:

- the citizen: intake's API with the secret, the tracking page, and the SMS ``STATUS``
  answer (the endpoint Kannel's sms-service calls; Kannel itself is in test_sms);
- the public: the public page (404 before verification and for a Rahasia report);
- Open311: ``GET requests/{id}.json`` (``status`` and ``status_notes``);
- the agency: routing's API as the agency's officer, and its console page;
- the verifiers: verification's case, and its console page;
- the region: the connected government's feed through the gateway;
- the notices: what the reporter was told, each meant transition once.

Time-driven paths (10 working days of silence, 60 days to escalation) run on a second
platform whose SLA clock runs 70 days ahead (``SLA_CLOCK_OFFSET_SECONDS``): there every
clock is already past its deadline when it opens, so nothing waits for days.

The seconds from each action to the last view updated are printed (``-s`` shows them)
and written to ``var/journeys-<backend>.json`` of the platform.
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from services import lifecycle
from services.broker import EmbeddedBroker
from services.console import COOKIE
from services.launcher import Platform
from services.settings import BrokerProfile
from tests.conftest import BACKENDS, PgDatabases, database_urls, new_namespace, platform_env
from tests.e2e.helpers import region_credentials, staff_headers, wait_for

pytestmark = pytest.mark.e2e

SMS_SECRET = "journey-sms-secret"
AHEAD_DAYS = 70
BANDUNG = "pemda-32.73"


def _platform(
    backend: str, broker: EmbeddedBroker, var: Path, pg: PgDatabases, extra: dict[str, str]
) -> Platform:
    ns = new_namespace()
    return Platform(
        var_dir=var / ns,
        namespace=ns,
        database_urls=database_urls(backend, var / ns, ns, pg),
        bootstrap=broker.bootstrap,
        profile=BrokerProfile.tansu,
        extra_env=platform_env(
            {
                "INTAKE_SMS_SECRET": SMS_SECRET,
                # Duplicates are checked here (conftest turns them off elsewhere).
                "VERIFICATION_DUPLICATE_WINDOW_DAYS": "30",
                "SLA_TICK_SECONDS": "0.2",
                **extra,
            }
        ),
    )


@dataclass
class Platforms:
    now: Platform
    ahead: Platform
    backend: str
    timings: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module", params=BACKENDS)
def platforms(
    request: pytest.FixtureRequest, broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platforms]:
    pg = PgDatabases()
    var = tmp_path_factory.mktemp("journeys")
    now = _platform(request.param, broker, var, pg, {})
    ahead = _platform(
        request.param,
        broker,
        var,
        pg,
        {"SLA_CLOCK_OFFSET_SECONDS": str(AHEAD_DAYS * 86400)},
    )
    both = Platforms(now, ahead, request.param)
    try:
        now.start()
        ahead.start()
        yield both
    finally:
        out = var / f"journeys-{request.param}.json"
        out.write_text(json.dumps(both.timings, indent=2))
        for step in both.timings:
            print(f"[{request.param}] {step['path']}: {step['step']} -> {step['seconds']:.2f} s")
        now.stop()
        ahead.stop()
        pg.drop_all()


# --- what each audience sees -----------------------------------------------------------

_STATUS_ATTR = re.compile(r'id="status" data-status="([a-z_]+)"')


def _state_of_label(text: str, lang: str = "id") -> str | None:
    """The state whose label the text shows (the longest label that fits)."""
    found = [c for c, s in lifecycle.STATES.items() if s.label(lang) in text]
    return max(found, key=lambda c: len(lifecycle.label(c, lang))) if found else None


@dataclass
class Report:
    """One report of a journey and the people around it."""

    platform: Platform
    tn: str
    rid: str
    secret: str
    phone: str
    # The agency whose officer looks: "?" for whichever routing chose, None for none.
    agency: str | None = "?"
    region_client: dict[str, str] | None = None
    public: bool = True

    def get(self, service: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(f"{self.platform.url(service)}{path}", timeout=15, **kw)

    def holder(self) -> str | None:
        """The agency that holds the report now (as an administrator reads routing)."""
        if self.agency != "?":
            return self.agency
        r = self.get("routing", f"/v1/routings/{self.rid}", headers=staff_headers(self.platform))
        return str(r.json()["agency_id"]) if r.status_code == 200 else None

    # Each view answers the state it shows (None: the audience does not see the report).
    def citizen_api(self) -> str | None:
        r = self.get("intake", f"/v1/reports/{self.tn}", params={"secret": self.secret})
        body = r.json()
        state = lifecycle.state(body["status"])
        assert body["status_label"] == state.id and body["status_next"] == state.next_id
        assert body["open311_status"] == state.open311 and body["timezone"] in (
            "WIB",
            "WITA",
            "WIT",
        )
        assert all(h["at_local"].endswith(body["timezone"]) for h in body["history"])
        assert not any(
            h["detail"].startswith("first_response:") or "UTC" in h["detail"]
            for h in body["history"]
        )
        return str(body["status"])

    def citizen_page(self) -> str | None:
        r = self.get("intake", f"/lacak/{self.tn}", params={"kode": self.secret})
        assert r.status_code == 200 and "UTC" not in r.text
        m = _STATUS_ATTR.search(r.text)
        assert m is not None
        assert lifecycle.label(m.group(1)) in r.text and lifecycle.state(m.group(1)).next_id in (
            r.text.replace("&#39;", "'")
        )
        return m.group(1)

    def sms(self) -> str | None:
        r = self.get(
            "intake",
            "/v1/sms/kannel",
            params={
                "secret": SMS_SECRET,
                "from": self.phone,
                "to": "1708",
                "id": uuid.uuid4().hex,
                "text": f"STATUS {self.tn}",
            },
        )
        assert r.status_code == 200 and r.text.startswith(f"#{self.tn}: "), r.text
        assert len(r.text) <= 160, r.text  # one SMS segment
        return _state_of_label(r.text)

    def public_page(self) -> str | None:
        r = self.get("intake", f"/laporan/{self.tn}")
        if r.status_code == 404:
            return None
        m = _STATUS_ATTR.search(r.text)
        assert m is not None and "UTC" not in r.text
        return m.group(1)

    def open311(self) -> str | None:
        r = self.get("intake", f"/open311/v2/requests/{self.tn}.json")
        if r.status_code == 404 or r.json() == []:
            return None
        [row] = r.json()
        state = _state_of_label(row["status_notes"])
        assert state is not None and row["status"] == lifecycle.open311_status(state)
        return state

    def agency_api(self) -> str | None:
        agency = self.holder()
        if agency is None:
            return None
        officer = staff_headers(self.platform, "agency_officer", agency)
        r = self.get("routing", f"/v1/reports/{self.rid}", headers=officer)
        return str(r.json()["status"]) if r.status_code == 200 else None

    def agency_console(self) -> str | None:
        agency = self.holder()
        if agency is None:
            return None
        token = self.platform.staff_token(_role("agency_officer"), "petugas", agency)
        r = self.get(
            "routing", f"/console/reports/{self.rid}", cookies={f"{COOKIE}_routing": token}
        )
        if r.status_code != 200:
            return None
        m = _STATUS_ATTR.search(r.text)
        assert m is not None and "UTC" not in r.text, r.text[:500]
        assert lifecycle.label(m.group(1)) in r.text
        return m.group(1)

    def region(self) -> str | None:
        if self.region_client is None:
            return None
        events = _feed(self.platform, self.region_client)
        mine = [e["data"] for e in events if e["data"]["report_id"] == self.rid]
        if not mine:
            return None
        last = mine[-1]
        assert last["status_label"] == lifecycle.label(last["status"])
        return str(last["status"])

    def notices(self) -> list[str]:
        r = self.get(
            "notifications",
            f"/v1/reports/{self.rid}/notifications",
            headers=staff_headers(self.platform),
        )
        return [n["template"] for n in r.json() if n.get("audience", "reporter") == "reporter"]


def _role(name: str) -> Any:
    from services.auth import Role

    return Role(name)


def _feed(platform: Platform, client: dict[str, str]) -> list[dict[str, Any]]:
    gw = platform.url("notifications")
    token = httpx.post(
        f"{gw}/v1/region/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    ).json()["access_token"]
    events: list[dict[str, Any]] = []
    cursor = "0"
    while True:
        page = httpx.get(
            f"{gw}/v1/region/events",
            params={"after": cursor, "limit": 500},
            headers={"authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        events += page["events"]
        if not page["events"]:
            return events
        cursor = page["next"]


class ViewWrong(Exception):
    """A view shows something it must not (a code, UTC, a mixed label)."""


AUDIENCES = (
    "citizen_api",
    "citizen_page",
    "sms",
    "public_page",
    "open311",
    "agency_api",
    "agency_console",
    "region",
)


def settle(
    ps: Platforms,
    report: Report,
    path: str,
    step: str,
    started: float,
    state: str,
    notice: str | None = None,
    hidden: tuple[str, ...] = (),
) -> None:
    """Wait until every audience reads ``state`` (or does not see the report, for the
    ``hidden`` ones), and the reporter was told ``notice`` once; record how long it took."""
    want = {a: (None if a in hidden else state) for a in AUDIENCES}
    if not report.public or "public" not in lifecycle.state(state).audiences:
        want["public_page"] = None
    if not report.public:
        # Open311 answers a request's status by its id (the partner app that sent it
        # follows it from the start), without its text before verification.
        want["open311"] = None
    if report.agency is None or state in (
        "submitted",
        "information_requested",
        "rejected",
    ):
        want["agency_api"] = want["agency_console"] = None
    if report.region_client is None or want["agency_api"] is None:
        want["region"] = None
    last_seen: dict[str, Any] = {}

    def all_agree() -> bool:
        for audience, expected in want.items():
            try:
                seen = getattr(report, audience)()
            except AssertionError as exc:  # what a view shows is wrong: fail at once
                raise ViewWrong(f"{path} / {step}: {audience}: {exc!r}") from exc
            last_seen[audience] = seen
            if seen != expected:
                return False
        if notice is not None:
            told = report.notices()
            last_seen["notices"] = told
            if told.count(notice) != 1:
                return False
        return True

    try:
        wait_for(lambda: all_agree() or None, timeout=60, what=f"{path}: {step}")
    except AssertionError as exc:
        raise AssertionError(f"{path} / {step}: want {want}, saw {last_seen}") from exc
    ps.timings.append(
        {"path": path, "step": step, "state": state, "seconds": time.monotonic() - started}
    )


# --- actions ---------------------------------------------------------------------------------

ROAD = {
    "category": "infrastruktur",
    "regency_code": "32.73",
}


def submit(platform: Platform, phone: str, title: str, body: str, **extra: Any) -> Report:
    payload = {**ROAD, "title": title, "body": body, "reporter": {"phone": phone}, **extra}
    r = httpx.post(f"{platform.url('intake')}/v1/reports", json=payload, timeout=30)
    assert r.status_code == 201, r.text
    a = r.json()
    return Report(platform, a["tracking_number"], a["report_id"], a["tracking_secret"], phone)


def officer_post(
    report: Report, path: str, headers: dict[str, str] | None = None, **kw: Any
) -> httpx.Response:
    """An action of the agency's officer on the report (or of the staff ``headers`` name)."""
    headers = headers or staff_headers(report.platform, "agency_officer", report.holder())
    r = httpx.post(
        f"{report.platform.url('routing')}/v1/reports/{report.rid}/{path}",
        headers=headers,
        timeout=30,
        **kw,
    )
    assert r.status_code in (200, 201), r.text
    return r


def citizen_reply(report: Report, satisfied: bool | None, text: str = "") -> None:
    r = httpx.post(
        f"{report.platform.url('intake')}/v1/reports/{report.tn}/replies",
        json={"secret": report.secret, "satisfied": satisfied, "text": text},
        timeout=30,
    )
    assert r.status_code == 202, r.text


def photo() -> bytes:
    img = Image.new("RGB", (64, 48), (200, 120, 40))
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


region_client = region_credentials


# Each journey's story is its own: duplicates are checked on these platforms.
STORIES = {
    "accepted": "Jalan Cikutra di depan Pasar Cicadas berlubang besar sejak dua minggu lalu; "
    "dua pengendara motor sudah jatuh pada malam hari.",
    "reopened": "Sampah menumpuk di tepi Sungai Cikapundung dekat Jalan Siliwangi selama "
    "sepuluh hari dan menimbulkan bau busuk bagi warga RT 03.",
    "duplicate": "Lampu penerangan di Jalan Terusan Jakarta depan Terminal Antapani padam "
    "total sejak Jumat sehingga warga takut melintas malam.",
    "returned": "Trotoar di Jalan Asia Afrika depan Gedung Merdeka amblas setengah meter "
    "sejak hujan deras Selasa lalu dan membahayakan pejalan kaki.",
    "pending": "Jalan Trans Nabire di Kampung Oyehe longsor sejak Rabu; separuh badan jalan "
    "hilang dan kendaraan harus bergantian lewat.",
    "silence": "Saluran air di Jalan Sukajadi depan Pasar Sukajadi tersumbat lumpur sehingga "
    "air meluap ke rumah warga setiap hujan sore.",
    "escalated": "Jembatan kayu di Jalan Cibeunying Kaler dekat SD Cibeunying retak di dua "
    "tiang penyangganya sejak gempa kecil pekan lalu.",
    "disposed": "Saluran drainase di Jalan Dipatiukur dekat kampus tersumbat sampah plastik "
    "sehingga air menggenangi jalan setiap hujan sore sejak awal bulan.",
}


def _step(fn: Callable[[], Any]) -> float:
    started = time.monotonic()
    fn()
    return started


# --- the paths ---------------------------------------------------------------------------------


def test_answered_with_a_photo_asked_replied_resolved_and_accepted(platforms: Platforms) -> None:
    p, path = platforms.now, "accepted"
    region = region_client(p, "32.73")
    started = time.monotonic()
    report = submit(p, "081390000001", "Jalan berlubang di Cikutra", STORIES["accepted"])
    report.region_client = region
    settle(platforms, report, path, "verified automatically, routed", started, "routed", "routed")
    assert report.notices()[:3] == ["received", "verified", "routed"]

    # The agency answers with a photo: it reaches the citizen's tracking page.
    started = _step(
        lambda: officer_post(
            report,
            "followups",
            data={"text": "Tim sudah meninjau lokasi.", "kind": "followup"},
            files=[("files", ("lokasi.jpg", photo(), "image/jpeg"))],
        )
    )
    settle(platforms, report, path, "follow-up with a photo", started, "in_progress")
    page = report.get("intake", f"/lacak/{report.tn}", params={"kode": report.secret}).text
    links = re.findall(r'<ul class="agency-files"><li><a href="([^"]+)"', page)
    assert len(links) == 1, page
    got = httpx.get(links[0].replace("&amp;", "&"), timeout=10)
    assert got.status_code == 200 and got.content[:2] == b"\xff\xd8"
    assert httpx.get(links[0].split("?")[0], timeout=10).status_code == 422  # no grant
    forged = links[0].replace("&amp;", "&").rsplit("=", 1)[0] + "=x.y.z"
    assert httpx.get(forged, timeout=10).status_code == 404
    public = report.get("intake", f"/laporan/{report.tn}").text
    assert "agency-files" not in public  # the files are the reporter's to open

    # A question; the citizen answers it and adds a file the agency then reads.
    started = _step(
        lambda: officer_post(
            report, "followups", data={"text": "Berapa lebar lubangnya?", "kind": "question"}
        )
    )
    settle(platforms, report, path, "a question to the citizen", started, "in_progress")
    started = time.monotonic()
    citizen_reply(report, None, "Sekitar satu meter.")
    added = httpx.post(
        f"{p.url('intake')}/v1/reports/{report.tn}/attachments",
        data={"secret": report.secret, "text": "Foto lubangnya"},
        files=[("files", ("lubang.jpg", photo(), "image/jpeg"))],
        timeout=30,
    )
    assert added.status_code == 201, added.text
    settle(platforms, report, path, "the citizen answers", started, "in_progress")

    def agency_has_the_file() -> list[Any] | None:
        officer = staff_headers(p, "agency_officer", BANDUNG)
        d = httpx.get(f"{p.url('routing')}/v1/reports/{report.rid}", headers=officer).json()
        return d.get("reporter_files") or None

    files = wait_for(agency_has_the_file, what="the citizen's file at the agency")
    assert [f["filename"] for f in files] == ["lampiran-1.jpg"]

    started = _step(lambda: officer_post(report, "resolve", json={"summary": "Sudah ditambal."}))
    settle(platforms, report, path, "resolved", started, "resolved", "resolved")
    started = _step(lambda: citizen_reply(report, True, "Terima kasih, sudah selesai."))
    settle(platforms, report, path, "solved: closed", started, "closed", "closed_accepted")
    assert report.notices().count("closed_accepted") == 1
    assert "closed_no_reply" not in report.notices()
    # Closed: the citizen can neither reply nor add, and is told so in their language.
    again = httpx.post(
        f"{p.url('intake')}/v1/reports/{report.tn}/replies",
        json={"secret": report.secret, "satisfied": False, "text": "Masih rusak"},
    )
    assert again.status_code == 409 and "/" not in again.json()["detail"]
    more = httpx.post(
        f"{p.url('intake')}/v1/reports/{report.tn}/information?lang=en",
        json={"secret": report.secret, "text": "Satu lagi"},
    )
    assert more.status_code == 409 and more.json()["detail"] == "The report is finished."


def test_not_solved_reopens_and_the_agency_answers_again(platforms: Platforms) -> None:
    p, path = platforms.now, "re-opened"
    started = time.monotonic()
    report = submit(
        p, "081390000002", "Sampah di Cikapundung", STORIES["reopened"], category="lingkungan"
    )
    settle(platforms, report, path, "routed", started, "routed", "routed")
    started = _step(lambda: officer_post(report, "resolve", json={"summary": "Sudah diperbaiki."}))
    settle(platforms, report, path, "resolved", started, "resolved", "resolved")
    started = _step(lambda: citizen_reply(report, False, "Belum, lubangnya masih ada."))
    settle(platforms, report, path, "not solved: re-opened", started, "reopened", "reopened")
    sla = httpx.get(f"{p.url('sla')}/v1/reports/{report.rid}/sla", headers=staff_headers(p)).json()[
        "clocks"
    ]
    assert [c["status"] for c in sla if c["clock"] == "first_response"][-1] == "open"
    started = _step(lambda: officer_post(report, "resolve", json={"summary": "Ditambal ulang."}))
    settle(platforms, report, path, "resolved again", started, "resolved")
    assert report.notices().count("resolved") == 2


def test_silence_after_the_answer_closes_the_report(platforms: Platforms) -> None:
    p, path = platforms.ahead, "silence"
    started = time.monotonic()
    report = submit(p, "081390000003", "Saluran tersumbat", STORIES["silence"])
    # 70 days ahead the resolution clock is past too: the report is offered to the
    # Ombudsman at once, and the agency still holds it.
    settle(platforms, report, path, "routed and escalated", started, "escalated", "escalated")
    started = _step(lambda: officer_post(report, "resolve", json={"summary": "Sudah ditambal."}))
    settle(platforms, report, path, "resolved, then silence", started, "closed", "closed_no_reply")
    assert report.notices().count("closed_no_reply") == 1
    history = report.get("intake", f"/v1/reports/{report.tn}", params={"secret": report.secret})
    closed = [h for h in history.json()["history"] if h["kind"] == "closed"]
    assert [h["detail"] for h in closed] == ["Tidak ada tanggapan dari Anda dalam 10 hari kerja."]


def test_sixty_days_unresolved_escalates_and_the_work_goes_on(platforms: Platforms) -> None:
    p, path = platforms.ahead, "escalated"
    started = time.monotonic()
    report = submit(p, "081390000004", "Jembatan retak", STORIES["escalated"])
    settle(platforms, report, path, "60 days: escalated", started, "escalated", "escalated")
    english = report.get("intake", f"/v1/reports/{report.tn}", params={"lang": "en"}).json()
    assert english["status_label"] == "Escalated to the Ombudsman"
    started = _step(lambda: officer_post(report, "followups", data={"text": "Sedang dikerjakan."}))
    settle(platforms, report, path, "the agency still answers", started, "escalated")


def test_information_requested_added_then_verified(platforms: Platforms) -> None:
    p, path = platforms.now, "information"
    started = time.monotonic()
    report = submit(
        p,
        "081390000005",
        "Pungutan liar",
        "Ada pungutan liar saat mengurus surat.",
        category="pungli",
    )
    settle(platforms, report, path, "information requested", started, "information_requested")
    wait_for(lambda: report.notices().count("information_requested") == 1 or None)
    view = report.get("intake", f"/v1/reports/{report.tn}", params={"secret": report.secret})
    asked = next(h for h in view.json()["history"] if h["kind"] == "information_requested")
    assert "siapa yang terlibat" in asked["detail"] and " / " not in asked["detail"]
    english = report.get(
        "intake", f"/v1/reports/{report.tn}", params={"secret": report.secret, "lang": "en"}
    ).json()
    asked_en = next(h for h in english["history"] if h["kind"] == "information_requested")
    assert "who was involved" in asked_en["detail"] and "siapa" not in asked_en["detail"]
    notice = next(
        h
        for h in view.json()["history"]
        if h["kind"] == "notification" and "dilengkapi" in h["detail"]
    )
    assert "Reply" not in notice["detail"] and "needs" not in notice["detail"]

    started = time.monotonic()
    r = httpx.post(
        f"{p.url('intake')}/v1/reports/{report.tn}/information",
        json={
            "secret": report.secret,
            "text": "Petugas loket bernama Pak Ahmad di Kantor Kelurahan Cikutra, Jalan "
            "Cikutra No. 10, meminta Rp50.000 pada Senin 30 November 2026 pukul 10.00 "
            "dengan cara meminta uang tunai sebelum surat diproses.",
        },
        timeout=30,
    )
    assert r.status_code == 202, r.text
    settle(platforms, report, path, "added, verified, routed", started, "routed", "routed")


def test_a_duplicate_is_rejected_with_a_reason(platforms: Platforms) -> None:
    p, path = platforms.now, "duplicate"
    first = submit(p, "081390000006", "Lampu jalan mati di Antapani", STORIES["duplicate"])
    settle(platforms, first, path, "the first is routed", time.monotonic(), "routed")
    started = time.monotonic()
    again = submit(p, "081390000006", "Lampu jalan mati di Antapani", STORIES["duplicate"])
    settle(platforms, again, path, "the same again: rejected", started, "rejected", "rejected")
    view = again.get("intake", f"/v1/reports/{again.tn}", params={"secret": again.secret}).json()
    assert view["open311_status"] == "closed"


def test_a_region_not_connected_holds_the_report_until_it_joins(platforms: Platforms) -> None:
    p, path = platforms.now, "pending region"
    started = time.monotonic()
    report = submit(
        p,
        "081390000007",
        "Jalan longsor di Nabire",
        STORIES["pending"],
        regency_code="94.01",
    )
    settle(
        platforms,
        report,
        path,
        "pending",
        started,
        "pending_region",
        "pending_region",
    )
    view = report.get("intake", f"/v1/reports/{report.tn}", params={"secret": report.secret})
    assert view.json()["timezone"] == "WIT"
    assert all(h["at_local"].endswith(" WIT") for h in view.json()["history"])
    started = time.monotonic()
    r = httpx.patch(
        f"{p.url('routing')}/v1/agencies/pemda-94.01",
        json={"connected": True},
        headers=staff_headers(p),
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["released"] == 1
    report.region_client = region_client(p, "94.01")
    settle(platforms, report, path, "connected: routed", started, "routed", "routed")
    due = report.get("intake", f"/lacak/{report.tn}", params={"kode": report.secret}).text
    assert re.search(r'<time id="due"[^>]*>[^<]* 23\.59 WIT</time>', due), due


def test_returned_then_routed_again(platforms: Platforms) -> None:
    p, path = platforms.now, "returned"
    started = time.monotonic()
    report = submit(p, "081390000008", "Trotoar amblas", STORIES["returned"])
    settle(platforms, report, path, "routed", started, "routed", "routed")
    started = _step(
        lambda: officer_post(report, "return", json={"reason": "Jalan nasional, bukan wewenang"})
    )
    # The agency that returned it still reads where it went; so does the region.
    settle(platforms, report, path, "returned", started, "returned")
    vurl, verifier = p.url("verification"), staff_headers(p, "verifier")
    wait_for(
        lambda: (
            httpx.get(f"{vurl}/v1/cases/{report.rid}", headers=verifier).json()["state"] == "queued"
            or None
        ),
        what="back in the verifiers' queue",
    )
    token = p.staff_token(_role("verifier"), "verifikator")
    console = httpx.get(
        f"{vurl}/console/cases/{report.rid}", cookies={f"{COOKIE}_verification": token}
    ).text
    assert "Infrastruktur dan jalan" in console and "Kota Bandung" in console
    assert ">queued<" not in console and "UTC" not in console
    started = time.monotonic()
    ok = httpx.post(
        f"{vurl}/v1/cases/{report.rid}/verify",
        json={"reason": "Dikembalikan Pemkot; disposisi nasional"},
        headers=verifier,
        timeout=10,
    )
    assert ok.status_code == 200, ok.text
    settle(platforms, report, path, "verified again: routed elsewhere", started, "routed")
    assert report.notices().count("routed") == 2


def test_disposed_to_a_kecamatan_whose_officer_answers_and_resolves(platforms: Platforms) -> None:
    """LAPOR!'s staff: the agency's coordinator disposes the report to a kecamatan; that
    kecamatan's officer (admin penghubung) alone sees it among their work, answers and
    resolves it, and every audience reads it as if the agency itself had answered."""
    p, path = platforms.now, "disposed"
    region = region_client(p, "32.73")
    started = time.monotonic()
    report = submit(p, "081390000009", "Drainase Coblong", STORIES["disposed"])
    report.region_client = region
    settle(platforms, report, path, "routed", started, "routed", "routed")

    routing = f"{p.url('routing')}/v1"
    unit = "kec-32.73.02"
    coordinator = staff_headers(p, "coordinator", BANDUNG)
    officer = staff_headers(p, "unit_officer", unit)
    # Before the disposal the kecamatan's officer does not see the report at all.
    assert httpx.get(f"{routing}/reports/{report.rid}", headers=officer).status_code == 404
    started = time.monotonic()
    forwarded = httpx.post(
        f"{routing}/reports/{report.rid}/forward",
        json={"to": unit, "reason": "Lokasi di wilayah Kecamatan Coblong"},
        headers=coordinator,
        timeout=30,
    )
    assert forwarded.status_code == 200, forwarded.text
    settle(platforms, report, path, "disposed to a kecamatan", started, "routed")
    inbox = httpx.get(f"{routing}/inbox", headers=officer).json()
    assert [r["report_id"] for r in inbox] == [report.rid]  # only what was disposed to it

    started = _step(
        lambda: officer_post(
            report,
            "followups",
            headers=officer,
            data={"text": "Tim kecamatan sudah membersihkan saluran."},
        )
    )
    settle(platforms, report, path, "the kecamatan answers", started, "in_progress")
    page = report.get("intake", f"/lacak/{report.tn}", params={"kode": report.secret}).text
    assert "Tim kecamatan sudah membersihkan saluran." in page
    started = _step(
        lambda: officer_post(
            report, "resolve", headers=officer, json={"summary": "Saluran sudah lancar."}
        )
    )
    settle(platforms, report, path, "the kecamatan resolves", started, "resolved", "resolved")
    # The coordinator still reads the whole story of their agency's report.
    story = httpx.get(f"{routing}/reports/{report.rid}", headers=coordinator).json()
    assert story["status"] == "resolved"
