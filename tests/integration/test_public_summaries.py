"""Intake's statistics kept with the data and its full-text search, on SQLite and
PostgreSQL: after a random run of the writes intake's handlers make (reports stored,
statuses folded, agencies set and changed, deadlines moved, answers recorded, a report
removed), the summary tables equal the counts taken from the reports themselves, and the
search finds exactly the reports whose public words match."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from intake.models import HistoryEntry, Report
from intake.web import search
from services.db import migrate
from tests.conftest import PgDatabases, new_namespace

ROOT = Path(__file__).resolve().parents[2]
STATUSES = ("submitted", "verified", "routed", "in_progress", "resolved", "closed", "rejected")
AGENCIES = (None, "Pemerintah Kota Bandung", "Pemerintah Kabupaten Bogor", "Kementerian X")
REGENCIES = ("32.73", "32.01", "31.71", "51.71")
WORDS = ("jalan", "lubang", "lampu", "sampah", "banjir", "puskesmas", "jembatan", "pasar")


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, pg: PgDatabases) -> Any:
    url = (
        f"sqlite:///{tmp_path}/intake.sqlite3"
        if request.param == "sqlite"
        else pg.create(f"{new_namespace()}_intake")
    )
    migrate(url, ROOT / "intake" / "migrations")
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def _month(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m")


def test_summaries_follow_every_write_and_search_finds_the_public_words(engine: Any) -> None:
    rng = random.Random(2026)
    reports = Report.__table__  # type: ignore[attr-defined]
    history = HistoryEntry.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    ids: list[str] = []
    with engine.begin() as conn:
        for i in range(300):
            rid = str(uuid.uuid4())
            ids.append(rid)
            at = now - timedelta(days=rng.randrange(400))
            title = " ".join(rng.sample(WORDS, 2))
            conn.execute(
                reports.insert().values(
                    id=rid,
                    tracking_number=str(2_000_000 + i),
                    tracking_secret_hash="0" * 64,
                    title=title,
                    body="cerita " + " ".join(rng.sample(WORDS, 3)),
                    category="infrastruktur",
                    regency_code=rng.choice(REGENCIES),
                    reporter_ref="r",
                    channel="web",
                    status="submitted",
                    submitted_at=at,
                    updated_at=at,
                )
            )
    # The handlers' writes, in a random order: statuses, agencies, deadlines, answers, the
    # public texts (a verifier's redaction), and one report removed.
    for _ in range(1500):
        rid = rng.choice(ids)
        with engine.begin() as conn:
            step = rng.randrange(6)
            if step == 0:
                conn.execute(
                    reports.update().where(reports.c.id == rid).values(status=rng.choice(STATUSES))
                )
            elif step == 1:
                conn.execute(
                    reports.update()
                    .where(reports.c.id == rid)
                    .values(agency_name=rng.choice(AGENCIES))
                )
            elif step == 2:
                conn.execute(
                    reports.update()
                    .where(reports.c.id == rid)
                    .values(due_at=now - timedelta(days=rng.randrange(400)))
                )
            elif step == 3:
                conn.execute(
                    history.insert().values(
                        report_id=rid,
                        event_id=uuid.uuid4().hex,
                        kind=rng.choice(("followup", "question", "notification", "deadline")),
                        detail="",
                        occurred_at=now - timedelta(days=rng.randrange(400)),
                        attachments="[]",
                    )
                )
            elif step == 4:
                conn.execute(
                    reports.update()
                    .where(reports.c.id == rid)
                    .values(
                        public_title=" ".join(rng.sample(WORDS, 2)),
                        public_body="cerita " + " ".join(rng.sample(WORDS, 3)),
                    )
                )
            else:
                conn.execute(
                    reports.update()
                    .where(reports.c.id == rid)
                    .values(regency_code=rng.choice(REGENCIES))
                )
    with engine.begin() as conn:
        gone = ids.pop()
        conn.execute(history.delete().where(history.c.report_id == gone))
        conn.execute(reports.delete().where(reports.c.id == gone))

    with engine.connect() as conn:
        rows = conn.execute(sa.select(reports)).mappings().all()
        answers = conn.execute(sa.select(history)).mappings().all()
        kept = {
            tuple(r[:4]): r[4]
            for r in conn.execute(
                sa.text(
                    "SELECT month, status, province, agency_name, n FROM report_stats WHERE n > 0"
                )
            )
        }
        kept_answers = {
            tuple(r[:3]): (r[3], r[4])
            for r in conn.execute(
                sa.text(
                    "SELECT month, province, agency_name, on_time, answered FROM answer_stats "
                    "WHERE answered > 0"
                )
            )
        }

    def aware(d: datetime) -> datetime:
        return d if d.tzinfo else d.replace(tzinfo=UTC)

    # The truth, counted from the reports and their history.
    truth: dict[tuple[str, ...], int] = {}
    truth_answers: dict[tuple[str, ...], tuple[int, int]] = {}
    for r in rows:
        key = (_month(aware(r["submitted_at"])), r["status"], r["regency_code"][:2])
        key = (*key, r["agency_name"] or "")
        truth[key] = truth.get(key, 0) + 1
        first = min(
            (
                aware(h["occurred_at"])
                for h in answers
                if h["report_id"] == r["id"] and h["kind"] in ("followup", "question")
            ),
            default=None,
        )
        assert (aware(r["first_answer_at"]) if r["first_answer_at"] else None) == first
        if first is not None and r["due_at"] is not None:
            akey = (_month(aware(r["submitted_at"])), r["regency_code"][:2])
            akey = (*akey, r["agency_name"] or "")
            on_time, answered = truth_answers.get(akey, (0, 0))
            truth_answers[akey] = (on_time + (first <= aware(r["due_at"])), answered + 1)
    assert kept == truth
    assert kept_answers == truth_answers
    assert sum(kept.values()) == len(rows) == 299

    # Search: every word, each also as a prefix, in the public texts only.
    c = reports.c
    dialect = engine.dialect.name
    for q in ("lampu", "jemb", "jalan lubang", "pasar banjir sampah", "Lampu!", "tidak-ada"):
        with engine.connect() as conn:
            found = {
                n
                for (n,) in conn.execute(sa.select(c.tracking_number).where(search(dialect, q, c)))
            }
        words = [w.lower() for w in re.findall(r"\w+", q)]
        expected = set()
        for r in rows:
            text = f"{r['public_title'] or r['title']} {r['public_body'] or r['body']}".lower()
            tokens = text.split()
            if all(any(t.startswith(w) for t in tokens) for w in words):
                expected.add(r["tracking_number"])
        assert found == expected, (dialect, q)
    assert search(dialect, "  ?! ", c) is None
