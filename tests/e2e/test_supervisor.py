"""`aduan run`'s supervisor on a real platform: services killed with SIGKILL, one and
several at once and again at once, come back by themselves; the seconds until each
answers /health with its consumer joined are printed (-s) for docs/benchmarks.md."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

from services.launcher import Platform
from tests.e2e.helpers import fully_routed, submit, wait_for

pytestmark = pytest.mark.e2e


def _kill(platform: Platform, keys: list[str]) -> tuple[float, dict[str, Any]]:
    """SIGKILL each; the time and the processes killed (the supervisor may start the new
    ones before the last kill returns)."""
    old = {k: platform.instance(k).proc for k in keys}
    since = time.monotonic()
    for key in keys:
        platform.kill(key, signal.SIGKILL)
    return since, old


def _back(
    platform: Platform, keys: list[str], since: float, old: dict[str, Any]
) -> dict[str, float]:
    """Seconds from ``since`` until each instance answers HTTP again (``key http``) and
    until it also consumes (``key``), as a new process."""
    back: dict[str, float] = {}

    def up() -> bool:
        for key in keys:
            inst = platform.instance(key)
            if key in back or inst.proc is old[key]:
                continue
            health = platform.health(inst)
            if health and health.get("status") == "ok":
                back.setdefault(f"{key} http", round(time.monotonic() - since, 1))
                if health.get("consumer") != "joining":
                    back[key] = round(time.monotonic() - since, 1)
        return all(k in back for k in keys)

    wait_for(up, 90, f"{keys} back by themselves")
    return back


def test_killed_services_come_back_by_themselves(make_platform: Any) -> None:
    platform: Platform = make_platform("sqlite", supervise=True)
    figures: dict[str, dict[str, float]] = {}

    figures["one"] = _back(platform, ["routing"], *_kill(platform, ["routing"]))
    three = ["sla", "notifications", "verification"]
    figures["three at once"] = _back(platform, three, *_kill(platform, three))
    # The second death in a row: a short pause.
    figures["again at once"] = _back(platform, ["routing"], *_kill(platform, ["routing"]))
    assert platform.instance("routing").restarts == 2

    made = submit(platform, reporter={"phone": "081277700011"})
    wait_for(lambda: fully_routed(platform, made["tracking_number"]), what="routed after it all")
    print("\nsupervisor, seconds until healthy again:", figures)
