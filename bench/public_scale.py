"""The citizens' public pages with a million reports in intake.

Fills an intake database with N reports as intake stores them (public texts, statuses of
a year's lifecycle, agencies, a tenth Anonim, a twentieth Rahasia, first answers for the
routed ones), starts the real intake service (with the embedded broker) on it and
measures, over repeated requests from one client:

- the public list, plain and with a text search (``/laporan``, ``/laporan?q=``);
- a public report's page (``/laporan/{number}``);
- the statistics page (``/statistik``).

    python -m bench.public_scale [--reports 1000000] [--requests 60] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench import one_service, results
from bench.sla_scale import rss_mb
from services import areas
from services.db import migrate

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 20_000
# A story: 12 words of the topics, the common ones far more often (Zipf), and 18 of a
# long tail of 5,000 rarer words, so that a search word is as selective as in life: "jalan"
# in about half the reports, "jembatan" and "drainase" together in about 2%, a tail word
# in 0.4%.
WORDS = [
    *[
        "jalan",
        "lubang",
        "lampu",
        "sampah",
        "banjir",
        "sekolah",
        "puskesmas",
        "pasar",
        "terminal",
        "jembatan",
        "air",
    ],
    *[
        "bersih",
        "listrik",
        "pungutan",
        "izin",
        "antrean",
        "rumah",
        "sakit",
        "guru",
        "bansos",
        "kartu",
        "keluarga",
    ],
    *["kelurahan", "drainase", "trotoar", "angkot", "parkir", "pohon", "tumbang"],
]
ZIPF = [1 / (rank + 1) ** 1.1 for rank in range(len(WORDS))]
TAIL = [f"kata{n:04d}" for n in range(5000)]
STATUSES = [
    ("closed", 30),
    ("in_progress", 20),
    ("routed", 15),
    ("resolved", 8),
    ("submitted", 8),
    ("verified", 3),
    ("rejected", 8),
    ("escalated", 2),
    ("reopened", 2),
    ("information_requested", 2),
    ("pending_region", 2),
]
ROUTED = {"closed", "in_progress", "routed", "resolved", "escalated", "reopened"}


def report_rows(
    start: int, n: int, total: int, now: datetime, rng: random.Random
) -> tuple[list, list]:
    """Reports and their first answers, as intake's handlers write them, in the order
    they arrived over the last year."""
    regencies = list(areas.regencies().values())
    codes = [s for s, w in STATUSES for _ in range(w)]
    reports, answers = [], []
    for i in range(start, start + n):
        rid = str(uuid.UUID(int=i + 1))
        regency = regencies[i % len(regencies)]
        status = codes[i % len(codes)]
        submitted = now - timedelta(seconds=365 * 86400 * (total - i) / total)
        story = rng.choices(WORDS, ZIPF, k=12) + rng.choices(TAIL, k=18)
        rng.shuffle(story)
        words = " ".join(story)
        title = " ".join(rng.choices(WORDS, ZIPF, k=4)).capitalize()
        routed = status in ROUTED
        due = submitted + timedelta(days=7) if routed else None
        reports.append(
            {
                "id": rid,
                "tracking_number": str(1_000_000 + i),
                "tracking_secret_hash": "0" * 64,
                "title": title,
                "body": words,
                "public_title": title,
                "public_body": words,
                "category": "infrastruktur",
                "regency_code": regency.code,
                "report_type": "complaint",
                "reporter_ref": f"r{i % 50_000}",
                "anonymous": i % 10 == 0,
                "confidential": i % 20 == 0,
                "channel": "web",
                "language": "id",
                "status": status,
                "status_rank": 0,
                "agency_name": f"Pemerintah {regency.name}" if routed else None,
                "agency_ids": f"pemda-{regency.code}" if routed else "",
                "due_at": due,
                "withheld": "[]",
                "submitted_at": submitted,
                "updated_at": submitted,
            }
        )
        if routed and status != "routed":
            answers.append(
                {
                    "report_id": rid,
                    "event_id": f"bench-{i}",
                    "kind": "followup",
                    "detail": "Ditindaklanjuti.",
                    "occurred_at": submitted + timedelta(days=rng.choice((2, 4, 6, 9))),
                    "attachments": "[]",
                }
            )
    return reports, answers


def fill(url: str, n: int) -> float:
    """Migrate and insert; returns seconds taken."""
    migrate(url, ROOT / "intake" / "migrations")
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    reports = sa.Table("reports", meta, autoload_with=engine)
    history = sa.Table("report_history", meta, autoload_with=engine)
    now = datetime.now(UTC)
    rng = random.Random(7)
    started = time.perf_counter()
    for start in range(0, n, CHUNK):
        rows, answers = report_rows(start, min(CHUNK, n - start), n, now, rng)
        with engine.begin() as conn:
            conn.execute(reports.insert(), rows)
            if answers:
                conn.execute(history.insert(), answers)
        print(f"  {start + len(rows):,}", end="\r", flush=True)
    engine.dispose()
    one_service.tidy(url)
    return time.perf_counter() - started


def timed(client: httpx.Client, url: str, times: int) -> tuple[float, float, int]:
    """p50 and p99 in ms of ``times`` GETs (after one to warm), and the last status."""
    client.get(url)
    took, status = [], 0
    for _ in range(times):
        t = time.perf_counter()
        r = client.get(url)
        took.append((time.perf_counter() - t) * 1000)
        status = r.status_code
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))], status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--database-url", help="default: a SQLite file in a temp folder")
    parser.add_argument("--postgres", default="", help="a scratch database on this server")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        one_service.database("intake", tmp, args.postgres, args.database_url) as url,
    ):
        print(f"filling {args.reports:,} reports ({url.split(':')[0]}) ...", flush=True)
        print(f"  inserted in {fill(url, args.reports):.0f} s")
        with one_service.running(
            "intake", url, tmp, {"INTAKE_LOOKUPS_PER_IP_PER_MINUTE": "1000000"}
        ) as (proc, base, _):
            public = 1_000_000 + next(i for i in range(1, 100) if i % 10 and i % 20)
            pages = {
                "public list": "/laporan",
                "search: a common word (jalan)": "/laporan?q=jalan",
                "search: two words (jembatan drainase)": "/laporan?q=jembatan+drainase",
                "search: a rare word": "/laporan?q=kata4242",
                "search and province": "/laporan?q=puskesmas&wilayah=32",
                "public report page": f"/laporan/{public}",
                "statistics page": "/statistik",
            }
            print(f"{args.reports:,} reports; {args.requests} requests each, one client:")
            with httpx.Client(base_url=base, timeout=120) as client:
                for name, path in pages.items():
                    p50, p99, status = timed(client, path, args.requests)
                    print(f"  {name:34s} p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  ({status})")
                    results.record(f"public.{one_service.kind(url)}.{name}", p99)
            print(f"intake RSS {rss_mb(proc.pid):.0f} MB")


if __name__ == "__main__":
    main()
