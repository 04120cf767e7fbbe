"""Delivery channels. One class per channel; for now every channel logs.

The real SMS (Kannel ``sendsms``), email (SMTP) and webhook senders replace the logging
sender per channel in the notifications issue.
"""

from __future__ import annotations

import logging
from typing import Protocol

from notifications.domain import mask

log = logging.getLogger("notifications.sender")


class Sender(Protocol):
    """Sends one message; raises on failure."""

    def send(self, channel: str, address: str | None, text: str, report_id: str) -> None:
        """Deliver ``text`` to ``address`` on ``channel``."""


class LoggingSender:
    """Writes the message to the log with the address masked."""

    def send(self, channel: str, address: str | None, text: str, report_id: str) -> None:
        """Log instead of delivering."""
        log.info(
            "notification via %s to %s: %s",
            channel,
            mask(address) if address else "-",
            text,
            extra={"report_id": report_id},
        )
