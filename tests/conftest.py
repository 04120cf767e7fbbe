"""Shared fixtures: the real broker, real databases (SQLite and PostgreSQL), platforms.

One Tansu broker serves the whole session; each platform gets its own namespace, so
topics and consumer groups never collide. Tests that restart the broker start their own.
PostgreSQL is the machine's server (``ADUAN_TEST_PG``, default 127.0.0.1:5432, trust
auth); each test gets fresh databases, dropped afterwards.
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services import bus, sealing
from services.broker import EmbeddedBroker
from services.db import Database
from services.launcher import Platform
from services.serve import SERVICES
from services.settings import BrokerProfile, KitSettings

# The keys that seal citizens' words on the wire (services.sealing): the tests' own process
# seals and opens events with the same keys as the platforms it starts.
os.environ.setdefault("ADUAN_TEXT_KEYS", sealing.new_key_spec("t1"))

# Parallel workers (pytest-xdist's gw0, gw1, ...) pick their platforms' ports from slices
# of their own (services.broker.free_port).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw"):
    _WORKERS = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")
    os.environ.setdefault("ADUAN_PORT_SLICE", f"{_WORKER[2:]}/{_WORKERS}")

PG_ADMIN = os.environ.get("ADUAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


# The end-to-end tests send the same report many times over, from one phone:
# verification's duplicate and flood checks would hold them. tests/e2e/test_verification.py
# turns both back on.
TEST_ENV = {
    # Nothing leaves this machine: no map tiles or reverse geocoder from the internet
    # (tests/e2e/test_citizen_web.py runs its own stand-ins).
    "INTAKE_MAP_TILES_URL": "",
    "INTAKE_GEOCODER_URL": "",
    "VERIFICATION_DUPLICATE_WINDOW_DAYS": "0",
    "VERIFICATION_FLOOD_PER_HOUR": "1000000",
    # Tests send many reports from one address and one phone; test_intake_limits tests
    # the limits themselves.
    "INTAKE_RATE_PER_IP_PER_MINUTE": "1000000",
    "INTAKE_LOOKUPS_PER_IP_PER_MINUTE": "1000000",
    "INTAKE_RATE_PER_PHONE_PER_HOUR": "1000000",
}


def platform_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A test platform's environment: the defaults above, then ``extra``."""
    return {**TEST_ENV, **(extra or {})}


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One real Tansu broker for the session."""
    b = EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "broker.log")
    b.start()
    yield b
    b.stop()


def new_namespace() -> str:
    """A namespace no other test uses."""
    return "t" + uuid.uuid4().hex[:10]


def kit_for(broker: EmbeddedBroker, namespace: str) -> KitSettings:
    """Kit settings pointing at the test broker."""
    return KitSettings(
        kafka_bootstrap_servers=broker.bootstrap,
        aduan_broker_profile=BrokerProfile.tansu,
        aduan_namespace=namespace,
    )


def inbox_consumer(
    service: str, db: Database, kit: KitSettings, handlers: dict[str, Any] | None = None
) -> bus.InboxConsumer:
    """A service's own inbox consumer on ``db`` (its handler table unless ``handlers``),
    with its outbox and its dead letters on the kit's broker."""
    models = importlib.import_module(f"{service}.models")
    if handlers is None:
        handlers = importlib.import_module(f"{service}.handlers").HANDLERS
    return bus.InboxConsumer(
        service,
        db,
        bus.Outbox(service, kit, models.OUTBOX),
        models.INBOX,
        handlers,
        bus.DeadLetters(service, kit),
        on_commit=lambda: None,
    )


class PgDatabases:
    """Creates throw-away PostgreSQL databases and drops them at the end."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{name}"

    def drop_all(self) -> None:
        """Drop every database this object created."""
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg() -> Iterator[PgDatabases]:
    """Throw-away PostgreSQL databases."""
    dbs = PgDatabases()
    yield dbs
    dbs.drop_all()


def database_urls(backend: str, tmp: Path, namespace: str, pg: PgDatabases) -> dict[str, str]:
    """One database per service on the chosen backend."""
    if backend == "sqlite":
        return {s: f"sqlite:///{tmp}/{s}.sqlite3" for s in SERVICES}
    return {s: pg.create(f"{namespace}_{s}") for s in SERVICES}


PlatformFactory = Callable[..., Platform]


@pytest.fixture
def make_platform(
    tmp_path: Path, pg: PgDatabases, broker: EmbeddedBroker
) -> Iterator[PlatformFactory]:
    """Start platforms (on the shared broker unless ``own_broker``); stop them after."""
    started: list[Platform] = []

    def factory(backend: str = "sqlite", own_broker: bool = False, **kwargs: object) -> Platform:
        kwargs["extra_env"] = platform_env(kwargs.pop("extra_env", None))  # type: ignore[arg-type]
        ns = new_namespace()
        var = tmp_path / ns
        var.mkdir()
        platform = Platform(
            var_dir=var,
            namespace=ns,
            database_urls=database_urls(backend, var, ns, pg),
            bootstrap=None if own_broker else broker.bootstrap,
            profile=BrokerProfile.tansu,
            **kwargs,  # type: ignore[arg-type]
        )
        started.append(platform)
        platform.start()
        return platform

    yield factory
    for platform in started:
        platform.stop()
