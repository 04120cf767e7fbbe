"""Intake's settings (environment prefix ``INTAKE_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Where intake listens and how it hands out tracking numbers."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    http_port: int = Field(8080, ge=0, le=65535, description="Port of the citizens' API.")
    public_base_url: str = Field(
        "http://127.0.0.1:8080", description="Base of the tracking links given to citizens."
    )
    idempotency_window_hours: int = Field(
        24, ge=1, description="How long an Idempotency-Key maps to the report it created."
    )
    gauge_seconds: float = Field(
        15.0, gt=0, description="How often the reports-by-status gauge is recounted."
    )
