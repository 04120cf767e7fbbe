"""Standard Webhooks (https://www.standardwebhooks.com/): signing, verification, secrets,
and a network backend that refuses internal addresses.

A message is signed with HMAC-SHA256 over ``{webhook-id}.{webhook-timestamp}.{body}``
with the secret's raw bytes (the base64 after ``whsec_``); the ``webhook-signature``
header carries ``v1,<base64>`` for every secret still valid, space-separated, so that a
receiver can switch to a rotated secret while the old one is still honoured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from collections.abc import Iterable
from typing import Any

import httpcore

from notifications.domain import address_allowed

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret
DEFAULT_TOLERANCE = 300  # seconds either side, as the spec recommends


class WebhookVerificationError(ValueError):
    """A webhook's signature or timestamp does not check out."""


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    secrets_: Iterable[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every given secret."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(sign(s, msg_id, ts, body) for s in secrets_),
    }


def verify(
    secret: str,
    headers_: dict[str, str],
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a received webhook as a receiver must; raise WebhookVerificationError."""
    lower = {k.lower(): v for k, v in headers_.items()}
    msg_id, ts, sigs = (
        lower.get("webhook-id"),
        lower.get("webhook-timestamp"),
        lower.get("webhook-signature"),
    )
    if not msg_id or not ts or not sigs:
        raise WebhookVerificationError("missing webhook headers")
    try:
        stamp = int(ts)
    except ValueError as exc:
        raise WebhookVerificationError("bad timestamp") from exc
    current = time.time() if now is None else now
    if abs(current - stamp) > tolerance:
        raise WebhookVerificationError("timestamp outside the tolerance")
    expected = sign(secret, msg_id, stamp, body).split(",", 1)[1]
    for candidate in sigs.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise WebhookVerificationError("no matching signature")


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


class BlockedAddress(OSError):
    """A webhook URL resolves to an address it may not reach."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses internal addresses, then connects to the very
    address it checked (no second lookup for a rebinding DNS server to answer)."""

    def __init__(self, allowed: Networks = ()) -> None:
        self.allowed = allowed
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first allowed address of ``host``."""
        import anyio

        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]
        allowed = [a for a in addresses if address_allowed(a, self.allowed)]
        if not addresses:
            raise BlockedAddress(f"{host} does not resolve")
        if len(allowed) != len(addresses):
            # One internal address among public ones is enough to refuse: the target
            # may not be steered inside by the order of DNS answers.
            raise BlockedAddress(f"{host} resolves to an address webhooks may not reach")
        return await self._inner.connect_tcp(
            allowed[0], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        """Never: webhooks go over TCP."""
        raise BlockedAddress("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        """Delegate."""
        await self._inner.sleep(seconds)
