"""Intake on its own: how many reports a second its API accepts.

Starts the embedded broker and intake alone (SQLite unless ``--database-url``), then POSTs
``--reports`` reports as fast as ``--clients`` client processes can send them (each with
``--concurrency`` requests in flight, a new idempotency key per report), and prints the
accepted rate, the latency of a POST and intake's CPU per POST (from ``/proc``).
Intake's relay publishes every accepted report to the broker meanwhile, as it does in
the platform; nothing consumes them.

    python -m bench.intake_posts [--reports 4000] [--clients 2] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time

import httpx

from bench import results
from bench.cpu import cpu_seconds
from bench.one_service import running
from bench.pipeline import REPORT, pct
from services import sealing


def _client(base: str, n: int, concurrency: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    async def go() -> list[float]:
        took: list[float] = []
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
            sem = asyncio.Semaphore(concurrency)

            async def one(i: int) -> None:
                async with sem:
                    started = time.perf_counter()
                    r = await client.post(
                        "/v1/reports", json=REPORT, headers={"idempotency-key": f"{i}-{started}"}
                    )
                    r.raise_for_status()
                    took.append(time.perf_counter() - started)

            await asyncio.gather(*(one(i) for i in range(n)))
        return took

    out.put(asyncio.run(go()))


def main() -> None:
    """Run it and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", help="default: a SQLite file in a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/intake.sqlite3"
        env = {
            "ADUAN_TEXT_KEYS": sealing.new_key_spec(),
            "INTAKE_RATE_PER_IP_PER_MINUTE": "1000000000",
            "INTAKE_RATE_PER_PHONE_PER_HOUR": "1000000000",
        }
        with running("intake", url, tmp, env) as (proc, base, _):
            for i in range(20):  # warm: the first requests load the areas and the keys
                httpx.post(f"{base}/v1/reports", json=REPORT, headers={"idempotency-key": f"w{i}"})
            queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
            each = args.reports // args.clients
            cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
            clients = [
                multiprocessing.Process(target=_client, args=(base, each, args.concurrency, queue))
                for _ in range(args.clients)
            ]
            for c in clients:
                c.start()
            took = [t for _ in clients for t in queue.get()]
            elapsed = time.perf_counter() - t0
            cpu = cpu_seconds(proc.pid) - cpu0
            for c in clients:
                c.join()
            db = url.split(":")[0]
            print(
                f"intake alone ({db}): {len(took)} POSTs in {elapsed:.1f} s = "
                f"{len(took) / elapsed:,.0f} POST/s; POST p50 {pct(took, 50) * 1000:.0f} ms, "
                f"p99 {pct(took, 99) * 1000:.0f} ms (mean {statistics.fmean(took) * 1000:.0f}); "
                f"intake CPU {cpu * 1000 / len(took):.2f} ms per POST; aim >= 1,000 POST/s"
            )
            if db == "sqlite":
                results.record("intake.posts", len(took) / elapsed)


if __name__ == "__main__":
    main()
