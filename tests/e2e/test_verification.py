"""Verification on a running platform (real broker, SQLite and PostgreSQL): the checks
decide what they can, ask the citizen for what is missing and check again on the answer,
link duplicates, redirect legal cases, and leave the rest to verifiers, whose decisions
(with corrections and protection flags) go on to routing and are audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services import auth
from services.contracts import ReportInformationAdded, ReportReturned
from services.launcher import Platform
from tests.conftest import BACKENDS
from tests.e2e.helpers import (
    NAMED_ANONYMOUS,
    fully_routed,
    metric,
    publish,
    routing_of,
    staff_headers,
    submit,
    track,
    wait_for,
)

pytestmark = pytest.mark.e2e

CHECKS_ON = {"VERIFICATION_DUPLICATE_WINDOW_DAYS": "30", "VERIFICATION_FLOOD_PER_HOUR": "5"}


def status(platform: Platform, tn: str, wanted: str) -> dict[str, Any] | None:
    view = track(platform, tn).json()
    return view if view["status"] == wanted else None


def case(platform: Platform, report_id: str, token: str) -> dict[str, Any]:
    r = httpx.get(
        f"{platform.url('verification')}/v1/cases/{report_id}",
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.mark.parametrize("backend", BACKENDS)
def test_checks_questions_duplicates_and_the_verifiers_queue(
    make_platform: Any, backend: str
) -> None:
    platform: Platform = make_platform(backend, extra_env=CHECKS_ON)
    verifier = platform.staff_token(auth.Role.verifier, "verifikator-1")
    officer = platform.staff_token(auth.Role.agency_officer, "petugas-1", "pemda-32.73")
    admin = platform.staff_token(auth.Role.administrator, "admin-1")
    vurl = platform.url("verification")

    # A complete report goes through on its own.
    first = submit(platform, reporter={"phone": "081200000001"})
    wait_for(lambda: fully_routed(platform, first["tracking_number"]), what="first routed")

    # The same pothole from someone else: linked to the first, not a second case.
    again = submit(platform, reporter={"phone": "081200000002"})
    view = wait_for(lambda: status(platform, again["tracking_number"], "rejected"), what="dup")
    reason = next(h["detail"] for h in view["history"] if h["kind"] == "rejected")
    assert f"#{first['tracking_number']}" in reason

    # A legal case is redirected, with where to go.
    legal = submit(
        platform,
        title="Sengketa tanah warisan",
        body="Paman menguasai tanah warisan kakek dan saya ingin menggugat ke pengadilan, "
        "mohon dibantu pengacara.",
        category="pelayanan-publik",
        reporter={"phone": "081200000003"},
    )
    view = wait_for(lambda: status(platform, legal["tracking_number"], "rejected"), what="legal")
    reason = next(h["detail"] for h in view["history"] if h["kind"] == "rejected")
    assert "pengadilan" in reason and "polisi" in reason

    # Extortion without who, when and how: the citizen is asked, the report waits.
    vague = submit(
        platform,
        title="Pungli di kelurahan",
        body="Ada pungutan liar di Kantor Kelurahan Cicadas yang sangat meresahkan warga.",
        category="pungli",
        reporter={"phone": "081200000004"},
    )
    rid = vague["report_id"]

    def waiting() -> list[dict[str, Any]] | None:
        r = httpx.get(
            f"{vurl}/v1/queue",
            params={"state": "awaiting_info"},
            headers={"authorization": f"Bearer {verifier}"},
            timeout=10,
        )
        found = [c for c in r.json() if c["report_id"] == rid]
        return found or None

    (asked,) = wait_for(waiting, what="the vague report awaiting information")
    assert asked["missing"] == ["who", "when", "how"]

    def notified() -> bool:
        url = f"{platform.url('notifications')}/v1/reports/{rid}/notifications"
        notes = httpx.get(url, headers=staff_headers(platform)).json()
        return "information_requested" in [n["template"] for n in notes]

    wait_for(notified, what="the citizen told what is missing")

    def clock_paused() -> bool:
        r = httpx.get(
            f"{platform.url('sla')}/v1/reports/{rid}/sla", headers=staff_headers(platform)
        )
        clocks = {c["clock"]: c for c in r.json()["clocks"]} if r.status_code == 200 else {}
        return clocks.get("verification", {}).get("status") == "paused"

    wait_for(clock_paused, what="the verification clock paused")
    # The citizen reads that the report waits for them (the lifecycle's state).
    wait_for(
        lambda: status(platform, vague["tracking_number"], "information_requested"),
        what="the citizen reads that the report waits for them",
    )

    # The answer (as intake publishes it) completes the report: verified and routed.
    answer = ReportInformationAdded(
        report_id=rid,
        text="Pada Selasa 4 November pukul 10, petugas loket meminta uang Rp 100.000 untuk "
        "surat domisili tanpa kuitansi.",
        added_at=datetime.now(UTC),
    )
    publish(platform, "report.information_added", "/aduan/intake", answer, rid)
    wait_for(lambda: fully_routed(platform, vague["tracking_number"]), what="answered, routed")

    # An Anonim report whose text names its reporter waits for a verifier.
    named = submit(
        platform,
        **NAMED_ANONYMOUS,
        reporter={"phone": "081200000005"},
    )
    nid = named["report_id"]

    def queued() -> dict[str, Any] | None:
        r = httpx.get(f"{vurl}/v1/queue", headers={"authorization": f"Bearer {verifier}"})
        return next((c for c in r.json() if c["report_id"] == nid), None)

    item = wait_for(queued, what="the named Anonim report in the queue")
    privacy = [f for f in item["findings"] if f["check"] == "privacy"]
    assert privacy and "nama: Budi Santoso" in privacy[0]["evidence"]

    # Only verifiers and administrators: 401 without a token, 403 for an officer.
    assert httpx.get(f"{vurl}/v1/queue").status_code == 401
    for path in ("/v1/queue", f"/v1/cases/{nid}"):
        r = httpx.get(f"{vurl}{path}", headers={"authorization": f"Bearer {officer}"})
        assert r.status_code == 403, path
    r = httpx.post(
        f"{vurl}/v1/cases/{nid}/verify",
        json={"reason": "x"},
        headers={"authorization": f"Bearer {officer}"},
    )
    assert r.status_code == 403

    # The verifier redacts the title, keeps it Anonim and sends it on.
    decision = {
        "reason": "Lengkap; identitas pelapor disamarkan.",
        "title": "Lampu jalan mati di Jalan Cikutra",
        "anonymous": True,
    }
    headers = {"authorization": f"Bearer {verifier}"}
    r = httpx.post(f"{vurl}/v1/cases/{nid}/verify", json=decision, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "decided" and r.json()["outcome"] == "verified"
    again_r = httpx.post(f"{vurl}/v1/cases/{nid}/verify", json=decision, headers=headers)
    assert again_r.status_code == 409  # decided once
    routed = wait_for(lambda: fully_routed(platform, named["tracking_number"]), what="routed")
    assert routed["title"] == "Lampu jalan mati"  # the citizen's own page keeps their title
    routing = routing_of(platform, nid)
    assert routing["agency_id"] == "pemda-32.73" and routing["anonymous"] is True

    steps = [(e["actor"], e["action"]) for e in case(platform, nid, verifier)["audit"]]
    assert steps[:2] == [("auto", "received"), ("auto", "queued")]
    assert steps[2:] == [("verifikator-1", "verified"), ("verifikator-1", "corrected")]

    # The agency returns it as not theirs: it comes back to the verifiers' queue.
    returned = ReportReturned(
        report_id=nid,
        agency_id="pemda-32.73",
        reason="Lampu jalan provinsi, bukan kewenangan kota.",
        returned_by="petugas-7",
        returned_at=datetime.now(UTC),
    )
    publish(platform, "report.handling", "/aduan/routing", returned, nid)
    back = wait_for(queued, what="the returned report back in the queue")
    assert back["queue_reason"].startswith("Dikembalikan oleh pemda-32.73")
    steps = [(e["actor"], e["action"]) for e in case(platform, nid, verifier)["audit"]]
    assert steps[-1] == ("petugas-7", "returned")

    # The administrator blocks a sender: their next report is refused as abuse.
    r = httpx.post(
        f"{vurl}/v1/blocked-senders",
        json={"report_id": legal["report_id"], "reason": "Laporan palsu berulang."},
        headers={"authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 201, r.text
    blocked = submit(
        platform,
        title="Jalan rusak di Jalan Dago",
        body="Jalan Dago depan Taman Cikapayang berlubang besar sejak seminggu.",
        reporter={"phone": "081200000003"},
    )
    view = wait_for(lambda: status(platform, blocked["tracking_number"], "rejected"), what="blk")
    r = httpx.get(
        f"{vurl}/v1/decisions/{blocked['report_id']}", headers=staff_headers(platform)
    ).json()
    assert r["reason_code"] == "abuse"

    # Metrics: decisions by outcome and by who decided; the queue by state and age.
    assert (
        metric(
            platform,
            "verification",
            "aduan_verification_decisions_total",
            outcome="verified",
            decided_by="verifier",
        )
        == 1
    )
    assert (
        metric(
            platform,
            "verification",
            "aduan_verification_decisions_total",
            outcome="rejected:duplicate",
            decided_by="auto",
        )
        == 1
    )
    assert (
        metric(platform, "verification", "aduan_verification_findings_total", check="privacy") >= 1
    )
