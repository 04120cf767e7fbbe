"""Notifications' settings (environment prefix ``NOTIFICATIONS_``)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """Where notifications listens, and how it reaches people."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    http_port: int = Field(8084, ge=0, le=65535, description="Port of the notifications API.")
    tracking_url: str = Field(
        "http://localhost:8080/v1/reports/{tracking_number}",
        max_length=300,
        description="The reporter's tracking link; {tracking_number} is replaced.",
    )

    # SMS through Kannel's sendsms interface. Unset: SMS are written to the log (masked).
    kannel_sendsms_url: str | None = Field(
        None, description="e.g. http://127.0.0.1:13013/cgi-bin/sendsms; unset logs instead."
    )
    kannel_username: str = "aduan"
    kannel_password: SecretStr = SecretStr("")
    sms_sender: str = Field("1708", max_length=16, description="The short code messages come from.")
    sms_max_parts: int = Field(3, ge=1, le=10, description="Longest SMS, in concatenated parts.")

    # Email through SMTP. Unset host: emails are written to the log (masked).
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(False, description="Upgrade with STARTTLS before login.")
    smtp_ssl: bool = Field(False, description="Implicit TLS (port 465).")
    email_from: str = Field("Aduan <noreply@aduan.go.id>", max_length=200)

    # Webhooks (Standard Webhooks signatures).
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks webhooks may reach besides public addresses (e.g. a "
        "partner's VPN range). Loopback and private ranges are refused unless listed.",
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=60)
    webhook_disable_after_hours: float = Field(
        72.0, gt=0, description="Disable an endpoint that failed everything this long."
    )
    webhook_max_body_bytes: int = Field(256_000, ge=1024)

    # The regions' gateway (notifications/regions.py).
    region_token_minutes: float = Field(
        15.0, gt=0, le=24 * 60, description="Lifetime of a region's access token."
    )
    region_stream_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="How often an open event stream looks for new events."
    )
    region_stream_heartbeat_seconds: float = Field(
        15.0, gt=0, description="A comment line on an idle stream, so proxies keep it open."
    )

    # Delivery: every channel has its own loop, so a dead one never holds up another.
    max_attempts: int = Field(8, ge=1, le=30, description="Tries before the dead letter.")
    retry_base_seconds: float = Field(5.0, gt=0)
    retry_cap_seconds: float = Field(3600.0, gt=0)
    send_timeout_seconds: float = Field(10.0, gt=0, le=120)
    lease_seconds: float = Field(60.0, gt=0, description="A claimed delivery's lease.")
    concurrency: int = Field(8, ge=1, le=256, description="Parallel sends per channel.")
    batch: int = Field(50, ge=1, le=1000, description="Deliveries claimed per round.")
    tick_seconds: float = Field(
        0.5, gt=0, le=60, description="Shortest wait between looks for due deliveries."
    )
    idle_tick_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="Longest wait between looks while nothing is due (a new delivery wakes "
        "the loop at once; this bounds how late a retry's due time is seen).",
    )

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for net in value:
            ipaddress.ip_network(net, strict=False)
        return value

    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The parsed allow-list."""
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.webhook_allowed_networks)
