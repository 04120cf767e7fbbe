"""The notifications dispatcher's send loops, measured in-process.

Queues N agency notices, each with one webhook delivery to a local HTTP receiver (the
real sender: Standard Webhooks signature, guarded connection, pooled HTTP/1.1), then runs
the webhook loop and measures deliveries per second, the time from queueing to the
receiver's answer (p50 / p99 / max), and the process's resident memory. A second round
has the receiver answer 503 to every first try, to measure the retry path.

    python -m bench.notifications_delivery [--n 3000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from bench.one_service import scratch_database
from notifications.dispatcher import Dispatcher
from notifications.models import OUTBOX, Delivery, Endpoint, Notification, Recipient
from notifications.senders import build_senders
from notifications.settings import NotificationsSettings
from notifications.webhooks import new_secret
from services.broker import free_port
from services.bus import Outbox
from services.db import Database, migrate
from services.settings import KitSettings

ROOT = Path(__file__).resolve().parents[1]


_SEEN: set[str] = set()


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The webhook receiver (run by uvicorn in its own process): 204, or 503 on the first
    try of each webhook-id when ``BENCH_FAIL_FIRST`` is set."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    msg = dict(scope["headers"]).get(b"webhook-id", b"").decode()
    fail = bool(os.environ.get("BENCH_FAIL_FIRST")) and msg not in _SEEN
    _SEEN.add(msg)
    headers = [(b"retry-after", b"0")] if fail else []
    await send({"type": "http.response.start", "status": 503 if fail else 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


class Receiver:
    """uvicorn serving ``receiver_app`` on a free port, in a separate process."""

    def __init__(self, fail_first: bool) -> None:
        self.port = free_port()
        env = {**os.environ, "BENCH_FAIL_FIRST": "1" if fail_first else ""}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.notifications_delivery:receiver_app",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise TimeoutError("receiver did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def fill(db: Database, n: int, target: str) -> None:
    now = datetime.now(UTC)
    secret = new_secret()
    with db.session() as session:
        session.add(
            Endpoint(
                id="bench",
                owner_kind="agency",
                owner_id="pemda-32.73",
                kind="webhook",
                target=target,
                secrets=json.dumps([{"secret": secret, "expires_at": None}]),
                created_at=now,
                updated_at=now,
            )
        )
        for i in range(n):
            rid, nid = str(uuid.uuid4()), uuid.uuid4().hex
            session.add(Recipient(report_id=rid, reporter_ref="r", tracking_number=f"{i:07d}"))
            session.add(
                Notification(
                    id=nid,
                    report_id=rid,
                    source_event_id=nid,
                    template="new_report",
                    audience="agency",
                    agency_id="pemda-32.73",
                    text="Aduan baru",
                    language="id",
                    status="shown",
                    created_at=now,
                    event_time=now,
                )
            )
            session.add(
                Delivery(
                    id=uuid.uuid4().hex,
                    notification_id=nid,
                    report_id=rid,
                    source_event_id=nid,
                    template="new_report",
                    audience="agency",
                    channel="webhook",
                    recipient="bench",
                    next_attempt_at=now,
                    created_at=now,
                    event_time=now,
                )
            )


async def run_round(url: str, n: int, fail_first: bool) -> dict[str, float]:
    receiver = Receiver(fail_first)
    settings = NotificationsSettings(
        webhook_allowed_networks=["127.0.0.0/8"],
        retry_base_seconds=0.05,
        retry_cap_seconds=0.2,
        tick_seconds=0.05,
        concurrency=16,
        batch=200,
    )
    migrate(url, ROOT / "notifications" / "migrations")
    db = Database(url)
    fill(db, n, f"http://127.0.0.1:{receiver.port}/hook")
    rt = SimpleNamespace(
        database=db,
        outbox=Outbox("notifications", KitSettings(), OUTBOX),
        wake_relay=lambda: None,
    )
    dispatcher = Dispatcher(settings, build_senders(settings))
    start = time.time()
    task = asyncio.create_task(dispatcher.run_channel(rt, "webhook"))  # type: ignore[arg-type]
    while True:
        with db.engine.connect() as conn:
            left = conn.execute(
                sa.text("SELECT count(*) FROM deliveries WHERE status <> 'sent'")
            ).scalar_one()
        if left == 0 or time.time() - start > 600:
            break
        await asyncio.sleep(0.05)
    settled = time.time() - start
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    receiver.stop()
    with db.engine.connect() as conn:
        sent = conn.execute(sa.text("SELECT sent_at FROM deliveries")).scalars().all()
    db.close()
    stamps = [
        (t if isinstance(t, datetime) else datetime.fromisoformat(str(t))).timestamp() for t in sent
    ]
    latencies = sorted(t - start for t in stamps)
    return {
        "n": n,
        "per_second": n / settled,
        "settled_s": settled,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL server (the bench creates and drops its own database); '' skips",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("sqlite", "postgres"):
            if name == "postgres" and not args.postgres:
                continue
            for fail_first in (False, True):
                if name == "postgres":
                    url = scratch_database(args.postgres, "aduan_bench_notifications")
                else:
                    Path(f"{tmp}/bench.sqlite3").unlink(missing_ok=True)
                    url = f"sqlite:///{tmp}/bench.sqlite3"
                r = asyncio.run(run_round(url, args.n, fail_first))
                label = "every first try 503" if fail_first else "all succeed"
                print(
                    f"notifications webhook {name:8s} {label:20s} n={r['n']} "
                    f"{r['per_second']:.0f}/s, start-to-sent p50 {r['p50_ms']:.0f} ms "
                    f"p99 {r['p99_ms']:.0f} ms max {r['max_ms']:.0f} ms, all settled in "
                    f"{r['settled_s']:.1f} s, RSS {r['rss_mb']:.0f} MB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
