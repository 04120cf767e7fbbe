"""Routing end to end, on SQLite and on PostgreSQL, with the real broker: the directory
and its rules, the unit and kecamatan, who sees what, forwards, follow-ups with files,
the reporter's reply, pending regions released when they connect, returns re-routed."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from PIL import Image

from services.contracts import ReportReporterReplied
from services.launcher import Platform
from tests.conftest import BACKENDS
from tests.e2e.helpers import (
    fully_routed,
    metric,
    publish,
    staff_headers,
    submit,
    track,
    wait_for,
)

pytestmark = pytest.mark.e2e


def _get(platform: Platform, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
    return httpx.get(f"{platform.url('routing')}{path}", headers=headers, params=params, timeout=10)


def _post(platform: Platform, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
    return httpx.post(f"{platform.url('routing')}{path}", headers=headers, timeout=20, **kw)


def _detail(platform: Platform, rid: str, headers: dict[str, str]) -> dict[str, Any]:
    r = _get(platform, f"/v1/reports/{rid}", headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _photo_with_location() -> bytes:
    img = Image.new("RGB", (64, 48), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "KameraRahasia"
    exif[0x8825] = {2: (6.0, 54.0, 0.0)}
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _sla_clock(platform: Platform, rid: str, clock: str) -> dict[str, Any] | None:
    r = httpx.get(
        f"{platform.url('sla')}/v1/reports/{rid}/sla", headers=staff_headers(platform), timeout=10
    )
    if r.status_code != 200:
        return None
    clocks = [c for c in r.json()["clocks"] if c["clock"] == clock]
    return clocks[-1] if clocks else None


@pytest.mark.parametrize("backend", BACKENDS)
def test_agencies_handle_reports_and_see_only_their_own(make_platform: Any, backend: str) -> None:
    platform: Platform = make_platform(backend)
    staff_headers(platform)
    bandung = staff_headers(platform, "agency_officer", "pemda-32.73")
    pupr = staff_headers(platform, "agency_officer", "pemda-32.73-pupr")
    sukasari = staff_headers(platform, "agency_officer", "kec-32.73.01")
    coblong = staff_headers(platform, "agency_officer", "kec-32.73.02")
    surabaya = staff_headers(platform, "agency_officer", "pemda-35.78")

    answer = submit(platform, district_code="32.73.01", reporter={"phone": "081311110001"})
    tn, rid = answer["tracking_number"], answer["report_id"]
    wait_for(lambda: fully_routed(platform, tn), what="routed")

    # The rules chose the city, its public-works office and the kecamatan of the place.
    report = _detail(platform, rid, bandung)
    assert (report["agency_id"], report["unit_id"], report["subunit_id"]) == (
        "pemda-32.73",
        "pemda-32.73-pupr",
        "kec-32.73.01",
    )
    assert report["subunit_name"] == "Kecamatan Sukasari"
    assert report["region"] == "32.73 Kota Bandung" and report["district"] == "32.73.01 Sukasari"
    assert "Jalan Cikutra" in report["story"] and report["tracking_number"] == tn
    assert report["reporter"] == "Identitas tidak dibuka"
    assert "081311110001" not in str(report) and "+6281311110001" not in str(report)
    assert [e["kind"] for e in report["log"]] == ["routed"]

    # The first-response deadline reaches the inbox, which is ordered by it.
    def inbox_with_due(headers: dict[str, str]) -> list[dict[str, Any]] | None:
        rows = _get(platform, "/v1/inbox", headers).json()
        return rows if rows and rows[0]["first_response_due"] else None

    rows = wait_for(lambda: inbox_with_due(bandung), what="inbox with its deadline")
    assert [r["report_id"] for r in rows] == [rid]
    for who in (pupr, sukasari):
        assert [r["report_id"] for r in _get(platform, "/v1/inbox", who).json()] == [rid]

    # Another agency, or another kecamatan of the same city: the report does not exist.
    for outsider in (surabaya, coblong):
        assert _get(platform, "/v1/inbox", outsider).json() == []
        for path in (
            f"/v1/reports/{rid}",
            f"/v1/routings/{rid}",
            f"/v1/reports/{rid}/attachments/x",
        ):
            assert _get(platform, path, outsider).status_code == 404, path
        for action, body in (
            ("forward", {"to": "kec-32.73.02", "reason": "wilayah sebelah"}),
            ("return", {"reason": "bukan kami"}),
            ("resolve", {"summary": "sudah"}),
        ):
            r = _post(platform, f"/v1/reports/{rid}/{action}", outsider, json=body)
            assert r.status_code == 404, (action, r.text)
        r = _post(platform, f"/v1/reports/{rid}/followups", outsider, data={"text": "halo"})
        assert r.status_code == 404
    assert _get(platform, f"/v1/reports/{rid}", {}).status_code == 401

    # The city moves it to the right kecamatan; a unit of another city is refused.
    bad = _post(
        platform, f"/v1/reports/{rid}/forward", bandung, json={"to": "kec-35.78.01", "reason": "x"}
    )
    assert bad.status_code == 422
    moved = _post(
        platform,
        f"/v1/reports/{rid}/forward",
        bandung,
        json={"to": "kec-32.73.02", "reason": "Lokasi masuk wilayah Coblong"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["subunit_id"] == "kec-32.73.02"
    assert _get(platform, f"/v1/reports/{rid}", sukasari).status_code == 404
    assert _get(platform, f"/v1/reports/{rid}", coblong).status_code == 200

    # Coblong asks the reporter a question, with a photo; the photo loses its location.
    files = [("files", ("IMG_2041.JPG", _photo_with_location(), "image/jpeg"))]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    asked = _post(
        platform,
        f"/v1/reports/{rid}/followups",
        {**coblong, **key},
        data={"text": "Apakah lubangnya di depan nomor 12?", "kind": "question"},
        files=files,
    )
    assert asked.status_code == 201, asked.text
    again = _post(
        platform,
        f"/v1/reports/{rid}/followups",
        {**coblong, **key},
        data={"text": "Apakah lubangnya di depan nomor 12?", "kind": "question"},
        files=files,
    )
    assert again.json()["id"] == asked.json()["id"]  # one question, not two
    [ref] = asked.json()["attachments"]
    photo = _get(platform, f"/v1/reports/{rid}/attachments/{ref['attachment_id']}", bandung)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert b"KameraRahasia" not in photo.content and b"Exif" not in photo.content
    assert photo.headers["x-content-type-options"] == "nosniff"

    # Bad files: refused with a reason, nothing posted.
    exe = [("files", ("foto.jpg", b"MZ\x90\x00" + b"\x00" * 100, "image/jpeg"))]
    refused = _post(
        platform, f"/v1/reports/{rid}/followups", coblong, data={"text": "lihat"}, files=exe
    )
    assert refused.status_code == 422 and "Jenis berkas" in refused.text
    many = [("files", (f"{i}.pdf", b"%PDF-1.4\n%%EOF", "application/pdf")) for i in range(6)]
    refused = _post(
        platform, f"/v1/reports/{rid}/followups", coblong, data={"text": "lihat"}, files=many
    )
    assert refused.status_code == 422
    log = _detail(platform, rid, bandung)["log"]
    assert [e["kind"] for e in log] == ["routed", "forwarded", "question"]

    # The answer stopped the first-response clock; the reporter was told.
    stopped = wait_for(
        lambda: (
            (c := _sla_clock(platform, rid, "first_response")) and c["status"] == "stopped" and c
        ),
        what="first response met",
    )
    assert stopped["outcome"] == "on_time"
    wait_for(
        lambda: (
            [
                h
                for h in track(platform, tn).json()["history"]
                if h["kind"] == "question" and "nomor 12" in h["detail"]
            ]
            or None
        ),
        what="the question on the tracking page",
    )

    # The reporter answers; then the city resolves; "not solved" re-opens it.
    reply = _reply(rid, "Ya, di depan nomor 12.", None)
    publish(platform, "report.reporter_replied", "/aduan/intake", reply, rid)
    wait_for(
        lambda: [e for e in _detail(platform, rid, coblong)["log"] if e["kind"] == "reply"] or None,
        what="the reply in the agency's page",
    )
    done = _post(
        platform,
        f"/v1/reports/{rid}/resolve",
        coblong,
        json={"summary": "Lubang ditambal pada 2 Desember."},
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert (
        _post(platform, f"/v1/reports/{rid}/resolve", coblong, json={"summary": "lagi"}).status_code
        == 409
    )
    unhappy = _reply(rid, "Belum, lubang masih ada.", False)
    publish(platform, "report.reporter_replied", "/aduan/intake", unhappy, rid)
    reopened = wait_for(
        lambda: (d := _detail(platform, rid, coblong))["status"] == "reopened" and d,
        what="re-opened",
    )
    assert [e["kind"] for e in reopened["log"]][-2:] == ["reply", "reopened"]
    assert reopened["log"][-2]["satisfied"] is False
    assert [r["report_id"] for r in _get(platform, "/v1/inbox", coblong).json()] == [rid]

    assert metric(platform, "routing", "aduan_routing_routed_total", agency="pemda-32.73") >= 1
    assert metric(platform, "routing", "aduan_routing_hops_total", action="question") == 1
    assert metric(platform, "routing", "aduan_routing_first_response_seconds_count") == 1


def _reply(rid: str, text: str, satisfied: bool | None) -> ReportReporterReplied:
    return ReportReporterReplied(
        report_id=rid,
        reply_id=uuid.uuid4().hex,
        satisfied=satisfied,
        text=text,
        replied_at=datetime.now(UTC),
    )


def test_pending_regions_rules_and_returns(make_platform: Any) -> None:
    platform: Platform = make_platform("sqlite")
    admin = staff_headers(platform)
    verifier = staff_headers(platform, "verifier")
    officer = staff_headers(platform, "agency_officer", "pemda-32.73")

    # Nabire's government has not joined: the report waits, counted, and the citizen sees why.
    held = submit(platform, regency_code="94.01", reporter={"phone": "081311110002"})
    view = wait_for(
        lambda: (
            (v := track(platform, held["tracking_number"]).json())["status"] == "pending_region"
            and v
        ),
        what="pending",
    )
    assert view["agency"] == "Pemerintah Kabupaten Nabire"
    told = wait_for(
        lambda: (
            [
                h
                for h in track(platform, held["tracking_number"]).json()["history"]
                if h["kind"] == "notification" and "belum tersambung" in h["detail"]
            ]
            or None
        ),
        what="the reporter told why it waits",
    )
    assert "Pemerintah Kabupaten Nabire" in told[0]["detail"]
    pending = _get(platform, "/v1/pending", admin).json()
    assert [(p["regency_code"], p["pending"], p["connected"]) for p in pending] == [
        ("94.01", 1, False)
    ]
    wait_for(
        lambda: metric(platform, "routing", "aduan_routing_pending", regency="94.01") == 1 or None,
        what="pending gauge",
    )
    assert _get(platform, "/v1/pending", officer).status_code == 403

    # It connects: its pending report is released to it at once, with its work unit.
    r = httpx.patch(
        f"{platform.url('routing')}/v1/agencies/pemda-94.01",
        json={"connected": True},
        headers=admin,
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["released"] == 1
    released = wait_for(lambda: fully_routed(platform, held["tracking_number"]), what="released")
    assert released["agency"] == "Pemerintah Kabupaten Nabire"
    nabire = staff_headers(platform, "agency_officer", "pemda-94.01")
    [row] = _get(platform, "/v1/inbox", nabire).json()
    assert row["unit_id"] == "pemda-94.01-pupr" and row["status"] == "routed"
    first = wait_for(
        lambda: _sla_clock(platform, held["report_id"], "first_response"), what="clock"
    )
    assert first["agency_id"] == "pemda-94.01" and first["timezone"] == "Asia/Jayapura"
    assert _get(platform, "/v1/pending", admin).json() == []

    # A rule added by an administrator, tried with the dry run, then applied.
    def dry(headers: dict[str, str]) -> httpx.Response:
        return _get(
            platform,
            "/v1/routing/preview",
            headers,
            category="transportasi",
            regency_code="32.73",
            district_code="32.73.01",
        )

    assert dry(verifier).json()["unit_id"] == "pemda-32.73-dishub"
    rule = {"category": "transportasi", "region_prefix": "32.73", "target": "agency:kemenhub"}
    assert _post(platform, "/v1/rules", officer, json=rule).status_code == 403
    assert (
        _post(platform, "/v1/rules", admin, json={**rule, "target": "agency:nope"}).status_code
        == 422
    )
    added = _post(platform, "/v1/rules", admin, json=rule)
    assert added.status_code == 201
    trial = dry(admin).json()
    assert (
        trial["agency_id"] == "kemenhub"
        and trial["rule"] == f"rule:{added.json()['id']}:transportasi"
    )
    assert next(c["id"] for c in trial["considered"]) == added.json()["id"]
    bus = submit(
        platform,
        title="Halte rusak",
        body="Halte bus di Jalan Dago depan Taman Cikapayang atapnya runtuh sejak kemarin.",
        category="transportasi",
        reporter={"phone": "081311110003"},
    )
    wait_for(lambda: fully_routed(platform, bus["tracking_number"]), what="bus routed")
    assert _detail(platform, bus["report_id"], admin)["agency_id"] == "kemenhub"

    # Bandung returns a report as not theirs; verified again, it goes elsewhere.
    road = submit(platform, reporter={"phone": "081311110004"})
    wait_for(lambda: fully_routed(platform, road["tracking_number"]), what="road routed")
    back = _post(
        platform,
        f"/v1/reports/{road['report_id']}/return",
        officer,
        json={"reason": "Jalan nasional: wewenang Kementerian PU"},
    )
    assert back.status_code == 200 and back.json()["status"] == "returned"
    vheaders = staff_headers(platform, "verifier")
    vurl = platform.url("verification")

    def queued() -> dict[str, Any] | None:
        r = httpx.get(f"{vurl}/v1/cases/{road['report_id']}", headers=vheaders, timeout=10)
        return r.json() if r.json()["state"] == "queued" else None

    wait_for(queued, what="back in the verifiers' queue")
    ok = httpx.post(
        f"{vurl}/v1/cases/{road['report_id']}/verify",
        json={"reason": "Dikembalikan Pemkot; disposisi nasional"},
        headers=vheaders,
        timeout=10,
    )
    assert ok.status_code == 200, ok.text

    def rerouted() -> dict[str, Any] | None:
        d = _detail(platform, road["report_id"], admin)
        return d if d["status"] == "routed" and d["agency_id"] != "pemda-32.73" else None

    again = wait_for(rerouted, what="re-routed")
    assert again["agency_id"] == "kemenpanrb" and again["rule"] == "fallback:national"
    assert [e["kind"] for e in again["log"]] == ["routed", "returned", "routed"]
    assert _get(platform, f"/v1/reports/{road['report_id']}", officer).status_code == 404

    # The national administrator disposes it by hand to the ministry.
    moved = _post(
        platform,
        f"/v1/reports/{road['report_id']}/reroute",
        admin,
        json={"agency_id": "kemenpu", "reason": "Jalan nasional"},
    )
    assert moved.status_code == 200 and moved.json()["agency_id"] == "kemenpu"
    assert (
        _post(
            platform,
            f"/v1/reports/{road['report_id']}/reroute",
            officer,
            json={"agency_id": "x", "reason": "xyz"},
        ).status_code
        == 403
    )
    ministry = staff_headers(platform, "agency_officer", "kemenpu")
    wait_for(
        lambda: (
            (c := _sla_clock(platform, road["report_id"], "first_response"))
            and c["agency_id"] == "kemenpu"
            and c["status"] == "open"
            and c
        ),
        what="the ministry's clock",
    )
    assert [r["report_id"] for r in _get(platform, "/v1/inbox", ministry).json()] == [
        road["report_id"]
    ]

    # The directory: search, one entry with its units, and validation.
    found = _get(platform, "/v1/agencies", admin, q="nabire", kind="pemkab").json()
    assert [a["id"] for a in found] == ["pemda-94.01"] and found[0]["connected"] is True
    city = _get(platform, "/v1/agencies/pemda-32.73", officer).json()
    kinds = {c["kind"] for c in city["children"]}
    assert kinds == {"unit", "kecamatan"} and len(city["children"]) == 10 + 30
    bad = httpx.patch(
        f"{platform.url('routing')}/v1/agencies/pemda-32.73",
        json={"categories": ["sihir"]},
        headers=admin,
        timeout=10,
    )
    assert bad.status_code == 422
    made = _post(
        platform,
        "/v1/agencies",
        admin,
        json={
            "id": "pemda-32.73-upt-jalan",
            "kind": "unit",
            "name": "UPT Pemeliharaan Jalan",
            "parent_id": "pemda-32.73-pupr",
            "categories": ["infrastruktur"],
        },
    )
    assert made.status_code == 201, made.text
    twice = _post(
        platform,
        "/v1/agencies",
        admin,
        json={
            "id": "pemda-32.73-upt-jalan",
            "kind": "unit",
            "name": "UPT lagi",
            "parent_id": "pemda-32.73",
        },
    )
    assert twice.status_code == 409
