"""SLA's wiring: nothing is built at import time."""

from pathlib import Path

from services.runtime import ServiceDefinition
from sla import api, handlers
from sla.models import INBOX, OUTBOX, Base
from sla.settings import SlaSettings


def build() -> ServiceDefinition:
    """The SLA service."""
    settings = SlaSettings()
    return ServiceDefinition(
        name="sla",
        title="Aduan SLA clocks",
        settings=settings,
        metadata=Base.metadata,
        outbox_table=OUTBOX,
        inbox_table=INBOX,
        migrations=Path(__file__).parent / "migrations",
        handlers=handlers.handlers(settings),  # type: ignore[arg-type]
        routers=[api.router],
    )
