"""Nobody takes over a citizen's contact by typing it: a report links to a known reporter
only by a proven contact (an account, or the phone an SMS came from), and never changes a
known reporter's name or contact (real databases)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from intake import handlers
from intake.models import OUTBOX, HistoryEntry, Report, Reporter
from intake.web import search
from services import bus
from services.broker import EmbeddedBroker
from services.db import Database, migrate
from tests.conftest import PgDatabases, kit_for, new_namespace

ROOT = Path(__file__).resolve().parents[2]


def _report(channel: str, **who: str | None) -> handlers.NewReport:
    return handlers.NewReport(
        title="Jalan berlubang",
        body="Jalan Cikutra depan Pasar Cicadas berlubang besar.",
        category="infrastruktur",
        regency_code="32.73",
        anonymous=False,
        confidential=channel != "sms",
        channel=channel,
        language="id",
        name=who.get("name"),
        phone=who.get("phone"),
        email=who.get("email"),
        idempotency_key=None,
    )


def _intake(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> tuple[Database, bus.Outbox]:
    """A migrated intake database on SQLite or PostgreSQL, and intake's outbox."""
    url = (
        f"sqlite:///{tmp_path}/intake.sqlite3"
        if backend == "sqlite"
        else pg.create(f"{new_namespace()}_intake")
    )
    migrate(url, ROOT / "intake" / "migrations")
    return Database(url), bus.Outbox("intake", kit_for(broker, new_namespace()), OUTBOX)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_typed_contact_never_takes_over_a_reporter(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    db, outbox = _intake(backend, tmp_path, pg, broker)
    victim = {"name": "Siti Korban", "phone": "+6281211112222", "email": "siti@example.id"}
    try:
        with db.session() as s:
            mine, _, _ = handlers.submit_report(s, outbox, _report("api", **victim))
            # The attacker types the victim's email beside their own phone and name.
            theirs, _, _ = handlers.submit_report(
                s,
                outbox,
                _report("api", name="Penyerang", phone="+6281299998888", email=victim["email"]),
            )
            # An SMS proves its phone: the next SMS from it is the same reporter, and an
            # SMS from the victim's phone does not join a reporter whose phone was typed.
            sms1, _, _ = handlers.submit_report(s, outbox, _report("sms", phone="+6281277776666"))
            sms2, _, _ = handlers.submit_report(s, outbox, _report("sms", phone="+6281277776666"))
            sms3, _, _ = handlers.submit_report(s, outbox, _report("sms", phone=victim["phone"]))
            s.commit()
            refs = [r.reporter_ref for r in (mine, theirs, sms1, sms2, sms3)]
            kept = s.get(Reporter, mine.reporter_ref)
            assert kept is not None
            assert (kept.name, kept.phone, kept.email) == (
                victim["name"],
                victim["phone"],
                victim["email"],
            )
        assert refs[0] != refs[1] and refs[2] == refs[3] and refs[4] not in (refs[0], refs[2])
        with db.engine.connect() as conn:
            contacts = [
                json.loads(p)["data"]
                for (p,) in conn.execute(
                    sa.select(OUTBOX.c.payload).where(
                        OUTBOX.c.event_type == "id.aduan.reporter.contact_recorded.v1"
                    )
                )
            ]
        # The victim's reference only ever carries the victim's own contact.
        assert [c["phone"] for c in contacts if c["reporter_ref"] == refs[0]] == [victim["phone"]]
        # Verification's sender references: one per phone given, keyed, never the phone.
        with db.engine.connect() as conn:
            senders = [
                json.loads(p)["data"]["sender_ref"]
                for (p,) in conn.execute(
                    sa.select(OUTBOX.c.payload)
                    .where(OUTBOX.c.event_type == "id.aduan.report.submitted.v2")
                    .order_by(OUTBOX.c.id)
                )
            ]
        assert senders[2] == senders[3] and senders[0] == senders[4]
        assert len(set(senders)) == 3 and not any("8121111" in x for x in senders)
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_report_is_stored_as_the_public_reads_it_and_a_repeated_key_finds_it(
    backend: str, tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> None:
    """submit_report writes its rows with Core statements: the public texts are set
    before the row is written (search finds the public words only), the reporter is
    in the session without a query, and a repeated idempotency key answers with the
    report it made."""
    db, outbox = _intake(backend, tmp_path, pg, broker)
    cmd = _report("api", name="Budi Santoso", phone="+6281233334444")
    cmd = dataclasses.replace(
        cmd,
        anonymous=True,
        idempotency_key="kunci-1",
        body="Saya Budi Santoso. Jalan Cikutra depan Pasar Cicadas berlubang besar.",
    )
    try:
        with db.session() as s:
            report, secret, created = handlers.submit_report(s, outbox, cmd)
            assert created and secret
            # The new reporter is the session's own object: no query, no copy.
            assert s.get(Reporter, report.reporter_ref) is not None
            assert report in s
        with db.session() as s:
            again, again_secret, again_created = handlers.submit_report(s, outbox, cmd)
        assert (again.id, again_secret, again_created) == (report.id, None, False)
        reports = Report.__table__.c  # type: ignore[attr-defined]
        history = HistoryEntry.__table__.c  # type: ignore[attr-defined]
        dialect = db.engine.dialect.name
        with db.engine.connect() as conn:
            row = conn.execute(sa.select(reports).where(reports.id == report.id)).one()
            assert "Budi" in row.body and "Budi" not in row.public_body
            assert row.public_title == "Jalan berlubang" and row.status == "submitted"
            assert row.submitted_at is not None and row.updated_at is not None

            def found(q: str) -> list[str]:
                where = search(dialect, q, reports)
                return list(conn.execute(sa.select(reports.id).where(where)).scalars())

            assert found("cikutra pasar") == [report.id]
            assert found("budi") == [] and found("santoso") == []
            steps = conn.execute(
                sa.select(history.kind, history.detail, history.attachments).where(
                    history.report_id == report.id
                )
            ).all()
            assert [tuple(r) for r in steps] == [("submitted", "", "[]")]
            assert conn.execute(sa.select(sa.func.count()).select_from(Reporter)).scalar() == 1
    finally:
        db.close()
