"""Verification's wiring: nothing is built at import time."""

from pathlib import Path

from services.runtime import ServiceDefinition
from verification import api, handlers
from verification.models import INBOX, OUTBOX, Base
from verification.settings import VerificationSettings


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
        handlers=handlers.handlers(settings),  # type: ignore[arg-type]
        routers=[api.router],
    )
