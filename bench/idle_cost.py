"""What an idle platform costs: CPU of every process (broker included) with no traffic.

Starts the whole platform on the embedded default (SQLite, Tansu), lets it settle, then
reads each process's CPU time from ``/proc`` over a quiet interval.

Then, what the quiet costs the next citizen: a lone report after each of a few quiet
spells, POST to routed (the consumers wait longer for records once idle).

    python -m bench.idle_cost [--settle 15] [--seconds 30] [--lone 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench import results
from bench.cpu import platform_cpu
from bench.pipeline import post_reports, routed_times
from services.launcher import Platform


def measure(settle: float, seconds: float, lone: int) -> tuple[dict[str, float], list[float]]:
    """Per-process share of one core (percent) while the platform is idle; then seconds
    from POST to routed of ``lone`` reports, each after 8 s of quiet."""
    with Platform(
        var_dir=Path(tempfile.mkdtemp(prefix="aduan-idle-")),
        # The lone reports share a text and an address: not duplicates here.
        extra_env={"VERIFICATION_DUPLICATE_WINDOW_DAYS": "0"},
    ) as platform:
        time.sleep(settle)
        before, t0 = platform_cpu(platform), time.monotonic()
        time.sleep(seconds)
        after, elapsed = platform_cpu(platform), time.monotonic() - t0
        shares = {k: (v - before[k]) / elapsed * 100 for k, v in after.items()}
        took: list[float] = []
        for _ in range(lone):
            [(report_id, posted)] = asyncio.run(post_reports(platform.url("intake"), 1, None))
            routed = routed_times(platform, {report_id}, timeout=60)
            if report_id in routed:
                took.append(routed[report_id].timestamp() - posted)
            time.sleep(8)
        return shares, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--lone", type=int, default=3)
    args = parser.parse_args()
    shares, took = measure(args.settle, args.seconds, args.lone)
    parts = ", ".join(f"{k} {v:.1f}%" for k, v in shares.items())
    print(f"idle platform: {sum(shares.values()):.1f}% of one core ({parts}); aim <= 5%")
    results.record("idle.share", sum(shares.values()))
    if took:
        each = ", ".join(f"{t * 1000:.0f}" for t in took)
        print(f"  a lone report after the quiet, POST -> routed: {each} ms")


if __name__ == "__main__":
    main()
