"""Failures while reports flow: a service killed with SIGKILL, the broker lost.

In both cases every report must still reach ``routed`` exactly once in effect: one
routing, one deadline and three reporter notices per report, whatever was redelivered.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services import auth, catalog
from services.launcher import Platform
from tests.conftest import PlatformFactory
from tests.e2e.helpers import REPORT, scalar, wait_for

pytestmark = pytest.mark.e2e

REPORTS = 120


class Feeder(threading.Thread):
    """Posts reports at a steady pace in the background."""

    def __init__(self, platform: Platform, total: int, pause: float = 0.03) -> None:
        super().__init__(daemon=True)
        self.platform, self.total, self.pause = platform, total, pause
        self.ids: list[str] = []
        self.error: BaseException | None = None
        self.tracking: list[str] = []
        # Seconds each report waited from its first refused attempt to being taken.
        self.refused_for: list[float] = []

    def run(self) -> None:
        try:
            while len(self.ids) < self.total:
                self.ids.append(self._submit_with_retries())
                time.sleep(self.pause)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _submit_with_retries(self) -> str:
        # Like a real client: retry while intake restarts, with one idempotency key so
        # that a retry of a report that did arrive makes no second report.
        key = uuid.uuid4().hex
        deadline = time.monotonic() + 60
        refused: float | None = None
        while True:
            try:
                r = httpx.post(
                    f"{self.platform.url('intake')}/v1/reports",
                    json=REPORT,
                    headers={"idempotency-key": key},
                    timeout=10,
                )
                if r.status_code in (200, 201):
                    if refused is not None:
                        self.refused_for.append(time.monotonic() - refused)
                    self.tracking.append(str(r.json()["tracking_number"]))
                    return str(r.json()["report_id"])
            except httpx.TransportError:
                pass
            refused = refused if refused is not None else time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError("intake did not take the report for 60 s")
            time.sleep(0.2)

    def wait_posted(self, n: int, timeout: float = 60) -> None:
        wait_for(lambda: len(self.ids) >= n or self.error, timeout, f"{n} reports posted")
        assert self.error is None, self.error


class Reader(threading.Thread):
    """Reads a console's list every 0.2 s; keeps the longest stretch it could not."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.stop = threading.Event()
        self.reads = self.failures = 0
        self.longest_gap = 0.0

    def run(self) -> None:
        failing_since: float | None = None
        while not self.stop.is_set():
            try:
                ok = httpx.get(self.url, headers=self.headers, timeout=5).status_code == 200
            except httpx.TransportError:
                ok = False
            now = time.monotonic()
            self.reads += 1
            if ok:
                failing_since = None
            else:
                self.failures += 1
                failing_since = failing_since if failing_since is not None else now
                self.longest_gap = max(self.longest_gap, now - failing_since)
            self.stop.wait(0.2)


def assert_exactly_once(platform: Platform, n: int, timeout: float = 120) -> None:
    """Every report routed, with one deadline and its three reporter notices sent, and no
    more."""
    last: dict[str, int] = {}

    def done() -> bool:
        last.update(
            routings=scalar(platform, "routing", "SELECT count(*) FROM routings"),
            deadlines=scalar(
                platform, "sla", "SELECT count(*) FROM clocks WHERE clock = 'first_response'"
            ),
            decisions=scalar(platform, "verification", "SELECT count(*) FROM decisions"),
            sent=scalar(
                platform,
                "notifications",
                "SELECT count(*) FROM deliveries WHERE status = 'sent'",
            ),
            notes=scalar(platform, "notifications", "SELECT count(*) FROM notifications"),
            routed=scalar(
                platform, "intake", "SELECT count(*) FROM reports WHERE status = 'routed'"
            ),
        )
        return (
            last["routings"] >= n
            and last["deadlines"] >= n
            and last["sent"] >= 3 * n
            and last["routed"] >= n
        )

    try:
        wait_for(done, timeout, "every report routed, with its deadline and notifications")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; counts {last}") from None
    time.sleep(3)  # anything redelivered late would show up now
    assert scalar(platform, "intake", "SELECT count(*) FROM reports") == n
    assert scalar(platform, "verification", "SELECT count(*) FROM decisions") == n
    assert scalar(platform, "routing", "SELECT count(*) FROM routings") == n
    assert (
        scalar(platform, "sla", "SELECT count(*) FROM clocks WHERE clock = 'first_response'") == n
    )
    # Per report: received, verified and routed for the reporter (each sent once by SMS),
    # and new_report for the agency.
    assert scalar(platform, "notifications", "SELECT count(*) FROM notifications") == 4 * n
    assert scalar(platform, "notifications", "SELECT count(*) FROM deliveries") == 3 * n
    assert (
        scalar(platform, "notifications", "SELECT count(DISTINCT report_id) FROM notifications")
        == n
    )
    # History: each lifecycle step recorded once per report.
    for kind in ("submitted", "verified", "routed", "deadline"):
        assert (
            scalar(
                platform, "intake", "SELECT count(*) FROM report_history WHERE kind = :k", k=kind
            )
            == n
        ), kind


@pytest.mark.parametrize(
    ("backend", "victim"),
    [("sqlite", "routing"), ("postgres", "routing"), ("sqlite", "notifications")],
)
def test_sigkill_a_service_while_reports_flow(
    make_platform: PlatformFactory, backend: str, victim: str
) -> None:
    platform = make_platform(backend)
    feeder = Feeder(platform, REPORTS)
    feeder.start()
    feeder.wait_posted(REPORTS // 3)
    platform.kill(victim, signal.SIGKILL)
    feeder.wait_posted(2 * REPORTS // 3)
    platform.start_instance(victim)
    feeder.join(120)
    assert feeder.error is None and len(feeder.ids) == REPORTS
    assert_exactly_once(platform, REPORTS)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_broker_restart_then_replay_loses_nothing(
    make_platform: PlatformFactory, backend: str
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    platform = make_platform(backend, own_broker=True)
    # What the people using it see meanwhile: a citizen posting and following a report, a
    # verifier's console.
    feeder = Feeder(platform, REPORTS)
    feeder.start()
    feeder.wait_posted(REPORTS // 2)
    readers = {
        "verification's queue": Reader(
            f"{platform.url('verification')}/v1/queue",
            {"authorization": f"Bearer {platform.staff_token(auth.Role.verifier, 'v-1')}"},
        ),
        "the tracking page": Reader(
            f"{platform.url('intake')}/v1/reports/{feeder.tracking[0]}", {}
        ),
    }
    for reader in readers.values():
        reader.start()
    # Every topic, message, group and offset is gone. Workers that notice it exit at
    # once (a graceful stop would commit stale offsets); the feeder retries meanwhile.
    posted_before = len(feeder.ids)
    platform.restart_broker()
    time.sleep(2)
    # The recovery procedure (what `aduan run` does by itself when its broker dies):
    # fresh workers, then replay of every outbox, while reports keep arriving.
    counts = platform.recover_after_broker_loss(started)
    feeder.join(180)
    assert feeder.error is None and len(feeder.ids) == REPORTS
    # report.submitted + reporter.contact for every report taken before the loss
    assert counts["intake"] >= 2 * posted_before
    for reader in readers.values():
        reader.stop.set()
        reader.join(10)
    seen = "; ".join(
        f"{name}: {r.failures}/{r.reads} reads failed, longest gap {r.longest_gap:.1f} s"
        for name, r in readers.items()
    )
    print(
        f"\nbroker loss ({backend}): {len(feeder.refused_for)} reports refused at first, "
        f"taken after at most {max(feeder.refused_for, default=0):.1f} s; {seen}"
    )
    assert_exactly_once(platform, REPORTS, timeout=180)


def test_two_instances_split_the_partitions_and_survive_one_kill(
    make_platform: PlatformFactory,
) -> None:
    platform = make_platform("postgres", instances={"routing": 2})
    first, second = platform.instance("routing"), platform.instance("routing#1")

    def partitions(inst: object) -> int:
        health = platform.health(inst)  # type: ignore[arg-type]
        return int(health["assigned_partitions"]) if health else -1  # type: ignore[call-overload]

    # Routing's input topics (4 partitions each): the group gives each instance its share.
    total = 4 * len(catalog.inputs_of("routing"))
    wait_for(
        lambda: partitions(first) + partitions(second) == total and partitions(second) > 0,
        30,
        "both instances own partitions",
    )
    feeder = Feeder(platform, 60)
    feeder.start()
    feeder.wait_posted(20)
    platform.kill("routing#1", signal.SIGKILL)
    wait_for(lambda: partitions(first) == total, 30, "the survivor owns every partition")
    feeder.join(120)
    assert feeder.error is None
    assert_exactly_once(platform, 60)
