"""Drive reports through the running platform and measure it.

Prints, from one run on this machine:
- the raw broker's produce and consume throughput (confluent-kafka, ~1 KB messages),
- sustained reports per second from POST to routed (a burst of N reports),
- end-to-end latency p50/p99 from POST to routed at a fixed offered rate,
- where the time goes per hop (from the events' own timestamps).

    python -m bench.pipeline [--reports 3000] [--rate 200] [--seconds 20]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--instances intake=2]

``--postgres`` runs every service on its own scratch database of that server (created and
dropped by the bench) instead of SQLite files; ``--instances`` starts several instances of
a stage (``all=2`` for every stage): they share the stage's partitions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench import results
from bench.cpu import platform_cpu, postgres_cpu
from bench.one_service import drop_database, scratch_database
from services.launcher import Platform


def raw_broker(bootstrap: str, n: int = 100_000) -> tuple[float, float]:
    """Produce then consume ``n`` ~1 KB messages; messages per second each way."""
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])[topic].result(10)
    value = json.dumps({"x": "a" * 1000}).encode()
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
    )
    t0 = time.perf_counter()
    for i in range(n):
        while True:
            try:
                producer.produce(topic, key=str(i % 1000).encode(), value=value)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(60)
    produce_rate = n / (time.perf_counter() - t0)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": topic,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 3000,
            "heartbeat.interval.ms": 500,
            "fetch.wait.max.ms": 20,
        }
    )
    consumer.subscribe([topic])
    got, t0 = 0, 0.0
    while got < n:
        msgs = consumer.consume(10_000, timeout=1.0)
        if msgs and not t0:
            t0 = time.perf_counter()
        got += len(msgs)
    consume_rate = n / (time.perf_counter() - t0)
    consumer.close()
    return produce_rate, consume_rate


REPORT = {
    "title": "Jalan berlubang di depan pasar",
    "body": "Jalan Cikutra di depan Pasar Cicadas berlubang besar sejak dua minggu lalu "
    "dan sudah menyebabkan dua pengendara motor jatuh pada malam hari.",
    "category": "infrastruktur",
    "regency_code": "32.73",
    "reporter": {"email": "warga@example.id"},
}


async def post_reports(
    url: str | list[str], n: int, rate: float | None, concurrency: int = 64
) -> list[tuple[str, float]]:
    """POST ``n`` reports (at ``rate`` per second, or as fast as possible), spread in
    turn over the given intake instances."""
    out: list[tuple[str, float]] = []
    bases = [url] if isinstance(url, str) else url
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, limits=limits, timeout=60)
            )
            for base in bases
        ]
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            client = clients[i % len(clients)]
            async with sem:
                started = time.time()
                key = uuid.uuid4().hex
                for attempt in range(5):
                    try:
                        r = await client.post(
                            "/v1/reports", json=REPORT, headers={"idempotency-key": key}
                        )
                        r.raise_for_status()
                        break
                    except httpx.TransportError:
                        # A keep-alive connection closed under us: safe to retry (same key).
                        if attempt == 4:
                            raise
                out.append((r.json()["report_id"], started))

        tasks = []
        t0 = time.perf_counter()
        for i in range(n):
            if rate:
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return out


def routed_times(platform: Platform, ids: set[str], timeout: float) -> dict[str, datetime]:
    """Wait until every report is routed; the routing time of each, from routing's DB."""
    engine = sa.create_engine(platform.database_url("routing"))
    deadline = time.monotonic() + timeout
    found: dict[str, datetime] = {}
    while time.monotonic() < deadline and len(found) < len(ids):
        with engine.connect() as conn:
            for rid, at in conn.execute(sa.text("SELECT report_id, routed_at FROM routings")):
                if rid in ids:
                    found[rid] = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        time.sleep(0.2)
    engine.dispose()
    return found


def settle(platform: Platform, reports: int, timeout: float) -> float:
    """Wait until notifications has told the reporter of every report routed (both
    phases) that it was, and has sent every delivery; then two seconds for intake to take
    the last texts. Returns the seconds waited."""
    engine = sa.create_engine(platform.database_url("notifications"))
    told = sa.text("SELECT count(*) FROM notifications WHERE template = 'routed'")
    queued = sa.text("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')")
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with engine.connect() as conn:
            if conn.execute(told).scalar_one() >= reports and not conn.execute(queued).scalar():
                break
        time.sleep(0.5)
    engine.dispose()
    time.sleep(2)
    return time.monotonic() - started


def hop_times(platform: Platform, ids: list[str]) -> dict[str, list[float]]:
    """Seconds per hop, from the timestamps each service recorded."""

    def times(service: str, sql: str) -> dict[str, float]:
        engine = sa.create_engine(platform.database_url(service))
        with engine.connect() as conn:
            rows = conn.execute(sa.text(sql)).all()
        engine.dispose()
        return {r[0]: _ts(r[1]) for r in rows}

    sub = times("intake", "SELECT id, submitted_at FROM reports")
    ver = times("verification", "SELECT report_id, decided_at FROM decisions")
    rou = times("routing", "SELECT report_id, routed_at FROM routings")
    hops: dict[str, list[float]] = {"intake->verification": [], "verification->routing": []}
    for rid in ids:
        if rid in sub and rid in ver and rid in rou:
            hops["intake->verification"].append(ver[rid] - sub[rid])
            hops["verification->routing"].append(rou[rid] - ver[rid])
    return hops


def _ts(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    text = str(value)
    return datetime.fromisoformat(text if "+" in text[10:] else text + "+00:00").timestamp()


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (0-100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


SERVICES = ("intake", "verification", "routing", "sla", "notifications")
# Every report here is the same text from one address: the duplicate and flood checks
# would hold them all (their cost with 500 candidates is measured in
# bench.verification_checks), and the rate limits would refuse most.
LOAD_ENV = {
    "VERIFICATION_DUPLICATE_WINDOW_DAYS": "0",
    "VERIFICATION_FLOOD_PER_HOUR": "1000000",
    "INTAKE_RATE_PER_IP_PER_MINUTE": "1000000000",
    "INTAKE_RATE_PER_PHONE_PER_HOUR": "1000000000",
}


def scratch_databases(server: str, namespace: str) -> dict[str, str]:
    """One new database per service on a PostgreSQL server; their URLs."""
    return {
        service: sa.make_url(scratch_database(server, f"{namespace}_{service}"))
        .set(drivername="postgresql+psycopg")
        .render_as_string(hide_password=False)
        for service in SERVICES
    }


def instance_counts(spec: str) -> dict[str, int]:
    """``intake=2,sla=2`` or ``all=2``: instances per stage."""
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, n = part.partition("=")
        for service in SERVICES if name == "all" else (name,):
            if service not in SERVICES:
                raise SystemExit(f"unknown stage {service!r}")
            counts[service] = int(n)
    return counts


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=3000, help="burst size for throughput")
    parser.add_argument("--rate", type=float, default=200.0, help="offered rate for latency")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of latency run")
    parser.add_argument("--raw", type=int, default=100_000, help="raw broker messages")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server (default: SQLite)")
    parser.add_argument("--instances", default="", help="e.g. intake=2 or all=2")
    args = parser.parse_args()
    namespace = f"bench{uuid.uuid4().hex[:6]}"
    urls = scratch_databases(args.postgres, namespace) if args.postgres else None
    counts = instance_counts(args.instances)
    print(
        f"pipeline on {'PostgreSQL' if urls else 'SQLite'}, instances "
        + ", ".join(f"{s} {counts.get(s, 1)}" for s in SERVICES)
    )
    try:
        run(args, namespace, urls, counts)
    finally:
        for url in (urls or {}).values():
            drop_database(args.postgres, str(sa.make_url(url).database))


def run(
    args: argparse.Namespace,
    namespace: str,
    urls: dict[str, str] | None,
    counts: dict[str, int],
) -> None:
    """One sitting: the raw broker, latency at a rate, then a burst."""
    key = "pipeline." + ("postgres" if urls else "sqlite")
    key += f".{args.instances.replace(' ', '')}" if args.instances else ""
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(
            var_dir=Path(tmp),
            namespace=namespace,
            database_urls=urls,
            instances=counts,
            extra_env=LOAD_ENV,
        )
        platform.start()
        try:
            assert platform.bootstrap
            intakes = [i.url for i in platform.instances if i.service == "intake"]
            if args.raw:
                prod, cons = raw_broker(platform.bootstrap, args.raw)
                print(f"raw broker: produce {prod:,.0f} msg/s, consume {cons:,.0f} msg/s (1 KB)")
                results.record("raw.produce", prod)
                results.record("raw.consume", cons)

            # Latency at a fixed offered rate.
            n = int(args.rate * args.seconds)
            posted = asyncio.run(post_reports(intakes, n, args.rate))
            routed = routed_times(platform, {r for r, _ in posted}, timeout=120)
            lat = [routed[r].timestamp() - t for r, t in posted if r in routed]
            print(
                f"latency at {args.rate:.0f} reports/s for {args.seconds:.0f}s: "
                f"{len(lat)}/{n} routed, POST->routed p50 {pct(lat, 50) * 1000:.0f} ms, "
                f"p99 {pct(lat, 99) * 1000:.0f} ms"
            )
            results.record(f"{key}.p99_at_{args.rate:g}", pct(lat, 99) * 1000)
            for hop, vals in hop_times(platform, [r for r, _ in posted]).items():
                print(
                    f"  {hop}: p50 {pct(vals, 50) * 1000:.0f} ms, p99 {pct(vals, 99) * 1000:.0f} ms"
                )

            # Sustained throughput: a burst, from the first POST to the last routed. Its
            # CPU is counted from when the latency run's notices are done.
            settle(platform, n, timeout=600)
            cpu0 = {**platform_cpu(platform), **({"postgres": postgres_cpu()} if urls else {})}
            t0 = time.time()
            posted = asyncio.run(post_reports(intakes, args.reports, None))
            post_done = time.time()
            routed = routed_times(platform, {r for r, _ in posted}, timeout=600)
            last = max(v.timestamp() for v in routed.values()) if routed else time.time()
            print(
                f"throughput: {len(routed)}/{args.reports} reports POST->routed in "
                f"{last - t0:.1f}s = {len(routed) / (last - t0):,.0f} reports/s "
                f"(POSTs alone: {args.reports / (post_done - t0):,.0f}/s)"
            )
            # What follows routing (the notices and their emails, intake taking their
            # texts) is part of each report's cost: measured once it is done.
            settled = settle(platform, n + len(routed), timeout=300)
            print(f"  notices settled {settled:.1f} s after the last report was routed")
            cpu1 = {**platform_cpu(platform), **({"postgres": postgres_cpu()} if urls else {})}
            cpu = {k: v - cpu0.get(k, 0.0) for k, v in cpu1.items()}
            per = sum(cpu.values()) * 1000 / max(len(routed), 1)
            parts = ", ".join(f"{k} {v * 1000 / max(len(routed), 1):.1f}" for k, v in cpu.items())
            print(f"  CPU per report, every process: {per:.1f} ms ({parts}); aim <= 8 ms")
            results.record(f"{key}.throughput", len(routed) / (last - t0))
            results.record(f"{key}.cpu_ms", per)
            lat = [routed[r].timestamp() - t for r, t in posted if r in routed]
            print(
                f"  burst latency p50 {pct(lat, 50):.2f} s, p99 {pct(lat, 99):.2f} s; "
                f"mean {statistics.fmean(lat) if lat else float('nan'):.2f} s"
            )
        finally:
            platform.stop()


if __name__ == "__main__":
    main()
