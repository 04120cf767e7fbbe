"""The bare faust hop: one agent built with the kit's settings, forwarding A -> B.

What the stream layer allows before any service code runs: ~1 KB messages are produced
to topic A (confluent-kafka), one faust worker process (``services.bus.make_faust_app``
and the kit's batching stream) forwards each to topic B, and a confluent consumer counts
them on B. Prints messages per second, the CPU the worker used per message (from
``/proc``), and latency per hop at a fixed offered rate.

    python -m bench.faust_hop [--messages 20000] [--rate 1000] [--bootstrap HOST:PORT]

``BENCH_PROFILE=FILE`` runs the worker under py-spy and writes its raw profile to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench import results
from bench.cpu import cpu_seconds
from services import bus
from services.broker import EmbeddedBroker
from services.settings import BrokerProfile, KitSettings


def worker(bootstrap: str, source: str, sink: str) -> None:
    """Run one faust worker that forwards every message from ``source`` to ``sink``."""
    kit = KitSettings(
        kafka_bootstrap_servers=bootstrap,
        aduan_broker_profile=BrokerProfile.tansu,
        aduan_namespace="bench",
    )
    app = bus.make_faust_app(f"hop-{source}", kit)
    src = app.topic(source, key_type=bytes, value_type=bytes, value_serializer="raw")
    dst = app.topic(sink, key_type=bytes, value_type=bytes, value_serializer="raw")

    async def forward(stream: Any) -> None:
        async for events in stream.take_batches(kit.aduan_batch_max, kit.aduan_batch_within):
            sent = [await dst.send(key=ev.message.key, value=ev.message.value) for ev in events]
            await asyncio.gather(*sent)

    app.agent(src, name="hop")(forward)

    async def main() -> None:
        await app.start()
        await asyncio.Event().wait()

    bus.use_uvloop()  # as services.serve does
    asyncio.run(main())


def _topics(bootstrap: str) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    source, sink = f"hop-a-{tag}", f"hop-b-{tag}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics(
        [NewTopic(t, num_partitions=4, replication_factor=1) for t in (source, sink)]
    ).values():
        f.result(10)
    return source, sink


def _producer(bootstrap: str) -> Producer:
    return Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 2}
    )


def _consumer(bootstrap: str, sink: str) -> Consumer:
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{sink}-count",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 3000,
            "heartbeat.interval.ms": 500,
            "fetch.wait.max.ms": 10,
        }
    )
    c.subscribe([sink])
    return c


def _produce(producer: Producer, topic: str, key: bytes, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.01)


def measure(
    bootstrap: str, messages: int, rate: float, broker_pid: int | None = None
) -> dict[str, float]:
    """Throughput, CPU per message, and latency at ``rate``, with a fresh worker."""
    source, sink = _topics(bootstrap)
    command = [sys.executable, "-m", "bench.faust_hop", "--worker", bootstrap, source, sink]
    if os.environ.get("BENCH_PROFILE"):  # py-spy's profile of the worker, to that file
        command = [
            "py-spy",
            "record",
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            os.environ["BENCH_PROFILE"],
            "--",
            *command,
        ]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    producer, consumer = _producer(bootstrap), _consumer(bootstrap, sink)
    try:
        # Warm up until the worker forwards (it has joined its group).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _produce(producer, source, b"warm", b"{}")
            producer.flush(5)
            if consumer.consume(100, timeout=1.0):
                break
        else:
            raise RuntimeError("the faust worker never forwarded a message")
        while consumer.consume(1000, timeout=0.5):
            pass
        value = json.dumps({"x": "a" * 1000}).encode()
        cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        bcpu0 = cpu_seconds(broker_pid) if broker_pid else 0.0
        own0 = time.process_time()
        for i in range(messages):
            _produce(producer, source, str(i % 1000).encode(), value)
        producer.flush(60)
        got = 0
        while got < messages and time.perf_counter() - t0 < 300:
            got += len(consumer.consume(10_000, timeout=1.0))
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        bcpu = (cpu_seconds(broker_pid) - bcpu0) if broker_pid else float("nan")
        own = time.process_time() - own0
        # Latency: each message carries its send time; offered at ``rate`` for 5 s.
        latencies: list[float] = []
        n = int(rate * 5)
        start = time.perf_counter()
        for i in range(n):
            due = start + i / rate
            while (now := time.perf_counter()) < due:
                consumer_msgs = consumer.consume(500, timeout=max(0.0, min(0.002, due - now)))
                latencies += _latencies(consumer_msgs)
            _produce(producer, source, str(i).encode(), json.dumps({"t": time.time()}).encode())
        producer.flush(10)
        end = time.perf_counter() + 10
        while len(latencies) < n and time.perf_counter() < end:
            latencies += _latencies(consumer.consume(500, timeout=0.2))
        latencies.sort()
        return {
            "rate": got / elapsed,
            "forwarded": got,
            "cpu_ms_per_msg": cpu * 1000 / max(got, 1),
            "broker_cpu_ms_per_msg": bcpu * 1000 / max(got, 1),
            "client_cpu_ms_per_msg": own * 1000 / max(got, 1),
            "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else float("nan"),
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan"),
        }
    finally:
        consumer.close()
        proc.send_signal(signal.SIGINT if os.environ.get("BENCH_PROFILE") else signal.SIGKILL)
        proc.wait(30)


def _latencies(msgs: list[Any]) -> list[float]:
    now, out = time.time(), []
    for m in msgs:
        if m.error() is None:
            body = json.loads(m.value())
            if "t" in body:
                out.append(now - body["t"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument("--worker", nargs=3, metavar=("BOOTSTRAP", "SOURCE", "SINK"))
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    broker = None
    if args.bootstrap is None:
        broker = EmbeddedBroker()
        broker.start()
    try:
        r = measure(
            args.bootstrap or broker.bootstrap,
            args.messages,
            args.rate,
            broker.proc.pid if broker else None,
        )  # type: ignore[union-attr]
    finally:
        if broker is not None:
            broker.stop()
    print(
        f"bare faust hop (kit settings): {r['rate']:,.0f} msg/s "
        f"({r['forwarded']:.0f} forwarded), {r['cpu_ms_per_msg']:.3f} ms CPU per message "
        f"(broker {r['broker_cpu_ms_per_msg']:.3f}, "
        f"bench client {r['client_cpu_ms_per_msg']:.3f}); "
        f"at {args.rate:.0f} msg/s p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms per hop"
    )
    results.record("hop.rate", r["rate"])


if __name__ == "__main__":
    main()
