"""Routing's settings (environment prefix ``ROUTING_``)."""

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    """Where routing listens, where follow-up attachments go, and their limits."""

    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    http_port: int = Field(8082, ge=0, le=65535, description="Port of the routing API.")
    max_body_bytes: int = Field(
        26_000_000,
        ge=1024,
        description="Largest request accepted (413 above): a follow-up with its files.",
    )
    attachments_dir: Path | None = Field(
        None,
        description="Folder of follow-up attachments (a shared volume or a mounted bucket "
        "when several instances run). Unset: ADUAN_VAR_DIR/routing-attachments.",
    )
    oidc_providers: str = Field(
        "",
        description="OpenID Connect providers for staff sign-in, a JSON list (routing/oidc.py, "
        "docs/staff.md): name, label, issuer, client_id, client_secret, role_claim, roles, "
        "agency_claim, agencies.",
    )
    verification_console_url: str = Field(
        "",
        description="The verifiers' console's address (its origin), linked from the staff "
        "sign-in page for verifiers and administrators; unset: no link.",
    )
    intake_url: str = Field(
        "http://127.0.0.1:8080",
        validation_alias=AliasChoices("ROUTING_INTAKE_URL", "INTAKE_PUBLIC_BASE_URL"),
        description="Intake's address as staff reach it: the reporter's files are "
        "downloaded from there (defaults to INTAKE_PUBLIC_BASE_URL when that is set).",
    )
    attachment_max_bytes: int = Field(
        10_000_000, ge=1024, description="Largest single attachment, after cleaning."
    )
    attachments_per_followup: int = Field(5, ge=0, le=10, description="Files per follow-up.")
    gauge_seconds: float = Field(
        15.0, gt=0, description="How often the pending-reports gauge is recounted."
    )
