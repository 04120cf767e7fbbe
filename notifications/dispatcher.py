"""The dispatcher: sends queued deliveries, one loop per channel, and settles each
attempt in the database.

Each loop claims due deliveries of its channel (a conditional UPDATE to ``sending`` with
a lease; on PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED``, so several
instances share the work), sends them with bounded parallelism outside any transaction,
then records the attempt. A failure is tried again after an exponential backoff with
jitter, never sooner than the receiver's ``Retry-After``; after the last attempt (or a
permanent refusal) the delivery is dead-lettered: an event on ``notification.dead_letter``
and a metric, while the notice stays on the tracking page. A lease that runs out (the
instance died mid-send) makes the delivery due again. Each message's start is committed
just before an SMS or an email goes to the gateway (``send_started_at``) and its attempt is
recorded as it finishes, so the one window in which such a message can go twice is the
messages in flight (at most ``concurrency`` per channel) when an instance dies; each of
them is recorded as an ``uncertain`` attempt before it is sent again. Webhooks carry the
same ``webhook-id`` on every try so that receivers drop repeats; their attempts are
recorded in batches, as they finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from prometheus_client import Counter, Gauge, Histogram
from sqlmodel import Session, col, select

from notifications import domain, handlers, regions
from notifications.models import (
    Contact,
    Delivery,
    DeliveryAttempt,
    Endpoint,
    Notification,
    Recipient,
)
from notifications.senders import Message, Outcome, Sender, webhook_body
from notifications.settings import NotificationsSettings
from services.bus import Outbox, idle_pause
from services.contracts import NotificationDeadLettered, NotificationSent
from services.runtime import ServiceRuntime

log = logging.getLogger(__name__)

CHANNELS = ("sms", "email", "webhook")
# Channels whose receiver cannot drop a repeat (a phone, a mailbox): each send is
# committed before it goes out and recorded before the next takes its place.
ONCE = frozenset({"sms", "email"})
T = TypeVar("T")

SENT = Counter(
    "aduan_notifications_sent_total",
    "Deliveries sent, by channel and template.",
    ["channel", "template"],
)
FAILED = Counter(
    "aduan_notifications_failed_total",
    "Delivery attempts that failed, by channel and template.",
    ["channel", "template"],
)
UNCERTAIN = Counter(
    "aduan_notifications_uncertain_total",
    "Sends whose instance died before their answer was recorded (sent again), by channel.",
    ["channel"],
)
RETRIED = Counter(
    "aduan_notifications_retried_total",
    "Failed deliveries scheduled for another attempt.",
    ["channel", "template"],
)
DEAD = Counter(
    "aduan_notifications_dead_lettered_total",
    "Deliveries given up after the last attempt (or refused for good).",
    ["channel", "template"],
)
LATENCY = Histogram(
    "aduan_notification_delivery_latency_seconds",
    "From the triggering event to the delivery being accepted by the channel.",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400),
)
BACKLOG = Gauge(
    "aduan_notifications_backlog", "Deliveries waiting to be sent, by channel.", ["channel"]
)
DISABLED = Counter(
    "aduan_notification_endpoints_disabled_total",
    "Endpoints disabled (410 Gone, or failing past the limit).",
    ["reason"],
)


def _now() -> datetime:
    return datetime.now(UTC)


def claim(
    session: Session, channel: str, now: datetime, limit: int, lease: float
) -> list[Delivery]:
    """Take up to ``limit`` due deliveries of a channel for this instance."""
    due = sa.or_(
        sa.and_(col(Delivery.status) == "pending", col(Delivery.next_attempt_at) <= now),
        sa.and_(col(Delivery.status) == "sending", col(Delivery.lease_until) < now),
    )
    query = (
        select(Delivery.id)
        .where(Delivery.channel == channel, due)
        .order_by(Delivery.next_attempt_at)  # type: ignore[arg-type]
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.exec(query))
    if not ids:
        return []
    until = now + timedelta(seconds=lease)
    table = Delivery.__table__  # type: ignore[attr-defined]
    # One conditional UPDATE: a row another instance took meanwhile no longer matches.
    won = [
        row[0]
        for row in session.execute(
            table.update()
            .where(table.c.id.in_(ids), due)
            .values(status="sending", lease_until=until)
            .returning(table.c.id)
        )
    ]
    if not won:
        session.commit()
        return []
    claimed = list(session.exec(select(Delivery).where(col(Delivery.id).in_(won))))
    for delivery in claimed:
        if delivery.send_started_at is not None:
            # Its instance died between handing it to the gateway and recording the
            # answer: it may have gone. Keep the trace, then send it again.
            delivery.attempts += 1
            session.add(
                DeliveryAttempt(
                    delivery_id=delivery.id,
                    number=delivery.attempts,
                    outcome="uncertain",
                    error="the sending instance died during this send; it may have gone out",
                    duration_ms=0.0,
                    at=now,
                )
            )
            UNCERTAIN.labels(delivery.channel).inc()
            delivery.send_started_at = None
            session.add(delivery)
    session.commit()
    return claimed


_DELIVERIES: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
_MARK_STARTED = (
    _DELIVERIES.update()
    .where(
        _DELIVERIES.c.id.in_(sa.bindparam("ids", expanding=True)),
        _DELIVERIES.c.status == "sending",
    )
    .values(send_started_at=sa.bindparam("now"))
)


def mark_started(session: Session, delivery_ids: list[str], now: datetime) -> None:
    """These messages go to the gateway now (committed before they do)."""
    session.connection().execute(_MARK_STARTED, {"ids": delivery_ids, "now": now})


def load_around(session: Session, deliveries: list[Delivery], *models: type[Any]) -> list[Any]:
    """Load what ``prepare`` or ``settle`` reads of these deliveries (their notices,
    recipients, contacts, endpoints: ``models``), one query per table, so that each
    ``session.get`` after it is answered from the session, with no query and no flush of
    the changes made meanwhile. The caller keeps the returned rows while it works (the
    session holds them only weakly)."""
    keys: dict[type[Any], set[str]] = {
        Notification: {d.notification_id for d in deliveries},
        Recipient: {d.report_id for d in deliveries},
        Contact: {d.recipient for d in deliveries if d.audience == "reporter"},
        Endpoint: {d.recipient for d in deliveries if d.audience != "reporter"},
    }
    loaded: list[Any] = []
    for model in models:
        if keys[model]:
            pk = sa.inspect(model).primary_key[0]
            loaded.extend(session.exec(select(model).where(pk.in_(sorted(keys[model])))))
    return loaded


def prepare(session: Session, settings: NotificationsSettings, delivery: Delivery) -> Message | str:
    """The message to send, or why there is nothing to send (the reason is recorded)."""
    note = session.get(Notification, delivery.notification_id)
    if note is not None and note.template == regions.TEMPLATE:
        return _prepare_region(session, delivery, note)
    if note is not None and delivery.audience == "staff":
        return _prepare_staff(delivery, note)
    recipient = session.get(Recipient, delivery.report_id)
    if note is None or recipient is None or note.text is None:
        return "notice not ready"
    link = settings.tracking_url.replace("{tracking_number}", recipient.tracking_number)
    language = note.language or "id"
    secrets: tuple[str, ...] = ()
    body = b""
    if delivery.audience == "reporter":
        contact = session.get(Contact, delivery.recipient)
        address = None
        if contact is not None:
            address = contact.phone if delivery.channel == "sms" else contact.email
            if delivery.channel == "sms" and not contact.sms_notices:
                return "the phone sent STOP"
        if not address:
            return "no address"
    else:
        endpoint = session.get(Endpoint, delivery.recipient)
        if endpoint is None or endpoint.status != "active":
            return "endpoint disabled"
        address = endpoint.target
        if delivery.channel == "webhook":
            secrets = live_secrets(endpoint, _now())
            if not secrets:
                return "endpoint has no live secret"
            body = webhook_body(
                note.id,
                note.template,
                (note.event_time or note.created_at).isoformat(),
                agency_data(note, recipient),
            )
            if len(body) > settings.webhook_max_body_bytes:
                return "body too large"
    return Message(
        delivery_id=delivery.id,
        notification_id=note.id,
        report_id=delivery.report_id,
        template=note.template,
        language=language,
        text=note.text,
        subject=domain.subject(note.template, language, recipient.tracking_number),
        address=address,
        link=link,
        webhook_body=body,
        secrets=secrets,
    )


def _prepare_staff(delivery: Delivery, note: Notification) -> Message | str:
    """A member of staff's one-time link, to the address it was issued for."""
    values = json.loads(note.values)
    if not note.text or "link" not in values or "email" not in values:
        return "link already forgotten"
    language = note.language or "id"
    return Message(
        delivery_id=delivery.id,
        notification_id=note.id,
        report_id="",
        template=note.template,
        language=language,
        text=note.text,
        subject=domain.staff_subject(note.template, language),
        address=values["email"],
        link=values["link"],
    )


def _prepare_region(session: Session, delivery: Delivery, note: Notification) -> Message | str:
    """A region's feed event for its webhook, as that region may read it."""
    endpoint = session.get(Endpoint, delivery.recipient)
    if endpoint is None or endpoint.status != "active":
        return "endpoint disabled"
    secrets = live_secrets(endpoint, _now())
    if not secrets:
        return "endpoint has no live secret"
    body = regions.webhook_body(session, note, endpoint)
    if body is None:
        return "feed event missing"
    return Message(
        delivery_id=delivery.id,
        notification_id=note.id,
        report_id=delivery.report_id,
        template=note.template,
        language="id",
        text="",
        subject="",
        address=endpoint.target,
        link="",
        webhook_body=body,
        secrets=secrets,
    )


def agency_data(note: Notification, recipient: Recipient) -> dict[str, Any]:
    """What an agency's webhook says about a report: never a reporter reference, never
    contact data; nothing of who reported it (the console shows what may be shown)."""
    values = json.loads(note.values)
    data: dict[str, Any] = {
        "report_id": recipient.report_id,
        "tracking_number": recipient.tracking_number,
        "notice": note.template,
        "agency_id": note.agency_id,
        "agency_name": values.get("agency_name", recipient.agency_name),
        "title": values.get("title", recipient.title),
        "category": recipient.category,
        "regency_code": recipient.regency_code,
        "anonymous": recipient.anonymous,
        "confidential": recipient.confidential,
        "text": note.text,
    }
    for key in ("clock", "due_at"):
        if key in values:
            data[key] = values[key]
    return data


def live_secrets(endpoint: Endpoint, now: datetime) -> tuple[str, ...]:
    """Secrets to sign with: the current one, and rotated ones until they expire."""
    out = []
    for item in json.loads(endpoint.secrets):
        expires = item.get("expires_at")
        if expires is None or datetime.fromisoformat(expires) > now:
            out.append(item["secret"])
    return tuple(out)


def dead_letter_id(delivery: Delivery) -> str:
    """The dead letter's event id: one per delivery and round (a redelivered settlement
    writes it once; a delivery sent again and dead again is a new fact)."""
    suffix = f":{delivery.rounds}" if delivery.rounds else ""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aduan:delivery:{delivery.id}:dead{suffix}"))


def restart(session: Session, delivery_id: str, now: datetime) -> Delivery:
    """Send a dead (or skipped) delivery again: a fresh round of attempts."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise LookupError(delivery_id)
    if delivery.status not in ("dead", "skipped"):
        raise ValueError(delivery.status)
    delivery.status, delivery.attempts, delivery.rounds = "pending", 0, delivery.rounds + 1
    delivery.next_attempt_at, delivery.lease_until, delivery.send_started_at = now, None, None
    session.add(delivery)
    return delivery


def settle_all(
    database: Any,
    outbox: Outbox,
    settings: NotificationsSettings,
    results: list[tuple[str, Outcome | str, float]],
) -> None:
    """Record finished attempts, as many per transaction as came together; if that
    transaction fails, each alone, so that one delivery that cannot be recorded never
    holds back the others (it stays leased and is tried again after its lease)."""
    try:
        with database.session() as session:
            ids = sorted({delivery_id for delivery_id, _, _ in results})
            deliveries = list(session.exec(select(Delivery).where(col(Delivery.id).in_(ids))))
            around = load_around(  # noqa: F841 (kept while settle reads them)
                session, deliveries, Notification, Endpoint
            )
            for delivery_id, outcome, took in results:
                settle(session, outbox, settings, delivery_id, outcome, took)
        return
    except Exception:
        if len(results) == 1:
            log.exception("recording delivery %s failed", results[0][0])
            return
        log.exception("recording %d deliveries failed; recording each alone", len(results))
    for delivery_id, outcome, took in results:
        try:
            with database.session() as session:
                settle(session, outbox, settings, delivery_id, outcome, took)
        except Exception:
            log.exception("recording delivery %s failed", delivery_id)


def settle(
    session: Session,
    outbox: Outbox,
    settings: NotificationsSettings,
    delivery_id: str,
    outcome: Outcome | str,
    duration_ms: float,
) -> None:
    """Record one attempt and what follows from it, in one transaction."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != "sending":
        return
    now = _now()
    note = session.get(Notification, delivery.notification_id)
    if isinstance(outcome, str):  # nothing could be sent: not an attempt
        delivery.status, delivery.last_error, delivery.lease_until = "skipped", outcome, None
        session.add(delivery)
        return
    delivery.attempts += 1
    delivery.lease_until = delivery.send_started_at = None
    endpoint = session.get(Endpoint, delivery.recipient) if delivery.audience == "agency" else None
    labels = (delivery.channel, delivery.template)
    if outcome.ok:
        delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
        kind = "sent"
        SENT.labels(*labels).inc()
        if delivery.event_time is not None:
            LATENCY.labels(delivery.channel).observe(
                max((now - delivery.event_time).total_seconds(), 0)
            )
        if endpoint is not None:
            endpoint.consecutive_failures, endpoint.first_failure_at = 0, None
        if note is not None:
            note.status = "sent"
            note.sent_at = note.sent_at or now
            handlers.forget_code(note)
            session.add(note)
        if delivery.audience != "staff":  # a staff account's link: no report, no event
            outbox.emit(
                session,
                NotificationSent(
                    report_id=delivery.report_id,
                    notification_id=delivery.notification_id,
                    template=delivery.template,
                    channel=delivery.channel,  # type: ignore[arg-type]
                    audience=delivery.audience,  # type: ignore[arg-type]
                    sent_at=now,
                ),
                delivery.report_id,
                event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"aduan:delivery:{delivery.id}:sent")),
            )
    else:
        FAILED.labels(*labels).inc()
        delivery.last_error = (outcome.error or "failed")[:300]
        if endpoint is not None:
            endpoint.consecutive_failures += 1
            endpoint.first_failure_at = endpoint.first_failure_at or now
            too_long = now - endpoint.first_failure_at > timedelta(
                hours=settings.webhook_disable_after_hours
            )
            if outcome.gone or too_long:
                endpoint.status = "disabled"
                endpoint.disabled_reason = "410 Gone" if outcome.gone else "failing too long"
                endpoint.updated_at = now
                DISABLED.labels("gone" if outcome.gone else "failing").inc()
                log.warning("endpoint %s disabled: %s", endpoint.id, endpoint.disabled_reason)
        if outcome.retryable and not outcome.gone and delivery.attempts < settings.max_attempts:
            kind = "retry"
            RETRIED.labels(*labels).inc()
            delivery.status = "pending"
            delivery.next_attempt_at = domain.next_attempt(
                now,
                delivery.attempts,
                settings.retry_base_seconds,
                settings.retry_cap_seconds,
                outcome.retry_after,
            )
        else:
            kind = "gone" if outcome.gone else "dead"
            DEAD.labels(*labels).inc()
            delivery.status = "dead"
            if note is not None and note.status != "sent":
                note.status = "failed"
                session.add(note)
            if delivery.audience == "staff" and note is not None:
                handlers.forget_code(note)  # a dead link is issued again by its admin
            elif delivery.audience != "staff":
                outbox.emit(
                    session,
                    NotificationDeadLettered(
                        report_id=delivery.report_id,
                        notification_id=delivery.notification_id,
                        delivery_id=delivery.id,
                        template=delivery.template,
                        channel=delivery.channel,  # type: ignore[arg-type]
                        audience=delivery.audience,  # type: ignore[arg-type]
                        attempts=delivery.attempts,
                        last_error=delivery.last_error,
                        failed_at=now,
                    ),
                    delivery.report_id,
                    event_id=dead_letter_id(delivery),
                )
    if endpoint is not None:
        session.add(endpoint)
    session.add(delivery)
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            number=delivery.attempts,
            outcome=kind,
            status_code=outcome.status_code,
            error=delivery.last_error if not outcome.ok else None,
            retry_after_seconds=outcome.retry_after,
            duration_ms=round(duration_ms, 2),
            at=now,
        )
    )


class Coalesced(Generic[T]):
    """Runs ``run`` on items submitted while an earlier run was under way all together,
    in one run: each ``submit`` returns once its item's run is done, and raises what that
    run raised."""

    def __init__(self, run: Callable[[list[T]], Awaitable[Any]]) -> None:
        self._run = run
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self._running = False

    async def submit(self, item: T) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if not self._running:
            self._running = True
            batch: list[tuple[T, asyncio.Future[None]]] = []
            try:
                while self._waiting:
                    batch, self._waiting = self._waiting, []
                    try:
                        await self._run([i for i, _ in batch])
                    except Exception as exc:
                        for _, f in batch:
                            f.set_exception(exc)
                    else:
                        for _, f in batch:
                            f.set_result(None)
            finally:
                # Cancelled while running: whoever still waits is cancelled too.
                for _, f in [*batch, *self._waiting]:
                    if not f.done():
                        f.cancel()
                self._waiting = []
                self._running = False
        await done


class Dispatcher:
    """The per-channel send loops of one instance."""

    def __init__(self, settings: NotificationsSettings, senders: dict[str, Sender]) -> None:
        self.settings = settings
        self.senders = senders
        self._wakes: dict[str, asyncio.Event] = {}

    def poke(self) -> None:
        """Something was committed that may have queued deliveries: look now."""
        for wake in self._wakes.values():
            wake.set()

    async def run_channel(self, rt: ServiceRuntime, channel: str) -> None:
        """Claim, send, settle, forever; errors are logged and the loop goes on."""
        settings = self.settings
        sender = self.senders[channel]
        limit = asyncio.Semaphore(settings.concurrency)
        # Deliveries are queued by this service's own commits, which poke the loop; the
        # wait between looks doubles while they find nothing (a retry falls due without
        # a commit), up to ``idle_tick_seconds``.
        wake = self._wakes.setdefault(channel, asyncio.Event())
        pause = settings.tick_seconds
        loop = asyncio.get_running_loop()
        try:
            while True:
                wake.clear()
                began = loop.time()
                try:
                    sent = await self.round(rt, channel, sender, limit)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s dispatcher round failed; retrying", channel)
                    sent = 0
                if sent >= settings.batch:
                    continue
                pause = idle_pause(
                    pause, bool(sent), settings.tick_seconds, settings.idle_tick_seconds
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), pause)
                # Busy, the consumer commits many times a second: a look per tick at most.
                rest = settings.tick_seconds - (loop.time() - began)
                if rest > 0:
                    await asyncio.sleep(rest)
        finally:
            await sender.close()

    async def round(
        self, rt: ServiceRuntime, channel: str, sender: Sender, limit: asyncio.Semaphore
    ) -> int:
        """One batch of one channel; returns how many were claimed."""
        settings = self.settings

        def take() -> list[tuple[str, Message | str]]:
            with rt.database.session() as session:
                claimed = claim(session, channel, _now(), settings.batch, settings.lease_seconds)
                around = load_around(  # noqa: F841 (kept while prepare reads them)
                    session, claimed, Notification, Recipient, Contact, Endpoint
                )
                return [(d.id, prepare(session, settings, d)) for d in claimed]

        work = await rt.database.write(take)
        if not work:
            return 0

        def started(delivery_ids: list[str]) -> None:
            with rt.database.session() as session:
                mark_started(session, delivery_ids, _now())

        def record(results: list[tuple[str, Outcome | str, float]]) -> None:
            settle_all(rt.database, rt.outbox, settings, results)

        async def send(message: Message | str) -> Outcome | str:
            try:
                return message if isinstance(message, str) else await sender.send(message)
            except Exception as exc:  # a sender's bug must not stall the loop
                log.exception("%s sender failed", channel)
                return Outcome(ok=False, error=f"sender error: {type(exc).__name__}")

        if channel in ONCE:
            # A person's phone or mailbox cannot drop a repeat. From its start, committed
            # before the gateway sees it, to its recorded answer, a message holds one of
            # ``concurrency`` places: only those in flight when an instance dies can go
            # twice, and each of them leaves an "uncertain" attempt. The starts and the
            # answers of messages that come together share a transaction.
            starts: Coalesced[str] = Coalesced(lambda ids: rt.database.write(started, ids))
            answers: Coalesced[tuple[str, Outcome | str, float]] = Coalesced(
                lambda results: rt.database.write(record, results)
            )

            async def one(delivery_id: str, message: Message | str) -> None:
                async with limit:
                    if not isinstance(message, str):
                        await starts.submit(delivery_id)
                    start = time.perf_counter()
                    outcome = await send(message)
                    took = (time.perf_counter() - start) * 1000
                    await answers.submit((delivery_id, outcome, took))
                    rt.wake_relay()

            await asyncio.gather(*(one(d, m) for d, m in work))
            return len(work)

        # Webhooks carry the same webhook-id on every try, and receivers drop repeats:
        # attempts are recorded as they finish, as many per transaction as have finished
        # meanwhile (prompt when idle, few commits under load).
        done: list[tuple[str, Outcome | str, float]] = []
        finished = asyncio.Event()

        async def batched(delivery_id: str, message: Message | str) -> None:
            async with limit:
                start = time.perf_counter()
                outcome = await send(message)
                done.append((delivery_id, outcome, (time.perf_counter() - start) * 1000))
                finished.set()

        sends = asyncio.gather(*(batched(d, m) for d, m in work))
        settled = 0
        while settled < len(work):
            await finished.wait()
            finished.clear()
            results, done[:] = list(done), []
            if results:
                await rt.database.write(record, results)
                settled += len(results)
                rt.wake_relay()
        await sends
        return len(work)

    async def backlog(self, rt: ServiceRuntime) -> None:
        """Keep the backlog gauge current."""
        while True:
            try:

                def count() -> dict[str, int]:
                    with rt.database.engine.connect() as conn:
                        rows = conn.execute(
                            sa.select(Delivery.channel, sa.func.count())  # type: ignore[call-overload]
                            .where(Delivery.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
                            .group_by(Delivery.channel)
                        )
                        return {str(c): int(n) for c, n in rows}

                counts = await rt.database.read(count)
                for channel in CHANNELS:
                    BACKLOG.labels(channel).set(counts.get(channel, 0))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("counting the delivery backlog failed")
            await asyncio.sleep(5)

    async def close(self) -> None:
        """Close every sender."""
        for sender in self.senders.values():
            await sender.close()
