"""Reading and writing topics directly, for tests."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer


@dataclass
class Record:
    """A message read back from a topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]


def read_topic(
    bootstrap: str,
    topic: str | list[str],
    expect: int | None = None,
    idle: float = 3.0,
    timeout: float = 30,
) -> list[Record]:
    """Every message on a topic (or on several at once: one group join, one idle wait),
    from the start, with a fresh consumer group.

    Stops after ``expect`` messages, or when nothing arrives for ``idle`` seconds
    (Tansu's ListOffsets(LATEST) is wrong, so the log end cannot be asked for).
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 3000,
            "heartbeat.interval.ms": 500,
            "fetch.wait.max.ms": 20,
        }
    )
    consumer.subscribe([topic] if isinstance(topic, str) else topic)
    out: list[Record] = []
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                # The first poll includes the group join (~1-2 s on Tansu).
                if out and time.monotonic() - last > idle:
                    break
                if not out and time.monotonic() - last > idle + 5:
                    break
                continue
            if msg.error():
                continue
            last = time.monotonic()
            out.append(
                Record(
                    msg.topic(),
                    msg.partition(),
                    msg.offset(),
                    msg.key(),
                    msg.value(),
                    {k: v for k, v in (msg.headers() or [])},
                )
            )
            if expect is not None and len(out) >= expect:
                break
    finally:
        consumer.close()
    return out


def produce(bootstrap: str, topic: str, value: bytes | None, key: bytes | None = None) -> None:
    """Publish one message and wait for the acknowledgement."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    errors: list[object] = []
    producer.produce(
        topic, key=key, value=value, on_delivery=lambda err, _m: errors.append(err) if err else None
    )
    assert producer.flush(10) == 0 and not errors, errors
