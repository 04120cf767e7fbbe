"""Notifications' wiring: nothing is built at import time."""

from pathlib import Path

from notifications import api, regions
from notifications.dispatcher import CHANNELS, Dispatcher
from notifications.handlers import HANDLERS
from notifications.models import INBOX, OUTBOX, Base
from notifications.senders import build_senders
from notifications.settings import NotificationsSettings
from services.runtime import ServiceDefinition, ServiceRuntime


def build() -> ServiceDefinition:
    """The notifications service: the consumer records, one loop per channel sends."""
    settings = NotificationsSettings()
    dispatcher = Dispatcher(settings, build_senders(settings))

    def channel_loop(channel: str):  # type: ignore[no-untyped-def]
        async def loop(rt: ServiceRuntime) -> None:
            await dispatcher.run_channel(rt, channel)

        return loop

    async def backlog(rt: ServiceRuntime) -> None:
        await dispatcher.backlog(rt)

    return ServiceDefinition(
        name="notifications",
        title="Aduan notifications",
        settings=settings,
        metadata=Base.metadata,
        outbox_table=OUTBOX,
        inbox_table=INBOX,
        migrations=Path(__file__).parent / "migrations",
        handlers=HANDLERS,
        routers=[api.router, regions.router, regions.admin_router],
        background=[*(channel_loop(c) for c in CHANNELS), backlog],
        on_commit=[dispatcher.poke],
        extra={"dispatcher": dispatcher, "settings": settings},
    )
