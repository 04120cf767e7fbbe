"""SLA's settings (environment prefix ``SLA_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class SlaSettings(ServiceSettings):
    """Where SLA listens and how long each clock runs."""

    model_config = SettingsConfigDict(env_prefix="SLA_", extra="ignore")

    http_port: int = Field(8083, ge=0, le=65535, description="Port of the SLA API.")
    first_response_working_days: int = Field(
        5, ge=1, description="Working days an agency has for its first response."
    )
    default_timezone: str = Field(
        "Asia/Jakarta",
        description="Time zone whose working day ends a deadline (WIB until agencies "
        "carry their own: WITA Asia/Makassar, WIT Asia/Jayapura).",
    )
