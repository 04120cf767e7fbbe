"""Settings shared by every service, read from the environment.

Each service adds its own settings class built on :class:`ServiceSettings`, with an
environment prefix of its own name (``INTAKE_DATABASE_URL``, ``ROUTING_HTTP_PORT``...).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BrokerProfile(StrEnum):
    """Which broker the clients talk to; Tansu workarounds apply only to ``tansu``."""

    tansu = "tansu"
    kafka = "kafka"


class KitSettings(BaseSettings):
    """Platform-wide settings: the broker, topic naming and the bus's tuning."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    kafka_bootstrap_servers: str | None = Field(
        None,
        description="Kafka bootstrap servers (host:port,...). Unset: the launcher starts "
        "the embedded Tansu broker and sets this for every service it starts.",
    )
    aduan_broker_profile: BrokerProfile | None = Field(
        None,
        description="'tansu' turns on the embedded broker's workarounds (short group "
        "sessions, short fetch waits); 'kafka' turns them off. Unset: 'tansu' when the "
        "launcher runs the embedded broker, otherwise 'kafka'.",
    )
    aduan_namespace: str = Field(
        "aduan",
        pattern=r"^[a-z][a-z0-9-]{0,40}$",
        description="Prefix of every topic name and consumer group, so that several "
        "platforms (or test runs) can share one cluster.",
    )
    aduan_topic_partitions: int = Field(
        4, ge=1, le=1024, description="Partitions of each topic the platform creates."
    )
    aduan_topic_replication: int = Field(
        1, ge=1, le=7, description="Replication factor of each topic (3 on a real cluster)."
    )
    aduan_var_dir: Path = Field(
        Path("var"), description="Folder for the embedded default's database files and logs."
    )
    aduan_batch_max: int = Field(
        200, ge=1, le=10_000, description="Most events a consumer applies in one transaction."
    )
    aduan_batch_within: float = Field(
        0.005, gt=0, le=5, description="Seconds a consumer waits to fill a batch."
    )
    aduan_tansu_fetch_wait_ms: int = Field(
        100,
        ge=1,
        le=1500,
        description="Tansu profile only: how long a consumer's fetch may wait for data. "
        "Tansu holds an empty fetch for most of the wait, so faust's fixed 1500 ms "
        "costs latency; too short a wait spins the CPU while idle.",
    )
    aduan_tansu_idle_fetch_wait_ms: int = Field(
        1000,
        ge=1,
        le=5000,
        description="Tansu profile only: the fetch wait once a consumer has had no record "
        "for 2 s (an idle platform asks the broker less often; the first record after a "
        "quiet spell waits up to this long at each hop).",
    )
    aduan_outbox_poll_seconds: float = Field(
        0.25, gt=0, le=60, description="How often the outbox relay looks for work when idle."
    )
    aduan_outbox_idle_poll_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="The relay's longest wait between looks once the outbox stays empty "
        "(local writes wake it at once; this bounds how late another process's rows go).",
    )
    aduan_outbox_batch: int = Field(
        1000, ge=1, le=100_000, description="Most outbox rows the relay publishes at once."
    )
    aduan_outbox_retention_days: float = Field(
        14.0,
        gt=0,
        description="Published outbox events are kept this long so that `aduan replay` "
        "can re-publish them after a broker loss.",
    )
    aduan_auth_secret: SecretStr | None = Field(
        None,
        description="Key that signs staff tokens (verifiers, agency officers, "
        "administrators); at least 32 characters. Unset: `aduan run` makes one and keeps "
        "it in ADUAN_VAR_DIR/auth-secret.",
    )
    aduan_staff_signin_url: str = Field(
        "",
        description="Where every console sends a member of staff to sign in: routing's "
        "public address (routing owns staff accounts). Unset: the console's own service, "
        "which is right only for routing's console. `aduan run` sets it.",
    )
    aduan_console_origins: str = Field(
        "",
        description="The consoles' public origins (scheme://host[:port], comma-separated) "
        "that the sign-in page may send a signed-in person back to. `aduan run` sets it.",
    )
    aduan_text_keys: SecretStr | None = Field(
        None,
        description="Keys that seal report texts on report.submitted and "
        "report.information_added (`id:base64url-of-32-bytes`, comma-separated; the first "
        "seals, every one opens). Give them to intake, verification and routing only. "
        "Unset: one key derived from ADUAN_AUTH_SECRET.",
    )
    aduan_log_level: str = Field("INFO", description="Log level of every service.")
    aduan_log_json: bool = Field(True, description="Write logs as JSON lines.")
    aduan_forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies whose X-Forwarded-Proto and X-Forwarded-For each service "
        "believes (comma-separated, or *): behind a TLS proxy, requests then count as HTTPS "
        "and every cookie is set Secure.",
    )

    def auth_secret_value(self) -> str | None:
        """The staff-token signing key, if one is configured."""
        return self.aduan_auth_secret.get_secret_value() if self.aduan_auth_secret else None

    def text_keys_value(self) -> str | None:
        """The report-text keys, if configured (see :mod:`services.sealing`)."""
        return self.aduan_text_keys.get_secret_value() if self.aduan_text_keys else None

    @property
    def profile(self) -> BrokerProfile:
        """The broker profile in force."""
        if self.aduan_broker_profile is not None:
            return self.aduan_broker_profile
        return BrokerProfile.kafka

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers, or a clear error when nothing set them."""
        if not self.kafka_bootstrap_servers:
            raise RuntimeError(
                "KAFKA_BOOTSTRAP_SERVERS is not set: start services through `aduan run`, "
                "or point it at a Kafka cluster."
            )
        return self.kafka_bootstrap_servers


class ServiceSettings(BaseSettings):
    """What every service needs: its database and its HTTP listener.

    Subclasses set ``model_config = SettingsConfigDict(env_prefix="<NAME>_")`` and a
    default port.
    """

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of this service's own database "
        "(postgresql+psycopg://... in production). Unset: a SQLite file under "
        "ADUAN_VAR_DIR.",
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(8000, ge=0, le=65535, description="Port the HTTP API listens on.")
    instance: str = Field(
        "0", description="Name of this instance, for logs and metrics when several run."
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest HTTP request body accepted (413 above)."
    )
    max_upload_bytes: int | None = Field(
        None,
        ge=1024,
        description="Largest multipart (file upload) body accepted; unset: max_body_bytes.",
    )

    def resolved_database_url(self, service: str, kit: KitSettings) -> str:
        """The database URL, defaulting to a SQLite file under the var folder."""
        if self.database_url:
            return self.database_url
        path = (kit.aduan_var_dir / f"{service}.sqlite3").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
