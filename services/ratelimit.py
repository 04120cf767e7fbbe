"""Rate limits: a token bucket per key (an IP address, a phone number, an API key).

``Limiter.hit(key)`` takes one token or raises :class:`Limited` with the seconds until
the next one, which the API turns into ``429`` with ``Retry-After``. Buckets live in the
instance's memory (bounded: the least recently used are forgotten), so N instances allow
up to N times the rate: the gateway in front (nginx ``limit_req`` in deploy/compose) is
the first line, this the second, per process.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from fastapi import HTTPException, Request


class Limited(Exception):
    """Over the limit; ``retry_after`` seconds until the next request is allowed."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class Limiter:
    """``rate`` requests per ``per`` seconds, bursts up to ``burst``, per key."""

    def __init__(self, rate: float, per: float, burst: int | None = None, keys: int = 100_000):
        self.capacity = float(burst if burst is not None else max(1, math.ceil(rate)))
        self.refill = rate / per
        self.keys = keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> None:
        """Take a token for ``key``, or raise :class:`Limited`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.refill)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                raise Limited((1 - tokens) / self.refill)
            self._buckets[key] = (tokens - 1, now)
            while len(self._buckets) > self.keys:
                self._buckets.popitem(last=False)

    def spent(self, key: str, now: float | None = None) -> None:
        """Raise :class:`Limited` if ``key`` has no token left, taking none: for limits
        that count only failures (``hit`` on each failure, ``spent`` before each try)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.refill)
            if tokens < 1:
                raise Limited((1 - tokens) / self.refill)

    def check(self, key: str) -> None:
        """:meth:`hit`, as the API's ``429`` with ``Retry-After`` (whole seconds)."""
        try:
            self.hit(key)
        except Limited as exc:
            raise HTTPException(
                429,
                "Terlalu banyak permintaan; coba lagi nanti. / Too many requests; try later.",
                {"Retry-After": str(max(1, math.ceil(exc.retry_after)))},
            ) from exc


def client_ip(request: Request, trusted_proxies: int = 0) -> str:
    """The caller's address: the socket's, or with ``trusted_proxies`` hops of
    X-Forwarded-For set by our own gateway, the address that gateway saw."""
    if trusted_proxies > 0:
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h]
        if len(hops) >= trusted_proxies:
            return hops[-trusted_proxies]
    return request.client.host if request.client else "unknown"
