"""What an idle platform costs: CPU of every process (broker included) with no traffic.

Starts the whole platform on the embedded default (SQLite, Tansu), lets it settle, then
reads each process's CPU time from ``/proc`` over a quiet interval.

    python -m bench.idle_cost [--settle 15] [--seconds 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.cpu import platform_cpu
from services.launcher import Platform


def measure(settle: float, seconds: float) -> dict[str, float]:
    """Per-process share of one core (percent) while the platform is idle."""
    with Platform(var_dir=Path(tempfile.mkdtemp(prefix="aduan-idle-"))) as platform:
        time.sleep(settle)
        before, t0 = platform_cpu(platform), time.monotonic()
        time.sleep(seconds)
        after, elapsed = platform_cpu(platform), time.monotonic() - t0
        return {k: (v - before[k]) / elapsed * 100 for k, v in after.items()}


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
