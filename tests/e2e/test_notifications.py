"""Notifications on the running platform, through real channels: Kannel (bearerbox and
smsbox from Debian, fakesmsc as the phone network), an aiosmtpd SMTP server, and HTTP
webhook receivers; PostgreSQL with two notifications instances, or SQLite.

The SLA's clock runs 30 days ahead, so every report is at once past its agency's
deadline (a warning and a breach for the agency's endpoints) without waiting.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from notifications import domain, webhooks
from notifications.handlers import HANDLERS as NOTICE_HANDLERS
from services import bus, catalog
from services.auth import Role
from services.broker import EmbeddedBroker
from services.contracts import ReportFollowupPosted, ReportResolved
from services.launcher import Platform
from services.settings import BrokerProfile
from tests.channels import KannelGateway, SmtpSink, WebhookReceiver
from tests.conftest import PgDatabases, database_urls, new_namespace, platform_env
from tests.e2e.helpers import metric, publish, scalar, staff_headers, submit, track, wait_for
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.e2e

OFFSET = timedelta(days=30)
FAST_RETRIES = {
    "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.3",
    "NOTIFICATIONS_RETRY_CAP_SECONDS": "2",
    "NOTIFICATIONS_MAX_ATTEMPTS": "4",
    "NOTIFICATIONS_TICK_SECONDS": "0.1",
    "NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "NOTIFICATIONS_TRACKING_URL": "https://aduan.example.id/lacak/{tracking_number}",
}


def admin(platform: Platform) -> dict[str, str]:
    token = platform.staff_token(Role.administrator, "admin-test")
    return {"authorization": f"Bearer {token}"}


def add_endpoint(platform: Platform, **body: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{platform.url('notifications')}/v1/endpoints", json=body, headers=admin(platform)
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def handling(platform: Platform, payload: Any, rid: str) -> None:
    """An agency's action, as routing will publish it."""
    publish(platform, "report.handling", "/aduan/routing", payload, rid)


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, ...]]:
    kannel = KannelGateway(tmp_path_factory.mktemp("kannel")).start()
    smtp = SmtpSink().start()
    hooks = WebhookReceiver()
    try:
        yield kannel, smtp, hooks
    finally:
        kannel.stop()
        smtp.stop()
        hooks.close()


@pytest.fixture(scope="module")
def platform(
    broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory, peers: tuple[Any, ...]
) -> Iterator[Platform]:
    kannel, smtp, _ = peers
    pg = PgDatabases()
    ns = new_namespace()
    var = tmp_path_factory.mktemp(ns)
    p = Platform(
        var_dir=var,
        namespace=ns,
        database_urls=database_urls("postgres", var, ns, pg),
        bootstrap=broker.bootstrap,
        profile=BrokerProfile.tansu,
        instances={"notifications": 2},
        extra_env=platform_env(
            {
                **kannel.env(),
                **smtp.env(),
                **FAST_RETRIES,
                "SLA_CLOCK_OFFSET_SECONDS": str(OFFSET.total_seconds()),
            }
        ),
    )
    try:
        p.start()
        yield p
    finally:
        p.stop()
        pg.drop_all()


def sms_to(kannel: KannelGateway, e164: str) -> list[str]:
    return [m.text for m in kannel.received() if m.to == e164]


def test_reporters_and_agencies_hear_once_on_their_channels(
    platform: Platform, peers: tuple[Any, ...]
) -> None:
    kannel, smtp, hooks = peers
    kannel_sink: KannelGateway = kannel
    agency = add_endpoint(
        platform,
        owner_kind="agency",
        owner_id="pemda-32.73",
        kind="webhook",
        target=hooks.url("/pemda-bandung"),
    )
    region = add_endpoint(
        platform,
        owner_kind="region",
        owner_id="32",
        kind="webhook",
        target=hooks.url("/jabar"),
        events=["new_report"],
    )
    add_endpoint(
        platform,
        owner_kind="agency",
        owner_id="pemda-32.73",
        kind="email",
        target="pengaduan@bandung.example.id",
        events=["new_report"],
    )
    assert agency["secret"].startswith("whsec_")
    listed = httpx.get(
        f"{platform.url('notifications')}/v1/endpoints", headers=admin(platform)
    ).json()
    assert len(listed) == 3 and all("secret" not in e for e in listed)

    phone, e164 = "081298765432", "+6281298765432"
    by_sms = submit(platform, reporter={"phone": phone, "name": "Siti Aminah"})
    by_mail = submit(platform, reporter={"email": "warga.b@example.id"}, language="en")
    tn_a, rid_a = by_sms["tracking_number"], by_sms["report_id"]
    tn_b = by_mail["tracking_number"]

    # The SMS reporter: received, verified, routed, in Indonesian, from 1708, in order.
    texts = wait_for(
        lambda: (t := sms_to(kannel_sink, e164)) and len(t) >= 3 and t, 90, "three SMS"
    )
    assert all(tn_a in t for t in texts[:3])
    assert "diterima" in texts[0] and "diverifikasi" in texts[1]
    assert "Pemerintah Kota Bandung" in texts[2]
    assert {m.sender for m in kannel_sink.received() if m.to == e164} == {"1708"}

    # The email reporter: the same, in English, plain text and HTML with the link.
    def mails() -> list[Any]:
        return [m for rcpt, m in smtp.received() if rcpt == ["warga.b@example.id"]]

    got = wait_for(lambda: len(mails()) >= 3 and mails(), 60, "three emails")
    first = got[0]
    assert first["Subject"] == f"Report received #{tn_b}"
    plain = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert tn_b in plain and f"https://aduan.example.id/lacak/{tn_b}" in plain
    assert f'href="https://aduan.example.id/lacak/{tn_b}"' in html
    assert "Report received" in first["Subject"] and first["Content-Language"] == "en"

    # The agency: a signed new_report per report, then the deadline's warning and breach.
    def agency_events() -> list[dict[str, Any]]:
        return hooks.events("/pemda-bandung")

    wait_for(
        lambda: (
            {(e["data"]["tracking_number"], e["data"]["notice"]) for e in agency_events()}
            >= {(tn, n) for tn in (tn_a, tn_b) for n in ("new_report", "deadline_breached")}
        ),
        90,
        "new reports and breaches at the agency's webhook",
    )
    for hook in hooks.got("/pemda-bandung"):
        webhooks.verify(agency["secret"], hook.headers, hook.body)
        event = json.loads(hook.body)
        assert event["specversion"] == "1.0" and event["id"] == hook.headers["webhook-id"]
        blob = hook.body.decode()
        for secret_thing in (phone, e164, "warga.b@example.id", "Siti", "reporter_ref"):
            assert secret_thing not in blob
    # The region's webhook took only what it subscribed to.
    wait_for(lambda: len(hooks.got("/jabar")) >= 2, 30, "the region's new reports")
    assert {e["data"]["notice"] for e in hooks.events("/jabar")} == {"new_report"}
    for hook in hooks.got("/jabar"):
        webhooks.verify(region["secret"], hook.headers, hook.body)
    wait_for(
        lambda: len([1 for r, _ in smtp.received() if r == ["pengaduan@bandung.example.id"]]) >= 2,
        30,
        "the agency's emails",
    )

    # The agency answers and says it is done: the reporter is told, then (the reply clock
    # being 30 days ahead) the report is closed for want of a reply.
    now = datetime.now(UTC)
    handling(
        platform,
        ReportFollowupPosted(
            report_id=rid_a,
            agency_id="pemda-32.73",
            followup_id="f1",
            text="Jalan sudah dijadwalkan untuk ditambal.",
            posted_by="officer-1",
            posted_at=now,
        ),
        rid_a,
    )
    handling(
        platform,
        ReportResolved(
            report_id=rid_a,
            agency_id="pemda-32.73",
            summary="Ditambal.",
            resolved_by="officer-1",
            resolved_at=now + timedelta(seconds=1),
        ),
        rid_a,
    )
    wait_for(lambda: any("ditutup" in t for t in sms_to(kannel_sink, e164)), 90, "closing SMS")
    texts = sms_to(kannel_sink, e164)
    assert any("menanggapi" in t for t in texts) and any("selesai" in t for t in texts)

    # The tracking page shows every notice (in_app), with its text.
    view = track(platform, tn_a).json()
    notices = [h["detail"] for h in view["history"] if h["kind"] == "notification"]
    assert any(tn_a in n and "diterima" in n for n in notices)
    assert len(notices) >= 6

    # Delivered once: the same counts after a replay of every upstream topic, with the
    # notifications inbox forgotten (the delivery key alone must hold).
    def counts() -> tuple[int, int, int, int]:
        return (
            len(kannel_sink.received()),
            len(smtp.received()),
            len(hooks.got()),
            scalar(platform, "notifications", "SELECT count(*) FROM deliveries"),
        )

    time.sleep(3)
    before = counts()
    sent = scalar(
        platform, "notifications", "SELECT count(*) FROM deliveries WHERE status = 'sent'"
    )
    assert sent == before[3]
    engine_url = platform.database_url("notifications")
    import sqlalchemy as sa

    engine = sa.create_engine(engine_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM inbox"))
    engine.dispose()
    since = datetime.now(UTC) - timedelta(hours=1)
    replayed = sum(
        bus.replay_outbox(platform.database_url(s), platform.kit(), since, s)
        for s in ("intake", "verification", "routing", "sla")
    )
    assert replayed > 10
    # The provinces' own feed topics are for regional governments: notifications does not
    # read them (it reads region.feed, which carries the same events).
    provinces = scalar(
        platform,
        "routing",
        "SELECT count(*) FROM outbox WHERE topic LIKE :pattern",
        pattern=f"{platform.kit().aduan_namespace}.region.__",
    )
    replayed -= provinces
    # Nor does it keep an inbox row for a type it reads but has no use for (the SLA's
    # clocks opening and moving): those are skipped unread.
    ignored = ", ".join(f"'{t}'" for t, h in NOTICE_HANDLERS.items() if h is bus.ignore)
    replayed -= sum(
        scalar(platform, s, f"SELECT count(*) FROM outbox WHERE event_type IN ({ignored})")
        for s in ("intake", "verification", "routing", "sla")
    )
    wait_for(
        lambda: scalar(platform, "notifications", "SELECT count(*) FROM inbox") >= replayed,
        90,
        "notifications consumed the replay",
    )
    time.sleep(3)
    assert counts() == before

    # Rotation: the next message is signed with the new secret and the old one.
    r = httpx.post(
        f"{platform.url('notifications')}/v1/endpoints/{agency['id']}/rotate-secret",
        json={"grace_hours": 1},
        headers=admin(platform),
    )
    assert r.status_code == 200 and r.json()["secret_count"] == 2
    rotated = r.json()["secret"]
    assert rotated != agency["secret"]
    seen = len(hooks.got("/pemda-bandung"))
    tn_c = submit(platform)["tracking_number"]
    fresh = wait_for(
        lambda: [h for h in hooks.got("/pemda-bandung")[seen:] if tn_c.encode() in h.body],
        60,
        "a webhook after the rotation",
    )[0]
    assert len(fresh.headers["webhook-signature"].split()) == 2
    webhooks.verify(rotated, fresh.headers, fresh.body)
    webhooks.verify(agency["secret"], fresh.headers, fresh.body)

    # Metrics: sends per channel and template, and delivery latency, summed over both
    # instances (either may have claimed every SMS: they share the deliveries).
    instances = ("notifications", "notifications#1")
    sms = "aduan_notifications_sent_total"
    assert sum(metric(platform, key, sms, channel="sms") for key in instances) > 0
    lat = "aduan_notification_delivery_latency_seconds_count"
    total = sum(metric(platform, key, lat) for key in instances)
    assert total >= sent


def test_webhook_target_checks(platform: Platform) -> None:
    url = f"{platform.url('notifications')}/v1/endpoints"
    base = {"owner_kind": "agency", "owner_id": "pemda-32.73", "kind": "webhook"}
    bad = [
        "ftp://example.id/hook",
        "http://user:pw@example.id/hook",
        "http://169.254.169.254/latest",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
    ]
    for target in bad:
        r = httpx.post(url, json={**base, "target": target}, headers=admin(platform))
        assert r.status_code == 422, (target, r.text)
    r = httpx.post(url, json={**base, "target": "https://example.id/h"})
    assert r.status_code == 401
    officer = platform.staff_token(Role.agency_officer, "o1", "pemda-33.74")
    r = httpx.post(
        url,
        json={**base, "target": "https://example.id/h"},
        headers={"authorization": f"Bearer {officer}"},
    )
    assert r.status_code == 404  # not the officer's agency
    r = httpx.post(
        url,
        json={**base, "owner_id": "pemda-33.74", "target": "https://example.id/h"},
        headers={"authorization": f"Bearer {officer}"},
    )
    assert r.status_code == 201
    mine = httpx.get(url, headers={"authorization": f"Bearer {officer}"}).json()
    assert {e["owner_id"] for e in mine} == {"pemda-33.74"}


def test_dead_channels_hold_up_nothing_and_failures_are_dead_lettered(
    make_platform: Any, tmp_path: Path
) -> None:
    kannel = KannelGateway(tmp_path / "kannel").start()
    kannel.stop_smsbox()  # Kannel's sendsms is down
    smtp = SmtpSink()  # not started: SMTP is down
    flaky = WebhookReceiver(
        respond=lambda path, n: (
            (503, {"Retry-After": "1"})
            if path == "/flaky" and n <= 2
            else (410, {})
            if path == "/gone"
            else (204, {})
        )
    )
    try:
        platform = make_platform(extra_env={**kannel.env(), **smtp.env(), **FAST_RETRIES})
        hook = add_endpoint(
            platform,
            owner_kind="agency",
            owner_id="pemda-32.73",
            kind="webhook",
            target=flaky.url("/flaky"),
            events=["new_report"],
        )
        gone = add_endpoint(
            platform,
            owner_kind="agency",
            owner_id="pemda-32.73",
            kind="webhook",
            target=flaky.url("/gone"),
            events=["new_report"],
        )
        by_sms = submit(platform, reporter={"phone": "081311112222"})
        by_mail = submit(platform, reporter={"email": "warga.c@example.id"})

        # The consumer is not held up: both reports are routed, their notices on the page.
        for answer in (by_sms, by_mail):

            def shown(tn: str = answer["tracking_number"]) -> bool:
                view = track(platform, tn).json()
                notes = [h for h in view["history"] if h["kind"] == "notification"]
                return view["status"] == "routed" and len(notes) >= 3

            wait_for(shown, 60, "routed with its notices on the tracking page")

        # The webhook went through after two 503s, each retry waiting its Retry-After.
        wait_for(lambda: len(flaky.got("/flaky")) >= 6, 60, "the flaky webhook's three tries x2")
        tries = flaky.got("/flaky")
        by_id: dict[str, list[float]] = {}
        for t in tries:
            by_id.setdefault(t.headers["webhook-id"], []).append(t.at)
        assert len(by_id) == 2
        for times in by_id.values():
            assert len(times) == 3
            assert times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95
        # 410: the endpoint is disabled after one try.
        r = httpx.get(
            f"{platform.url('notifications')}/v1/endpoints/{gone['id']}", headers=admin(platform)
        ).json()
        assert r["status"] == "disabled" and r["disabled_reason"] == "410 Gone"
        # No 410 is retried (the two reports' deliveries may have been in flight
        # together), and nothing more goes to the endpoint once it is disabled.
        gone_ids = [h.headers["webhook-id"] for h in flaky.got("/gone")]
        assert 1 <= len(gone_ids) <= 2 and len(set(gone_ids)) == len(gone_ids)
        later = submit(platform, reporter={"phone": "081311113333"})["tracking_number"]
        wait_for(
            lambda: any(later.encode() in h.body for h in flaky.got("/flaky")),
            60,
            "a later report's webhook",
        )
        assert len(flaky.got("/gone")) == len(gone_ids)
        assert hook["id"]

        # SMS and email: four failed attempts each, then the dead letter (an event, a
        # metric, the notice's status), while the notice stays on the tracking page.
        def dead(channel: str, rid: str) -> list[dict[str, Any]]:
            r = httpx.get(
                f"{platform.url('notifications')}/v1/deliveries",
                params={"status": "dead", "channel": channel},
                headers=admin(platform),
            )
            return [d for d in r.json() if d["report_id"] == rid]

        dead_mail = wait_for(
            lambda: len(d := dead("email", by_mail["report_id"])) >= 3 and d, 90, "dead emails"
        )
        dead_sms = wait_for(
            lambda: len(d := dead("sms", by_sms["report_id"])) >= 3 and d, 90, "dead SMS"
        )
        assert all(d["attempts"] == 4 and len(d["tries"]) == 4 for d in dead_mail + dead_sms)
        assert all("smtp unreachable" in (d["last_error"] or "") for d in dead_mail)
        assert all("kannel unreachable" in (d["last_error"] or "") for d in dead_sms)
        kit = platform.kit()
        assert platform.bootstrap
        letters = read_topic(
            platform.bootstrap, catalog.BY_NAME["notification.dead_letter"].full_name(kit)
        )
        bodies = [json.loads(r.value) for r in letters]
        assert {b["data"]["delivery_id"] for b in bodies} >= {d["id"] for d in dead_mail + dead_sms}
        blob = json.dumps(bodies)
        assert "warga.c" not in blob and "81311112222" not in blob
        for channel in ("email", "sms"):
            assert (
                metric(
                    platform,
                    "notifications",
                    "aduan_notifications_dead_lettered_total",
                    channel=channel,
                )
                >= 3
            )
        notes = httpx.get(
            f"{platform.url('notifications')}/v1/reports/{by_mail['report_id']}/notifications",
            headers=staff_headers(platform),
        ).json()
        assert {n["status"] for n in notes} == {"failed"} and all(n["text"] for n in notes)

        # Once the channels are back, an operator's retry sends the dead letters.
        assert not kannel.received() and not smtp.received()
        kannel.start_smsbox()
        smtp.start()
        for d in dead_mail + dead_sms:
            r = httpx.post(
                f"{platform.url('notifications')}/v1/deliveries/{d['id']}/retry",
                headers=admin(platform),
            )
            assert r.status_code == 200, r.text
        e164 = "+6281311112222"
        wait_for(lambda: len([m for m in kannel.received() if m.to == e164]) >= 3, 60, "SMS after")
        wait_for(lambda: len(smtp.received()) >= 3, 60, "the retried emails")
        assert {tuple(r) for r, _ in smtp.received()} == {("warga.c@example.id",)}
        notes = httpx.get(
            f"{platform.url('notifications')}/v1/reports/{by_mail['report_id']}/notifications",
            headers=staff_headers(platform),
        ).json()
        assert {n["status"] for n in notes} == {"sent"}
    finally:
        kannel.stop()
        smtp.stop()
        flaky.close()


def test_webhooks_never_reach_internal_addresses_without_the_allow_list(
    make_platform: Any,
) -> None:
    inside = WebhookReceiver()
    try:
        platform = make_platform(
            extra_env={k: v for k, v in FAST_RETRIES.items() if "ALLOWED" not in k}
        )
        # The API refuses the literal; a name that resolves inside is refused on connect.
        r = httpx.post(
            f"{platform.url('notifications')}/v1/endpoints",
            json={
                "owner_kind": "agency",
                "owner_id": "pemda-32.73",
                "kind": "webhook",
                "target": inside.url("/x"),
            },
            headers=admin(platform),
        )
        assert r.status_code == 422
        # This machine's own name resolves to a loopback address (/etc/hosts).
        name = socket.gethostname()
        resolved = {i[4][0] for i in socket.getaddrinfo(name, inside.port)}
        assert resolved and not any(domain.address_allowed(a) for a in resolved), resolved
        add_endpoint(
            platform,
            owner_kind="agency",
            owner_id="pemda-32.73",
            kind="webhook",
            target=f"http://{name}:{inside.port}/x",
        )
        answer = submit(platform)
        wait_for(
            lambda: httpx.get(
                f"{platform.url('notifications')}/v1/deliveries",
                params={"status": "dead", "channel": "webhook"},
                headers=admin(platform),
            ).json(),
            60,
            "the webhook refused",
        )
        dead = httpx.get(
            f"{platform.url('notifications')}/v1/deliveries",
            params={"status": "dead", "channel": "webhook"},
            headers=admin(platform),
        ).json()
        assert dead[0]["attempts"] == 1 and "blocked" in dead[0]["last_error"]
        assert answer and not inside.got()
    finally:
        inside.close()
