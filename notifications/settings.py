"""Notifications' settings (environment prefix ``NOTIFICATIONS_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """Where notifications listens."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    http_port: int = Field(8084, ge=0, le=65535, description="Port of the notifications API.")
