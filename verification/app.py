"""Verification's wiring: nothing is built at import time."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from prometheus_client import Gauge

from services.runtime import ServiceDefinition, ServiceRuntime, every
from verification import api, console, handlers
from verification.models import INBOX, OUTBOX, Base, Case
from verification.settings import VerificationSettings

QUEUE = Gauge(
    "aduan_verification_queue",
    "Reports waiting in verification, by state (queued for a verifier, awaiting the "
    "citizen's information) and age since submission (<1d, 1-3d, >3d).",
    ["state", "age"],
)
_AGES = ("lt_1d", "1d_3d", "gt_3d")


def count_queue(session: sa.orm.Session, now: datetime) -> dict[tuple[str, str], int]:
    """Waiting cases by state and age since submission (<1d, 1-3d, >3d), counted in SQL."""
    c = Case.__table__.c  # type: ignore[attr-defined]
    age = sa.case(
        (c.submitted_at > now - timedelta(days=1), _AGES[0]),
        (c.submitted_at > now - timedelta(days=3), _AGES[1]),
        else_=_AGES[2],
    )
    # Grouped by the output column's name: the CASE repeated in GROUP BY would carry new
    # bind parameters, which PostgreSQL takes for a different expression.
    query = (
        sa.select(c.state, age.label("age"), sa.func.count())
        .where(c.state.in_(("queued", "awaiting_info")))
        .group_by(c.state, sa.literal_column("age"))
    )
    return {(state, bucket): n for state, bucket, n in session.execute(query)}


async def count_loop(rt: ServiceRuntime) -> None:
    """Recount the queue gauge every ``VERIFICATION_GAUGE_SECONDS``."""
    settings = rt.settings
    assert isinstance(settings, VerificationSettings)

    def work() -> dict[tuple[str, str], int]:
        with rt.database.session() as session:
            return count_queue(session, datetime.now(UTC))

    async def step() -> None:
        counts = await rt.database.read(work)
        for state in ("queued", "awaiting_info"):
            for bucket in _AGES:
                QUEUE.labels(state, bucket).set(counts.get((state, bucket), 0))

    await every(settings.gauge_seconds, "counting the verification queue", step)


def build() -> ServiceDefinition:
    """The verification service."""
    settings = VerificationSettings()
    return ServiceDefinition(
        name="verification",
        title="Aduan verification",
        settings=settings,
        metadata=Base.metadata,
        outbox_table=OUTBOX,
        inbox_table=INBOX,
        migrations=Path(__file__).parent / "migrations",
        handlers=handlers.make_handlers(settings),
        routers=[api.router, console.router],
        background=[count_loop],
    )
