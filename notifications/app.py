"""Notifications' wiring: nothing is built at import time."""

from pathlib import Path

from notifications import api
from notifications.handlers import HANDLERS
from notifications.models import INBOX, OUTBOX, Base
from notifications.settings import NotificationsSettings
from services.runtime import ServiceDefinition


def build() -> ServiceDefinition:
    """The notifications service."""
    return ServiceDefinition(
        name="notifications",
        title="Aduan notifications",
        settings=NotificationsSettings(),
        metadata=Base.metadata,
        outbox_table=OUTBOX,
        inbox_table=INBOX,
        migrations=Path(__file__).parent / "migrations",
        handlers=HANDLERS,  # type: ignore[arg-type]
        routers=[api.router],
    )
