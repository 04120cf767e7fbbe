"""One service's CPU per report, without the other services, the broker or the web.

``bench.pipeline`` measures every process at once, on two shared cores: a change to one
service moves its figure by less than the noise. This replays the events a real run
produced into one service's inbox consumer, in-process, and measures only that:

    python -m bench.replay capture --reports 300 --out var/bench/events.pickle
    python -m bench.replay run notifications [--events var/bench/events.pickle]
        [--batch 50] [--profile out.prof] [--postgres URL]

``capture`` runs the whole platform (SQLite, the embedded broker), posts the reports,
waits until they are routed and their notices are out, and keeps every record of every
topic with the text keys that sealed them. ``run`` migrates a scratch database, starts
the service's start-up hooks (the directory, the calendar), then applies the recorded
events of the service's input topics in the order they were produced, in batches as the
consumer takes them, and prints the CPU seconds spent per report (this process only: the
writer thread and the consumer's decoding; the outbox relay does not run).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib
import os
import pickle
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench import results
from bench.one_service import database
from services import catalog, sealing
from services.launcher import Platform
from services.settings import KitSettings

DEFAULT = Path("var/bench/events.pickle")


def dump_topics(bootstrap: str, namespace: str) -> list[dict[str, Any]]:
    """Every record of every topic of the namespace (dead letters excepted)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    meta = admin.list_topics(timeout=10)
    parts = [
        TopicPartition(name, p, OFFSET_BEGINNING)
        for name, topic in meta.topics.items()
        if name.startswith(f"{namespace}.") and not name.endswith(".dlq")
        for p in topic.partitions
    ]
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"replay-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 50,
        }
    )
    consumer.assign(parts)
    records: list[dict[str, Any]] = []
    left = {(tp.topic, tp.partition) for tp in parts}
    quiet = time.monotonic()
    while left and time.monotonic() - quiet < 10:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        quiet = time.monotonic()
        if msg.error():
            left.discard((msg.topic(), msg.partition()))
            continue
        records.append(
            {
                "topic": msg.topic(),
                "partition": msg.partition(),
                "offset": msg.offset(),
                "key": msg.key(),
                "value": msg.value(),
                "headers": tuple(msg.headers() or ()),
                "timestamp": msg.timestamp()[1],
            }
        )
    consumer.close()
    return records


def capture(reports: int, out: Path) -> None:
    from bench.pipeline import LOAD_ENV, post_reports, routed_times

    keys = sealing.new_key_spec()
    namespace = f"replay{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(
            var_dir=Path(tmp),
            namespace=namespace,
            extra_env={**LOAD_ENV, "ADUAN_TEXT_KEYS": keys},
        )
        platform.start()
        try:
            assert platform.bootstrap
            intakes = [i.url for i in platform.instances if i.service == "intake"]
            posted = asyncio.run(post_reports(intakes, reports, 40.0))
            routed = routed_times(platform, {r for r, _ in posted}, timeout=300)
            time.sleep(8)  # the SLA's clocks and the notices follow routing
            records = dump_topics(platform.bootstrap, namespace)
        finally:
            platform.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        pickle.dump(
            {"namespace": namespace, "keys": keys, "reports": len(routed), "records": records}, f
        )
    print(f"captured {len(records)} records of {len(routed)} routed reports into {out}")


class Refused:
    """Stands for the dead-letter topic: a replay with a failed event is not a measure."""

    def send(self, msg: Any, exc: BaseException) -> None:
        raise SystemExit(f"{msg.topic}@{msg.offset} failed: {exc!r}")


def run(
    service: str, events: Path, batch: int, profile: str, postgres: str, show_rows: bool
) -> None:
    with events.open("rb") as f:
        data = pickle.load(f)
    os.environ["ADUAN_TEXT_KEYS"] = data["keys"]
    os.environ["ADUAN_NAMESPACE"] = data["namespace"]
    os.environ["ADUAN_LOG_LEVEL"] = "WARNING"
    from services import bus
    from services.db import Database, migrate
    from services.runtime import ServiceRuntime

    with tempfile.TemporaryDirectory() as tmp, database(service, tmp, postgres) as url:
        os.environ[f"{service.upper()}_DATABASE_URL"] = url
        os.environ["ADUAN_VAR_DIR"] = tmp
        definition = importlib.import_module(f"{service}.app").build()
        kit = KitSettings(kafka_bootstrap_servers="127.0.0.1:9", aduan_namespace=data["namespace"])
        inputs = {
            t.full_name(kit)
            for t in catalog.inputs_of(service)
            if any(et in definition.handlers for et in t.event_types)
        }
        messages = sorted(
            (r for r in data["records"] if r["topic"] in inputs),
            key=lambda r: (r["timestamp"], r["topic"], r["offset"]),
        )
        migrate(url, definition.migrations)
        runtime = ServiceRuntime(definition, kit)
        db = Database(url)
        runtime.db = db
        consumer = bus.InboxConsumer(
            service,
            db,
            runtime.outbox,
            definition.inbox_table,
            definition.handlers,
            Refused(),  # type: ignore[arg-type]
            on_commit=lambda: None,
        )

        async def go() -> float:
            for hook in definition.startup:
                await hook(runtime)
            raw = [
                bus.RawMessage(
                    topic=r["topic"],
                    partition=r["partition"],
                    offset=r["offset"],
                    key=r["key"],
                    value=r["value"],
                    headers=r["headers"],
                )
                for r in messages
            ]
            if profile:
                # The handlers run on the database's writer thread: profile them there.
                prof = cProfile.Profile()
                apply = consumer._apply

                def profiled(*args: Any) -> Any:
                    return prof.runcall(apply, *args)

                consumer._apply = profiled  # type: ignore[method-assign,assignment]
            # As a service does after start-up (services.runtime): out of the collector's way.
            gc.collect()
            gc.freeze()
            cpu0 = time.process_time()
            for i in range(0, len(raw), batch):
                await consumer.process(raw[i : i + batch])
            cpu = time.process_time() - cpu0
            if profile:
                prof.dump_stats(profile)
            return cpu

        async def dispatch() -> float:
            # Notifications then sends what its handlers queued: every channel's rounds
            # (claim, prepare, start, send, settle) until none is left; the senders are
            # the ones a platform without a gateway has (the log, as in bench.pipeline).
            import logging

            from notifications.dispatcher import CHANNELS

            logging.getLogger("notifications").setLevel(logging.WARNING)
            dispatcher = definition.extra["dispatcher"]
            limit = asyncio.Semaphore(dispatcher.settings.concurrency)
            cpu0 = time.process_time()
            for channel in CHANNELS:
                sender = dispatcher.senders[channel]
                while await dispatcher.round(runtime, channel, sender, limit):
                    pass
            return time.process_time() - cpu0

        cpu = asyncio.run(go())
        sent = asyncio.run(dispatch()) if service == "notifications" else None
        if show_rows:
            # What the replay left, to compare two versions of a service by.
            with db.engine.connect() as conn:
                for table in definition.metadata.sorted_tables:
                    n = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                    print(f"  {table.name}: {n} rows")
        db.engine.dispose()
    per = cpu * 1000 / data["reports"]
    print(
        f"{service}: {len(messages)} events of {data['reports']} reports in {cpu:.2f} s of CPU: "
        f"{per:.2f} ms per report, {cpu * 1000 / max(len(messages), 1):.3f} ms per event"
    )
    results.record(f"replay.{service}.cpu_ms", per)
    if sent is not None:
        per = sent * 1000 / data["reports"]
        print(f"notifications' dispatcher: {sent:.2f} s of CPU: {per:.2f} ms per report")
        results.record("replay.notifications.dispatch_cpu_ms", per)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    cap = sub.add_parser("capture")
    cap.add_argument("--reports", type=int, default=300)
    cap.add_argument("--out", type=Path, default=DEFAULT)
    rep = sub.add_parser("run")
    # Intake is left out: its events are about reports that only its POSTs create.
    rep.add_argument("service", choices=("verification", "routing", "sla", "notifications"))
    rep.add_argument("--events", type=Path, default=DEFAULT)
    rep.add_argument("--batch", type=int, default=50)
    rep.add_argument("--profile", default="")
    rep.add_argument("--postgres", default="")
    rep.add_argument("--rows", action="store_true", help="print each table's row count after")
    args = parser.parse_args()
    if args.command == "capture":
        capture(args.reports, args.out)
    else:
        run(args.service, args.events, args.batch, args.profile, args.postgres, args.rows)


if __name__ == "__main__":
    main()
