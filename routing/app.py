"""Routing's wiring: nothing is built at import time."""

from pathlib import Path

from routing import api
from routing.handlers import HANDLERS
from routing.models import INBOX, OUTBOX, Base
from routing.settings import RoutingSettings
from services.runtime import ServiceDefinition


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
        handlers=HANDLERS,  # type: ignore[arg-type]
        routers=[api.router],
    )
