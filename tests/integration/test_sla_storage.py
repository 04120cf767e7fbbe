"""The SLA's clocks and durable timers against real databases (SQLite and PostgreSQL).

The scheduler's firing is driven here with an explicit ``now``: no test waits for real
days. What fires is read back from the outbox, the table the relay publishes from.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlmodel import select

from services.bus import Outbox
from services.contracts import (
    Payload,
    ReportReporterReplied,
    ReportResolved,
    ReportRouted,
    ReportSubmitted,
)
from services.db import Database, migrate
from services.settings import KitSettings
from sla import scheduler
from sla.handlers import SlaCore, _fact, clocks_of, put_entries, seed_calendar
from sla.models import OUTBOX, Clock
from sla.settings import SlaSettings
from sla.workdays import SHIPPED_FILE, CalendarEntry
from tests.conftest import PgDatabases, new_namespace

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "sla" / "migrations"
KIT = KitSettings(aduan_namespace="slatest")
T0 = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)  # Monday 10:00 WIB


def submitted(rid: str, when: datetime = T0) -> ReportSubmitted:
    return ReportSubmitted(
        report_id=rid,
        tracking_number="1234567",
        title="Jalan rusak",
        body="Jalan berlubang di depan sekolah",
        category="infrastruktur",
        regency_code="32.73",
        reporter_ref="r" * 32,
        anonymous=False,
        confidential=False,
        channel="web",
        submitted_at=when,
    )


def routed(rid: str, when: datetime, agency: str = "pemda-32.73") -> ReportRouted:
    return ReportRouted(
        report_id=rid,
        agency_id=agency,
        agency_name="Pemerintah Kota Bandung",
        regency_code="32.73",
        rule="regency:32.73",
        routed_at=when,
        timezone="Asia/Jakarta",
    )


class Harness:
    """The SLA's handlers and scheduler on one database, without the broker."""

    def __init__(self, url: str) -> None:
        migrate(url, MIGRATIONS)
        self.db = Database(url)
        self.core = SlaCore(SlaSettings())
        self.outbox = Outbox("sla", KIT, OUTBOX)
        with self.db.session() as session:
            seed_calendar(session, SHIPPED_FILE.read_text(encoding="utf-8"))

    def apply(self, payload: Payload) -> None:
        with self.db.session() as session:

            def emit(p: Payload, subject: str) -> None:
                self.outbox.emit(session, p, subject)

            rid = payload.report_id  # type: ignore[attr-defined]
            self.core.record(session, rid, _fact(str(uuid.uuid4()), payload), emit)

    def resolved_report(self) -> str:
        """A report routed at T0 and resolved by its agency a day later."""
        rid = str(uuid.uuid4())
        self.apply(submitted(rid))
        self.apply(routed(rid, T0))
        self.apply(
            ReportResolved(
                report_id=rid,
                agency_id="pemda-32.73",
                summary="Sudah diperbaiki",
                resolved_by="officer-1",
                resolved_at=T0 + timedelta(days=1),
            )
        )
        return rid

    def fire(self, now: datetime, limit: int = 500) -> int:
        with self.db.session() as session:
            return scheduler.fire_due(session, self.core, self.outbox, now, limit)

    def clocks(self, rid: str) -> dict[str, list[Clock]]:
        with self.db.session() as session:
            out: dict[str, list[Clock]] = {}
            for row in clocks_of(session, rid):
                out.setdefault(row.clock, []).append(row)
            return out

    def emitted(self, rid: str | None = None) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(OUTBOX.c.event_type, OUTBOX.c.payload).order_by(OUTBOX.c.id)
            )
            events = [json.loads(p) for _, p in rows]
        return [e for e in events if rid is None or e["subject"] == rid]

    def types(self, rid: str) -> list[str]:
        return [e["type"].removeprefix("id.aduan.").removesuffix(".v1") for e in self.emitted(rid)]


class SlaStorageContract:
    backend = ""

    @pytest.fixture
    def url(self, tmp_path: Path, pg: PgDatabases) -> str:
        raise NotImplementedError

    @pytest.fixture
    def sla(self, url: str) -> Iterator[Harness]:
        harness = Harness(url)
        yield harness
        harness.db.close()

    def test_clocks_open_warn_once_and_breach_once(self, sla: Harness) -> None:
        rid = str(uuid.uuid4())
        sla.apply(submitted(rid))
        sla.apply(routed(rid, T0 + timedelta(hours=1)))
        first = sla.clocks(rid)["first_response"][0]
        assert first.due_at.date() == date(2026, 11, 23)  # Monday + 5 working days
        assert first.next_fire_at == first.warn_at
        verification = sla.clocks(rid)["verification"][0]
        assert verification.status == "stopped"  # routing implies the verification ended

        assert sla.fire(first.warn_at - timedelta(seconds=1)) == 0
        assert sla.fire(first.warn_at + timedelta(seconds=1)) == 1
        assert sla.fire(first.warn_at + timedelta(seconds=2)) == 0
        assert sla.fire(first.due_at + timedelta(seconds=1)) == 1
        assert sla.fire(first.due_at + timedelta(days=3)) == 0
        kinds = sla.types(rid)
        assert kinds.count("sla.warning") == 1 and kinds.count("sla.breached") == 1
        breach = next(e for e in sla.emitted(rid) if e["type"] == "id.aduan.sla.breached.v1")
        assert breach["data"]["agency_id"] == "pemda-32.73"
        assert breach["data"]["clock"] == "first_response"

    def test_a_late_start_breaches_without_a_stale_warning(self, sla: Harness) -> None:
        rid = str(uuid.uuid4())
        sla.apply(submitted(rid))
        sla.apply(routed(rid, T0))
        first = sla.clocks(rid)["first_response"][0]
        assert sla.fire(first.due_at + timedelta(hours=1)) >= 1
        kinds = sla.types(rid)
        assert "sla.breached" in kinds
        assert [
            e
            for e in sla.emitted(rid)
            if e["type"] == "id.aduan.sla.warning.v1" and e["data"]["clock"] == "first_response"
        ] == []

    def test_a_followup_before_the_deadline_stops_the_clock(self, sla: Harness) -> None:
        rid = sla.resolved_report()
        first = sla.clocks(rid)["first_response"][0]
        assert first.status == "stopped" and first.next_fire_at is None
        reply = sla.clocks(rid)["reporter_reply"][0]
        assert reply.status == "open"
        sla.fire(first.due_at + timedelta(days=1))
        breaches = [e for e in sla.emitted(rid) if e["type"] == "id.aduan.sla.breached.v1"]
        assert breaches == []

    def test_reporter_silence_closes_the_report(self, sla: Harness) -> None:
        rid = sla.resolved_report()
        reply = sla.clocks(rid)["reporter_reply"][0]
        while sla.fire(reply.due_at + timedelta(minutes=1)):
            pass
        kinds = sla.types(rid)
        assert kinds.count("report.closed") == 1
        closed = next(e for e in sla.emitted(rid) if e["type"] == "id.aduan.report.closed.v1")
        assert closed["data"]["reason"] == "no_reply"
        clocks = sla.clocks(rid)
        assert clocks["resolution"][0].status == "stopped"
        assert all(c.next_fire_at is None for cs in clocks.values() for c in cs)

    def test_acceptance_stops_everything(self, sla: Harness) -> None:
        rid = str(uuid.uuid4())
        sla.apply(submitted(rid))
        sla.apply(routed(rid, T0))
        sla.apply(
            ReportReporterReplied(
                report_id=rid,
                reply_id="x",
                satisfied=True,
                replied_at=T0 + timedelta(days=2),
            )
        )
        assert sla.fire(T0 + timedelta(days=400)) == 0
        assert "sla.breached" not in sla.types(rid)

    def test_resolution_breach_escalates(self, sla: Harness) -> None:
        rid = str(uuid.uuid4())
        sla.apply(submitted(rid))
        while sla.fire(T0 + timedelta(days=70)):
            pass
        kinds = sla.types(rid)
        assert kinds.count("report.escalated") == 1
        escalated = next(e for e in sla.emitted(rid) if e["type"] == "id.aduan.report.escalated.v1")
        assert escalated["data"]["ombudsman_url"].startswith("https://")

    def test_a_new_cuti_bersama_moves_open_deadlines(self, sla: Harness) -> None:
        rid = str(uuid.uuid4())
        sla.apply(submitted(rid))
        sla.apply(routed(rid, T0))
        before = sla.clocks(rid)["first_response"][0].due_at
        closure = CalendarEntry.model_validate(
            {"date": date(2026, 11, 19), "kind": "closure", "name": "Banjir", "source": "SE 1/2026"}
        )
        with sla.db.session() as session:
            assert put_entries(session, [closure], "admin") == [date(2026, 11, 19)]
            assert put_entries(session, [closure], "admin") == []  # unchanged: no bump
        with sla.db.session() as session:
            assert rid in sla.core.reports_around(session, [date(2026, 11, 19)])

            def emit(p: Payload, subject: str) -> None:
                sla.outbox.emit(session, p, subject)

            sla.core.refold(session, rid, emit)
        after = sla.clocks(rid)["first_response"][0].due_at
        assert after.date() == before.date() + timedelta(days=1)
        assert "sla.deadline_updated" in sla.types(rid)

    def test_replayed_fact_changes_nothing(self, sla: Harness) -> None:
        rid = str(uuid.uuid4())
        payload = submitted(rid)
        fact_id = str(uuid.uuid4())
        for _ in range(2):
            with sla.db.session() as session:
                sla.core.record(
                    session,
                    rid,
                    _fact(fact_id, payload),
                    lambda p, s: sla.outbox.emit(session, p, s),
                )
        assert sla.types(rid).count("sla.deadline_opened") == 2  # verification + resolution


class TestSqlite(SlaStorageContract):
    backend = "sqlite"

    @pytest.fixture
    def url(self, tmp_path: Path, pg: PgDatabases) -> str:
        return f"sqlite:///{tmp_path}/sla.sqlite3"

    def test_old_deadlines_are_carried_over(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path}/old.sqlite3"
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", url)
        command.upgrade(cfg, "eb5590beca97")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO deadlines VALUES ('d1', :r, 'first_response', 'a', "
                    "'2026-11-16 03:00:00.000000', '2026-11-23 16:59:59.000000', 5, 'open')"
                ),
                {"r": str(uuid.uuid4())},
            )
        engine.dispose()
        migrate(url, MIGRATIONS)
        db = Database(url)
        with db.session() as session:
            (row,) = session.exec(select(Clock)).all()
        db.close()
        assert row.status == "open" and row.next_fire_at == row.due_at


class TestPostgres(SlaStorageContract):
    backend = "postgres"

    @pytest.fixture
    def url(self, tmp_path: Path, pg: PgDatabases) -> str:
        return pg.create(f"{new_namespace()}_sla")

    def test_two_schedulers_never_fire_the_same_deadline_twice(self, sla: Harness) -> None:
        rids = [str(uuid.uuid4()) for _ in range(300)]
        for rid in rids:
            sla.apply(submitted(rid))
            sla.apply(routed(rid, T0))
        other = Harness(sla.db.url)
        now = T0 + timedelta(days=30)
        fired: list[int] = []
        errors: list[BaseException] = []

        def drain(h: Harness) -> None:
            try:
                total = 0
                while n := h.fire(now, limit=25):
                    total += n
                fired.append(total)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=drain, args=(h,)) for h in (sla, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        other.db.close()
        assert errors == []
        assert all(n > 0 for n in fired), f"both schedulers should take work: {fired}"
        breaches = Counter(
            e["data"]["deadline_id"]
            for e in sla.emitted()
            if e["type"] == "id.aduan.sla.breached.v1"
        )
        # verification (stopped by the routing) never breaches; first_response does.
        assert len(breaches) == len(rids)
        assert set(breaches.values()) == {1}
