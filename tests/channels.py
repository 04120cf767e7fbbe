"""Real channel peers for tests: Kannel (bearerbox + smsbox from Debian) with its
``fakesmsc`` as the phone network, an aiosmtpd SMTP server, and an HTTP webhook
receiver whose answers a test scripts."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import re
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from services.broker import free_port

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")


def wait_port(port: int, timeout: float = 20.0) -> None:
    """Until something accepts on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port} after {timeout}s")


@dataclass
class Sms:
    """A message the phone network received (parts already joined)."""

    sender: str
    to: str
    text: str
    parts: int
    coding: str


_GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (.*)>$")


def _decode(data: bytes) -> tuple[str, str]:
    if b"\x00" in data and len(data) % 2 == 0:
        return data.decode("utf-16-be"), "ucs2"
    try:
        return data.decode("utf-8"), "gsm7"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "gsm7"


class KannelGateway:
    """bearerbox, smsbox and fakesmsc on free loopback ports, for one test."""

    USER, PASSWORD = "aduan", "kannel-test-secret"

    def __init__(
        self, workdir: Path, max_messages: int = 6, sms_service_url: str | None = None
    ) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.admin_port, self.box_port, self.smsc_port, self.sendsms_port = (
            free_port(),
            free_port(),
            free_port(),
            free_port(),
        )
        self.max_messages = max_messages
        # Where incoming SMS go (intake's /v1/sms/kannel with its secret), if anywhere.
        self.sms_service_url = sms_service_url
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.conf = self.dir / "kannel.conf"
        self.phone_log = self.dir / "fakesmsc.log"

    @property
    def sendsms_url(self) -> str:
        """What notifications calls."""
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def env(self) -> dict[str, str]:
        """Notifications' settings for this gateway."""
        return {
            "NOTIFICATIONS_KANNEL_SENDSMS_URL": self.sendsms_url,
            "NOTIFICATIONS_KANNEL_USERNAME": self.USER,
            "NOTIFICATIONS_KANNEL_PASSWORD": self.PASSWORD,
        }

    def _write_conf(self) -> None:
        spool = self.dir / "spool"
        spool.mkdir(exist_ok=True)
        self.conf.write_text(
            f"""group = core
admin-port = {self.admin_port}
admin-password = {self.PASSWORD}
admin-interface = 127.0.0.1
smsbox-port = {self.box_port}
box-allow-ip = 127.0.0.1
log-level = 1
store-type = spool
store-location = {spool}

group = smsc
smsc = fake
smsc-id = fake
port = {self.smsc_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
global-sender = 1708
log-level = 1

group = sendsms-user
username = {self.USER}
password = {self.PASSWORD}
max-messages = {self.max_messages}
concatenation = true
"""
        )
        if self.sms_service_url:
            with self.conf.open("a") as f:
                f.write(
                    f"""
group = sms-service
keyword = default
catch-all = true
get-url = "{self.sms_service_url}&from=%p&to=%P&id=%I&text=%a"
max-messages = 3
concatenation = true
omit-empty = true
"""
                )

    def _spawn(self, name: str, *args: str) -> None:
        log = (self.dir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            list(args), stdout=log, stderr=subprocess.STDOUT, cwd=self.dir
        )

    def start(self) -> KannelGateway:
        """Start the three processes and wait until sendsms answers."""
        for binary in (BEARERBOX, SMSBOX, FAKESMSC):
            assert binary.exists(), f"{binary} missing: make installs kannel and kannel-extras"
        self._write_conf()
        self._spawn("bearerbox", str(BEARERBOX), "-v", "1", str(self.conf))
        wait_port(self.smsc_port)
        self.start_phone_network()
        self.start_smsbox()
        return self

    def start_phone_network(self) -> None:
        """fakesmsc: receives everything sent (-m 0: it sends nothing itself)."""
        log = self.phone_log.open("ab")
        self.procs["fakesmsc"] = subprocess.Popen(
            [
                str(FAKESMSC),
                "-H",
                "127.0.0.1",
                "-r",
                str(self.smsc_port),
                "-i",
                "1",
                "-m",
                "0",
                "1 2 text x",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
        )

    def send(self, sender: str, text: str, to: str = "1708") -> None:
        """A phone sends an SMS (mobile originated). The fake SMSC takes one connection,
        so the phone network is replaced by a fakesmsc that sends it once and then, like
        the one it replaces, logs every message it receives (the reply among them)."""
        current = self.procs.pop("fakesmsc", None)
        if current is not None:
            current.terminate()
            current.wait(10)
        log = self.phone_log.open("ab")
        self.procs["fakesmsc"] = subprocess.Popen(
            [
                str(FAKESMSC),
                "-H",
                "127.0.0.1",
                "-r",
                str(self.smsc_port),
                "-i",
                "0.1",
                "-m",
                "1",
                f"{sender} {to} text {text}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
        )

    def start_smsbox(self) -> None:
        """smsbox: the sendsms HTTP interface."""
        self._spawn("smsbox", str(SMSBOX), "-v", "1", str(self.conf))
        wait_port(self.sendsms_port)

    def stop_smsbox(self) -> None:
        """Take the sendsms interface away (Kannel "down" for notifications)."""
        proc = self.procs.pop("smsbox", None)
        if proc is not None:
            proc.terminate()
            proc.wait(10)

    def received(self) -> list[Sms]:
        """Messages on the phone network so far, concatenated parts joined."""
        if not self.phone_log.exists():
            return []
        out: list[Sms] = []
        pending: dict[tuple[str, str, int], dict[int, tuple[str, str]]] = {}
        totals: dict[tuple[str, str, int], int] = {}
        for line in self.phone_log.read_text(errors="replace").splitlines():
            m = _GOT.search(line)
            if not m:
                continue
            sender, to, rest = m.groups()
            kind, _, payload = rest.partition(" ")
            if kind == "text":
                out.append(Sms(sender, to, payload, 1, "gsm7"))
            elif kind == "ucs-2":
                text = urllib.parse.unquote_to_bytes(payload.replace("+", " ")).decode("utf-16-be")
                out.append(Sms(sender, to, text, 1, "ucs2"))
            elif kind == "udh":
                udh_enc, _, data = payload.partition(" ")
                data = data.partition(" ")[2]  # after "data"
                udh = urllib.parse.unquote_to_bytes(udh_enc)
                ref, total, seq = udh[3], udh[4], udh[5]
                key = (sender, to, ref)
                raw = urllib.parse.unquote_to_bytes(data.replace("+", " "))
                pending.setdefault(key, {})[seq] = _decode(raw)
                totals[key] = total
                if len(pending[key]) == total:
                    parts = pending.pop(key)
                    text = "".join(parts[i][0] for i in sorted(parts))
                    out.append(Sms(sender, to, text, total, parts[1][1]))
        return out

    def stop(self) -> None:
        """Stop everything."""
        for proc in reversed(list(self.procs.values())):
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


class _Collect:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"


class SmtpSink:
    """An aiosmtpd server that keeps every message it receives."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    def env(self) -> dict[str, str]:
        """Notifications' settings for this server."""
        return {"NOTIFICATIONS_SMTP_HOST": "127.0.0.1", "NOTIFICATIONS_SMTP_PORT": str(self.port)}

    def start(self) -> SmtpSink:
        """Listen on the port (again, after a stop)."""
        self.controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self) -> list[tuple[list[str], EmailMessage]]:
        """A copy of what arrived."""
        with self.lock:
            return list(self.messages)


@dataclass
class Hook:
    """One request a webhook receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class WebhookReceiver:
    """An HTTP server for webhooks: records every request and answers what the test's
    ``respond(path, attempt)`` returns (status, headers); ``attempt`` counts the
    requests on that path with the same ``webhook-id``."""

    respond: Callable[[str, int], tuple[int, dict[str, str]]] = field(
        default=lambda path, n: (204, {})
    )
    requests: list[Hook] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        Hook(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.time(),
                        )
                    )
                    msg_id = self.headers.get("webhook-id")
                    n = sum(
                        1
                        for r in receiver.requests
                        if r.path == self.path and r.headers.get("webhook-id") == msg_id
                    )
                status, headers = receiver.respond(self.path, n)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        """A URL on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def got(self, path: str | None = None) -> list[Hook]:
        """Requests so far (on one path)."""
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def events(self, path: str) -> list[dict[str, Any]]:
        """The JSON bodies on a path."""
        return [json.loads(r.body) for r in self.got(path)]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
