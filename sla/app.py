"""SLA's wiring: nothing is built at import time."""

from pathlib import Path

from services.runtime import ServiceDefinition, ServiceRuntime
from sla import api, handlers, scheduler
from sla.models import INBOX, OUTBOX, Base
from sla.settings import SlaSettings


def build() -> ServiceDefinition:
    """The SLA service."""
    settings = SlaSettings()
    core = handlers.SlaCore(settings)

    async def seed(rt: ServiceRuntime) -> None:
        await scheduler.seed(rt, core)

    async def run_scheduler(rt: ServiceRuntime) -> None:
        await scheduler.run(rt, core)

    async def count_open(rt: ServiceRuntime) -> None:
        await scheduler.gauges(rt, core)

    return ServiceDefinition(
        name="sla",
        title="Aduan SLA clocks",
        settings=settings,
        metadata=Base.metadata,
        outbox_table=OUTBOX,
        inbox_table=INBOX,
        migrations=Path(__file__).parent / "migrations",
        handlers=handlers.handlers(core),
        routers=[api.router],
        startup=[seed],
        background=[run_scheduler, count_open],
        extra={"core": core},
    )
