"""A service process: its FastAPI app, its faust worker and its outbox relay, together.

A service module describes itself with a :class:`ServiceDefinition` (built by its
``app.py``); :class:`ServiceRuntime` wires the parts at start-up, never at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services import bus, catalog, metrics, staffgate
from services.db import Database, migrate
from services.http import SecurityHeaders, install_error_handlers
from services.settings import KitSettings, ServiceSettings

log = logging.getLogger(__name__)


async def every(seconds: float, what: str, step: Callable[[], Awaitable[None]]) -> None:
    """Run ``step`` every ``seconds`` until cancelled (a background loop of a service).

    A failed step is logged and tried again on the next round: a gauge that cannot be
    recounted once must not stop the service.
    """
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", what)
        await asyncio.sleep(seconds)


@dataclass
class ServiceDefinition:
    """What a service is: its name, tables, handlers and HTTP routers."""

    name: str
    settings: ServiceSettings
    metadata: sa.MetaData
    outbox_table: sa.Table
    inbox_table: sa.Table
    migrations: Path
    handlers: dict[str, bus.Handler]
    routers: list[APIRouter] = field(default_factory=list)
    title: str = ""
    # Awaited after the migrations and before any event is consumed.
    startup: list[Callable[[ServiceRuntime], Awaitable[None]]] = field(default_factory=list)
    # Long-running loops (a scheduler...), cancelled at stop.
    background: list[Callable[[ServiceRuntime], Coroutine[Any, Any, None]]] = field(
        default_factory=list
    )
    # Called after every commit that may have left work behind (events applied, an API
    # write): a loop that polls for its work is woken instead of polling often.
    on_commit: list[Callable[[], None]] = field(default_factory=list)
    # Service-specific state its routers reach through ``runtime.definition.extra``.
    extra: dict[str, Any] = field(default_factory=dict)


class ServiceRuntime:
    """The running parts of one service instance."""

    def __init__(self, definition: ServiceDefinition, kit: KitSettings) -> None:
        self.definition = definition
        self.name = definition.name
        self.kit = kit
        self.settings = definition.settings
        self.db_url = self.settings.resolved_database_url(self.name, kit)
        self.db: Database | None = None
        self.outbox = bus.Outbox(self.name, kit, definition.outbox_table)
        self.relay: bus.OutboxRelay | None = None
        self.gate: staffgate.Reader | None = None
        self.faust_app: bus.AduanFaustApp | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def database(self) -> Database:
        """The open database (only while the service runs)."""
        if self.db is None:
            raise RuntimeError("service not started")
        return self.db

    def wake_relay(self) -> None:
        """Ask the relay to publish now (after a commit that wrote to the outbox), and
        wake the service's own loops that wait for work (``definition.on_commit``)."""
        if self.relay is not None:
            self.relay.wake()
        for wake in self.definition.on_commit:
            wake()

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run a task alongside the service; it is cancelled when the service stops."""
        self._tasks.append(asyncio.create_task(work, name=name))

    def consumes(self) -> list[catalog.Topic]:
        """Input topics that this service has handlers for."""
        return [
            t
            for t in catalog.inputs_of(self.name)
            if any(et in self.definition.handlers for et in t.event_types)
        ]

    def assigned_partitions(self) -> int:
        """How many partitions the faust consumer owns now (0 before it joined)."""
        if self.faust_app is None or not self.consumes():
            return 0
        try:
            return len(self.faust_app.consumer.assignment())
        except Exception:
            return 0

    async def start(self) -> None:
        """Migrate the database, then start the relay and the faust worker."""
        await asyncio.to_thread(migrate, self.db_url, self.definition.migrations)
        # Every process refuses revoked staff sessions (services/staffgate.py).
        self.gate = staffgate.Reader(self.kit)
        self.gate.start()
        self.db = Database(self.db_url)
        self.relay = bus.OutboxRelay(self.name, self.kit, self.db, self.definition.outbox_table)
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-relay"))
        for hook in self.definition.startup:
            await hook(self)
        for loop in self.definition.background:
            self.spawn(loop(self), f"{self.name}-background")
        topics = self.consumes()
        if topics:
            app = bus.make_faust_app(self.name, self.kit)
            consumer = bus.InboxConsumer(
                self.name,
                self.db,
                self.outbox,
                self.definition.inbox_table,
                self.definition.handlers,
                bus.DeadLetters(self.name, self.kit),
                on_commit=self.wake_relay,
            )
            for topic in topics:
                bus.bind_topic(app, self.kit, topic, consumer)
            self.faust_app = app
            # The HTTP API answers while the consumer joins its group (seconds, or as long
            # as the broker is away): reports are taken into the outbox, consoles read,
            # and /health says "joining" until partitions are assigned.
            self._tasks.append(
                asyncio.create_task(self._consume(app, topics), name=f"{self.name}-consume")
            )
        else:
            log.info("%s started; consuming nothing", self.name)
        # What start-up made (modules, the areas, settings, the app) lives as long as the
        # process: out of the collector's way, or each full collection walks all of it
        # (measured: a request's p99 136-144 ms with, 64-68 ms without; docs/benchmarks.md).
        gc.collect()
        gc.freeze()

    async def _consume(self, app: Any, topics: list[Any]) -> None:
        try:
            await app.start()
        except Exception:
            log.exception("%s: the consumer could not start; exiting", self.name)
            logging.shutdown()
            os._exit(70)
        log.info("%s started; consuming %s", self.name, [t.name for t in topics])
        await self._watch_for_broker_loss()

    def offsets_went_back(self) -> tuple[list[Any], str | None]:
        """Partitions whose log end is below what this worker read or was told to read.

        That happens only when the broker lost its data (the embedded broker keeps it in
        memory). Two cases:

        - the worker had *consumed* past the new log end: faust would silently drop every
          message below its remembered read offset, so the only safe move is a fresh
          worker (the second value describes it);
        - a fresh worker was *sought* to a committed offset beyond the log end (an old
          worker committed its offsets to the restarted broker before it exited): those
          partitions (the first value) are simply read again from their start.
        """
        stale: list[Any] = []
        if self.faust_app is None:
            return stale, None
        consumer = self.faust_app.consumer
        read_offsets = getattr(consumer, "_read_offset", {})
        committed = getattr(consumer, "_committed_offset", {})
        for tp in list(consumer.assignment()):
            read = read_offsets.get(tp)
            try:
                high = consumer.highwater(tp)
            except Exception:  # noqa: S112 - not fetched yet: nothing to compare
                continue
            if read is None or high is None:
                continue
            # faust's read offset is the last offset consumed, or, right after a seek to
            # the committed position (start-up, rebalance), the next one to read. The log
            # end may equal the latter but never the former.
            after_seek = committed.get(tp) == read
            if after_seek and high < read:
                stale.append(tp)
            elif high < read or (high == read and not after_seek):
                return stale, f"{tp.topic}[{tp.partition}]: log end {high} <= read offset {read}"
        return stale, None

    async def _watch_for_broker_loss(self) -> None:
        while True:
            # Often: once new messages pass the old read offset the loss is invisible.
            await asyncio.sleep(0.2)
            stale, lost = self.offsets_went_back()
            if lost:
                log.error(
                    "the broker lost its data (%s); exiting so that a fresh worker resumes "
                    "from the broker's state (replay the outboxes to re-deliver)",
                    lost,
                )
                # Crash-only, and at once: a graceful stop would commit the remembered
                # offsets to the new broker. Committed work is in the database; the
                # outbox is published by the next worker; the rest is redelivered.
                logging.shutdown()
                os._exit(75)
            for tp in stale:
                log.warning(
                    "%s[%d]: committed offset beyond the log end (left by a lost broker); "
                    "reading it again from the start",
                    tp.topic,
                    tp.partition,
                )
                assert self.faust_app is not None
                consumer = self.faust_app.consumer
                await consumer.seek(tp, 0)
                getattr(consumer, "_committed_offset", {})[tp] = None

    async def stop(self) -> None:
        """Stop consuming, publish what is left, close the database."""
        # faust can take minutes to leave a group whose broker is gone: do not wait.
        watchdog = threading.Timer(30.0, lambda: os._exit(3))
        watchdog.daemon = True
        watchdog.start()
        if self.faust_app is not None:
            try:
                await asyncio.wait_for(self.faust_app.stop(), 15)
            except Exception:
                log.warning("faust did not stop cleanly")
        if self.relay is not None:
            await self.relay.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.gate is not None:
            await asyncio.to_thread(self.gate.stop)
        if self.db is not None:
            self.db.close()

    def fastapi(self) -> FastAPI:
        """The HTTP app: the service's routers plus /health and /metrics."""

        @contextlib.asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(
            title=self.definition.title or f"Aduan {self.name}",
            version="1",
            lifespan=lifespan,
        )
        app.state.runtime = self
        install_error_handlers(app)
        app.add_middleware(SecurityHeaders)
        for router in self.definition.routers:
            app.include_router(router)

        @app.get("/health", tags=["ops"])
        def health() -> JSONResponse:
            ok = self.db is not None
            if ok:
                try:
                    with self.database.engine.connect() as conn:
                        conn.execute(sa.text("SELECT 1"))
                except Exception:
                    ok = False
            needs_partitions = bool(self.consumes())
            partitions = self.assigned_partitions()
            body = {
                "service": self.name,
                "instance": self.settings.instance,
                "status": "ok" if ok else "degraded",
                "database": "ok" if ok else "unavailable",
                "consumer": (
                    "n/a" if not needs_partitions else ("assigned" if partitions else "joining")
                ),
                "assigned_partitions": partitions,
            }
            return JSONResponse(body, status_code=200 if ok else 503)

        @app.get("/metrics", tags=["ops"])
        def metrics_endpoint() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        measured = HttpMetrics(StateCookies(app), self.name)
        return BodyLimit(  # type: ignore[return-value]
            measured,
            self.settings.max_body_bytes,
            self.settings.max_upload_bytes or self.settings.max_body_bytes,
        )


class _Wrapper:
    """An ASGI middleware that passes attribute lookups through to the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


class StateCookies(_Wrapper):
    """Adds the ``Set-Cookie`` headers a request left in ``request.state.set_cookies``
    (a console renewing its sign-in while it answers, whatever the page returns)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookies = scope.get("state", {}).get("set_cookies")
                if cookies:
                    message["headers"] = [
                        *message.get("headers", []),
                        *((b"set-cookie", c.encode("latin-1")) for c in cookies),
                    ]
            await send(message)

        await self.app(scope, receive, sending)


class HttpMetrics(_Wrapper):
    """Counts and times every HTTP request by its route template (``/v1/reports/{id}``,
    never the raw path, so the label set stays small); unmatched paths are one label."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        super().__init__(app)
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            metrics.HTTP_REQUESTS.labels(self.service, route, method, str(status[0])).inc()
            metrics.HTTP_SECONDS.labels(self.service, route, method).observe(
                time.perf_counter() - start
            )


class BodyLimit(_Wrapper):
    """Refuses request bodies over a size with 413, before the app reads them; a
    multipart form (files) may have its own, larger limit."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int | None = None) -> None:
        super().__init__(app)
        self.limit = limit
        self.upload_limit = upload_limit or limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        limit = self.upload_limit if multipart else self.limit
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await self._too_large(send, limit)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(send, limit)

    async def _too_large(self, send: Send, limit: int) -> None:
        body = (
            b'{"detail":[{"code":"payload_too_large","msg":"Permintaan terlalu besar. '
            b'Request body too large.","limit_bytes":' + str(limit).encode() + b"}]}"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def runtime_of(request: Request) -> ServiceRuntime:
    """FastAPI dependency: the running service."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime
