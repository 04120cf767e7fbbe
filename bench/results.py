"""What each benchmark measured, kept for the summary of one ``make bench`` run.

Every benchmark prints its figures as it goes and also appends them here, one JSON line
per figure: ``{"key": ..., "value": ..., "at": ...}``. ``make bench`` empties the file
first and ends with ``python -m bench.report``, which sets them beside issue 18's aims,
prints the table and writes it into ``docs/benchmarks.md``.

``ADUAN_BENCH_RESULTS`` names another file (the default: ``var/bench/results.jsonl``).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def results_path() -> Path:
    """Where the figures of this run go."""
    return Path(os.environ.get("ADUAN_BENCH_RESULTS", ROOT / "var" / "bench" / "results.jsonl"))


@functools.cache
def commit() -> str:
    """The checkout measured (``git describe --always --dirty``)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(key: str, value: float) -> None:
    """Keep one figure (a later one of the same key replaces it in the summary)."""
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {
        "key": key,
        "value": float(value),
        "at": datetime.now(UTC).isoformat(),
        "commit": commit(),
    }
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def _lines(path: Path | None) -> list[dict[str, object]]:
    target = path or results_path()
    if not target.exists():
        return []
    found = []
    for raw in target.read_text(encoding="utf-8").splitlines():
        try:
            line = json.loads(raw)
            float(line["value"])
            found.append(line)
        except (ValueError, KeyError, TypeError):
            continue  # not a figure
    return found


def load(path: Path | None = None) -> dict[str, float]:
    """Every key's latest figure; lines that are not a figure are skipped."""
    return {str(line["key"]): float(line["value"]) for line in _lines(path)}  # type: ignore[arg-type]


def provenance(path: Path | None = None) -> tuple[datetime | None, list[str]]:
    """When the last figure was measured, and the checkouts measured."""
    lines = _lines(path)
    times = [datetime.fromisoformat(str(line["at"])) for line in lines if "at" in line]
    commits = sorted({str(line.get("commit", "unknown")) for line in lines})
    return (max(times) if times else None), commits
