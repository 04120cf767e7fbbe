"""CPU time of processes, read from ``/proc``: what the benchmarks charge to each one."""

from __future__ import annotations

import os

from services.launcher import Platform

HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def platform_cpu(platform: Platform) -> dict[str, float]:
    """CPU seconds used so far by every service process and the embedded broker."""
    pids = {i.key: i.proc.pid for i in platform.instances if i.proc is not None}
    if platform.broker is not None and platform.broker.proc is not None:
        pids["broker"] = platform.broker.proc.pid
    return {k: cpu_seconds(p) for k, p in pids.items()}


def postgres_cpu() -> float:
    """CPU seconds used so far by every PostgreSQL server process on this machine (the
    benchmarks' databases are the only ones busy while they run)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            total += cpu_seconds(int(pid))
        except OSError:  # gone meanwhile
            continue
    return total
