"""Routing's wiring: nothing is built at import time."""

from pathlib import Path

from routing import api, console, handlers, identity, region_api, signin
from routing.models import INBOX, OUTBOX, Base
from routing.settings import RoutingSettings
from services.runtime import ServiceDefinition, ServiceRuntime, every


async def seed_directory(rt: ServiceRuntime) -> None:
    """Fill an empty directory (the national seed) before the first event is routed."""

    def work() -> int:
        with rt.database.session() as session:
            return handlers.seed(session)

    added = await rt.database.write(work)
    if added:
        import logging

        logging.getLogger("routing").info("directory seeded with %d entries", added)


async def count_loop(rt: ServiceRuntime) -> None:
    """Recount the pending-reports gauge every ``ROUTING_GAUGE_SECONDS``."""
    settings = rt.settings
    assert isinstance(settings, RoutingSettings)
    seen: set[str] = set()

    def work() -> dict[str, int]:
        with rt.database.session() as session:
            return handlers.count_pending(session)

    async def step() -> None:
        counts = await rt.database.read(work)
        for code in seen | set(counts):
            handlers.PENDING.labels(code[:2], code).set(counts.get(code, 0))
        seen.update(counts)

    await every(settings.gauge_seconds, "counting pending reports", step)


def build() -> ServiceDefinition:
    """The routing service."""
    return ServiceDefinition(
        name="routing",
        title="Aduan routing",
        settings=RoutingSettings(),
        metadata=Base.metadata,
        outbox_table=OUTBOX,
        inbox_table=INBOX,
        migrations=Path(__file__).parent / "migrations",
        handlers={**handlers.HANDLERS, **identity.HANDLERS},
        routers=[
            api.router,
            identity.router,
            api.reporter_router,
            region_api.router,
            console.router,
            signin.router,
        ],
        startup=[seed_directory],
        background=[count_loop],
    )
