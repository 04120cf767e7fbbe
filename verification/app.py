"""Verification's wiring: nothing is built at import time."""

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from prometheus_client import Gauge

from services.runtime import ServiceDefinition, ServiceRuntime
from verification import api, console, handlers
from verification.models import INBOX, OUTBOX, Base, Case
from verification.settings import VerificationSettings

log = logging.getLogger(__name__)

QUEUE = Gauge(
    "aduan_verification_queue",
    "Reports waiting in verification, by state (queued for a verifier, awaiting the "
    "citizen's information) and age since submission (<1d, 1-3d, >3d).",
    ["state", "age"],
)
_AGES = (("lt_1d", 0, 1), ("1d_3d", 1, 3), ("gt_3d", 3, 10_000))


def count_queue(session: sa.orm.Session, now: datetime) -> dict[tuple[str, str], int]:
    """Waiting cases by state and age bucket."""
    c = Case.__table__.c  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(c.state, c.submitted_at).where(c.state.in_(("queued", "awaiting_info")))
    )
    counts: dict[tuple[str, str], int] = {}
    for state, submitted in rows:
        if submitted.tzinfo is None:
            submitted = submitted.replace(tzinfo=UTC)
        days = (now - submitted).total_seconds() / 86400
        age = next(name for name, lo, hi in _AGES if lo <= days < hi)
        counts[(state, age)] = counts.get((state, age), 0) + 1
    return counts


async def count_loop(rt: ServiceRuntime) -> None:
    """Recount the queue gauge every ``VERIFICATION_GAUGE_SECONDS``."""
    settings = rt.settings
    assert isinstance(settings, VerificationSettings)
    while True:
        try:

            def work() -> dict[tuple[str, str], int]:
                with rt.database.session() as session:
                    return count_queue(session, datetime.now(UTC))

            counts = await rt.database.read(work)
            for state in ("queued", "awaiting_info"):
                for age, _, _ in _AGES:
                    QUEUE.labels(state, age).set(counts.get((state, age), 0))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("counting the verification queue failed")
        await asyncio.sleep(settings.gauge_seconds)


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
