"""Driving a running platform from tests: submit, wait, count."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa

from services.contracts import Payload, encode, new_event
from services.launcher import Platform
from tests.kafka_helpers import produce

T = TypeVar("T")

REPORT: dict[str, Any] = {
    "title": "Jalan berlubang di depan pasar",
    "body": "Jalan Cikutra di depan Pasar Cicadas berlubang besar sejak dua minggu lalu dan "
    "sudah menyebabkan dua pengendara motor jatuh pada malam hari.",
    "category": "infrastruktur",
    "regency_code": "32.73",
    "reporter": {"phone": "081234567890"},
}


# An Anonim report whose story names its reporter: verification queues it for a person.
NAMED_ANONYMOUS: dict[str, Any] = {
    "title": "Lampu jalan mati",
    "body": "Nama saya Budi Santoso. Lampu jalan di Jalan Cikutra RT 04/RW 07 mati sejak "
    "tiga minggu dan warga takut lewat malam hari.",
    "anonymous": True,
}


def submit(platform: Platform, **overrides: Any) -> dict[str, Any]:
    """POST a report; returns intake's answer."""
    body = {**REPORT, **overrides}
    r = httpx.post(f"{platform.url('intake')}/v1/reports", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return dict(r.json())


def track(platform: Platform, tracking_number: str, **params: str) -> httpx.Response:
    """GET a report by tracking number."""
    return httpx.get(
        f"{platform.url('intake')}/v1/reports/{tracking_number}", params=params, timeout=30
    )


def wait_for(fn: Callable[[], T | None], timeout: float = 60, what: str = "") -> T:
    """Poll ``fn`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or fn}: {last!r}")


def fully_routed(platform: Platform, tracking_number: str) -> dict[str, Any] | None:
    """The tracking view once routed, with its deadline and its three notices (received,
    verified, routed)."""
    r = track(platform, tracking_number)
    if r.status_code != 200:
        return None
    view = dict(r.json())
    kinds = [h["kind"] for h in view["history"]]
    if view["status"] == "routed" and "deadline" in kinds and kinds.count("notification") >= 3:
        return view
    return None


def scalar(platform: Platform, service: str, sql: str, **params: Any) -> Any:
    """One value from a service's database (tests only: services never do this)."""
    engine = sa.create_engine(platform.database_url(service))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar_one()
    finally:
        engine.dispose()


def effect_counts(platform: Platform) -> dict[str, int]:
    """Rows that each report's journey creates, per service."""
    return {
        "reports": scalar(platform, "intake", "SELECT count(*) FROM reports"),
        "history": scalar(platform, "intake", "SELECT count(*) FROM report_history"),
        "decisions": scalar(platform, "verification", "SELECT count(*) FROM decisions"),
        "routings": scalar(platform, "routing", "SELECT count(*) FROM routings"),
        "deadlines": scalar(
            platform, "sla", "SELECT count(*) FROM clocks WHERE clock = 'first_response'"
        ),
        "notifications": scalar(platform, "notifications", "SELECT count(*) FROM notifications"),
    }


def metric(platform: Platform, key: str, name: str, **labels: str) -> float:
    """Sum of a Prometheus sample on an instance's /metrics, filtered by labels."""
    text = httpx.get(f"{platform.url(key)}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        head, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def publish(platform: Platform, topic: str, source: str, payload: Payload, rid: str) -> None:
    """Put an event on a platform topic as the service ``source`` would publish it (for
    the events whose producing side is another issue's: an agency's action, a citizen's
    answer)."""
    produce(
        platform.bootstrap or "",
        f"{platform.namespace}.{topic}",
        encode(new_event(source, rid, payload)),
        key=rid.encode(),
    )


def staff_headers(
    platform: Platform, role: str = "administrator", agency: str | None = None
) -> dict[str, str]:
    """An Authorization header for a member of staff of this platform."""
    from services.auth import Role

    token = platform.staff_token(Role(role), f"test-{role}", agency)
    return {"Authorization": f"Bearer {token}"}


def routing_of(platform: Platform, report_id: str) -> dict[str, Any]:
    """Where routing sent a report (as an administrator sees it)."""
    url = f"{platform.url('routing')}/v1/routings/{report_id}"
    r = httpx.get(url, headers=staff_headers(platform))
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def region_credentials(platform: Platform, region: str) -> dict[str, Any]:
    """Client credentials for a connected regional government's system (``32.73``, ``32``)."""
    r = httpx.post(
        f"{platform.url('notifications')}/v1/regions/clients",
        json={"region": region, "name": f"Sistem pemda {region}"},
        headers=staff_headers(platform),
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def console_cookie(page: Any, base: str, name: str, token: str) -> None:
    """Put a script token (``aduan token``) in a console's sign-in cookie, as tests and
    scripts may: people sign in on routing's /auth/login instead."""
    page.context.add_cookies([{"name": f"aduan_staff_{name}", "value": token, "url": base}])
