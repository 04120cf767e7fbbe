"""Intake's wiring: nothing is built at import time."""

from pathlib import Path

from intake import api, assets, blocking, domain, files, identity, open311, sms, web
from intake.handlers import HANDLERS, REPORTS, count_by_status
from intake.models import INBOX, OUTBOX, Base
from intake.settings import IntakeSettings
from services.ratelimit import Limiter
from services.runtime import ServiceDefinition, ServiceRuntime, every


async def count_reports(rt: ServiceRuntime) -> None:
    """Recount reports by status every ``INTAKE_GAUGE_SECONDS`` for the overview."""
    settings = rt.settings
    assert isinstance(settings, IntakeSettings)

    def work() -> dict[str, int]:
        with rt.database.session() as session:
            return count_by_status(session)

    async def step() -> None:
        counts = await rt.database.read(work)
        for status in domain.STATUSES:
            REPORTS.labels(status).set(counts.get(status, 0))

    await every(settings.gauge_seconds, "counting reports by status", step)


def build() -> ServiceDefinition:
    """The intake service, ready for the kit's runtime."""
    settings = IntakeSettings()
    limits = {
        "ip": Limiter(settings.rate_per_ip_per_minute, 60),
        "phone": Limiter(settings.rate_per_phone_per_hour, 3600),
        "lookup": Limiter(settings.lookups_per_ip_per_minute, 60),
    }
    return ServiceDefinition(
        name="intake",
        title="Aduan intake: citizens' reports",
        settings=settings,
        extra={"limits": limits},
        metadata=Base.metadata,
        outbox_table=OUTBOX,
        inbox_table=INBOX,
        migrations=Path(__file__).parent / "migrations",
        handlers={**HANDLERS, **identity.HANDLERS},
        routers=[
            api.router,
            files.router,
            identity.router,
            blocking.router,
            open311.router,
            open311.partners,
            sms.router,
            web.router,
            assets.router,
        ],
        background=[count_reports],
    )
