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
import http.server
import json
import resource
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from notifications.dispatcher import Dispatcher
from notifications.models import OUTBOX, Delivery, Endpoint, Notification, Recipient
from notifications.senders import build_senders
from notifications.settings import NotificationsSettings
from notifications.webhooks import new_secret
from services.bus import Outbox
from services.db import Database, migrate
from services.settings import KitSettings

ROOT = Path(__file__).resolve().parents[1]


class Receiver:
    """A threading HTTP server that records when each webhook-id first succeeded."""

    def __init__(self, fail_first: bool) -> None:
        self.done: dict[str, float] = {}
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                msg = self.headers.get("webhook-id", "")
                with outer.lock:
                    first = msg not in outer.seen
                    outer.seen.add(msg)
                    ok = not (fail_first and first)
                    if ok:
                        outer.done.setdefault(msg, time.time())
                self.send_response(204 if ok else 503)
                if not ok:
                    self.send_header("retry-after", "0")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def fill(db: Database, n: int, target: str) -> dict[str, float]:
    now = datetime.now(UTC)
    secret = new_secret()
    queued: dict[str, float] = {}
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
            queued[nid] = now.timestamp()
    return queued


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
    queued = fill(db, n, f"http://127.0.0.1:{receiver.port}/hook")
    rt = SimpleNamespace(
        database=db,
        outbox=Outbox("notifications", KitSettings(), OUTBOX),
        wake_relay=lambda: None,
    )
    dispatcher = Dispatcher(settings, build_senders(settings))
    start = time.time()
    task = asyncio.create_task(dispatcher.run_channel(rt, "webhook"))  # type: ignore[arg-type]
    while len(receiver.done) < n and time.time() - start < 600:
        await asyncio.sleep(0.05)
    took = time.time() - start
    # Wait for the last settlements, then stop.
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
    receiver.server.shutdown()
    latencies = sorted(receiver.done[k] - queued[k] for k in receiver.done)
    db.close()
    return {
        "n": n,
        "per_second": n / took,
        "settled_s": settled,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--database-url", help="PostgreSQL URL (a scratch database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"sqlite": f"sqlite:///{tmp}/bench.sqlite3"}
        if args.database_url:
            urls["postgres"] = args.database_url
        for name, url in urls.items():
            for fail_first in (False, True):
                if name == "postgres":
                    engine = sa.create_engine(url)
                    with engine.begin() as conn:
                        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                    engine.dispose()
                else:
                    Path(f"{tmp}/bench.sqlite3").unlink(missing_ok=True)
                r = asyncio.run(run_round(url, args.n, fail_first))
                label = "every first try 503" if fail_first else "all succeed"
                print(
                    f"notifications webhook {name:8s} {label:20s} n={r['n']} "
                    f"{r['per_second']:.0f}/s, queued-to-delivered p50 {r['p50_ms']:.0f} ms "
                    f"p99 {r['p99_ms']:.0f} ms max {r['max_ms']:.0f} ms, all settled in "
                    f"{r['settled_s']:.1f} s, RSS {r['rss_mb']:.0f} MB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
