"""One report end to end through five real service processes, on SQLite and PostgreSQL.

Each backend gets one platform (broker shared, namespace its own) for all the tests in
this module; the tests only add reports, so they do not disturb each other.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from services import catalog
from services.broker import EmbeddedBroker
from services.contracts import ReportVerified, encode, new_event
from services.launcher import ROOT, Platform
from services.serve import SERVICES
from services.settings import BrokerProfile
from tests.conftest import BACKENDS, PgDatabases, database_urls, new_namespace, platform_env
from tests.e2e.helpers import (
    effect_counts,
    fully_routed,
    metric,
    routing_of,
    staff_headers,
    submit,
    track,
    wait_for,
)
from tests.kafka_helpers import produce, read_topic

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=BACKENDS)
def platform(
    request: pytest.FixtureRequest, broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    pg = PgDatabases()
    ns = new_namespace()
    var = tmp_path_factory.mktemp(ns)
    p = Platform(
        var_dir=var,
        namespace=ns,
        database_urls=database_urls(request.param, var, ns, pg),
        bootstrap=broker.bootstrap,
        profile=BrokerProfile.tansu,
        extra_env=platform_env(),
    )
    try:
        p.start()
        yield p
    finally:
        p.stop()
        pg.drop_all()


def test_report_goes_from_post_to_routed_with_deadline_and_its_notifications(
    platform: Platform,
) -> None:
    answer = submit(platform)
    assert answer["status"] == "submitted" and answer["status_label"] == "Belum terverifikasi"
    tn, rid = answer["tracking_number"], answer["report_id"]
    assert len(tn) == 7 and tn.isdigit()
    view = wait_for(lambda: fully_routed(platform, tn), what="routed")
    assert view["agency"] == "Pemerintah Kota Bandung"
    lifecycle = [h["kind"] for h in view["history"] if h["kind"] != "notification"]
    assert lifecycle == ["submitted", "verified", "routed", "deadline"]

    routing = routing_of(platform, rid)
    assert routing["agency_id"] == "pemda-32.73" and routing["rule"] == "rule:1:infrastruktur"

    def sla_settled() -> dict | None:
        state = httpx.get(
            f"{platform.url('sla')}/v1/reports/{rid}/sla", headers=staff_headers(platform)
        )
        if state.status_code != 200:
            return None
        clocks = {c["clock"]: c for c in state.json()["clocks"]}
        ok = len(clocks) == 3 and clocks["verification"]["status"] == "stopped"
        return clocks if ok else None

    clocks = wait_for(sla_settled, what="the SLA's three clocks")
    assert clocks["verification"]["outcome"] == "on_time"
    assert clocks["resolution"]["status"] == "open"
    first = clocks["first_response"]
    assert first["status"] == "open" and first["agency_id"] == "pemda-32.73"
    assert first["working_days_left"] in (4, 5) and first["time_left_seconds"] > 0
    due = datetime.fromisoformat(first["due_at"]).astimezone(ZoneInfo("Asia/Jakarta"))
    assert due.weekday() < 5 and (due.hour, due.minute) == (23, 59)
    assert datetime.fromisoformat(view["response_due_at"]) == due

    def all_sent() -> list | None:
        # The tracking page shows a notice as soon as it is known (in_app); the SMS
        # behind it is sent by the dispatcher a moment later.
        url = f"{platform.url('notifications')}/v1/reports/{rid}/notifications"
        notes = httpx.get(url, headers=staff_headers(platform)).json()
        return notes if len(notes) == 3 and all(n["status"] == "sent" for n in notes) else None

    notes = wait_for(all_sent, what="the three SMS notices sent")
    assert [n["template"] for n in notes] == ["received", "verified", "routed"]
    assert all(n["channel"] == "sms" for n in notes)
    assert tn in notes[0]["text"]

    english = track(platform, tn, lang="en").json()
    assert english["status_label"] == "Routed to the agency"


def test_empty_report_is_rejected_with_a_reason_and_told(platform: Platform) -> None:
    answer = submit(platform, body="   ", reporter={"email": "warga@example.id"})
    tn = answer["tracking_number"]

    def rejected() -> dict | None:
        view = track(platform, tn).json()
        kinds = [h["kind"] for h in view["history"]]
        return view if view["status"] == "rejected" and "notification" in kinds else None

    view = wait_for(rejected, what="rejected")
    reason = next(h["detail"] for h in view["history"] if h["kind"] == "rejected")
    assert "kosong" in reason
    notes = httpx.get(
        f"{platform.url('notifications')}/v1/reports/{answer['report_id']}/notifications",
        headers=staff_headers(platform),
    ).json()
    assert [(n["template"], n["channel"]) for n in notes] == [
        ("received", "email"),
        ("rejected", "email"),
    ]


def test_poison_on_every_input_topic_is_dead_lettered_and_the_next_report_flows(
    platform: Platform,
) -> None:
    kit = platform.kit()
    assert platform.bootstrap
    for topic in catalog.TOPICS:
        produce(platform.bootstrap, topic.full_name(kit), b"\x00not an event", key=b"poison")
    # A valid envelope with a payload that breaks its contract is poison too.
    bad = new_event("/aduan/test", "x", ReportVerified.model_construct(report_id="x"))
    produce(
        platform.bootstrap, f"{kit.aduan_namespace}.report.verified", encode(bad), key=b"poison2"
    )
    expected = {
        topic.name: len(topic.consumers) * (2 if topic.name == "report.verified" else 1)
        for topic in catalog.TOPICS
    }
    # Every dead-letter topic in one reader (one group join).
    dlqs = {topic.dlq_name(kit): topic for topic in catalog.TOPICS}
    every = read_topic(
        platform.bootstrap, list(dlqs), expect=sum(expected.values()), idle=10, timeout=90
    )
    for topic in catalog.TOPICS:
        dead = [d for d in every if d.topic == topic.dlq_name(kit)]
        assert len(dead) == expected[topic.name], topic.name
        consumers = sorted(d.headers["aduan.dlq.consumer"].decode() for d in dead)
        assert sorted(set(consumers)) == sorted(topic.consumers), topic.name
        for d in dead:
            assert d.headers["aduan.dlq.origin_topic"].decode() == topic.full_name(kit)
            assert d.headers["aduan.dlq.error"]
            assert d.key in (b"poison", b"poison2")
    for key in ("intake", "verification", "routing", "sla", "notifications"):
        assert metric(platform, key, "aduan_dead_lettered_total") >= 1, key
    tn = submit(platform)["tracking_number"]
    wait_for(lambda: fully_routed(platform, tn), what="routed after poison")


def test_redelivered_events_have_no_second_effect(platform: Platform) -> None:
    answer = submit(platform)
    tn = answer["tracking_number"]
    wait_for(lambda: fully_routed(platform, tn), what="routed")
    before = effect_counts(platform)
    kit = platform.kit()
    assert platform.bootstrap

    def no_effect() -> float:
        # Seen again (duplicate), or of a type the service has no use for (ignored: never
        # remembered, so never a duplicate either).
        return sum(
            metric(platform, key, "aduan_events_consumed_total", outcome=outcome)
            for key in ("intake", "verification", "routing", "sla", "notifications")
            for outcome in ("duplicate", "ignored")
        )

    duplicates_before = no_effect()
    redelivered = 0
    # Every topic in one reader (one group join, one idle wait).
    by_name = {topic.full_name(kit): topic for topic in catalog.TOPICS}
    for rec in read_topic(platform.bootstrap, list(by_name), idle=2):
        topic = by_name[rec.topic]
        if (rec.value and answer["report_id"].encode() in rec.value) or (
            topic.private and rec.value and b"reporter_ref" in rec.value
        ):
            produce(platform.bootstrap, rec.topic, rec.value, key=rec.key)
            redelivered += len(topic.consumers)
    assert redelivered >= 10

    def all_seen() -> bool:
        return no_effect() - duplicates_before >= redelivered

    wait_for(all_seen, what="redelivered events consumed")
    assert effect_counts(platform) == before


def test_contact_data_never_leaves_on_agency_facing_topics_pages_or_logs(
    platform: Platform,
) -> None:
    canary = uuid.uuid4().hex[:8]
    phone = "0813" + str(int(canary, 16) % 10**8).zfill(8)
    email = f"canary{canary}@example.id"
    name = f"Siti Canary{canary}"
    answer = submit(
        platform, anonymous=True, reporter={"name": name, "phone": phone, "email": email}
    )
    tn, rid = answer["tracking_number"], answer["report_id"]
    wait_for(lambda: fully_routed(platform, tn), what="routed")
    e164 = "+62" + phone[1:]
    needles = [phone.encode(), e164.encode(), phone[-8:].encode(), email.encode(), canary.encode()]
    kit = platform.kit()
    assert platform.bootstrap
    public = [t.full_name(kit) for t in catalog.TOPICS if not t.private]
    records = read_topic(platform.bootstrap, public, idle=3, timeout=60)
    assert {r.topic for r in records} >= {f"{platform.namespace}.report.submitted"}
    for rec in records:
        blob = (rec.value or b"") + (rec.key or b"") + b"".join(rec.headers.values())
        assert not [n for n in needles if n in blob], rec.topic
    # The private topic does carry it: that is how notifications reaches the reporter.
    private = read_topic(platform.bootstrap, catalog.BY_NAME["reporter.contact"].full_name(kit))
    assert any(e164.encode() in (r.value or b"") for r in private)
    admin = staff_headers(platform)
    detail = httpx.get(f"{platform.url('routing')}/v1/reports/{rid}", headers=admin)
    assert detail.status_code == 200 and detail.json()["reporter"] == "Anonim"
    pages = [
        track(platform, tn).text,
        httpx.get(f"{platform.url('routing')}/v1/routings/{rid}", headers=admin).text,
        httpx.get(f"{platform.url('routing')}/v1/reports/{rid}", headers=admin).text,
        httpx.get(f"{platform.url('sla')}/v1/reports/{rid}/deadlines", headers=admin).text,
        httpx.get(f"{platform.url('verification')}/v1/decisions/{rid}", headers=admin).text,
        httpx.get(
            f"{platform.url('notifications')}/v1/reports/{rid}/notifications", headers=admin
        ).text,
    ]
    for page in pages:
        assert not [n for n in needles if n.decode() in page]
    for log in Path(platform.log_dir).glob("*.log"):
        text = log.read_bytes()
        assert not [n for n in needles if n in text], log.name


def test_bad_input_gets_clear_errors_and_the_service_keeps_running(platform: Platform) -> None:
    url = f"{platform.url('intake')}/v1/reports"
    r = httpx.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "Ada isian yang tidak valid."
    r = httpx.post(url, json={"title": "x"}, headers={"accept-language": "en"})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["detail"]}
    assert {"body", "category", "regency_code"} <= fields
    r = httpx.post(url, json={**_report(), "category": "sihir"})
    assert r.status_code == 422 and "kategori" in json.dumps(r.json())
    r = httpx.post(url, json={**_report(), "reporter": {"phone": "12345"}})
    assert r.status_code == 422 and "12345" not in r.text
    r = httpx.post(url, json={**_report(), "regency_code": "Bandung"})
    assert r.status_code == 422
    r = httpx.post(url, content=b"x" * 2_000_000, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert track(platform, "abc").status_code == 404
    assert track(platform, "0000000").status_code == 404
    assert httpx.get(f"{platform.url('intake')}/health").json()["status"] == "ok"


def test_idempotency_key_makes_one_report(platform: Platform) -> None:
    url = f"{platform.url('intake')}/v1/reports"
    key = uuid.uuid4().hex
    first = httpx.post(url, json=_report(), headers={"idempotency-key": key})
    second = httpx.post(url, json=_report(), headers={"idempotency-key": key})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["tracking_number"] == second.json()["tracking_number"]
    assert second.json()["tracking_secret"] is None

    # A double submit racing itself still makes one report.
    key = uuid.uuid4().hex

    def post(_: int) -> httpx.Response:
        return httpx.post(url, json=_report(), headers={"idempotency-key": key}, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["report_id"] for a in answers}) == 1


def test_confidential_report_needs_its_secret(platform: Platform) -> None:
    answer = submit(platform, confidential=True)
    tn = answer["tracking_number"]
    assert track(platform, tn).status_code == 404
    assert track(platform, tn, secret="wrong").status_code == 404
    assert track(platform, tn, secret=answer["tracking_secret"]).status_code == 200


def test_a_running_platform_writes_only_under_its_own_directory(platform: Platform) -> None:
    """faust's data directories (one per service) are in the platform's directory, none
    in the directory the services started in (the checkout)."""
    made = sorted(p.name for p in (platform.var_dir / "faust").iterdir())
    assert made == sorted(f"{platform.namespace}-{s}" for s in SERVICES), made
    assert not list(ROOT.glob(f"{platform.namespace}*")), list(ROOT.glob(f"{platform.namespace}*"))


def _report() -> dict:
    from tests.e2e.helpers import REPORT

    return dict(REPORT)
