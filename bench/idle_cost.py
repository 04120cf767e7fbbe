"""What an idle platform costs: CPU of every process (broker included) with no traffic.

Starts the whole platform on the embedded default (SQLite, Tansu), lets it settle, then
reads each process's CPU time from ``/proc`` over a quiet interval.

    python -m bench.idle_cost [--settle 15] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from services.launcher import Platform

HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def measure(settle: float, seconds: float) -> dict[str, float]:
    """Per-process share of one core (percent) while the platform is idle."""
    with Platform(var_dir=Path(tempfile.mkdtemp(prefix="aduan-idle-"))) as platform:
        time.sleep(settle)
        pids = {inst.key: inst.proc.pid for inst in platform.instances if inst.proc}
        assert platform.broker is not None and platform.broker.proc is not None
        pids["broker"] = platform.broker.proc.pid
        before = {k: cpu_seconds(p) for k, p in pids.items()}
        t0 = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        return {k: (cpu_seconds(p) - before[k]) / elapsed * 100 for k, p in pids.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    shares = measure(args.settle, args.seconds)
    parts = ", ".join(f"{k} {v:.1f}%" for k, v in shares.items())
    print(f"idle platform: {sum(shares.values()):.1f}% of one core ({parts}); aim <= 5%")


if __name__ == "__main__":
    main()
