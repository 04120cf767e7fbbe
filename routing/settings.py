"""Routing's settings (environment prefix ``ROUTING_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    """Where routing listens."""

    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    http_port: int = Field(8082, ge=0, le=65535, description="Port of the routing API.")
