"""The supervisor's restart policy: a death after a healthy minute restarts at once, deaths
in a row wait longer each time (capped), several deaths are tended in one pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from services import broker, launcher
from services.launcher import Instance, Platform


class FakeProc:
    def __init__(self, code: int | None = None) -> None:
        self.returncode = code

    def poll(self) -> int | None:
        return self.returncode


def _platform(tmp_path: Path, spawned: list[str]) -> Platform:
    platform = Platform(var_dir=tmp_path)

    def spawn(inst: Instance) -> None:
        spawned.append(inst.key)
        inst.proc = FakeProc()  # type: ignore[assignment]
        inst.started, inst.due = now[0], None

    platform._spawn = spawn  # type: ignore[method-assign]
    return platform


now = [1000.0]


def test_restart_pauses_grow_only_for_deaths_in_a_row() -> None:
    assert [launcher.restart_pause(n) for n in range(1, 9)] == [0, 0.5, 1, 2, 4, 8, 16, 30]


def test_deaths_are_tended_at_once_and_the_pause_resets_after_a_healthy_minute(
    tmp_path: Path,
) -> None:
    spawned: list[str] = []
    platform = _platform(tmp_path, spawned)
    routing, sla = platform.instance("routing"), platform.instance("sla")
    for inst in platform.instances:
        inst.proc, inst.started = FakeProc(), now[0]  # type: ignore[assignment]
    # Two die together: both are started again in the same pass, without a pause.
    routing.proc, sla.proc = FakeProc(-9), FakeProc(-9)  # type: ignore[assignment]
    for inst in platform.instances:
        platform._tend(inst, now[0])
    assert spawned == ["routing", "sla"]
    # Routing dies again at once: the second death in a row waits half a second.
    routing.proc = FakeProc(-9)  # type: ignore[assignment]
    platform._tend(routing, now[0] + 0.1)
    assert spawned == ["routing", "sla"] and routing.due == now[0] + 0.6
    platform._tend(routing, now[0] + 0.6)
    assert spawned == ["routing", "sla", "routing"] and routing.restarts == 2
    # A healthy minute later the count is forgotten: the next death restarts at once.
    now[0] += 61
    platform._tend(routing, now[0])
    assert routing.restarts == 0
    routing.proc = FakeProc(1)  # type: ignore[assignment]
    platform._tend(routing, now[0])
    assert spawned[-1] == "routing" and len(spawned) == 4 and routing.restarts == 1


def test_ports_for_servers_are_distinct_and_outside_the_range_of_outgoing_connections(
    tmp_path: Path,
) -> None:
    """A server's port picked from the ephemeral range can be taken by an outgoing
    connection before the server binds it ([Errno 98] at start-up): the launcher's ports
    come from below that range, and a platform's dozen never repeat."""
    low, high = broker._ephemeral_range()
    ports = [i.port for i in Platform(var_dir=tmp_path, instances={"routing": 2}).instances]
    ports += [broker.free_port() for _ in range(100)]
    assert len(set(ports)) == len(ports)
    assert not [p for p in ports if low <= p <= high]


def test_parallel_workers_pick_ports_from_slices_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ADUAN_PORT_SLICE=k/n: the k-th of n slices, disjoint; a spec that makes no sense
    leaves the whole range."""
    picked: dict[str, set[int]] = {}
    for spec in ("0/2", "1/2", "junk", "5/2"):
        monkeypatch.setenv("ADUAN_PORT_SLICE", spec)
        picked[spec] = {broker.free_port() for _ in range(150)}
    assert max(picked["0/2"]) < min(picked["1/2"])
    for spec in ("junk", "5/2"):  # from both halves
        assert min(picked[spec]) < min(picked["1/2"]) <= max(picked[spec]), spec
