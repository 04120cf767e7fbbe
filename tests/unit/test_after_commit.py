"""Counters moved by a handler count once its transaction commits, never on a rollback
(a batch rolled back and applied again one event at a time would count twice)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter
from sqlmodel import Session

from services.metrics import after_commit


def test_counts_after_commit_only(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    counter = Counter("t_events_total", "test", registry=registry)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))

    def value() -> float:
        return registry.get_sample_value("t_events_total") or 0.0

    with Session(engine) as session:
        session.execute(sa.text("INSERT INTO t VALUES (1)"))
        after_commit(session, counter.inc)
        assert value() == 0  # not yet: the transaction may still roll back
        session.rollback()
        assert value() == 0
        session.execute(sa.text("INSERT INTO t VALUES (2)"))
        after_commit(session, counter.inc)
        after_commit(session, counter.inc)
        session.commit()
        assert value() == 2
        session.execute(sa.text("INSERT INTO t VALUES (3)"))
        session.commit()  # nothing pending: nothing counted again
        assert value() == 2
    engine.dispose()
