"""Intake's settings (environment prefix ``INTAKE_``)."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Where intake listens and how it hands out tracking numbers."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    http_port: int = Field(8080, ge=0, le=65535, description="Port of the citizens' API.")
    public_base_url: str = Field(
        "http://127.0.0.1:8080", description="Base of the tracking links given to citizens."
    )
    sender_key: SecretStr | None = Field(
        None,
        description="Key of the sender references verification compares (a keyed hash of "
        "the phone or email given): only intake holds it, so no other service can turn one "
        "back into a phone number. Set the same value on every intake instance; unset: a "
        "key made once in ADUAN_VAR_DIR/intake-sender-key.",
    )
    routing_url: str = Field(
        "http://127.0.0.1:8082",
        description="Routing's address as citizens reach it: the agency's files on the "
        "tracking page are downloaded from there, with a grant intake signs.",
    )
    idempotency_window_hours: int = Field(
        24, ge=1, description="How long an Idempotency-Key maps to the report it created."
    )
    gauge_seconds: float = Field(
        15.0, gt=0, description="How often the reports-by-status gauge is recounted."
    )
    rate_per_ip_per_minute: float = Field(
        30, gt=0, description="Reports, replies and Open311 requests per minute from one IP."
    )
    lookups_per_ip_per_minute: float = Field(
        60,
        gt=0,
        description="Look-ups of one report by its number (the tracking page, the public "
        "page, GET /v1/reports/{n}, Open311 by id) per minute from one IP: guessing numbers "
        "is slow.",
    )
    rate_per_phone_per_hour: float = Field(
        10, gt=0, description="Reports per hour from one phone number (web, API, Open311)."
    )
    sms_secret: SecretStr | None = Field(
        None,
        description="Shared secret Kannel's sms-service sends (?secret=...); unset: SMS "
        "intake is off (403).",
    )
    sms_allowed_networks: list[str] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Addresses Kannel may call from (JSON list of networks).",
    )
    trusted_proxies: int = Field(
        0,
        ge=0,
        le=5,
        description="Gateways in front that set X-Forwarded-For (1 behind deploy/compose's "
        "nginx): the client's address is then the one they saw.",
    )
    max_upload_bytes: int | None = Field(
        52_000_000,
        ge=1024,
        description="Largest report form with its files (413 above); JSON bodies keep "
        "INTAKE_MAX_BODY_BYTES.",
    )
    attachments_dir: Path | None = Field(
        None,
        description="Folder of the reporters' files (a shared volume or a mounted bucket "
        "when several instances run). Unset: ADUAN_VAR_DIR/intake-attachments.",
    )
    attachment_max_bytes: int = Field(
        10_000_000, ge=1024, description="Largest single attachment, after cleaning."
    )
    attachments_per_report: int = Field(
        5, ge=0, le=10, description="Files a reporter may attach to a report in all."
    )
    live_seconds: float = Field(
        15,
        gt=0,
        le=3600,
        description="How often an open tracking or confirmation page asks whether its "
        "report moved (docs/decisions/0015-live-status-by-polling.md).",
    )
    statistics_seconds: float = Field(
        30,
        ge=0,
        le=3600,
        description="How old the statistics page's sums may be before one read renews "
        "them (0: read on every request).",
    )
    assets_dir: Path | None = Field(
        None,
        description="The npm packages the site serves itself (node_modules, from "
        "package-lock.json). Unset: node_modules beside the code.",
    )
    map_tiles_url: str = Field(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="The map's tile server ({z}/{x}/{y}); empty: no tiles (the pickers and "
        "the map point still work). Its origin is added to the pages' img-src.",
    )
    map_tiles_attribution: str = Field(
        "© OpenStreetMap contributors", description="Credit shown on the map for the tiles."
    )
    geocoder_url: str = Field(
        "https://nominatim.openstreetmap.org/reverse",
        description="A reverse geocoder of the Nominatim kind: the map's pin fills the "
        "province, regency and district (intake/places.py). Empty: the pin gives only the "
        "point and the citizen chooses the area.",
    )
    account_session_days: int = Field(
        30, ge=1, le=365, description="How long a citizen stays signed in."
    )
