"""Verification reads sealed texts and loses nothing when a citizen's addition overtakes
the report itself (the two travel on different topics): real databases, the real broker
behind the outbox and the dead-letter topics."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from confluent_kafka.admin import AdminClient, NewTopic

from services import bus, sealing
from services.broker import EmbeddedBroker
from services.contracts import (
    DeadlineOpened,
    DeadlineUpdated,
    Payload,
    ReportInformationAdded,
    ReportSubmitted,
    encode,
    new_event,
)
from services.db import Database, migrate
from tests.conftest import PgDatabases, inbox_consumer, kit_for, new_namespace
from tests.kafka_helpers import read_topic
from verification.handlers import make_handlers
from verification.models import INBOX, Case, EarlyAddition
from verification.settings import VerificationSettings

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = make_handlers(VerificationSettings())
STORY = "Petugas kelurahan meminta uang Rp50.000 untuk surat pengantar, kemarin pukul 10."


def _database(backend: str, tmp_path: Path, pg: PgDatabases) -> Database:
    url = (
        f"sqlite:///{tmp_path}/{uuid.uuid4().hex}.sqlite3"
        if backend == "sqlite"
        else pg.create(f"{new_namespace()}_verification")
    )
    migrate(url, ROOT / "verification" / "migrations")
    return Database(url)


def _consumer(db: Database, broker: EmbeddedBroker) -> bus.InboxConsumer:
    """Verification's inbox consumer on ``db``, publishing in a namespace of its own."""
    return inbox_consumer("verification", db, kit_for(broker, new_namespace()), HANDLERS)


def _msg(payload: Payload, rid: str) -> bus.RawMessage:
    return bus.RawMessage("t", 0, 0, rid.encode(), encode(new_event("/test", rid, payload)))


def _events(rid: str) -> tuple[Payload, Payload]:
    now = datetime.now(UTC)
    submitted = ReportSubmitted(
        report_id=rid,
        tracking_number="1234567",
        title="Pungutan liar di kelurahan",
        body=STORY,
        category="pelayanan",
        regency_code="32.73",
        reporter_ref=uuid.uuid4().hex,
        anonymous=False,
        confidential=False,
        channel="web",
        submitted_at=now,
    )
    added = ReportInformationAdded(
        report_id=rid, text="Tambahan: di Jl. Cikutra 12, loket 3.", added_at=now + timedelta(1)
    )
    return sealing.seal_submitted(submitted), sealing.seal_added(added)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("added_first", [True, False])
@pytest.mark.parametrize("one_batch", [False, True])
def test_an_addition_that_overtakes_its_report_is_kept_and_applied(
    backend: str,
    added_first: bool,
    one_batch: bool,
    tmp_path: Path,
    pg: PgDatabases,
    broker: EmbeddedBroker,
) -> None:
    db = _database(backend, tmp_path, pg)
    consumer = _consumer(db, broker)
    rid = str(uuid.uuid4())
    submitted, added = _events(rid)
    order = (added, submitted) if added_first else (submitted, added)
    try:
        # In one batch the two share a transaction: the report's handler must see the
        # addition the batch has not written yet, and the addition's handler the case.
        batches = [list(order)] if one_batch else [[payload] for payload in order]
        for batch in batches:
            asyncio.run(consumer.process([_msg(payload, rid) for payload in batch]))
        with db.session() as session:
            case = session.get(Case, rid)
            assert case is not None
            assert STORY in case.text and "Jl. Cikutra 12, loket 3" in case.text
            assert json.loads(case.additions) == ["Tambahan: di Jl. Cikutra 12, loket 3."]
            assert session.exec(sa.select(EarlyAddition)).all() == []  # type: ignore[call-overload]
        with db.engine.connect() as conn:  # nothing went to a dead letter
            assert conn.execute(sa.select(sa.func.count()).select_from(INBOX)).scalar() == 2
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_submission_replayed_in_the_same_batch_is_checked_once(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    db = _database(backend, tmp_path, pg)
    consumer = _consumer(db, broker)
    rid = str(uuid.uuid4())
    submitted, _ = _events(rid)
    try:
        # Two events (two ids) carrying the same report, applied in one transaction.
        asyncio.run(consumer.process([_msg(submitted, rid), _msg(submitted, rid)]))
        with db.engine.connect() as conn:
            count = lambda sql: conn.execute(sa.text(sql)).scalar()  # noqa: E731
            assert count("SELECT count(*) FROM cases") == 1
            assert count("SELECT count(*) FROM audit_log WHERE action = 'received'") == 1
            assert count("SELECT count(*) FROM outbox") == 1  # one decision published
            assert conn.execute(sa.select(sa.func.count()).select_from(INBOX)).scalar() == 2
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_verification_deadline_is_kept_and_replaced_as_the_sla_moves_it(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    """The clock's deadline may come before the report; each later event replaces it (a
    paused clock has none); the other clocks leave it alone."""
    db = _database(backend, tmp_path, pg)
    consumer = _consumer(db, broker)
    rid, due = str(uuid.uuid4()), datetime(2027, 1, 4, 9, 0, tzinfo=UTC)

    def clock(payload: Payload) -> None:
        asyncio.run(consumer.process([_msg(payload, rid)]))

    def kept() -> list[tuple[object, ...]]:
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT report_id, due_at, status FROM clock_dues"))
            return [(r[0], str(r[1])[:16] if r[1] else None, r[2]) for r in rows]

    ids = {"report_id": rid, "deadline_id": f"{rid}:verification"}
    opened = {**ids, "working_days": 3, "starts_at": due, "due_at": due}
    moved = {**ids, "reason": "test", "changed_at": due}
    try:
        clock(DeadlineOpened(**opened, clock="verification"))
        assert kept() == [(rid, "2027-01-04 09:00", "open")]
        clock(DeadlineOpened(**opened, clock="resolution"))
        assert kept() == [(rid, "2027-01-04 09:00", "open")]
        later = due + timedelta(days=2)
        clock(DeadlineUpdated(**moved, clock="verification", due_at=later, status="open"))
        assert kept() == [(rid, "2027-01-06 09:00", "open")]
        clock(DeadlineUpdated(**moved, clock="verification", due_at=None, status="paused"))
        assert kept() == [(rid, None, "paused")]
    finally:
        db.close()


def test_a_box_sealed_with_another_key_is_dead_lettered_and_the_rest_goes_on(
    tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    db = _database("sqlite", tmp_path, pg)
    consumer = _consumer(db, broker)
    topic = f"{new_namespace()}.report.submitted"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(f"{topic}.dlq", 1, 1)]).values():
        future.result(30)
    stranger = sealing.Keyring.parse(sealing.new_key_spec("x9"))
    bad_rid, good_rid = str(uuid.uuid4()), str(uuid.uuid4())
    bad, _ = _events(bad_rid)
    bad = sealing.seal_submitted(sealing.opened_submitted(bad), stranger)  # type: ignore[arg-type]
    good, _ = _events(good_rid)
    messages = [
        bus.RawMessage(topic, 0, i, rid.encode(), encode(new_event("/test", rid, payload)))
        for i, (payload, rid) in enumerate(((bad, bad_rid), (good, good_rid)))
    ]
    try:
        asyncio.run(consumer.process(messages))
        with db.session() as session:
            assert session.get(Case, bad_rid) is None
            assert session.get(Case, good_rid) is not None
        (dead,) = read_topic(broker.bootstrap, f"{topic}.dlq", expect=1, timeout=60)
        assert dead.key == bad_rid.encode()
        assert dead.headers["aduan.dlq.error_type"] == b"SealError"
    finally:
        db.close()
