"""make bench's summary: every figure of issue 18 beside its aim, written into the
benchmarks document between its markers without touching the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import report, results


@pytest.fixture
def figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    monkeypatch.setenv("ADUAN_BENCH_RESULTS", str(tmp_path / "results.jsonl"))
    results.record("hop.rate", 4000)
    results.record("hop.rate", 5200)  # a later run of the same figure replaces it
    results.record("pipeline.sqlite.throughput", 36)
    results.record("pipeline.sqlite.p99_at_100", 280.4)
    results.record("pipeline.postgres.intake=2.throughput", 18)
    results.record("public.sqlite.public list", 12.1)
    results.record("compliance.postgres.GET /v1/compliance by agency", 229)
    results.record("replay.notifications.dispatch_cpu_ms", 2.914)
    with (tmp_path / "results.jsonl").open("a") as out:
        out.write("not a figure\n")
    return results.load()


def _row(section: str, label: str) -> list[str]:
    line = next(x for x in section.splitlines() if x.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_each_figure_stands_beside_its_aim_and_what_was_not_measured_says_so(
    figures: dict[str, float],
) -> None:
    assert figures["hop.rate"] == 5200
    measured, commits = results.provenance()
    assert commits == [results.commit()] and measured is not None
    section = report.render(figures, datetime(2026, 12, 6, tzinfo=UTC), "2 cores")
    assert _row(section, "bare faust hop with the kit's settings") == [
        "bare faust hop with the kit's settings",
        "5,200 msg/s",
        "≥ 5,000 msg/s",
        "yes",
    ]
    assert _row(section, "SQLite: POST → routed, sustained")[1:] == [
        "36 reports/s",
        "≥ 250 reports/s",
        "**no**",
    ]
    assert _row(section, "SQLite: that, as a share of the bare hop")[1] == "0.7 %"
    assert _row(section, "SQLite: POST → routed p99 at 100 reports/s")[3] == "yes"
    assert _row(section, "PostgreSQL: POST → routed, sustained")[1:] == [
        "not measured",
        "≥ 250 reports/s",
        "",
    ]
    assert _row(section, "PostgreSQL, instances intake=2: POST → routed")[1] == "18 reports/s"
    label = "replayed alone: notifications, its dispatcher's sends, CPU per report"
    assert _row(section, label)[1] == "2.91 ms"
    assert _row(section, "SQLite at 1,000,000 reports: public list, p99")[3] == "yes"
    compliance = "PostgreSQL at 1,000,000 clocks: GET /v1/compliance by agency, p99"
    assert _row(section, compliance)[1:] == ["229.0 ms", "≤ 100 ms", "**no**"]
    assert _row(section, "an idle platform, every process")[1] == "not measured"


def test_the_section_is_written_between_its_markers_and_replaced_next_time(
    figures: dict[str, float], tmp_path: Path
) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nWhat was measured before.\n\n## 2026-11-28\n\nOld.\n")
    first = report.render(figures, datetime(2026, 12, 6, tzinfo=UTC), "2 cores")
    report.write(doc, first)
    report.write(doc, first.replace("5,200", "5,300"))
    text = doc.read_text()
    assert text.count(report.BEGIN) == 1 and text.count(report.END) == 1
    assert "5,300 msg/s" in text and "5,200 msg/s" not in text
    assert text.startswith("# Benchmarks\n\n" + report.BEGIN)
    assert text.endswith("What was measured before.\n\n## 2026-11-28\n\nOld.\n")
