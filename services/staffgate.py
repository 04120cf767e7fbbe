"""Every process's list of revoked staff sessions and accounts, read from ``staff.access``.

Routing owns staff accounts (routing/staff.py). When a session is signed out or revoked,
or an account is disabled, re-roled or has its password reset, it emits
``staff.access_changed`` through its outbox onto the one-partition ``staff.access`` topic.
Every service process reads that whole topic, without a consumer group (each instance
must see every record, not a share of them), from its beginning, and keeps in memory:

- the revoked sessions, until their tokens could no longer be renewed anyway;
- per account, the time before which no session counts ("not before").

:func:`services.auth.staff_of` asks :data:`GATE` about every token, so a revoked session
or a disabled account stops working on every service as soon as the record is read:
within a second or two on a healthy broker, and the tests require 60 s. Tokens are short
(10 minutes), so a process that cannot reach the broker lets a revoked token live at
most that long. Nothing here is durable: the topic is the record, and routing's outbox
replays it after a broker loss (decision 0003).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from prometheus_client import Gauge

from services import catalog
from services.settings import KitSettings

log = logging.getLogger(__name__)
EVENT_TYPE = "id.aduan.staff.access_changed.v1"
ENTRIES = Gauge("aduan_staff_gate_entries", "Revoked staff sessions and accounts held")
READ_AT = Gauge(
    "aduan_staff_gate_read_timestamp_seconds",
    "When this process's staff gate last reached the broker (a metadata answer every 15 s)",
)
PROBE_SECONDS = 15.0


class Gate:
    """Revoked sessions and per-account "not before" times, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, float] = {}  # sid -> forget after (epoch seconds)
        self._accounts: dict[str, float] = {}  # sub -> sessions begun before are refused

    def refuses(self, sub: str, sid: str | None, began: float) -> bool:
        """Whether a token of ``sub`` (session ``sid``, begun at ``began``) is revoked."""
        if not self._sessions and not self._accounts:
            return False
        with self._lock:
            if sid is not None and sid in self._sessions:
                return True
            return began <= self._accounts.get(sub, float("-inf"))

    def apply(self, data: dict[str, object]) -> None:
        """One ``staff.access_changed`` event's data."""
        sub = str(data["account_id"])
        not_before = _epoch(data["not_before"])
        forget = _epoch(data["forget_after"])
        sid = data.get("session_id")
        with self._lock:
            if sid:
                self._sessions[str(sid)] = max(forget, self._sessions.get(str(sid), 0.0))
            else:
                self._accounts[sub] = max(not_before, self._accounts.get(sub, float("-inf")))
            self._forget_expired()
            ENTRIES.set(len(self._sessions) + len(self._accounts))

    def _forget_expired(self) -> None:
        now = time.time()
        for sid in [s for s, until in self._sessions.items() if until < now]:
            del self._sessions[sid]

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._accounts.clear()


def _epoch(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    at = datetime.fromisoformat(str(value))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


GATE = Gate()


def topic_name(kit: KitSettings) -> str:
    return catalog.TOPIC_OF_TYPE[EVENT_TYPE].full_name(kit)


class Reader:
    """A thread that reads ``staff.access`` into :data:`GATE`, from the beginning."""

    def __init__(self, kit: KitSettings, gate: Gate = GATE) -> None:
        self.kit = kit
        self.gate = gate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="staff-gate", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _consumer(self) -> Consumer:
        consumer = Consumer(
            {
                "bootstrap.servers": self.kit.bootstrap,
                # Required by the client; never joined (assign, no subscribe) or committed.
                "group.id": f"aduan-staff-gate-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 500,
                "client.id": "aduan-staff-gate",
            }
        )
        name = topic_name(self.kit)
        partitions = catalog.TOPIC_OF_TYPE[EVENT_TYPE].partitions or 1
        consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING) for p in range(partitions)])
        return consumer

    def _run(self) -> None:
        consumer = self._consumer()
        name = topic_name(self.kit)
        probed = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() - probed > PROBE_SECONDS:
                    probed = time.monotonic()
                    with contextlib.suppress(KafkaException):
                        # An answer means revocations can reach this process now.
                        consumer.list_topics(name, timeout=5)
                        READ_AT.set(time.time())
                msg = consumer.poll(1.0)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        log.warning("staff gate: %s", err)
                        time.sleep(1.0)
                    continue
                self._apply(msg.value())
        finally:
            consumer.close()

    def _apply(self, raw: bytes | None) -> None:
        try:
            event = json.loads(raw or b"")
            if event.get("type") == EVENT_TYPE:
                self.gate.apply(event["data"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # Routing writes this topic through its outbox with the contract's model;
            # anything else is logged and skipped, never fatal to the service.
            log.warning("staff gate: unreadable record skipped (%s)", type(exc).__name__)
