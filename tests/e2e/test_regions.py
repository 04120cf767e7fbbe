"""Connected regional governments end to end, with the real broker: a scripted region
subscribes by pull, server-sent events and signed webhook, receives its own region's
events only (a province its regencies', confidential ones without their texts), resumes
after its own restarts without losing or redoing an event, and sends follow-ups back
that the reporter sees on the tracking page. The province's Kafka topic carries what
the province may read, and nothing of who reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.launcher import Platform
from tests.e2e.helpers import (
    fully_routed,
    region_credentials,
    staff_headers,
    submit,
    track,
    wait_for,
)
from tests.kafka_helpers import read_topic
from tests.regional_client import RegionalGovernment, WebhookReceiver

pytestmark = pytest.mark.e2e

LOOPBACK_HOOKS = {"NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}


_credentials = region_credentials


def _region(platform: Platform, creds: dict[str, Any], state: Path) -> RegionalGovernment:
    return RegionalGovernment(
        platform.url("notifications"),
        platform.url("routing"),
        creds["client_id"],
        creds["client_secret"],
        state,
    )


def test_a_regional_government_subscribes_resumes_and_answers(
    make_platform: Any, tmp_path: Path
) -> None:
    platform: Platform = make_platform("sqlite", extra_env=LOOPBACK_HOOKS)
    gw = platform.url("notifications")
    bdg, sby, jabar = (_credentials(platform, r) for r in ("32.73", "35.78", "32"))
    puller = _region(platform, bdg, tmp_path / "pull.json")
    listener = _region(platform, bdg, tmp_path / "sse.json")
    hooked = _region(platform, bdg, tmp_path / "hook.json")
    surabaya = _region(platform, sby, tmp_path / "sby.json")
    province = _region(platform, jabar, tmp_path / "jabar.json")

    # The webhook first: it receives what happens from now on.
    receiver = WebhookReceiver(hooked)
    try:
        r = httpx.post(
            f"{gw}/v1/region/webhooks",
            json={"url": receiver.url},
            headers=hooked.headers(),
            timeout=10,
        )
        assert r.status_code == 201, r.text
        receiver.secret = r.json()["secret"]

        phones = [f"08135555000{i}" for i in range(5)]
        road = submit(platform, district_code="32.73.01", reporter={"phone": phones[0]})
        east = submit(platform, regency_code="35.78", reporter={"phone": phones[1]})
        secret = submit(
            platform,
            title="Pungutan di kantor kelurahan",
            confidential=True,
            reporter={"phone": phones[2], "email": "rahasia@example.id"},
        )
        power = submit(
            platform,
            title="Listrik padam",
            body="Listrik di Jalan Dago padam tiga hari sejak Senin tanpa pemberitahuan.",
            category="listrik",
            reporter={"phone": phones[3]},
        )
        county = submit(platform, regency_code="32.04", reporter={"phone": phones[4]})
        for report in (road, east, power, county):  # the confidential one needs its secret
            wait_for(lambda r=report: fully_routed(platform, r["tracking_number"]), what="routed")

        # Pull: Bandung gets its two reports; Surabaya its one; West Java its regencies'.
        wait_for(lambda: puller.pull() >= 2 or None, what="Bandung's feed")
        assert set(puller.state["reports"]) == {road["report_id"], secret["report_id"]}
        assert (
            puller.state["reports"][secret["report_id"]]["title"] == "Pungutan di kantor kelurahan"
        )
        wait_for(lambda: surabaya.pull() >= 1 or None, what="Surabaya's feed")
        assert set(surabaya.state["reports"]) == {east["report_id"]}
        wait_for(lambda: province.pull() >= 3 or None, what="West Java's feed")
        assert set(province.state["reports"]) == {
            road["report_id"],
            secret["report_id"],
            county["report_id"],
        }
        assert province.state["reports"][secret["report_id"]]["title"] == "[Rahasia]"

        # Server-sent events: the same two, with their cursors.
        streamed = listener.stream(2)
        assert {e["data"]["report_id"] for e in streamed} == {
            road["report_id"],
            secret["report_id"],
        }
        assert all(e["sequence"] for e in streamed)

        # Follow-ups from the region's own system, idempotent by its ids.
        rid = road["report_id"]
        ack = puller.act(rid, "acknowledge", external_id="BDG-1", officer="sekda.bdg")
        assert ack.status_code == 200, ack.text
        assert ack.json()["duplicate"] is False
        again = puller.act(rid, "acknowledge", external_id="BDG-1", officer="sekda.bdg")
        assert again.status_code == 200 and again.json()["duplicate"] is True
        clash = puller.act(rid, "followups", external_id="BDG-1", text="lain")
        assert clash.status_code == 409, clash.text
        steps = [
            ("followups", {"external_id": "BDG-2", "text": "Tim PUPR meninjau lokasi hari ini."}),
            (
                "forward",
                {"external_id": "BDG-3", "to": "kec-32.73.02", "reason": "Wilayah Coblong"},
            ),
            ("resolve", {"external_id": "BDG-4", "summary": "Lubang ditambal 3 Desember."}),
            # Out of order: their system delivers an earlier note after the resolution.
            ("followups", {"external_id": "BDG-5", "text": "Catatan lapangan: aspal dingin."}),
        ]
        for action, body in steps:
            r = puller.act(rid, action, **body)
            assert r.status_code == 200, (action, r.text)
        assert r.json()["status"] == "resolved"
        assert puller.act(rid, "resolve", external_id="BDG-6", summary="lagi").status_code == 409
        # Another region's report, a missing one, a staff token: refused.
        assert (
            puller.act(east["report_id"], "followups", external_id="X1", text="bukan").status_code
            == 404
        )
        assert surabaya.act(rid, "resolve", external_id="X2", summary="bukan").status_code == 404
        staff = httpx.post(
            f"{platform.url('routing')}/v1/region/reports/{rid}/resolve",
            json={"external_id": "X3", "summary": "xxx"},
            headers=staff_headers(platform),
            timeout=10,
        )
        assert staff.status_code == 401

        # The reporter sees them on the tracking page.
        def seen() -> list[str] | None:
            kinds = [h["kind"] for h in track(platform, road["tracking_number"]).json()["history"]]
            wanted = {"acknowledgement", "followup", "forwarded", "resolved"}
            return kinds if wanted <= set(kinds) else None

        wait_for(seen, what="the region's answers on the tracking page")
        details = " ".join(
            h["detail"] for h in track(platform, road["tracking_number"]).json()["history"]
        )
        assert "Tim PUPR meninjau lokasi" in details and "aspal dingin" in details

        # The webhook got the same seven, each signed and processed once.
        wait_for(lambda: hooked.state["handled"] >= 7 or None, 60, "webhook deliveries")
        assert receiver.bad == 0 and hooked.state["handled"] == 7

        # A crash between processing and saving the cursor, then a restart: the events
        # come again and are not redone; a second restart picks up the rest.
        crashed = _region(platform, bdg, tmp_path / "pull.json")
        wait_for(lambda: crashed.pull(crash_after=2) == 2 or None, what="a partial pull")
        restarted = _region(platform, bdg, tmp_path / "pull.json")
        assert restarted.state["cursor"] == puller.state["cursor"]  # not saved by the crash
        restarted.pull()
        final = restarted.state
        changes = final["reports"][rid]["changes"]
        assert changes == [
            "routed",
            "acknowledgement",
            "followup",
            "forwarded",
            "resolved",
            "followup",
        ]
        assert (
            final["handled"] == 7 and len(final["processed"]) == len(set(final["processed"])) == 7
        )
        # Webhooks are sent in parallel and retried, so they may arrive out of order:
        # the same events, ordered by their sequence.
        assert sorted(hooked.state["reports"][rid]["changes"]) == sorted(changes)
        assert sorted(hooked.state["processed"]) == sorted(final["processed"])
    finally:
        receiver.close()

    # An officer's follow-up with a file on the confidential report: Bandung downloads it
    # with its token; neither Surabaya nor the province (it reads that report redacted).
    officer = staff_headers(platform, "agency_officer", "pemda-32.73")
    posted = httpx.post(
        f"{platform.url('routing')}/v1/reports/{secret['report_id']}/followups",
        data={"text": "Berita acara perbaikan terlampir."},
        files=[("files", ("berita-acara.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"))],
        headers=officer,
        timeout=10,
    )
    assert posted.status_code == 201, posted.text
    [ref] = posted.json()["attachments"]

    fresh = _region(platform, bdg, tmp_path / "fresh.json")
    wait_for(lambda: fresh.pull() >= 8 or None, what="the follow-up in the feed")
    url = f"{platform.url('routing')}/v1/region/reports/{secret['report_id']}/attachments/"
    got = httpx.get(url + ref["attachment_id"], headers=fresh.headers(), timeout=10)
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    for outsider in (surabaya, province):
        r = httpx.get(url + ref["attachment_id"], headers=outsider.headers(), timeout=10)
        assert r.status_code == 404

    # The province's Kafka topic: its regencies' reports, confidential ones redacted,
    # nothing of Surabaya or PLN, and never a phone number or an email address.
    kit = platform.kit()
    records = read_topic(platform.bootstrap or "", f"{kit.aduan_namespace}.region.32", idle=2)
    datas = [json.loads(rec.value)["data"] for rec in records]
    assert {d["report_id"] for d in datas} == {
        road["report_id"],
        secret["report_id"],
        county["report_id"],
    }
    assert all(d["title"] == "[Rahasia]" and d["redacted"] for d in datas if d["confidential"])
    blob = b"".join(rec.value or b"" for rec in records)
    for needle in [*(p.encode() for p in phones), b"rahasia@example.id", b"+62813"]:
        assert needle not in blob
    assert read_topic(platform.bootstrap or "", f"{kit.aduan_namespace}.region.35", idle=1)

    # Rotation keeps the old secret for its grace; revocation stops the region at once.
    admin = staff_headers(platform)
    rotated = httpx.post(
        f"{gw}/v1/regions/clients/{sby['client_id']}/rotate",
        json={"grace_hours": 0},
        headers=admin,
        timeout=10,
    ).json()
    old = _region(platform, sby, tmp_path / "old.json")
    with pytest.raises(httpx.HTTPStatusError):
        old.token()
    new = _region(platform, {**sby, "client_secret": rotated["client_secret"]}, tmp_path / "n.json")
    token = new.headers()
    assert httpx.get(f"{gw}/v1/region/events", headers=token, timeout=10).status_code == 200
    east_url = f"{platform.url('routing')}/v1/region/reports/{east['report_id']}"
    assert httpx.get(east_url, headers=token, timeout=10).status_code == 200
    httpx.delete(f"{gw}/v1/regions/clients/{sby['client_id']}", headers=admin, timeout=10)
    assert httpx.get(f"{gw}/v1/region/events", headers=token, timeout=10).status_code == 401
    # Routing accepts the same tokens: it learns of the revocation on region.clients, long
    # before the token expires.
    wait_for(
        lambda: httpx.get(east_url, headers=token, timeout=10).status_code == 401,
        timeout=60,
        what="routing refusing the revoked client",
    )
    refused = httpx.post(
        f"{east_url}/followups",
        json={"external_id": "SBY-X", "text": "setelah dicabut"},
        headers=token,
        timeout=10,
    )
    assert refused.status_code == 401
    with pytest.raises(httpx.HTTPStatusError):
        _region(
            platform, {**sby, "client_secret": rotated["client_secret"]}, tmp_path / "x"
        ).token()
    # Staff tokens do not open the feed; region tokens do not open staff endpoints.
    assert httpx.get(f"{gw}/v1/region/events", headers=admin, timeout=10).status_code == 401
    bandung_token = puller.headers()
    assert httpx.get(f"{gw}/v1/deliveries", headers=bandung_token, timeout=10).status_code == 401
