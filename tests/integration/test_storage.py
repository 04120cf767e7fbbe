"""The kit's storage and bus against real databases and the real broker.

One abstract class, run on SQLite and on PostgreSQL: migrations, the inbox (no second
effect), batches with a bad event (only it is dead-lettered), the outbox relay and the
replay.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from routing.handlers import HANDLERS
from routing.handlers import seed as seed_directory
from routing.models import INBOX, OUTBOX
from services import bus
from services.broker import EmbeddedBroker
from services.contracts import (
    DeadlineOpened,
    NotificationSent,
    ReportSubmitted,
    ReportVerified,
    encode,
    new_event,
)
from services.db import Database, beside_models, migrate
from services.serve import SERVICES
from tests.conftest import PgDatabases, inbox_consumer, kit_for, new_namespace
from tests.kafka_helpers import read_topic

ROOT = Path(__file__).resolve().parents[2]


def verified(report_id: str | None = None, regency: str = "32.73", title: str = "Jalan") -> bytes:
    rid = report_id or str(uuid.uuid4())
    payload = ReportVerified(
        report_id=rid,
        title=title,
        category="infrastruktur",
        regency_code=regency,
        decided_by="auto",
        reason="ok",
        verified_at=datetime.now(UTC),
    )
    return encode(new_event("/aduan/test", rid, payload))


def submitted(report_id: str, regency: str = "32.73") -> bytes:
    """The report itself, as intake publishes it: routing routes only what it holds."""
    payload = ReportSubmitted(
        report_id=report_id,
        tracking_number="1234567",
        title="Jalan",
        body="Jalan berlubang.",
        category="infrastruktur",
        regency_code=regency,
        reporter_ref="r",
        anonymous=False,
        confidential=False,
        channel="api",
        submitted_at=datetime.now(UTC),
    )
    return encode(new_event("/aduan/test", report_id, payload))


def raw(topic: str, value: bytes | None, offset: int = 0) -> bus.RawMessage:
    return bus.RawMessage(topic=topic, partition=0, offset=offset, key=b"k", value=value)


def _clock(clock: str) -> DeadlineOpened:
    now = datetime.now(UTC)
    return DeadlineOpened(
        report_id=str(uuid.uuid4()),
        deadline_id="d",
        clock=clock,  # type: ignore[arg-type]
        starts_at=now,
        due_at=now,
        working_days=5,
    )


def _sent(channel: str) -> NotificationSent:
    return NotificationSent(
        report_id=str(uuid.uuid4()),
        notification_id="n",
        template="verified",
        channel=channel,  # type: ignore[arg-type]
        sent_at=datetime.now(UTC),
    )


ROUTED_EVENTS = "SELECT count(*) FROM outbox WHERE event_type = 'id.aduan.report.routed.v1'"
FEED_EVENTS = "SELECT count(*) FROM outbox WHERE event_type = 'id.aduan.region.report_changed.v1'"


class StorageContract:
    """Run against each backend; subclasses provide ``url``."""

    backend = ""

    @pytest.fixture
    def url(self, tmp_path: Path, pg: PgDatabases) -> str:
        raise NotImplementedError

    @pytest.fixture
    def routing_db(self, url: str) -> Database:
        migrate(url, ROOT / "routing" / "migrations")
        db = Database(url)
        with db.session() as session:  # as routing's startup does
            assert seed_directory(session) > 13_000
        yield db
        db.close()

    def test_every_service_migrates_and_upgrade_is_idempotent(
        self, tmp_path: Path, pg: PgDatabases
    ) -> None:
        for service in SERVICES:
            url = (
                f"sqlite:///{tmp_path}/{service}.sqlite3"
                if self.backend == "sqlite"
                else pg.create(f"{new_namespace()}_{service}")
            )
            migrate(url, ROOT / service / "migrations")
            migrate(url, ROOT / service / "migrations")
            engine = sa.create_engine(url)
            tables = set(sa.inspect(engine).get_table_names())
            # The migrations create exactly what the models describe: a model change
            # without its migration fails here.
            metadata = importlib.import_module(f"{service}.models").Base.metadata
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"include_object": beside_models})
                diff = compare_metadata(context, metadata)
            engine.dispose()
            assert {"outbox", "inbox", "alembic_version"} <= tables, service
            assert diff == [], (service, diff)

    def test_inbox_applies_once_and_dead_letters_only_the_bad_event(
        self, routing_db: Database, broker: EmbeddedBroker
    ) -> None:
        kit = kit_for(broker, new_namespace())
        bus.ensure_topics(kit)
        topic = f"{kit.aduan_namespace}.report.verified"

        def fragile(ctx: bus.HandlerContext, event: ReportVerified) -> None:
            HANDLERS["id.aduan.report.verified.v1"](ctx, event)
            if event.title == "boom":
                raise RuntimeError("handler bug after writing")

        consumer = bus.InboxConsumer(
            "routing",
            routing_db,
            bus.Outbox("routing", kit, OUTBOX),
            INBOX,
            {
                "id.aduan.report.verified.v1": fragile,
                "id.aduan.report.submitted.v1": HANDLERS["id.aduan.report.submitted.v1"],
            },
            bus.DeadLetters("routing", kit),
            on_commit=lambda: None,
        )
        ids = [str(uuid.uuid4()) for _ in range(3)]
        stories = f"{kit.aduan_namespace}.report.submitted"
        regencies = ("32.73", "35.78", "32.73")
        asyncio.run(
            consumer.process(
                [
                    raw(stories, submitted(r, g), i)
                    for i, (r, g) in enumerate(zip(ids, regencies, strict=True))
                ]
            )
        )
        good = verified(ids[0])
        again = good  # the same event delivered twice
        poison = (
            b'{"specversion":"1.0","id":"x","source":"s","type":"id.aduan.report.verified.v1",'
            b'"time":"2026-01-01T00:00:00Z","data":{"report_id":"nope"}}'
        )
        second = verified(ids[1], regency="35.78")
        boom = verified(ids[2], title="boom")
        asyncio.run(
            consumer.process(
                [
                    raw(topic, good, 0),
                    raw(topic, again, 1),
                    raw(topic, poison, 2),
                    raw(topic, b"\xff garbage", 3),
                    raw(topic, second, 4),
                    raw(topic, boom, 5),
                ]
            )
        )
        with routing_db.engine.connect() as conn:
            routed = conn.execute(sa.text("SELECT count(*) FROM routings")).scalar_one()
            outbox = conn.execute(sa.text(ROUTED_EVENTS)).scalar_one()
            inbox = conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one()
            # Each went to a connected Pemda: its region's feed, on two topics, too.
            feed = conn.execute(sa.text(FEED_EVENTS)).scalar_one()
        assert (routed, outbox, inbox, feed) == (2, 2, 2 + 3, 4)  # 3 submissions, 2 verified
        dead = read_topic(broker.bootstrap, f"{topic}.dlq", expect=3)
        assert sorted(int(d.headers["aduan.dlq.origin_offset"]) for d in dead) == [2, 3, 5]
        for d in dead:
            assert d.headers["aduan.dlq.origin_topic"].decode() == topic
            assert d.headers["aduan.dlq.consumer"] == b"routing"
        errors = {d.headers["aduan.dlq.origin_offset"]: d.headers["aduan.dlq.error"] for d in dead}
        assert b"report_id" in errors[b"2"] and b"nope" not in errors[b"2"]
        assert errors[b"5"] == b"RuntimeError"  # the class only: messages may quote data
        # A second delivery of the whole batch has no effect at all.
        asyncio.run(consumer.process([raw(topic, good, 0), raw(topic, second, 4)]))
        with routing_db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one() == 2 + 4

    def test_a_type_it_ignores_is_skipped_unread_and_a_type_it_handles_is_not(
        self, routing_db: Database, broker: EmbeddedBroker
    ) -> None:
        kit = kit_for(broker, new_namespace())
        bus.ensure_topics(kit)
        topic = f"{kit.aduan_namespace}.sla.deadline"
        consumer = inbox_consumer("routing", routing_db, kit)
        assert HANDLERS["id.aduan.sla.warning.v1"] is bus.ignore

        def headed(kind: str, value: bytes, offset: int) -> bus.RawMessage:
            return bus.RawMessage(
                topic=topic,
                partition=0,
                offset=offset,
                key=b"k",
                value=value,
                headers=(("ce_type", kind.encode()),),
            )

        asyncio.run(
            consumer.process(
                [
                    # Routing has no use for a warning: not even its body is read.
                    headed("id.aduan.sla.warning.v1", b"\xff not an event", 0),
                    # A type it handles is decoded whatever its header says: a dead letter.
                    headed("id.aduan.sla.deadline_opened.v1", b"\xff not an event", 1),
                ]
            )
        )
        with routing_db.engine.connect() as conn:
            inbox = conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one()
        assert inbox == 0
        dead = read_topic(broker.bootstrap, f"{topic}.dlq", expect=2, idle=2.0)
        assert [int(d.headers["aduan.dlq.origin_offset"]) for d in dead] == [1]

    def test_an_event_its_handler_has_no_work_for_opens_no_transaction(
        self, routing_db: Database, broker: EmbeddedBroker
    ) -> None:
        # The SLA's clocks share one topic: routing keeps only the agency's first response.
        kit = kit_for(broker, new_namespace())
        bus.ensure_topics(kit)
        consumer = inbox_consumer("routing", routing_db, kit)
        rid = str(uuid.uuid4())
        ns = kit.aduan_namespace
        asyncio.run(
            consumer.process(
                [
                    raw(f"{ns}.report.submitted", submitted(rid)),
                    raw(f"{ns}.report.verified", verified(rid)),
                ]
            )
        )
        due = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)

        def clock(name: str, at: datetime) -> DeadlineOpened:
            return DeadlineOpened(
                report_id=rid,
                deadline_id=f"{rid}:{name}",
                clock=name,  # type: ignore[arg-type]
                starts_at=datetime.now(UTC),
                due_at=at,
                working_days=5,
            )

        def opened(name: str, at: datetime, offset: int) -> bus.RawMessage:
            event = new_event("/aduan/sla", rid, clock(name, at))
            return raw(f"{ns}.sla.deadline", encode(event), offset)

        with routing_db.engine.connect() as conn:
            before = conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one()
        asyncio.run(
            consumer.process(
                [
                    opened("resolution", due + timedelta(days=60), 0),
                    opened("first_response", due, 1),
                ]
            )
        )
        with routing_db.engine.connect() as conn:
            after = conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one()
            kept = conn.execute(
                sa.text("SELECT first_response_due FROM routings WHERE report_id = :r"), {"r": rid}
            ).scalar_one()
        assert after == before + 1  # the resolution clock's event left nothing behind
        assert str(kept).startswith("2027-01-04")
        # Called directly, the handler leaves that clock alone too.
        late = clock("resolution", due + timedelta(days=60))
        handler = consumer.handlers["id.aduan.sla.deadline_opened.v1"]
        with routing_db.session() as session:
            handler(bus.HandlerContext(session, consumer.outbox, new_event("/t", rid, late)), late)
        with routing_db.engine.connect() as conn:
            kept = conn.execute(
                sa.text("SELECT first_response_due FROM routings WHERE report_id = :r"), {"r": rid}
            ).scalar_one()
        assert str(kept).startswith("2027-01-04")
        # The same holds in the other services that read the clocks and the notices.
        from intake.handlers import HANDLERS as INTAKE
        from verification.handlers import make_handlers
        from verification.settings import VerificationSettings

        theirs = make_handlers(VerificationSettings())["id.aduan.sla.deadline_opened.v1"]
        mine = INTAKE["id.aduan.sla.deadline_opened.v1"]
        sent = INTAKE["id.aduan.notification.sent.v1"]
        assert not bus.concerns(theirs, _clock("resolution"))
        assert bus.concerns(theirs, _clock("verification"))
        assert not bus.concerns(mine, _clock("resolution"))
        assert bus.concerns(mine, _clock("first_response"))
        assert not bus.concerns(sent, _sent("email"))
        assert bus.concerns(sent, _sent("in_app"))

    def test_relay_publishes_in_order_and_replay_republishes(
        self, routing_db: Database, broker: EmbeddedBroker
    ) -> None:
        kit = kit_for(broker, new_namespace())
        bus.ensure_topics(kit)
        outbox = bus.Outbox("routing", kit, OUTBOX)
        rid = str(uuid.uuid4())
        with routing_db.session() as session:
            for i in range(5):
                outbox.emit(
                    session,
                    ReportVerified(
                        report_id=rid,
                        title=f"t{i}",
                        category="c",
                        regency_code="32.73",
                        decided_by="auto",
                        reason="r",
                        verified_at=datetime.now(UTC),
                    ),
                    subject=rid,
                )
        relay = bus.OutboxRelay("routing", kit, routing_db, OUTBOX)
        assert relay.publish_batch() == 5
        assert relay.publish_batch() == 0
        topic = f"{kit.aduan_namespace}.report.verified"
        got = read_topic(broker.bootstrap, topic, expect=5)
        assert [json.loads(m.value)["data"]["title"] for m in got] == [f"t{i}" for i in range(5)]
        assert {m.key for m in got} == {rid.encode()}
        n = bus.replay_outbox(
            routing_db.url, kit, datetime.now(UTC) - timedelta(minutes=5), "routing"
        )
        assert n == 5
        assert len(read_topic(broker.bootstrap, topic, expect=10)) == 10


class TestSqlite(StorageContract):
    backend = "sqlite"

    @pytest.fixture
    def url(self, tmp_path: Path, pg: PgDatabases) -> str:
        return f"sqlite:///{tmp_path}/routing.sqlite3"


class TestPostgres(StorageContract):
    backend = "postgres"

    @pytest.fixture
    def url(self, tmp_path: Path, pg: PgDatabases) -> str:
        return pg.create(f"{new_namespace()}_routing")
