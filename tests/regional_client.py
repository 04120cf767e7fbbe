"""A scripted regional government's system, written as docs/regions.md tells a region's
developers to write theirs: client credentials for a token, the feed by pull (a saved
cursor), by server-sent events (Last-Event-ID) or by webhook (Standard Webhooks
signatures, checked here with the standard library only), each event processed once
even when it comes twice, and follow-ups sent back with its own ids.

Its state (cursor, processed event ids, what it saw) is a JSON file: a "restart" is a new
client on the same file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx


@dataclass
class RegionalGovernment:
    """One region's system, talking to Aduan's gateway (notifications) and routing."""

    gateway: str
    routing: str
    client_id: str
    client_secret: str
    state_file: Path
    _token: str = ""
    _token_until: float = 0.0
    state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state_file.exists():
            self.state = json.loads(self.state_file.read_text())
        self.state.setdefault("cursor", "0")
        self.state.setdefault("processed", [])
        self.state.setdefault("reports", {})
        self.state.setdefault("handled", 0)

    # -- credentials ----------------------------------------------------------------
    def token(self) -> str:
        if time.monotonic() < self._token_until - 30:
            return self._token
        r = httpx.post(
            f"{self.gateway}/v1/region/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.client_secret),
            timeout=10,
        )
        r.raise_for_status()
        body = r.json()
        self._token = body["access_token"]
        self._token_until = time.monotonic() + body["expires_in"]
        return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    # -- processing, once per event ---------------------------------------------------------
    def handle(self, event: dict[str, Any]) -> bool:
        """Apply one event to the region's own records; False if it had it already."""
        if event["id"] in self.state["processed"]:
            return False
        data = event["data"]
        record = self.state["reports"].setdefault(data["report_id"], {"changes": []})
        record["changes"].append(data["change"])
        record.update(
            status=data["status"],
            title=data["title"],
            agency_id=data["agency_id"],
            regency_code=data["regency_code"],
        )
        self.state["processed"].append(event["id"])
        self.state["handled"] += 1
        return True

    def save(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state))
        tmp.replace(self.state_file)

    # -- pull ------------------------------------------------------------------------
    def pull(self, crash_after: int | None = None) -> int:
        """Read every event after the saved cursor; save the cursor after each page.

        ``crash_after``: stop without saving after processing that many events (a crash
        between processing and saving: those events come again, and are not redone).
        """
        done = 0
        while True:
            r = httpx.get(
                f"{self.gateway}/v1/region/events",
                params={"after": self.state["cursor"], "limit": 3},
                headers=self.headers(),
                timeout=10,
            )
            r.raise_for_status()
            page = r.json()
            for event in page["events"]:
                self.handle(event)
                done += 1
                if crash_after is not None and done >= crash_after:
                    self.save_processed_only()
                    return done
            if not page["events"]:
                return done
            self.state["cursor"] = page["next"]
            self.save()

    def save_processed_only(self) -> None:
        """What a crash leaves on disk: the processed ids, not the new cursor."""
        on_disk = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        on_disk.update(processed=self.state["processed"], reports=self.state["reports"])
        on_disk.update(handled=self.state["handled"])
        on_disk.setdefault("cursor", "0")
        self.state_file.write_text(json.dumps(on_disk))

    # -- server-sent events ------------------------------------------------------------------
    def stream(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Read ``count`` events from the stream, resuming from the saved cursor."""
        got: list[dict[str, Any]] = []
        headers = {**self.headers(), "Last-Event-ID": self.state.get("sse_cursor", "0")}
        with httpx.stream(
            "GET",
            f"{self.gateway}/v1/region/stream",
            headers=headers,
            timeout=httpx.Timeout(timeout, read=timeout),
        ) as r:
            r.raise_for_status()
            for event_id, data in _sse(r.iter_lines()):
                event = json.loads(data)
                self.handle(event)
                got.append(event)
                self.state["sse_cursor"] = event_id
                self.save()
                if len(got) >= count:
                    break
        return got

    # -- follow-ups back -------------------------------------------------------------------------
    def act(self, report_id: str, action: str, **body: Any) -> httpx.Response:
        return httpx.post(
            f"{self.routing}/v1/region/reports/{report_id}/{action}",
            json=body,
            headers=self.headers(),
            timeout=10,
        )


def _sse(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    event_id, data = "", []
    for line in lines:
        if line == "":
            if data:
                yield event_id, "\n".join(data)
            event_id, data = "", []
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks: HMAC-SHA256 of ``id.timestamp.body`` with the secret's bytes."""
    msg_id, ts, sigs = (
        headers["webhook-id"],
        headers["webhook-timestamp"],
        headers["webhook-signature"],
    )
    if abs(time.time() - int(ts)) > 300:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    return any(hmac.compare_digest(expected, s.split(",", 1)[1]) for s in sigs.split() if "," in s)


class WebhookReceiver:
    """The region's webhook URL: verifies each delivery, then processes it once."""

    def __init__(self, region: RegionalGovernment) -> None:
        self.region = region
        self.secret = ""
        self.bad = 0
        self.received = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if not receiver.secret or not verify_signature(receiver.secret, headers, body):
                    receiver.bad += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.received += 1
                    receiver.region.handle(json.loads(body))
                    receiver.region.save()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/aduan"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
