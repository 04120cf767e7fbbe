"""Routing never publishes a report whose privacy it does not know, whatever order its
events arrive in, and its status is the lifecycle's fold of them (real databases, real
broker behind the outbox)."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from routing import handlers
from routing.models import OUTBOX, Routing
from services import bus
from services.broker import EmbeddedBroker
from services.contracts import (
    Payload,
    ReportClosed,
    ReportEscalated,
    ReportSubmitted,
    ReportVerified,
    encode,
    new_event,
)
from services.db import Database, migrate
from tests.conftest import PgDatabases, inbox_consumer, kit_for, new_namespace

ROOT = Path(__file__).resolve().parents[2]
TITLE = "Pungutan di kantor kelurahan Cikutra"


def _database(backend: str, tmp_path: Path, pg: PgDatabases) -> Database:
    url = (
        f"sqlite:///{tmp_path}/{uuid.uuid4().hex}.sqlite3"
        if backend == "sqlite"
        else pg.create(f"{new_namespace()}_routing")
    )
    migrate(url, ROOT / "routing" / "migrations")
    db = Database(url)
    with db.session() as session:
        handlers.seed(session)
        session.commit()
    return db


def _msg(payload: Payload, rid: str) -> bus.RawMessage:
    return bus.RawMessage("t", 0, 0, rid.encode(), encode(new_event("/test", rid, payload)))


def _published(db: Database) -> list[tuple[str, str, dict]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(OUTBOX.c.topic, OUTBOX.c.event_type, OUTBOX.c.payload).order_by(OUTBOX.c.id)
        )
        return [(t, et, json.loads(p)["data"]) for t, et, p in rows]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("verified_first", [True, False])
def test_a_rahasia_report_is_never_published_as_open_whichever_event_comes_first(
    backend: str, verified_first: bool, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    db = _database(backend, tmp_path, pg)
    consumer = inbox_consumer("routing", db, kit_for(broker, new_namespace()))
    rid, now = str(uuid.uuid4()), datetime.now(UTC)
    submitted = ReportSubmitted(
        report_id=rid,
        tracking_number="1234567",
        title=TITLE,
        body="Petugas meminta uang Rp50.000 untuk surat pengantar.",
        category="infrastruktur",
        regency_code="32.73",
        reporter_ref=uuid.uuid4().hex,
        anonymous=False,
        confidential=True,
        channel="api",
        submitted_at=now,
    )
    # The verifier did not touch the flags (null): only the submission knows it is Rahasia.
    verified = ReportVerified(
        report_id=rid,
        title=TITLE,
        category="infrastruktur",
        regency_code="32.73",
        decided_by="auto",
        reason="Lengkap",
        verified_at=now + timedelta(seconds=1),
    )
    first, second = (verified, submitted) if verified_first else (submitted, verified)
    try:
        asyncio.run(consumer.process([_msg(first, rid)]))
        if verified_first:
            assert _published(db) == []  # held: nothing leaves before the flags are known
        asyncio.run(consumer.process([_msg(second, rid)]))
        out = _published(db)
        types = [et for _, et, _ in out]
        assert types.count("id.aduan.report.routed.v1") == 1
        changes = [d for _, et, d in out if et == "id.aduan.region.report_changed.v1"]
        assert changes and all(d["confidential"] is True for d in changes)
        province = [d for t, et, d in out if t.endswith(".region.32")]
        assert province and all(d["title"] != TITLE and d["redacted"] for d in province)
        with db.session() as session:
            routing = session.get(Routing, rid)
            assert routing is not None and routing.confidential and routing.status == "routed"
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_routing_status_is_the_same_fold_in_every_arrival_order(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    """Routing's own state follows the kit's lifecycle whatever order the SLA's and the
    verifiers' events reach it: an escalation stamped after the resolution is refused, the
    silence closes the report."""
    now = datetime.now(UTC)
    rid_base = str(uuid.uuid4())[:-4]
    submitted_at = now - timedelta(days=70)

    def events(rid: str) -> list[Payload]:
        return [
            ReportSubmitted(
                report_id=rid,
                tracking_number="7654321",
                title="Jalan berlubang",
                body="Jalan Cikutra depan Pasar Cicadas berlubang besar.",
                category="infrastruktur",
                regency_code="32.73",
                reporter_ref="r",
                anonymous=False,
                confidential=False,
                channel="api",
                submitted_at=submitted_at,
            ),
            ReportVerified(
                report_id=rid,
                title="Jalan berlubang",
                category="infrastruktur",
                regency_code="32.73",
                decided_by="auto",
                reason="Lengkap",
                verified_at=submitted_at + timedelta(minutes=1),
            ),
            ReportEscalated(
                report_id=rid,
                agency_id="pemda-32.73",
                reason="60 hari",
                ombudsman_url="https://ombudsman.go.id/",
                escalated_at=now + timedelta(minutes=1),
            ),
            ReportClosed(report_id=rid, reason="no_reply", closed_at=now + timedelta(minutes=2)),
        ]

    db = _database(backend, tmp_path, pg)
    consumer = inbox_consumer("routing", db, kit_for(broker, new_namespace()))
    finals = set()
    try:
        for n, order in enumerate(itertools.permutations(range(4))):
            rid = f"{rid_base}{n:04d}"
            evs = events(rid)
            for i in order:
                asyncio.run(consumer.process([_msg(evs[i], rid)]))
            # The agency resolves once it holds the report (its own action, in time).
            with db.session() as session:
                routing = session.get(Routing, rid)
                assert routing is not None
                if routing.status in handlers.OPEN:
                    emit = handlers.outbox_emit(session, consumer.outbox)
                    handlers.resolve(session, emit, routing, "o", routing.agency_id, "Ditambal")
                    session.commit()
            with db.session() as session:
                routing = session.get(Routing, rid)
                assert routing is not None
                finals.add(handlers.refold(session, rid))
        # Every order: resolved (real time) before the escalation stamped later, which the
        # lifecycle refuses, then closed by the silence.
        assert finals == {"closed"}
    finally:
        db.close()
