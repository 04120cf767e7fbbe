"""One real service on a database a benchmark filled: the embedded broker with the
platform's topics, the service as its own process, and its address once healthy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

from services import bus
from services.broker import EmbeddedBroker, free_port
from services.settings import KitSettings

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def running(
    service: str, url: str, tmp: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str, float]]:
    """The service's process, base URL and seconds from its start to a healthy /health;
    stopped (and the broker) after."""
    broker = EmbeddedBroker(log_path=Path(tmp) / "broker.log")
    broker.start()
    ns = f"bench{service}"
    bus.ensure_topics(KitSettings(kafka_bootstrap_servers=broker.bootstrap, aduan_namespace=ns))
    port = free_port()
    prefix = service.upper()
    full_env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "ADUAN_BROKER_PROFILE": "tansu",
        "ADUAN_NAMESPACE": ns,
        "ADUAN_VAR_DIR": tmp,
        f"{prefix}_DATABASE_URL": url,
        f"{prefix}_HTTP_PORT": str(port),
        "ADUAN_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    log = open(Path(tmp) / f"{service}.log", "wb")  # noqa: SIM115
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.serve", service], env=full_env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"{service} exited; see {tmp}/{service}.log")
            time.sleep(0.05)
        yield proc, base, time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        broker.stop()


def scratch_database(server: str, name: str) -> str:
    """A new empty database ``name`` on a PostgreSQL server (dropped first if it is
    there); its URL."""
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sa.make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_database(server: str, name: str) -> None:
    """Drop what :func:`scratch_database` made."""
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@contextmanager
def database(service: str, tmp: str, postgres: str = "", url: str = "") -> Iterator[str]:
    """The URL a benchmark fills: ``url`` as given, else a scratch database on the
    ``postgres`` server (dropped after), else a SQLite file in ``tmp``."""
    if url:
        yield url
        return
    if not postgres:
        yield f"sqlite:///{tmp}/{service}.sqlite3"
        return
    name = f"bench_{service}_{os.getpid()}"
    try:
        yield scratch_database(postgres, name)
    finally:
        drop_database(postgres, name)


def kind(url: str) -> str:
    """``sqlite`` or ``postgres``: the key benchmarks record their figures under."""
    return "postgres" if url.startswith("postgresql") else "sqlite"


def tidy(url: str) -> None:
    """After a bulk fill: what autovacuum (PostgreSQL) or a later ANALYZE (SQLite) would
    have done before a live system reached that size. A million inserts in a few
    transactions leave the summary tables' rows a million dead versions on PostgreSQL,
    and no planner statistics on either database."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM ANALYZE" if kind(url) == "postgres" else "ANALYZE"))
    engine.dispose()
