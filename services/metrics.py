"""Prometheus metrics every service exports on ``/metrics``.

All are labelled with ``service`` so that one dashboard serves every stage; instances
are told apart by Prometheus's own ``instance`` label.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

EVENTS_CONSUMED = Counter(
    "aduan_events_consumed_total",
    "Events read from a topic, by outcome (processed, duplicate, dead_lettered, and "
    "ignored: a type the service has no use for).",
    ["service", "topic", "outcome"],
)
EVENTS_PRODUCED = Counter(
    "aduan_events_produced_total",
    "Events published to a topic by the outbox relay (acknowledged by the broker).",
    ["service", "topic"],
)
HANDLER_SECONDS = Histogram(
    "aduan_handler_duration_seconds",
    "Time to apply one batch of events in one database transaction, per event type.",
    ["service", "event_type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HANDLER_ERRORS = Counter(
    "aduan_handler_errors_total",
    "Events whose handling failed (each then goes to the dead-letter topic).",
    ["service", "topic", "error_type"],
)
DEAD_LETTERED = Counter(
    "aduan_dead_lettered_total",
    "Events sent to a dead-letter topic.",
    ["service", "topic"],
)
OUTBOX_BACKLOG = Gauge(
    "aduan_outbox_backlog",
    "Outbox events written but not yet acknowledged by the broker.",
    ["service"],
)
OUTBOX_PUBLISH_ERRORS = Counter(
    "aduan_outbox_publish_errors_total",
    "Outbox publish attempts that failed (the events stay in the outbox and are retried).",
    ["service", "error"],
)
CONSUMER_LAG = Gauge(
    "aduan_consumer_lag",
    "Messages behind the log end, from the high watermark of the last fetch.",
    ["service", "topic", "partition"],
)
DB_RETRIES = Counter(
    "aduan_db_retries_total",
    "Batches retried because the database could not be reached.",
    ["service"],
)
HTTP_REQUESTS = Counter(
    "aduan_http_requests_total",
    "HTTP requests answered, by route template (not the raw path), method and status.",
    ["service", "route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "aduan_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["service", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


_PENDING = "aduan_metrics_after_commit"


def after_commit(session: Session, count: Callable[[], None]) -> None:
    """Count something once the session's transaction commits, never on a rollback.

    A handler's batch can be rolled back and applied again one event at a time; a
    counter moved inside the transaction would count the retried events twice.
    """
    session.info.setdefault(_PENDING, []).append(count)


@sa_event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for count in session.info.pop(_PENDING, []):
        count()


@sa_event.listens_for(Session, "after_rollback")
def _drop_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
