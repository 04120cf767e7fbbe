"""Intake's wiring: nothing is built at import time."""

from pathlib import Path

from intake import api
from intake.handlers import HANDLERS
from intake.models import INBOX, OUTBOX, Base
from intake.settings import IntakeSettings
from services.runtime import ServiceDefinition


def build() -> ServiceDefinition:
    """The intake service, ready for the kit's runtime."""
    return ServiceDefinition(
        name="intake",
        title="Aduan intake: citizens' reports",
        settings=IntakeSettings(),
        metadata=Base.metadata,
        outbox_table=OUTBOX,
        inbox_table=INBOX,
        migrations=Path(__file__).parent / "migrations",
        handlers=HANDLERS,
        routers=[api.router],
    )
