"""The SLA service at scale: a million open deadlines.

Fills an SLA database with N open clocks (due over the next year) plus K clocks due
within the first seconds of the run, then starts the real SLA service (with the
embedded broker) on it and measures:

- start-up time, from process start to a healthy /health;
- resident memory (RSS) once started and after firing;
- how late each of the K deadlines fired after its time (p50 / p99 / max);
- the cost of the scheduler's due query and of the compliance report at that size.

    python -m bench.sla_scale [--open 1000000] [--due 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench import one_service, results
from services.db import migrate
from sla.models import Clock

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 50_000


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rows_for(n: int, due_of: Callable[[int], datetime]) -> list[dict[str, object]]:
    """Open first-response clocks, as the handlers write them."""
    now = datetime.now(UTC)
    agencies = [f"pemda-{p:02d}.{r:02d}" for p in range(11, 96, 3) for r in range(1, 20)]
    return [
        {
            "id": f"first_response:{uuid.uuid4()}",
            "report_id": str(uuid.uuid4()),
            "clock": "first_response",
            "agency_id": agencies[i % len(agencies)],
            "regency_code": agencies[i % len(agencies)][-5:],
            "timezone": "Asia/Jakarta",
            # Started over the last year (the compliance report's months and partial month).
            "starts_at": now - timedelta(days=i % 365, seconds=i % 86400),
            "due_at": due_of(i),
            "warn_at": None,
            "working_days": 5,
            "status": "open",
            "reason": "opened",
            "next_fire_at": due_of(i),
            "updated_at": now,
        }
        for i in range(n)
    ]


def fill(url: str, n_open: int) -> float:
    """Insert the far-off clocks; returns seconds taken."""
    migrate(url, ROOT / "sla" / "migrations")
    engine = sa.create_engine(url)
    table = Clock.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    started = time.perf_counter()
    year = 31_536_000
    with engine.begin() as conn:
        for start in range(0, n_open, CHUNK):
            n = min(CHUNK, n_open - start)
            conn.execute(
                table.insert(),
                rows_for(
                    n,
                    lambda i, s=start: (
                        now + timedelta(days=2, seconds=((s + i) * year) // max(n_open, 1))
                    ),
                ),
            )
    engine.dispose()
    one_service.tidy(url)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=2000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temp folder")
    parser.add_argument("--postgres", default="", help="a scratch database on this server")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        one_service.database("sla", tmp, args.postgres, args.database_url) as url,
    ):
        print(f"filling {args.open:,} open clocks ...", flush=True)
        took = fill(url, args.open)
        print(f"  inserted in {took:.1f} s")

        with one_service.running("sla", url, tmp, {"SLA_GAUGE_SECONDS": "5"}) as (
            proc,
            base,
            startup,
        ):
            rss_started = rss_mb(proc.pid)
            print(f"start-up to healthy: {startup:.2f} s; RSS {rss_started:.0f} MB")

            since = (datetime.now(UTC) - timedelta(days=10)).isoformat()
            for name, params in (
                ("by agency", {}),
                ("by province", {"by": "region"}),
                ("by agency, since 10 days ago", {"since": since}),
            ):
                httpx.get(f"{base}/v1/compliance", params=params, timeout=120).raise_for_status()
                took = []
                for _ in range(30):
                    t = time.perf_counter()
                    compliance = httpx.get(f"{base}/v1/compliance", params=params, timeout=120)
                    took.append((time.perf_counter() - t) * 1000)
                took.sort()
                print(
                    f"GET /v1/compliance {name} over {args.open:,} clocks: p50 "
                    f"{statistics.median(took):.1f} ms, p99 {took[-1]:.1f} ms "
                    f"({len(compliance.json())} rows)"
                )
                results.record(
                    f"compliance.{one_service.kind(url)}.GET /v1/compliance {name}", took[-1]
                )
            # The clocks due during the run, spread over ten seconds from 5 s on.
            first_due = datetime.now(UTC) + timedelta(seconds=5)
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(
                    Clock.__table__.insert(),  # type: ignore[attr-defined]
                    rows_for(
                        args.due,
                        lambda i: first_due + timedelta(seconds=10 * i / max(args.due, 1)),
                    ),
                )
            print(f"{args.due:,} clocks due over the next 5-15 s ...", flush=True)
            time.sleep(19)
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT due_at, breached_at FROM clocks WHERE due_at <= :end "
                        "AND breached_at IS NOT NULL"
                    ),
                    {"end": first_due + timedelta(seconds=11)},
                ).all()
                due = (
                    sa.select(Clock.id)  # type: ignore[call-overload]
                    .where(Clock.next_fire_at <= datetime.now(UTC) + timedelta(days=3))
                    .order_by(Clock.next_fire_at)
                    .limit(500)
                )
                conn.execute(due).all()  # warm
                t = time.perf_counter()
                conn.execute(due).all()
                due_query_ms = (time.perf_counter() - t) * 1000
            engine.dispose()

            def parse(v: object) -> datetime:
                d = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
                return d if d.tzinfo else d.replace(tzinfo=UTC)

            lateness = sorted((parse(b) - parse(d)).total_seconds() for d, b in rows)
            print(f"fired {len(rows):,} of {args.due:,} due clocks")
            if lateness:
                p99 = lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))]
                print(
                    f"firing lateness: p50 {statistics.median(lateness) * 1000:.0f} ms, "
                    f"p99 {p99 * 1000:.0f} ms, max {lateness[-1] * 1000:.0f} ms"
                )
            print(f"due query (500 rows) at this size: {due_query_ms:.1f} ms")
            print(f"RSS after firing: {rss_mb(proc.pid):.0f} MB")


if __name__ == "__main__":
    main()
