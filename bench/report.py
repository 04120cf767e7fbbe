"""The summary of one ``make bench`` run: every figure beside its aim (issue 18).

    python -m bench.report [--results FILE] [--write docs/benchmarks.md]

Reads what the benchmarks recorded (``bench.results``), prints a table of each figure,
its aim and whether it is met, and with ``--write`` puts that table into the document
between its ``bench:begin`` and ``bench:end`` markers (the rest of the document, the
history of what was measured and changed, is left as it is). A figure the run did not
measure is shown as "not measured", never left out.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import results

BEGIN = "<!-- bench:begin (written by python -m bench.report; edits here are replaced) -->"
END = "<!-- bench:end -->"
DATABASES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure (or one computed from several) and its aim."""

    label: str
    value: Callable[[dict[str, float]], float | None]
    unit: str
    bound: float | None = None  # None: measured to be shown beside the others
    at_least: bool = True  # the aim is value >= bound (else value <= bound)
    decimals: int = 0

    def measured(self, figures: dict[str, float]) -> str:
        value = self.value(figures)
        return "not measured" if value is None else f"{value:,.{self.decimals}f} {self.unit}"

    def aim(self) -> str:
        if self.bound is None:
            return ""
        return f"{'≥' if self.at_least else '≤'} {self.bound:,g} {self.unit}"

    def met(self, figures: dict[str, float]) -> str:
        value = self.value(figures)
        if self.bound is None or value is None:
            return ""
        ok = value >= self.bound if self.at_least else value <= self.bound
        return "yes" if ok else "**no**"


def figure(key: str) -> Callable[[dict[str, float]], float | None]:
    return lambda figures: figures.get(key)


def share(part: str, whole: str) -> Callable[[dict[str, float]], float | None]:
    def value(figures: dict[str, float]) -> float | None:
        if part not in figures or not figures.get(whole):
            return None
        return 100.0 * figures[part] / figures[whole]

    return value


def rows(figures: dict[str, float]) -> list[Row]:
    """The table's rows: the fixed figures of issue 18, then one per page measured."""
    table = [
        Row("raw broker: produce, 1 KB (confluent-kafka)", figure("raw.produce"), "msg/s"),
        Row("raw broker: consume, 1 KB (confluent-kafka)", figure("raw.consume"), "msg/s"),
        Row("bare faust hop with the kit's settings", figure("hop.rate"), "msg/s", 5000),
    ]
    for db, name in DATABASES.items():
        p = f"pipeline.{db}"
        table += [
            Row(f"{name}: POST → routed, sustained", figure(f"{p}.throughput"), "reports/s", 250),
            Row(
                f"{name}: that, as a share of the bare hop",
                share(f"{p}.throughput", "hop.rate"),
                "%",
                5,
                decimals=1,
            ),
            Row(
                f"{name}: POST → routed p99 at 100 reports/s",
                figure(f"{p}.p99_at_100"),
                "ms",
                300,
                at_least=False,
            ),
            Row(
                f"{name}: CPU per report, every process and the broker"
                + (" and PostgreSQL" if db == "postgres" else ""),
                figure(f"{p}.cpu_ms"),
                "ms",
                8,
                at_least=False,
                decimals=1,
            ),
        ]
    for key in sorted(k for k in figures if re.fullmatch(r"pipeline\.\w+\.[\w=,]+\.throughput", k)):
        db, instances = key.split(".")[1:3]
        table.append(
            Row(
                f"{DATABASES.get(db, db)}, instances {instances}: POST → routed",
                figure(key),
                "reports/s",
            )
        )
    table += [
        Row("intake alone: POSTs accepted", figure("intake.posts"), "POST/s", 1000),
        Row("an idle platform, every process", figure("idle.share"), "% of a core", 5, False, 1),
    ]
    # One service at a time (bench.replay): its handlers without the other processes.
    for key in sorted(k for k in figures if re.fullmatch(r"replay\.\w+\.\w+_ms", k)):
        service, what = key.split(".")[1:]
        part = "its dispatcher's sends" if what == "dispatch_cpu_ms" else "its consumer"
        table.append(
            Row(
                f"replayed alone: {service}, {part}, CPU per report",
                figure(key),
                "ms",
                None,
                True,
                2,
            )
        )
    for prefix, what in (("public", "at 1,000,000 reports"), ("compliance", "at 1,000,000 clocks")):
        order = list(DATABASES)
        keys = [k for k in figures if k.startswith(prefix + ".")]
        for key in sorted(keys, key=lambda k: (_rank(order, k.split(".")[1]), k)):
            db, page = key.split(".", 2)[1:]
            table.append(
                Row(
                    f"{DATABASES.get(db, db)} {what}: {page}, p99",
                    figure(key),
                    "ms",
                    100,
                    at_least=False,
                    decimals=1,
                )
            )
    return table


def _rank(order: list[str], db: str) -> int:
    return order.index(db) if db in order else len(order)


def machine() -> str:
    """This machine in a few words: cores, processor, memory."""
    model, memory = "", ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        model = found.group(1).strip() if found else ""
        kb = re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.M)
        memory = f", {int(kb.group(1)) / 1024 / 1024:.0f} GB" if kb else ""
    except OSError:
        pass
    return f"{os.cpu_count()} cores{', ' + model if model else ''}{memory}"


def render(figures: dict[str, float], when: datetime, about: str) -> str:
    """The section: when and where it ran, then the table."""
    lines = [
        "## The last `make bench` run, beside issue 18's aims",
        "",
        f"Run {when:%Y-%m-%d %H:%M} UTC on {about}.",
        "Every figure comes from that one run; `python -m bench.report` wrote this section,",
        "and the sections below keep what each change measured and why.",
        "",
        "| figure | measured | aim | met |",
        "|---|---|---|---|",
    ]
    for row in rows(figures):
        lines.append(
            f"| {row.label} | {row.measured(figures)} | {row.aim()} | {row.met(figures)} |"
        )
    return "\n".join(lines)


def write(document: Path, section: str) -> None:
    """Put ``section`` between the markers, or after the title if there are none yet."""
    text = document.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        title, _, body = text.partition("\n")
        text = f"{title}\n\n{block}\n{body}"
    document.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--write", type=Path, default=None, help="e.g. docs/benchmarks.md")
    args = parser.parse_args()
    figures = results.load(args.results)
    finished, commits = results.provenance(args.results)
    about = f"{machine()}, commit {', '.join(commits) or results.commit()}"
    section = render(figures, finished or datetime.now(UTC), about)
    print(section)
    if args.write is not None:
        write(args.write, section)
        print(f"\nwritten to {args.write}")


if __name__ == "__main__":
    main()
