"""SLA's settings (environment prefix ``SLA_``)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services import timezones
from services.settings import ServiceSettings
from sla.domain import Rules
from sla.workdays import SHIPPED_FILE


class SlaSettings(ServiceSettings):
    """Where SLA listens, how long each clock runs, and how the scheduler fires."""

    model_config = SettingsConfigDict(env_prefix="SLA_", extra="ignore")

    http_port: int = Field(8083, ge=0, le=65535, description="Port of the SLA API.")
    verification_working_days: int = Field(
        3, ge=1, le=60, description="Working days verifiers have to decide on a report."
    )
    first_response_working_days: int = Field(
        5, ge=1, le=60, description="Working days an agency has for its first response."
    )
    reporter_reply_working_days: int = Field(
        10, ge=1, le=60, description="Working days the reporter has to reply to an answer."
    )
    resolution_days: int = Field(
        60, ge=1, le=365, description="Calendar days before an unresolved report escalates."
    )
    warning_working_days: int = Field(
        1, ge=0, le=10, description="Working days before a deadline that the warning fires."
    )
    forward_min_working_days: int = Field(
        2,
        ge=0,
        le=10,
        description="Working days a unit is left at least when its agency forwards a "
        "report down to it.",
    )
    verifier_agency_id: str = Field(
        "kemenpanrb", description="Agency named in verification warnings and breaches."
    )
    default_timezone: str = Field(
        timezones.WIB,
        description="Zone of deadlines whose agency does not say (national agencies sit "
        "in Jakarta); regional agencies' zones come with the routing.",
    )
    ombudsman_url: str = Field(
        "https://ombudsman.go.id/", description="Where an escalated report's citizen goes."
    )
    calendar_file: Path = Field(
        SHIPPED_FILE,
        description="Calendar data (cuti bersama, closures) loaded when its content changes.",
    )
    tick_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the scheduler looks for due clocks."
    )
    fire_batch: int = Field(
        500, ge=1, le=100_000, description="Most clocks fired in one transaction."
    )
    gauge_seconds: float = Field(
        30.0, gt=0, description="How often the open-deadline gauges are recounted."
    )
    clock_offset_seconds: float = Field(
        0.0,
        description="Shifts this service's clock (drills and tests only; 0 in production).",
    )

    def rules(self) -> Rules:
        """The clocks' durations as the domain takes them."""
        return Rules(
            verification_days=self.verification_working_days,
            first_response_days=self.first_response_working_days,
            reporter_reply_days=self.reporter_reply_working_days,
            resolution_calendar_days=self.resolution_days,
            warning_working_days=self.warning_working_days,
            forward_min_working_days=self.forward_min_working_days,
            verifier_agency_id=self.verifier_agency_id,
            default_timezone=self.default_timezone,
        )
