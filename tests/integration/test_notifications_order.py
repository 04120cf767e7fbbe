"""Notifications wait for what they need and go out in lifecycle order, whatever the
order of the events on their different topics (real databases, real broker)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifications.handlers import HANDLERS, notifications_of
from notifications.models import INBOX, OUTBOX
from services import bus
from services.broker import EmbeddedBroker
from services.contracts import (
    Payload,
    ReporterContactRecorded,
    ReportRejected,
    ReportSubmitted,
    encode,
    new_event,
)
from services.db import Database, migrate
from tests.conftest import PgDatabases, kit_for, new_namespace

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_rejection_before_submission_is_sent_after_the_receipt(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    url = (
        f"sqlite:///{tmp_path}/n.sqlite3"
        if backend == "sqlite"
        else pg.create(f"{new_namespace()}_notifications")
    )
    migrate(url, ROOT / "notifications" / "migrations")
    db = Database(url)
    kit = kit_for(broker, new_namespace())
    consumer = bus.InboxConsumer(
        "notifications",
        db,
        bus.Outbox("notifications", kit, OUTBOX),
        INBOX,
        HANDLERS,
        bus.DeadLetters("notifications", kit),
        on_commit=lambda: None,
    )
    rid, ref, now = str(uuid.uuid4()), uuid.uuid4().hex, datetime.now(UTC)

    def msg(payload: Payload, subject: str | None) -> bus.RawMessage:
        return bus.RawMessage("t", 0, 0, None, encode(new_event("/test", subject, payload)))

    rejected = ReportRejected(
        report_id=rid, reason_code="empty", reason="kosong", decided_by="auto", rejected_at=now
    )
    contact = ReporterContactRecorded(reporter_ref=ref, email="warga@example.id")
    submitted = ReportSubmitted(
        report_id=rid,
        tracking_number="1234567",
        title="t",
        body="",
        category="c",
        regency_code="32.73",
        reporter_ref=ref,
        anonymous=False,
        confidential=False,
        channel="api",
        submitted_at=now,
    )
    try:
        asyncio.run(consumer.process([msg(rejected, rid)]))
        asyncio.run(consumer.process([msg(contact, None)]))
        with db.session() as session:
            waiting = notifications_of(session, rid)
        assert [(n.template, n.status) for n in waiting] == [("rejected", "pending")]
        asyncio.run(consumer.process([msg(submitted, rid)]))
        with db.session() as session:
            sent = notifications_of(session, rid)
        assert [(n.template, n.status, n.channel) for n in sent] == [
            ("received", "sent", "email"),
            ("rejected", "sent", "email"),
        ]
        assert sent[0].sent_at is not None and sent[1].sent_at is not None
        assert sent[0].sent_at <= sent[1].sent_at
        assert "1234567" in (sent[1].text or "")
    finally:
        db.close()
