"""The SLA service on the running platform: real broker, PostgreSQL, two SLA instances.

The SLA's clock runs 14 days ahead here (``SLA_CLOCK_OFFSET_SECONDS``), so a report
posted now is already past its agency's 5-working-day deadline: no test waits for days.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from confluent_kafka import Producer

from services.auth import Role
from services.broker import EmbeddedBroker
from services.contracts import ReportForwarded, ReportResolved, encode, new_event
from services.launcher import Platform
from services.settings import BrokerProfile
from tests.conftest import PgDatabases, database_urls, new_namespace, platform_env
from tests.e2e.helpers import metric, publish, scalar, staff_headers, submit, track, wait_for
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.e2e

OFFSET = timedelta(days=14)
BULK = 1500


@pytest.fixture(scope="module")
def platform(
    broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    pg = PgDatabases()
    ns = new_namespace()
    var = tmp_path_factory.mktemp(ns)
    p = Platform(
        var_dir=var,
        namespace=ns,
        database_urls=database_urls("postgres", var, ns, pg),
        bootstrap=broker.bootstrap,
        profile=BrokerProfile.tansu,
        instances={"sla": 2},
        extra_env=platform_env(
            {
                "SLA_CLOCK_OFFSET_SECONDS": str(OFFSET.total_seconds()),
                "SLA_FIRE_BATCH": "20",
                "SLA_TICK_SECONDS": "0.1",
                "SLA_GAUGE_SECONDS": "1",
                "SLA_REPORTER_REPLY_WORKING_DAYS": "3",
            }
        ),
    )
    try:
        p.start()
        yield p
    finally:
        p.stop()
        pg.drop_all()


def test_a_missed_deadline_is_breached_naming_the_agency(platform: Platform) -> None:
    answer = submit(platform)
    tn, rid = answer["tracking_number"], answer["report_id"]

    def overdue() -> dict | None:
        view = track(platform, tn).json()
        return view if "overdue" in [h["kind"] for h in view["history"]] else None

    view = wait_for(overdue, timeout=60, what="the breach shown on tracking")
    entry = next(h for h in view["history"] if h["kind"] == "overdue")
    assert entry["label"] == "Instansi melewati batas waktu tanggapan"

    state = httpx.get(
        f"{platform.url('sla')}/v1/reports/{rid}/sla", headers=staff_headers(platform)
    ).json()
    first = next(c for c in state["clocks"] if c["clock"] == "first_response")
    assert first["breached_at"] and first["outcome"] == "late"
    assert first["time_left_seconds"] < 0

    compliance = httpx.get(f"{platform.url('sla')}/v1/compliance", params={"by": "agency"}).json()
    bandung = next(row for row in compliance if row["key"] == "pemda-32.73")
    assert bandung["late"] >= 1 and bandung["overdue"] >= 1
    regions = httpx.get(f"{platform.url('sla')}/v1/compliance", params={"by": "region"}).json()
    assert any(row["key"] == "32" and row["late"] >= 1 for row in regions)
    breaches = httpx.get(f"{platform.url('sla')}/v1/breaches").json()
    assert any(b["agency_id"] == "pemda-32.73" and b["clock"] == "first_response" for b in breaches)

    records = read_topic(platform.bootstrap or "", f"{platform.namespace}.sla.deadline")
    events = [json.loads(r.value or b"{}") for r in records]
    # (The verification clock may breach too: with the clock 14 days ahead, it is due
    # the moment the report arrives.)
    breached = [
        e
        for e in events
        if e["type"] == "id.aduan.sla.breached.v1"
        and e["subject"] == rid
        and e["data"]["clock"] == "first_response"
    ]
    assert len(breached) == 1
    assert breached[0]["data"]["agency_id"] == "pemda-32.73"

    fired = sum(
        metric(
            platform, k, "aduan_sla_breaches_total", agency="pemda-32.73", clock="first_response"
        )
        for k in ("sla", "sla#1")
    )
    assert fired >= 1


def test_reporter_silence_after_the_answer_closes_the_report(platform: Platform) -> None:
    answer = submit(platform)
    tn, rid = answer["tracking_number"], answer["report_id"]
    wait_for(lambda: track(platform, tn).json()["status"] == "routed", 60, "routed")
    # The agency's answer, as routing will publish it. The reporter's 3 working days
    # (shortened for this platform) are over on the SLA's clock, 14 days ahead.
    resolved = ReportResolved(
        report_id=rid,
        agency_id="pemda-32.73",
        summary="Jalan sudah ditambal.",
        resolved_by="officer-7",
        resolved_at=datetime.now(UTC),
    )
    publish(platform, "report.handling", "/aduan/routing", resolved, rid)

    def closed() -> dict | None:
        view = track(platform, tn).json()
        return view if view["status"] == "closed" else None

    view = wait_for(closed, 60, "the report closed by the reporter's silence")
    assert view["status_label"] == "Selesai"
    assert [h["detail"] for h in view["history"] if h["kind"] == "closed"] == [
        "Tidak ada tanggapan dari Anda dalam 10 hari kerja."
    ]
    clocks = httpx.get(
        f"{platform.url('sla')}/v1/reports/{rid}/sla", headers=staff_headers(platform)
    ).json()["clocks"]
    by_clock = {c["clock"]: c for c in clocks}
    assert by_clock["resolution"]["status"] == "stopped"
    assert by_clock["reporter_reply"]["breached_at"] is not None
    assert by_clock["first_response"]["status"] == "stopped"  # the answer stopped it


def _produce_forwards(bootstrap: str, topic: str, n: int) -> list[str]:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    when = datetime.now(UTC) - timedelta(days=30)
    rids = []
    for i in range(n):
        rid = str(uuid.uuid4())
        rids.append(rid)
        payload = ReportForwarded(
            report_id=rid,
            from_agency_id="pemda-32.73",
            to_agency_id=f"agency-{i % 7}",
            to_agency_name="Instansi uji",
            within_agency=False,
            reason="uji",
            forwarded_by="officer-test",
            forwarded_at=when,
        )
        producer.produce(topic, key=rid.encode(), value=encode(new_event("/test", rid, payload)))
        producer.poll(0)
    assert producer.flush(30) == 0
    return rids


def test_kill_9_during_firing_misses_nothing_and_fires_nothing_twice(platform: Platform) -> None:
    bootstrap = platform.bootstrap or ""
    rids = set(_produce_forwards(bootstrap, f"{platform.namespace}.report.handling", BULK))
    breached_sql = (
        "SELECT count(*) FROM clocks WHERE breached_at IS NOT NULL AND agency_id LIKE 'agency-%'"
    )
    wait_for(lambda: scalar(platform, "sla", breached_sql) >= 100, 120, "firing under way")
    platform.kill("sla")  # SIGKILL, in the middle of the firing
    platform.start_instance("sla")

    opened_sql = "SELECT count(*) FROM clocks WHERE agency_id LIKE 'agency-%'"
    wait_for(
        lambda: (
            scalar(platform, "sla", opened_sql) == BULK
            and scalar(platform, "sla", breached_sql) == BULK
        ),
        180,
        f"all {BULK} deadlines breached",
    )
    records = read_topic(bootstrap, f"{platform.namespace}.sla.deadline", idle=5, timeout=120)
    ids_per_deadline: dict[str, set[str]] = defaultdict(set)
    for record in records:
        event = json.loads(record.value or b"{}")
        if event["type"] == "id.aduan.sla.breached.v1" and event["subject"] in rids:
            ids_per_deadline[event["data"]["deadline_id"]].add(event["id"])
    assert len(ids_per_deadline) == BULK, "every deadline fired"
    assert {len(ids) for ids in ids_per_deadline.values()} == {1}, "none fired twice"
    # Both instances took part in the firing.
    fired = [
        metric(platform, k, "aduan_sla_firing_lateness_seconds_count", kind="breach")
        for k in ("sla", "sla#1")
    ]
    assert all(n > 0 for n in fired), fired


def test_calendar_changes_need_an_administrator(platform: Platform) -> None:
    base = f"{platform.url('sla')}/v1/calendar"
    entry = {"name": "Penutupan layanan: banjir", "source": "SE Sekda No. 1/2031"}
    url = f"{base}/entries/2031-03-04/closure"
    assert httpx.put(url, json=entry).status_code == 401
    verifier = platform.staff_token(Role.verifier, "verifier-1")
    forged = platform.staff_token(Role.administrator, "eve")[:-4] + "AAAA"
    assert (
        httpx.put(url, json=entry, headers={"authorization": f"Bearer {verifier}"}).status_code
        == 403
    )
    assert (
        httpx.put(url, json=entry, headers={"authorization": f"Bearer {forged}"}).status_code == 401
    )
    admin = {"authorization": f"Bearer {platform.staff_token(Role.administrator, 'admin-1')}"}
    r = httpx.put(url, json=entry, headers=admin)
    assert r.status_code == 200 and r.json()["updated_by"] == "admin-1"

    off = httpx.get(f"{base}/days-off", params={"year": 2031}).json()
    assert {"day": "2031-03-04", "why": "closure: Penutupan layanan: banjir"} in off
    # Monday 3 March + 1 working day skips the closed Tuesday.
    preview = httpx.get(
        f"{base}/deadline", params={"start": "2031-03-03T10:00:00+07:00", "working_days": 1}
    ).json()
    assert preview["due_at"].startswith("2031-03-05T23:59:59")

    bad = httpx.post(f"{base}/import", content=b"entries: [{date: 2031-13-01}]", headers=admin)
    assert bad.status_code == 422 and "calendar" in bad.json()["detail"].lower()
    good = httpx.post(
        f"{base}/import",
        content=b"entries:\n- {date: 2031-03-06, kind: cuti_bersama, name: Uji, source: SKB uji}\n",
        headers=admin,
    )
    assert good.status_code == 200 and good.json()["changed_days"] == ["2031-03-06"]
    assert "2031-03-06" in httpx.get(f"{base}/export").text
    assert httpx.delete(url, headers=admin).status_code == 204
    assert httpx.delete(url, headers=admin).status_code == 404
