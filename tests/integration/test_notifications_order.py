"""Notifications wait for what they need and go out in lifecycle order, whatever the
order of the events on their different topics (real databases, real broker)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from notifications.dispatcher import (
    claim,
    dead_letter_id,
    mark_started,
    restart,
    settle,
    settle_all,
)
from notifications.handlers import _update_recipient, notifications_of
from notifications.models import (
    OUTBOX,
    Contact,
    Delivery,
    DeliveryAttempt,
    Endpoint,
    Notification,
    Recipient,
)
from notifications.senders import Outcome
from notifications.settings import NotificationsSettings
from services import bus
from services.broker import EmbeddedBroker
from services.contracts import (
    Payload,
    ReporterCodeRequested,
    ReporterContactRecorded,
    ReportRejected,
    ReportRouted,
    ReportSubmitted,
    ReportVerified,
    encode,
    new_event,
)
from services.db import Database, migrate
from tests.conftest import PgDatabases, inbox_consumer, kit_for, new_namespace

ROOT = Path(__file__).resolve().parents[2]


def _database(backend: str, tmp_path: Path, pg: PgDatabases) -> Database:
    """A migrated notifications database on SQLite or PostgreSQL."""
    url = (
        f"sqlite:///{tmp_path}/n.sqlite3"
        if backend == "sqlite"
        else pg.create(f"{new_namespace()}_notifications")
    )
    migrate(url, ROOT / "notifications" / "migrations")
    return Database(url)


def msg(payload: Payload, subject: str | None) -> bus.RawMessage:
    return bus.RawMessage("t", 0, 0, None, encode(new_event("/test", subject, payload)))


def submitted_report(rid: str, ref: str, at: datetime, **given: Any) -> ReportSubmitted:
    """A report as intake announces it, with what a test does not care about filled in."""
    fields: dict[str, Any] = {
        "tracking_number": "1234567",
        "title": "t",
        "body": "",
        "category": "c",
        "regency_code": "32.73",
        "anonymous": False,
        "confidential": False,
        "channel": "api",
    }
    return ReportSubmitted(report_id=rid, reporter_ref=ref, submitted_at=at, **{**fields, **given})


def verified_report(rid: str, at: datetime, **given: Any) -> ReportVerified:
    """A verification passed automatically, with what a test does not care about."""
    fields: dict[str, Any] = {
        "title": "t",
        "category": "c",
        "regency_code": "32.73",
        "decided_by": "auto",
        "reason": "lengkap",
    }
    return ReportVerified(report_id=rid, verified_at=at, **{**fields, **given})


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_rejection_before_submission_is_sent_after_the_receipt(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    db = _database(backend, tmp_path, pg)
    consumer = inbox_consumer("notifications", db, kit_for(broker, new_namespace()))
    rid, ref, now = str(uuid.uuid4()), uuid.uuid4().hex, datetime.now(UTC)

    rejected = ReportRejected(
        report_id=rid, reason_code="empty", reason="kosong", decided_by="auto", rejected_at=now
    )
    contact = ReporterContactRecorded(reporter_ref=ref, email="warga@example.id")
    submitted = submitted_report(rid, ref, now)
    try:
        asyncio.run(consumer.process([msg(rejected, rid)]))
        asyncio.run(consumer.process([msg(contact, None)]))
        with db.session() as session:
            waiting = notifications_of(session, rid)
        assert [(n.template, n.status) for n in waiting] == [("rejected", "pending")]
        asyncio.run(consumer.process([msg(submitted, rid)]))
        with db.session() as session:
            shown = notifications_of(session, rid)
            queued = claim(session, "email", datetime.now(UTC) + timedelta(seconds=1), 10, 60)
        assert [(n.template, n.status, n.channel) for n in shown] == [
            ("received", "shown", "email"),
            ("rejected", "shown", "email"),
        ]
        assert "1234567" in (shown[1].text or "")
        # Queued in lifecycle order: the dispatcher takes the receipt first.
        assert [d.template for d in sorted(queued, key=lambda d: d.next_attempt_at)] == [
            "received",
            "rejected",
        ]
        assert {d.recipient for d in queued} == {ref} and {d.status for d in queued} == {"sending"}
        # The tracking page got both notices, with their text, in the outbox.
        with db.engine.connect() as conn:
            types = [
                r.event_type
                for r in conn.execute(sa.select(OUTBOX.c.event_type).order_by(OUTBOX.c.id))
            ]
        assert types.count("id.aduan.notification.sent.v1") == 2
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_notices_of_one_batch_read_what_the_events_before_them_changed(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    """The report, its verification (a verifier's corrected title) and its routing come in
    one batch: the routed notice names the agency, and its agency's copy the corrected
    title, though the recipient was read into the batch before either changed."""
    db = _database(backend, tmp_path, pg)
    consumer = inbox_consumer("notifications", db, kit_for(broker, new_namespace()))
    rid, ref, now = str(uuid.uuid4()), uuid.uuid4().hex, datetime.now(UTC)
    submitted = submitted_report(
        rid, ref, now, tracking_number="7654321", title="jalan rusak", category="infrastruktur"
    )
    verified = verified_report(
        rid,
        now + timedelta(seconds=1),
        title="Jalan berlubang di Jl. Cikutra",
        category="infrastruktur",
    )
    routed = ReportRouted(
        report_id=rid,
        agency_id="pemkot-bandung",
        agency_name="Pemerintah Kota Bandung",
        regency_code="32.73",
        rule="rule:1",
        routed_at=now + timedelta(seconds=2),
    )
    try:
        asyncio.run(
            consumer.process(
                [
                    msg(submitted, rid),
                    msg(ReporterContactRecorded(reporter_ref=ref, email="w@example.id"), None),
                    msg(verified, rid),
                    msg(routed, rid),
                ]
            )
        )
        with db.session() as session:
            shown = {n.template: n.text or "" for n in notifications_of(session, rid)}
            recipient = session.get(Recipient, rid)
        assert "Pemerintah Kota Bandung" in shown["routed"]
        assert recipient is not None and recipient.agency_name == "Pemerintah Kota Bandung"
        assert recipient.title == "Jalan berlubang di Jl. Cikutra"
        # A recipient a handler still holds when another event changes it reads the change.
        with db.session() as session:
            held = session.get(Recipient, rid)
            ctx = bus.HandlerContext(session, consumer.outbox, new_event("/test", rid, routed))
            _update_recipient(ctx, rid, agency_name="Dinas PUPR Kota Bandung")
            assert held is not None and held.agency_name == "Dinas PUPR Kota Bandung"
            assert not session.dirty  # as loaded: nothing for a flush to write again
        with db.session() as session:
            again = session.get(Recipient, rid)
            assert again is not None and again.agency_name == "Dinas PUPR Kota Bandung"
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_phone_that_sent_stop_gets_no_sms_and_mulai_sends_no_backlog(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    db = _database(backend, tmp_path, pg)
    consumer = inbox_consumer("notifications", db, kit_for(broker, new_namespace()))
    rid, ref, now = str(uuid.uuid4()), uuid.uuid4().hex, datetime.now(UTC)

    phone = "+6281355550099"
    stopped = ReporterContactRecorded(reporter_ref=ref, phone=phone, sms_notices=False)
    submitted = submitted_report(rid, ref, now, tracking_number="7654321", channel="sms")
    try:
        asyncio.run(consumer.process([msg(stopped, None), msg(submitted, rid)]))
        with db.session() as session:
            [note] = notifications_of(session, rid)
            assert (note.template, note.status, note.channel) == ("received", "shown", "in_app")
            assert list(session.exec(select(Delivery))) == []
        # MULAI: later notices go by SMS again, the one shown meanwhile is not sent after all.
        started = ReporterContactRecorded(reporter_ref=ref, phone=phone, sms_notices=True)
        asyncio.run(consumer.process([msg(started, None)]))
        with db.session() as session:
            assert list(session.exec(select(Delivery))) == []
            contact = session.get(Contact, ref)
            assert contact is not None and contact.sms_notices
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_stop_in_the_middle_of_a_batch_holds_back_the_sms_after_it(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    """One batch: the contact, the report (its receipt goes by SMS), STOP from that phone,
    then the verification: its notice stays on the tracking page (the contact is written
    with Core statements; the notices' query reads it as STOP left it)."""
    db = _database(backend, tmp_path, pg)
    consumer = inbox_consumer("notifications", db, kit_for(broker, new_namespace()))
    rid, ref, now = str(uuid.uuid4()), uuid.uuid4().hex, datetime.now(UTC)
    phone = "+6281355550123"
    verified = verified_report(rid, now + timedelta(seconds=2))
    batch = [
        msg(ReporterContactRecorded(reporter_ref=ref, phone=phone), None),
        msg(submitted_report(rid, ref, now, channel="sms"), rid),
        msg(ReporterContactRecorded(reporter_ref=ref, phone=phone, sms_notices=False), None),
        msg(verified, rid),
    ]
    try:
        asyncio.run(consumer.process(batch))
        with db.session() as session:
            notes = notifications_of(session, rid)
            deliveries = list(session.exec(select(Delivery)))
            contact = session.get(Contact, ref)
        assert [(n.template, n.channel) for n in notes] == [
            ("received", "sms"),
            ("verified", "in_app"),
        ]
        assert [d.template for d in deliveries] == ["received"]
        assert contact is not None and not contact.sms_notices
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_secret_code_goes_only_the_way_asked_and_is_not_kept(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    """Asked by email, the code is queued to the report's own email, in one batch with the
    report and its contact; asked by SMS with no phone known, it fails at once, with no
    delivery and without the code in its record. Neither goes on the tracking page."""
    db = _database(backend, tmp_path, pg)
    consumer = inbox_consumer("notifications", db, kit_for(broker, new_namespace()))
    rid, ref, now = str(uuid.uuid4()), uuid.uuid4().hex, datetime.now(UTC)
    contact = ReporterContactRecorded(reporter_ref=ref, email="warga@example.id")
    by_email = ReporterCodeRequested(
        report_id=rid, code="KODE-RAHASIA-1", via="email", requested_at=now
    )
    by_sms = ReporterCodeRequested(
        report_id=rid, code="KODE-RAHASIA-2", via="sms", requested_at=now + timedelta(seconds=1)
    )
    try:
        batch = [msg(contact, None), msg(submitted_report(rid, ref, now), rid), msg(by_email, rid)]
        asyncio.run(consumer.process(batch))
        asyncio.run(consumer.process([msg(by_sms, rid)]))
        with db.session() as session:
            codes = [n for n in notifications_of(session, rid) if n.template == "secret_code"]
            deliveries = list(session.exec(select(Delivery)))
        assert [(n.channel, n.status) for n in codes] == [("email", "shown"), ("none", "failed")]
        assert "KODE-RAHASIA-1" in (codes[0].text or "")
        assert "KODE-RAHASIA-2" not in codes[1].values + (codes[1].text or "")
        assert sorted((d.template, d.channel, d.recipient) for d in deliveries) == [
            ("received", "email", ref),
            ("secret_code", "email", ref),
        ]
        with db.engine.connect() as conn:
            payloads = [p for (p,) in conn.execute(sa.select(OUTBOX.c.payload))]
        assert not any("KODE-RAHASIA" in p for p in payloads)
    finally:
        db.close()


def _sms_delivery(delivery_id: str, **fields: object) -> Delivery:
    return Delivery(
        id=delivery_id,
        notification_id=f"n-{delivery_id}",
        report_id=str(uuid.uuid4()),
        source_event_id=f"e-{delivery_id}",
        template="received",
        audience="reporter",
        channel="sms",
        recipient="r",
        created_at=datetime.now(UTC),
        **fields,
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_dispatchers_never_claim_the_same_delivery(
    backend: str, tmp_path: Path, pg: PgDatabases
) -> None:
    db = _database(backend, tmp_path, pg)
    now = datetime.now(UTC)
    try:
        with db.session() as session:
            for i in range(300):
                session.add(_sms_delivery(f"d{i:04d}", next_attempt_at=now - timedelta(seconds=1)))
            # One whose lease ran out (its instance died mid-send), one still leased.
            for did, lease in (("expired", -5), ("leased", 60)):
                session.add(
                    _sms_delivery(did, status="sending", lease_until=now + timedelta(seconds=lease))
                )

        def worker() -> list[str]:
            got: list[str] = []
            while True:
                with db.session() as session:
                    batch = claim(session, "sms", datetime.now(UTC), 7, 60)
                if not batch:
                    return got
                got += [d.id for d in batch]

        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            results = list(pool.map(lambda _: worker(), range(3)))
        everything = [d for r in results for d in r]
        assert len(everything) == len(set(everything)) == 301
        assert "expired" in everything and "leased" not in everything
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_send_cut_short_by_a_death_is_traced_as_uncertain_and_sent_again(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    db = _database(backend, tmp_path, pg)
    outbox = bus.Outbox("notifications", kit_for(broker, new_namespace()), OUTBOX)
    now = datetime.now(UTC)
    expired = now - timedelta(seconds=5)
    try:
        with db.session() as session:
            # Died after handing this one to the gateway, and before this one's turn.
            session.add(
                _sms_delivery(
                    "in-flight", status="sending", lease_until=expired, send_started_at=now
                )
            )
            session.add(_sms_delivery("waiting", status="sending", lease_until=expired))
        with db.session() as session:
            again = {d.id: d for d in claim(session, "sms", now, 10, 60)}
        assert set(again) == {"in-flight", "waiting"}
        with db.session() as session:
            attempts = list(session.exec(select(DeliveryAttempt)))
            assert [(a.delivery_id, a.outcome, a.number) for a in attempts] == [
                ("in-flight", "uncertain", 1)
            ]
            mark_started(session, ["in-flight"], now)
        with db.session() as session:
            settle(session, outbox, NotificationsSettings(), "in-flight", Outcome(ok=True), 5)
        with db.session() as session:
            done = session.get(Delivery, "in-flight")
            assert done is not None and done.status == "sent" and done.attempts == 2
            assert done.send_started_at is None
            waiting = session.get(Delivery, "waiting")
            assert waiting is not None and waiting.attempts == 0  # never went: no trace
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_settling_attempts_retries_dead_letters_and_disables_endpoints(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    db = _database(backend, tmp_path, pg)
    outbox = bus.Outbox("notifications", kit_for(broker, new_namespace()), OUTBOX)
    settings = NotificationsSettings(max_attempts=3, retry_base_seconds=2, retry_cap_seconds=60)
    now = datetime.now(UTC)
    rid = str(uuid.uuid4())

    def delivery(i: int, endpoint: str, attempts: int = 0) -> Delivery:
        return Delivery(
            id=f"d{i}",
            notification_id=f"n{i}",
            report_id=rid,
            source_event_id=f"e{i}",
            template="new_report",
            audience="agency",
            channel="webhook",
            recipient=endpoint,
            status="sending",
            attempts=attempts,
            lease_until=now + timedelta(seconds=60),
            created_at=now,
            event_time=now,
        )

    def endpoint(eid: str) -> Endpoint:
        return Endpoint(
            id=eid,
            owner_kind="agency",
            owner_id="pemda-32.73",
            kind="webhook",
            target="https://example.id/h",
            created_at=now,
            updated_at=now,
        )

    try:
        with db.session() as session:
            session.add_all([endpoint("ok"), endpoint("bad"), endpoint("gone")])
            session.add(Recipient(report_id=rid, reporter_ref="r", tracking_number="1234567"))
            for i in range(4):
                session.add(
                    Notification(
                        id=f"n{i}",
                        report_id=rid,
                        source_event_id=f"e{i}",
                        template="new_report",
                        audience="agency",
                        status="shown",
                        text="Aduan baru",
                        created_at=now,
                    )
                )
            session.add_all(
                [delivery(0, "ok"), delivery(1, "bad"), delivery(2, "ok", 2), delivery(3, "gone")]
            )

        def settle_(delivery_id: str, outcome: Outcome | str) -> None:
            with db.session() as session:
                settle(session, outbox, settings, delivery_id, outcome, 12.5)

        # A 503 with Retry-After: 30 s: tried again no sooner.
        settle_("d0", Outcome(ok=False, status_code=503, error="HTTP 503", retry_after=30))
        with db.session() as session:
            d0 = session.get(Delivery, "d0")
            assert d0 is not None and d0.status == "pending" and d0.attempts == 1
            assert d0.next_attempt_at is not None
            assert d0.next_attempt_at >= now + timedelta(seconds=30)
            tries = list(session.exec(select(DeliveryAttempt)))
            assert [(t.outcome, t.status_code, t.retry_after_seconds) for t in tries] == [
                ("retry", 503, 30)
            ]
            # An endpoint failing for longer than the limit is disabled.
            bad = session.get(Endpoint, "bad")
            assert bad is not None
            bad.first_failure_at = now - timedelta(hours=73)
            session.add(bad)
        settle_("d1", Outcome(ok=False, error="timeout"))
        # The last attempt: dead-lettered, the notice failed, an event in the outbox.
        settle_("d2", Outcome(ok=False, status_code=500, error="HTTP 500"))
        settle_("d3", Outcome(ok=False, retryable=False, gone=True, status_code=410))
        with db.session() as session:
            bad, gone = session.get(Endpoint, "bad"), session.get(Endpoint, "gone")
            assert bad is not None and gone is not None
            assert (bad.status, bad.disabled_reason) == ("disabled", "failing too long")
            assert (gone.status, gone.disabled_reason) == ("disabled", "410 Gone")
            d1, d2, d3 = (session.get(Delivery, f"d{i}") for i in (1, 2, 3))
            assert d1 is not None and d1.status == "pending"  # retried, then skipped below
            assert d2 is not None and (d2.status, d2.attempts) == ("dead", 3)
            assert d3 is not None and (d3.status, d3.attempts) == ("dead", 1)
            n2 = session.get(Notification, "n2")
            assert n2 is not None and n2.status == "failed"
            ok = session.get(Endpoint, "ok")
            assert ok is not None and ok.status == "active"
            d1.status = "sending"
            session.add(d1)
            from notifications.dispatcher import prepare

            assert prepare(session, settings, d1) == "endpoint disabled"
        settle_("d1", "endpoint disabled")
        with db.engine.connect() as conn:
            letters = conn.execute(
                sa.select(OUTBOX.c.payload).where(
                    OUTBOX.c.event_type == "id.aduan.notification.dead_lettered.v1"
                )
            ).all()
        assert len(letters) == 2
        with db.session() as session:
            d1 = session.get(Delivery, "d1")
            assert d1 is not None and d1.status == "skipped"
        # A success resets the endpoint's failure count and sends notification.sent.
        with db.session() as session:
            d0 = session.get(Delivery, "d0")
            assert d0 is not None
            d0.status = "sending"
            session.add(d0)
        settle_("d0", Outcome(ok=True, status_code=204))
        with db.session() as session:
            d0, ok = session.get(Delivery, "d0"), session.get(Endpoint, "ok")
            assert d0 is not None and d0.status == "sent" and d0.attempts == 2
            assert ok is not None and ok.consecutive_failures == 0

        # Sent again by an administrator and dead again, twice: each dead letter is its own
        # event (before: the same event id, a UNIQUE failure, the round rolled back and the
        # delivery stuck in "sending", dragging the others settled with it).
        for round_ in (1, 2):
            with db.session() as session:
                restart(session, "d3", datetime.now(UTC))
                d3 = session.get(Delivery, "d3")
                assert d3 is not None and (d3.status, d3.attempts, d3.rounds) == (
                    "pending",
                    0,
                    round_,
                )
                d3.status = "sending"
                session.add(d3)
            settle_("d3", Outcome(ok=False, retryable=False, status_code=400, error="HTTP 400"))
            with db.session() as session:
                d3 = session.get(Delivery, "d3")
                assert d3 is not None and d3.status == "dead", round_
        with db.engine.connect() as conn:
            ids = conn.execute(
                sa.select(OUTBOX.c.event_id).where(
                    OUTBOX.c.event_type == "id.aduan.notification.dead_lettered.v1"
                )
            ).all()
        assert len(ids) == len({i for (i,) in ids}) == 4
        with db.session() as session, pytest.raises(ValueError):
            restart(session, "d0", datetime.now(UTC))  # sent: nothing to send again

        # One delivery that cannot be recorded holds back none of those that finished with
        # it: the batch is recorded again one by one.
        with db.session() as session:
            restart(session, "d3", datetime.now(UTC))
            restart(session, "d1", datetime.now(UTC))  # skipped: sent again
            for i in (1, 3):
                d = session.get(Delivery, f"d{i}")
                assert d is not None
                d.status = "sending"
                session.add(d)
        with db.session() as session:
            d3 = session.get(Delivery, "d3")
            assert d3 is not None
            # The dead letter d3 is about to write exists already: recording d3 fails.
            session.execute(
                OUTBOX.insert().values(
                    event_id=dead_letter_id(d3),
                    topic="t",
                    key=rid,
                    event_type="id.aduan.notification.dead_lettered.v1",
                    payload="{}",
                    created_at=datetime.now(UTC),
                )
            )
        settle_all(
            db,
            outbox,
            settings,
            [
                ("d1", Outcome(ok=True, status_code=204), 1.0),
                ("d3", Outcome(ok=False, retryable=False, status_code=400, error="HTTP 400"), 1.0),
            ],
        )
        with db.session() as session:
            d1, d3 = session.get(Delivery, "d1"), session.get(Delivery, "d3")
            assert d1 is not None and d1.status == "sent"  # recorded despite d3
            assert d3 is not None and d3.status == "sending"  # tried again after its lease
    finally:
        db.close()
