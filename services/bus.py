"""The Kafka bus: producer, admin, outbox relay, inbox consumer, dead letters, faust.

Delivery is at least once end to end:
- a handler's state change and the events it emits commit together (the outbox);
- the relay publishes outbox rows with an idempotent producer and marks them published
  only once the broker acknowledged them;
- a consumer records each event id it applied (the inbox) in the same transaction as
  the effect, so a redelivered event has no second effect;
- an event that cannot be decoded or handled goes to ``<topic>.dlq`` with headers that
  name where it came from and why it failed, never with personal data in them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import faust
import pydantic
import sqlalchemy as sa
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from faust.streams import _tracks_buffer_agen
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import ChannelT, EventT
from mode.utils.aiter import aiter
from mode.utils.futures import notify
from sqlmodel import Session

from services import catalog, metrics
from services.contracts import (
    TYPE_OF,
    CloudEvent,
    Payload,
    UnknownEventType,
    decode,
    encode,
    new_event,
)
from services.db import Database, is_postgres
from services.logs import report_id_var
from services.settings import BrokerProfile, KitSettings

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- admin


def ensure_topics(kit: KitSettings, timeout: float = 30.0) -> list[str]:
    """Create every catalogue topic (and its dead-letter topic) that does not exist yet.

    Topics are created explicitly so that partition counts line up; Tansu would
    auto-create them with 4 partitions whatever we want.
    """
    admin = AdminClient({"bootstrap.servers": kit.bootstrap})
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted: list[NewTopic] = []
    specs: list[tuple[str, dict[str, str], int]] = []
    for topic in catalog.TOPICS:
        partitions = topic.partitions or kit.aduan_topic_partitions
        specs.append((topic.full_name(kit), topic.config, partitions))
        specs.append((topic.dlq_name(kit), {}, partitions))
    # One feed topic per province, for regional governments reading Kafka directly.
    specs += [(name, {}, 1) for name in catalog.region_topic_names(kit)]
    for name, config, partitions in specs:
        if name not in existing:
            wanted.append(
                NewTopic(
                    name,
                    num_partitions=partitions,
                    replication_factor=kit.aduan_topic_replication,
                    config=dict(config),
                )
            )
    created = []
    if wanted:
        for name, fut in admin.create_topics(wanted, request_timeout=timeout).items():
            try:
                fut.result(timeout)
                created.append(name)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    return created


def make_producer(kit: KitSettings, client_id: str) -> Producer:
    """An idempotent producer that waits for all in-sync replicas."""
    return Producer(
        {
            "bootstrap.servers": kit.bootstrap,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            "message.timeout.ms": 30_000,
            "socket.keepalive.enable": True,
        }
    )


def idle_pause(pause: float, found: bool, shortest: float, longest: float) -> float:
    """The next wait of a loop that polls for work: the shortest after a look that found
    some, else twice the last, up to the longest (an idle loop wakes ever less often)."""
    return shortest if found else min(pause * 2, max(shortest, longest))


# -------------------------------------------------------------------------- outbox


def produce_outbox_row(producer: Producer, row: Any, on_delivery: Callable[..., None]) -> None:
    """Queue one outbox row (topic, key, event_type, payload), waiting while the local
    queue is full; the caller flushes."""
    while True:
        try:
            producer.produce(
                row.topic,
                key=row.key.encode() if row.key else None,
                value=row.payload.encode(),
                headers=[("ce_type", row.event_type.encode())],
                on_delivery=on_delivery,
            )
            return
        except BufferError:
            producer.poll(0.05)


class Outbox:
    """Writes a service's outgoing events into its outbox, in the caller's transaction."""

    def __init__(self, service: str, kit: KitSettings, table: sa.Table) -> None:
        self.service = service
        self.kit = kit
        self.table = table

    def emit(
        self,
        session: Session,
        payload: Payload,
        subject: str | None,
        key: str | None = None,
        event_id: str | None = None,
        topic: str | None = None,
    ) -> CloudEvent:
        """Add one event to the outbox; it is published after the transaction commits.

        A caller that must never emit the same event twice passes a deterministic
        ``event_id``: the outbox's unique key then refuses a second copy. ``topic`` (a
        full name) sends it to a topic outside the catalogue, such as a province's feed;
        its outbox row is keyed ``<id>@<topic>``, so one event may go to both.
        """
        event = new_event(f"/aduan/{self.service}", subject, payload)
        if event_id is not None:
            event.id = event_id
        # On the session's connection, not through the session: an outbox row does not
        # need the session's pending changes flushed before it (they are flushed together,
        # at the next query or at the commit, instead of a few rows at each event).
        conn = session.connection()
        if topic is not None:
            conn.execute(
                self.table.insert(),
                {
                    "event_id": f"{event.id}@{topic}"[:64],
                    "topic": topic,
                    "key": key if key is not None else subject,
                    "event_type": event.type,
                    "payload": encode(event).decode(),
                    "created_at": event.time,
                },
            )
            return event
        catalog_topic = catalog.TOPIC_OF_TYPE[TYPE_OF[type(payload)]]
        # Parameters apart from the statement: SQLAlchemy caches the compiled insert.
        conn.execute(
            self.table.insert(),
            {
                "event_id": event.id,
                "topic": catalog_topic.full_name(self.kit),
                "key": key if key is not None else subject,
                "event_type": event.type,
                "payload": encode(event).decode(),
                "created_at": event.time,
            },
        )
        return event


class OutboxRelay:
    """Publishes committed outbox rows in order and marks them once acknowledged.

    Published rows are kept for ``aduan_outbox_retention_days`` so that the replay
    command can publish them again after a broker loss.
    """

    def __init__(self, service: str, kit: KitSettings, db: Database, table: sa.Table) -> None:
        self.service = service
        self.kit = kit
        self.db = db
        self.table = table
        self._producer: Producer | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._last_prune = 0.0

    def wake(self) -> None:
        """Tell the relay there is new work (called after a commit)."""
        self._wake.set()

    def _get_producer(self) -> Producer:
        if self._producer is None:
            self._producer = make_producer(self.kit, f"{self.service}-outbox")
        return self._producer

    def _unpublished(self) -> sa.Select[Any]:
        t = self.table
        return (
            sa.select(t.c.id, t.c.topic, t.c.key, t.c.event_type, t.c.payload)
            .where(t.c.published_at.is_(None))
            .order_by(t.c.id)
            .limit(self.kit.aduan_outbox_batch)
        )

    def _produce(self, rows: Sequence[Any]) -> tuple[list[int], int]:
        """Publish rows and wait for the broker: the ids it acknowledged, and failures."""
        delivered: list[int] = []
        failures: list[KafkaError] = []
        producer = self._get_producer()

        def on_delivery(row_id: int, topic: str, err: KafkaError | None, _msg: Any) -> None:
            # Called by flush() on this thread, once per row.
            if err is None:
                delivered.append(row_id)
                metrics.EVENTS_PRODUCED.labels(self.service, topic).inc()
            else:
                failures.append(err)

        for row in rows:
            produce_outbox_row(producer, row, functools.partial(on_delivery, row.id, row.topic))
        producer.flush(60)
        if failures:
            first = failures[0]
            metrics.OUTBOX_PUBLISH_ERRORS.labels(self.service, first.name()).inc(len(failures))
            if any(f.fatal() for f in failures):
                # After a broker loss the idempotent producer's id is unknown to the new
                # broker: the error is fatal and only a new producer recovers.
                log.warning("outbox producer failed fatally (%s); recreating it", first.name())
                self._producer = None
        return delivered, len(failures)

    def _mark(self, conn: sa.Connection, delivered: list[int]) -> None:
        t = self.table
        if delivered:
            conn.execute(
                t.update().where(t.c.id.in_(delivered)).values(published_at=datetime.now(UTC))
            )
        backlog = conn.execute(
            sa.select(sa.func.count()).select_from(t).where(t.c.published_at.is_(None))
        ).scalar_one()
        metrics.OUTBOX_BACKLOG.labels(self.service).set(backlog)

    @staticmethod
    def _check(rows: int, delivered: int, failures: int) -> int:
        if failures:
            raise OutboxPublishError(f"{failures} of {rows} events not acknowledged")
        return delivered

    def publish_batch(self) -> int:
        """Publish up to one batch of unpublished rows; return how many were acknowledged.

        One transaction holds the rows locked (``FOR UPDATE SKIP LOCKED``) while they are
        published, so that instances sharing a PostgreSQL database take disjoint rows.
        """
        with self.db.engine.begin() as conn:
            query = self._unpublished()
            if is_postgres(self.db.engine):
                query = query.with_for_update(skip_locked=True)
            rows = conn.execute(query).all()
            if not rows:
                metrics.OUTBOX_BACKLOG.labels(self.service).set(0)
                return 0
            delivered, failures = self._produce(rows)
            self._mark(conn, delivered)
        return self._check(len(rows), len(delivered), failures)

    async def publish_batch_sqlite(self) -> int:
        """The same on SQLite, without holding the file's single write lock while the
        broker acknowledges: read, publish off the writer thread, then mark on it."""

        def read() -> Sequence[Any]:
            with self.db.engine.connect() as conn:
                return conn.execute(self._unpublished()).all()

        def mark(delivered: list[int]) -> None:
            with self.db.engine.begin() as conn:
                self._mark(conn, delivered)

        rows = await self.db.read(read)
        if not rows:
            metrics.OUTBOX_BACKLOG.labels(self.service).set(0)
            return 0
        delivered, failures = await asyncio.to_thread(self._produce, rows)
        await self.db.write(mark, delivered)
        return self._check(len(rows), len(delivered), failures)

    def prune(self) -> int:
        """Delete published rows older than the retention period."""
        cutoff = datetime.now(UTC) - timedelta(days=self.kit.aduan_outbox_retention_days)
        with self.db.engine.begin() as conn:
            result = conn.execute(
                self.table.delete().where(
                    self.table.c.published_at.is_not(None), self.table.c.created_at < cutoff
                )
            )
            return result.rowcount or 0

    async def run(self) -> None:
        """Publish until stopped; back off while the broker is unreachable."""
        backoff = 0.2
        # Every write that fills the outbox wakes the relay; the poll only catches rows
        # no local commit announced (another process's, a crashed instance's). It waits
        # longer after each empty look, up to the idle poll: an idle service wakes a
        # few times a minute instead of four times a second.
        poll = self.kit.aduan_outbox_poll_seconds
        while not self._stopping:
            self._wake.clear()
            try:
                if is_postgres(self.db.engine):
                    n = await asyncio.to_thread(self.publish_batch)
                else:
                    # SQLite has one write lock per file; a second writing thread would
                    # collide with the handlers' and sleep in the busy handler (25-100 ms
                    # per collision, measured): only the short marking step writes.
                    n = await self.publish_batch_sqlite()
                backoff = 0.2
            except Exception as exc:
                log.warning("outbox publish failed: %s; retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if time.monotonic() - self._last_prune > 3600:
                self._last_prune = time.monotonic()
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.prune)
            if n >= self.kit.aduan_outbox_batch:
                continue
            poll = idle_pause(
                poll,
                bool(n),
                self.kit.aduan_outbox_poll_seconds,
                self.kit.aduan_outbox_idle_poll_seconds,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll)

    async def stop(self) -> None:
        """Stop after the current batch and flush what is in flight."""
        self._stopping = True
        self._wake.set()
        if self._producer is not None:
            await asyncio.to_thread(self._producer.flush, 10)


class OutboxPublishError(RuntimeError):
    """Some outbox rows were not acknowledged; they stay unpublished and are retried."""


def replay_outbox(db_url: str, kit: KitSettings, since: datetime, service: str) -> int:
    """Publish again every outbox event created since ``since``, in order.

    Consumers are idempotent by event id, so events that had arrived have no second
    effect; events lost with a broker are delivered.
    """
    from services.db import OUTBOX, make_engine

    engine = make_engine(db_url, pool_size=1)
    producer = make_producer(kit, f"{service}-replay")
    failures: list[KafkaError] = []
    count = 0
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=1000).execute(
                sa.select(OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.event_type, OUTBOX.c.payload)
                .where(OUTBOX.c.created_at >= since)
                .order_by(OUTBOX.c.id)
            )
            for row in result:
                produce_outbox_row(
                    producer, row, lambda err, _m: failures.append(err) if err else None
                )
                count += 1
        producer.flush(60)
    finally:
        engine.dispose()
    if failures:
        raise OutboxPublishError(f"replay of {service}: {len(failures)} events not acknowledged")
    return count


# --------------------------------------------------------------------- dead letters


class PoisonEvent(ValueError):
    """An event that can never be handled; ``reason`` must hold no personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe_error(exc: BaseException) -> str:
    """A description of a failure that names what was wrong, never the values."""
    if isinstance(exc, pydantic.ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['type']}"
            for err in exc.errors(include_input=False, include_url=False)[:10]
        ]
        return f"validation failed: {'; '.join(parts)}"
    if isinstance(exc, PoisonEvent):
        return exc.reason[:500]
    if isinstance(exc, UnknownEventType):
        return f"unknown event type: {str(exc)[:200]}"
    # Other exceptions may quote data in their text: keep only the class.
    return type(exc).__name__


@dataclass(frozen=True)
class RawMessage:
    """What a consumer received, independent of the client library."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


class DeadLetters:
    """Sends failed messages, unchanged, to their input topic's dead-letter topic."""

    def __init__(self, service: str, kit: KitSettings) -> None:
        self.service = service
        self.kit = kit
        self._producer: Producer | None = None
        self._lock = threading.Lock()

    def send(self, msg: RawMessage, exc: BaseException) -> None:
        """Publish and wait for the acknowledgement; raise if the broker refused it."""
        headers: list[tuple[str, str | bytes | None]] = [
            ("aduan.dlq.origin_topic", msg.topic.encode()),
            ("aduan.dlq.origin_partition", str(msg.partition).encode()),
            ("aduan.dlq.origin_offset", str(msg.offset).encode()),
            ("aduan.dlq.consumer", self.service.encode()),
            ("aduan.dlq.error_type", type(exc).__name__.encode()),
            ("aduan.dlq.error", describe_error(exc).encode()),
            ("aduan.dlq.failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        errors: list[KafkaError] = []
        with self._lock:
            if self._producer is None:
                self._producer = make_producer(self.kit, f"{self.service}-dlq")
            self._producer.produce(
                f"{msg.topic}.dlq",
                key=msg.key,
                value=msg.value,
                headers=headers,
                on_delivery=lambda err, _m: errors.append(err) if err else None,
            )
            remaining = self._producer.flush(30)
            if errors and any(e.fatal() for e in errors):
                self._producer = None
        if errors or remaining:
            raise OutboxPublishError(f"dead letter for {msg.topic} not acknowledged")
        metrics.DEAD_LETTERED.labels(self.service, msg.topic).inc()


# ------------------------------------------------------------------------ consumer


@dataclass
class HandlerContext:
    """What a handler gets: the open session, the outbox, and the event being handled."""

    session: Session
    outbox: Outbox
    event: CloudEvent

    def emit(self, payload: Payload, subject: str | None = None, key: str | None = None) -> None:
        """Emit an event in the handler's transaction."""
        self.outbox.emit(self.session, payload, subject, key)


Handler = Callable[[HandlerContext, Any], None]


class Concerning:
    """A handler for a type of which only some events concern the service: the SLA's
    clocks are all on one topic, and each service keeps only its own; intake shows only
    the in-app notices. ``predicate`` says from the event alone whether the handler would
    do anything; the others are skipped as an ignored type is, before any transaction
    and with nothing kept in the inbox (they have no effect to keep from happening
    twice). Under load most of a consumer's cost per event is its transaction. The
    predicate is the handler's only guard: called directly, the handler does nothing
    with an event that does not concern it."""

    def __init__(self, predicate: Callable[[Any], bool], handler: Handler) -> None:
        functools.update_wrapper(self, handler)
        self.predicate = predicate
        self.handler = handler

    def __call__(self, ctx: HandlerContext, payload: Any) -> None:
        if self.predicate(payload):
            self.handler(ctx, payload)


def concerning(predicate: Callable[[Any], bool]) -> Callable[[Handler], Handler]:
    """Decorate a handler with what concerns it (see :class:`Concerning`)."""
    return lambda handler: Concerning(predicate, handler)


def concerns(handler: Handler, payload: Any) -> bool:
    """Whether an event is one its handler has work for."""
    return not isinstance(handler, Concerning) or handler.predicate(payload)


def ignore(ctx: HandlerContext, payload: Any) -> None:
    """The handler of an event type a service reads on a topic but has no use for.

    Listing it keeps the type from being dead-lettered as unknown.
    """


_DB_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError)


def _header(msg: RawMessage, name: str) -> str | None:
    for key, value in msg.headers:
        if key == name:
            return value.decode(errors="replace") if value is not None else None
    return None


class InboxConsumer:
    """Applies batches of events to a service's database, each event at most once.

    A batch is applied in one transaction. If any event in it fails, the batch is
    rolled back and applied again one event per transaction, so that only the bad event
    goes to the dead-letter topic. A database that cannot be reached is retried, never
    dead-lettered: the offsets are not committed until the batch is applied.
    """

    def __init__(
        self,
        service: str,
        db: Database,
        outbox: Outbox,
        inbox: sa.Table,
        handlers: dict[str, Handler],
        dead_letters: DeadLetters,
        on_commit: Callable[[], None],
    ) -> None:
        self.service = service
        self.db = db
        self.outbox = outbox
        self.inbox = inbox
        self.handlers = handlers
        self.dead_letters = dead_letters
        self.on_commit = on_commit
        # Built once: every batch runs them.
        self._seen_of = sa.select(inbox.c.event_id).where(
            inbox.c.consumer == service, inbox.c.event_id.in_(sa.bindparam("ids", expanding=True))
        )
        self._remember = inbox.insert()

    async def process(self, messages: Sequence[RawMessage]) -> None:
        """Decode, apply and dead-letter one batch; returns when all of it is settled."""
        decoded: list[tuple[RawMessage, CloudEvent, Any]] = []
        poison: list[tuple[RawMessage, BaseException]] = []
        for msg in messages:
            # Named by the relay's header, an ignored type is not even decoded.
            if self._ignored(msg, _header(msg, "ce_type")):
                continue
            try:
                event = decode(msg.value)
                payload = event.payload()
                if event.type not in self.handlers:
                    raise PoisonEvent(f"no handler in {self.service} for {event.type}")
                if self._ignored(msg, event.type):  # a message without the header
                    continue
                if not concerns(self.handlers[event.type], payload):
                    metrics.EVENTS_CONSUMED.labels(self.service, msg.topic, "ignored").inc()
                    continue
                decoded.append((msg, event, payload))
            except Exception as exc:
                poison.append((msg, exc))
        failed: list[tuple[RawMessage, BaseException]] = []
        if decoded:
            backoff = 0.5
            while True:
                try:
                    failed = await self.db.write(self._apply, decoded)
                    break
                except _DB_UNAVAILABLE as db_error:
                    metrics.DB_RETRIES.labels(self.service).inc()
                    log.error("database unavailable (%s); retrying batch", type(db_error).__name__)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
            self.on_commit()
        for msg, error in poison + failed:
            metrics.HANDLER_ERRORS.labels(self.service, msg.topic, type(error).__name__).inc()
            log.warning(
                "dead-lettering %s[%d]@%d: %s",
                msg.topic,
                msg.partition,
                msg.offset,
                describe_error(error),
            )
            await self._dead_letter(msg, error)
            metrics.EVENTS_CONSUMED.labels(self.service, msg.topic, "dead_lettered").inc()

    async def _dead_letter(self, msg: RawMessage, exc: BaseException) -> None:
        backoff = 0.5
        while True:
            try:
                await asyncio.to_thread(self.dead_letters.send, msg, exc)
                return
            except Exception as err:
                log.error("dead-letter publish failed (%s); retrying", type(err).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def _ignored(self, msg: RawMessage, event_type: str | None) -> bool:
        """Whether the type is one this service reads on the topic but has no use for:
        skipped, with nothing to remember in the inbox (it has no effect to keep from
        happening twice)."""
        if event_type is None or self.handlers.get(event_type) is not ignore:
            return False
        metrics.EVENTS_CONSUMED.labels(self.service, msg.topic, "ignored").inc()
        return True

    def _apply(
        self, batch: list[tuple[RawMessage, CloudEvent, Any]]
    ) -> list[tuple[RawMessage, BaseException]]:
        try:
            with self.db.session() as session:
                self._apply_in(session, batch)
            return []
        except _DB_UNAVAILABLE:
            raise
        except Exception:
            if len(batch) == 1:
                return self._apply_one(batch[0])
        failed: list[tuple[RawMessage, BaseException]] = []
        for item in batch:
            failed += self._apply_one(item)
        return failed

    def _apply_one(
        self, item: tuple[RawMessage, CloudEvent, Any]
    ) -> list[tuple[RawMessage, BaseException]]:
        try:
            with self.db.session() as session:
                self._apply_in(session, [item])
            return []
        except sa.exc.IntegrityError:
            # Another instance applied it first (the inbox key collided) or the handler
            # hit a constraint: tell the two apart by looking at the inbox.
            if self._seen(item[1].id):
                metrics.EVENTS_CONSUMED.labels(self.service, item[0].topic, "duplicate").inc()
                return []
            return [(item[0], PoisonEvent("integrity error while applying the event"))]
        except _DB_UNAVAILABLE:
            raise
        except Exception as exc:
            log.exception("handler failed for event %s", item[1].id)
            return [(item[0], exc)]

    def _seen(self, event_id: str) -> bool:
        with self.db.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(self.inbox.c.event_id).where(
                        self.inbox.c.consumer == self.service, self.inbox.c.event_id == event_id
                    )
                ).first()
                is not None
            )

    def _apply_in(self, session: Session, batch: list[tuple[RawMessage, CloudEvent, Any]]) -> None:
        ids = [event.id for _, event, _ in batch]
        seen = set(session.execute(self._seen_of, {"ids": ids}).scalars())
        now = datetime.now(UTC)
        applied: list[dict[str, Any]] = []
        # No savepoint per event: if any handler raises, the whole batch rolls back and
        # is applied again one event per transaction (see _apply).
        for msg, event, payload in batch:
            if event.id in seen:
                metrics.EVENTS_CONSUMED.labels(self.service, msg.topic, "duplicate").inc()
                continue
            seen.add(event.id)
            token = report_id_var.set(event.subject)
            started = time.perf_counter()
            try:
                self.handlers[event.type](HandlerContext(session, self.outbox, event), payload)
            finally:
                report_id_var.reset(token)
            metrics.HANDLER_SECONDS.labels(self.service, event.type).observe(
                time.perf_counter() - started
            )
            applied.append(
                {
                    "consumer": self.service,
                    "event_id": event.id,
                    "event_type": event.type,
                    "processed_at": now,
                    "_topic": msg.topic,
                }
            )
        if applied:
            session.execute(
                self._remember,
                [{k: v for k, v in row.items() if k != "_topic"} for row in applied],
            )
            for row in applied:
                metrics.EVENTS_CONSUMED.labels(self.service, row["_topic"], "processed").inc()


# ---------------------------------------------------------------------------- faust


class _ShortFetchConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """faust fixes fetch_max_wait_ms at 1500; Tansu holds empty fetches that long.

    While records flow, fetches wait ``fetch_max_wait_ms`` (short: Tansu answers a fetch
    only when its wait is over, so the wait is each hop's latency). After
    ``idle_after`` seconds without a record they wait ``idle_fetch_max_wait_ms``: an idle
    platform then asks the broker a few times a second instead of tens, and the first
    record after a quiet spell waits at most that long; the next fetch is short again.
    """

    fetch_max_wait_ms = 20
    idle_fetch_max_wait_ms = 20
    idle_after = 2.0

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms
        self._last_record = time.monotonic()
        return consumer

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: Any,
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        records = await super()._fetch_records(consumer, active_partitions, timeout, max_records)
        fetcher = getattr(consumer, "_fetcher", None)
        if fetcher is not None:
            now = time.monotonic()
            if records:
                self._last_record = now
                fetcher._fetch_max_wait_ms = self.fetch_max_wait_ms
            elif now - self._last_record > self.idle_after:
                fetcher._fetch_max_wait_ms = self.idle_fetch_max_wait_ms
        return records


class _ShortFetchConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> Any:
        return _ShortFetchConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _ShortFetchTransport(faust_aiokafka.Transport):
    Consumer = _ShortFetchConsumer


class BatchingStream(faust.Stream):
    """A faust stream that hands its agent batches and sleeps while there are none.

    faust's own ``take_events(max_, within)`` wakes every ``within`` seconds even when
    nothing arrives: with a 5 ms window that is 200 wake-ups a second per agent, and
    most of an idle platform's CPU. ``take_batches`` waits for the first event without
    a timeout, then at most ``within`` for the batch to fill. Acknowledgement is faust's:
    events are acked (and their offsets become committable) only after the agent has
    handled the batch.
    """

    @_tracks_buffer_agen
    async def take_batches(
        self, max_: int, within: float
    ) -> AsyncGenerator[Sequence[EventT], None]:
        """Lists of up to ``max_`` events: yielded when full or ``within`` s after the first."""
        events: list[EventT] = []
        arrived = asyncio.Event()
        full = asyncio.Event()
        consumed = asyncio.Event()
        consuming: asyncio.Future[None] | None = None
        enable_acks = self.enable_acks
        channel_it = aiter(self.channel)

        async def add_to_buffer(value: Any) -> Any:
            nonlocal consuming
            try:
                if consuming is not None:
                    try:
                        await consuming
                    finally:
                        consuming = None
                event = self.current_event
                if event is None:
                    raise RuntimeError("batch buffer found current_event is None")
                events.append(event)
                arrived.set()
                if len(events) >= max_:
                    full.set()
                    consumed.clear()
                    await self.wait(consumed)  # type: ignore[arg-type]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.exception("Error adding to batch buffer: %r", exc)
                await self.crash(exc)
            return value

        self.enable_acks = False
        self.add_processor(add_to_buffer)
        self._enable_passive(cast(ChannelT, channel_it))
        try:
            while not self.should_stop:
                await self.wait_for_stopped(arrived)  # type: ignore[arg-type]
                if not full.is_set():
                    await self.wait_for_stopped(full, timeout=within)  # type: ignore[arg-type]
                if not events:
                    continue
                consuming = self.loop.create_future()
                try:
                    yield list(events)
                finally:
                    for event in events:
                        await self.ack(event)
                    events.clear()
                    arrived.clear()
                    full.clear()
                    notify(consuming)
                    consumed.set()
        finally:
            self.enable_acks = enable_acks
            self._processors.remove(add_to_buffer)


class AduanFaustApp(faust.App):
    """A faust app that can use the short-fetch consumer (the Tansu profile only)."""

    short_fetch: bool = False

    def _new_transport(self) -> Any:
        if self.short_fetch:
            return _ShortFetchTransport(self.conf.broker_consumer, self)
        return super()._new_transport()


def use_uvloop() -> None:
    """Make every new event loop a uvloop, faust's consumer thread's included.

    uvicorn runs the service's main loop on uvloop, but faust's consumer thread makes
    its own loop from the policy: with the default policy it is pure-Python asyncio.
    """
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def make_faust_app(service: str, kit: KitSettings) -> AduanFaustApp:
    """A faust worker app for one service: its consumer group is the service's name."""
    tansu = kit.profile is BrokerProfile.tansu
    datadir = kit.aduan_var_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)  # faust makes only the last level
    app = AduanFaustApp(
        f"{kit.aduan_namespace}-{service}",
        broker=[f"kafka://{s.strip()}" for s in kit.bootstrap.split(",")],
        autodiscover=False,
        web_enabled=False,
        # faust's data directory (empty: no tables) under the platform's own directory,
        # not "<app>-data" in whatever directory the process started in.
        datadir=datadir / f"{kit.aduan_namespace}-{service}",
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        topic_replication_factor=kit.aduan_topic_replication,
        topic_partitions=kit.aduan_topic_partitions,
        topic_allow_declare=False,
        topic_disable_leader=True,
        stream_wait_empty=False,
        # Tansu holds a JoinGroup reply for half the session timeout, and a restarted
        # process waits for the dead one's session to expire: 2 s gives a killed service
        # its partitions back ~4 s after SIGKILL (3 s took ~5-6.5 s). Now that idle
        # agents do not spin, the loops keep the 0.3 s heartbeats under CI load.
        broker_session_timeout=2.0 if tansu else 10.0,
        broker_heartbeat_interval=0.3 if tansu else 3.0,
        broker_rebalance_timeout=5.0 if tansu else 60.0,
        broker_request_timeout=10.0 if tansu else 90.0,
        broker_commit_every=200,
        broker_commit_interval=0.5,
        producer_acks=-1,
        # faust's own producer (replies, the bare hop in bench/faust_hop.py) batches
        # for 5 ms instead of sending each message in its own request.
        producer_linger=0.005,
        Stream=BatchingStream,
    )
    app.short_fetch = tansu
    _ShortFetchConsumerThread.fetch_max_wait_ms = kit.aduan_tansu_fetch_wait_ms
    _ShortFetchConsumerThread.idle_fetch_max_wait_ms = max(
        kit.aduan_tansu_fetch_wait_ms, kit.aduan_tansu_idle_fetch_wait_ms
    )
    return app


def bind_topic(
    app: faust.App, kit: KitSettings, topic: catalog.Topic, consumer: InboxConsumer
) -> None:
    """Attach an agent that feeds one input topic, in batches, to the inbox consumer."""
    channel = app.topic(
        topic.full_name(kit),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=kit.aduan_topic_partitions,
    )

    async def agent(stream: Any) -> None:
        async for events in stream.take_batches(kit.aduan_batch_max, within=kit.aduan_batch_within):
            batch = []
            for ev in events:
                m = ev.message
                batch.append(
                    RawMessage(
                        topic=m.topic,
                        partition=m.partition,
                        offset=m.offset,
                        key=m.key,
                        value=m.value,
                        headers=tuple((k, v) for k, v in (m.headers or ())),
                    )
                )
                _record_lag(app, consumer.service, m)
            await consumer.process(batch)

    app.agent(channel, name=f"{consumer.service}.{topic.name}")(agent)


def _record_lag(app: faust.App, service: str, message: Any) -> None:
    # Lag from the high watermark of the last fetch response: Tansu's ListOffsets is
    # wrong, but the watermark inside Fetch is right (see shared/BROKER.md).
    with contextlib.suppress(Exception):
        hw = app.consumer.highwater(message.tp)
        if hw is not None:
            metrics.CONSUMER_LAG.labels(service, message.topic, str(message.partition)).set(
                max(0, hw - message.offset - 1)
            )
