"""The senders against real peers that misbehave: an SMTP server that accepts the
connection and never answers, and a webhook target that never answers. Each send ends
within its timeout as a retryable failure, and other sends on the loop go on meanwhile."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from notifications.senders import Message, SmtpSender, WebhookSender
from notifications.settings import NotificationsSettings
from notifications.webhooks import new_secret
from tests.channels import SmtpSink, WebhookReceiver


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def message(address: str, secret: str | None = None) -> Message:
    return Message(
        delivery_id="d1",
        notification_id="n1",
        report_id="r1",
        template="received",
        language="id",
        text="Aduan Anda diterima dengan nomor pelacakan #1234567.",
        subject="Aduan diterima #1234567",
        address=address,
        link="https://aduan.example.id/lacak/1234567",
        webhook_body=b'{"id":"n1"}',
        secrets=(secret,) if secret else (),
    )


def test_a_hanging_smtp_server_times_out_while_another_send_goes_through(
    silent_port: int,
) -> None:
    sink = SmtpSink().start()
    try:
        hanging = SmtpSender(
            NotificationsSettings(
                smtp_host="127.0.0.1", smtp_port=silent_port, send_timeout_seconds=1
            )
        )
        working = SmtpSender(NotificationsSettings(smtp_host="127.0.0.1", smtp_port=sink.port))

        async def both() -> tuple[object, object, float, float]:
            start = time.monotonic()
            done: dict[str, float] = {}

            async def timed(name: str, coro: object) -> object:
                result = await coro  # type: ignore[misc]
                done[name] = time.monotonic() - start
                return result

            slow, fast = await asyncio.gather(
                timed("slow", hanging.send(message("warga@example.id"))),
                timed("fast", working.send(message("warga@example.id"))),
            )
            return slow, fast, done["slow"], done["fast"]

        slow, fast, slow_s, fast_s = asyncio.run(both())
        assert not slow.ok and slow.retryable and "smtp" in (slow.error or "")  # type: ignore[attr-defined]
        assert 0.9 <= slow_s < 5
        assert fast.ok and fast_s < slow_s  # type: ignore[attr-defined]
        assert len(sink.received()) == 1
    finally:
        sink.stop()


def test_a_webhook_that_never_answers_times_out_as_retryable(silent_port: int) -> None:
    receiver = WebhookReceiver()
    try:
        sender = WebhookSender(
            NotificationsSettings(
                webhook_allowed_networks=["127.0.0.0/8"], webhook_timeout_seconds=1
            )
        )
        secret = new_secret()

        async def run() -> tuple[object, object, float]:
            start = time.monotonic()
            silent, answered = await asyncio.gather(
                sender.send(message(f"http://127.0.0.1:{silent_port}/hook", secret)),
                sender.send(message(receiver.url("/hook"), secret)),
            )
            await sender.close()
            return silent, answered, time.monotonic() - start

        silent, answered, took = asyncio.run(run())
        assert not silent.ok and silent.retryable and silent.error == "timeout"  # type: ignore[attr-defined]
        assert answered.ok  # type: ignore[attr-defined]
        assert took < 5
        assert len(receiver.got("/hook")) == 1
    finally:
        receiver.close()
