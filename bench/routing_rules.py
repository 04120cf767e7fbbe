"""Routing's cost: the seed, the areas, and routing decisions against the full directory.

``python -m bench.routing_rules`` (part of ``make bench``) measures, on SQLite and on
PostgreSQL when one answers on 127.0.0.1:5432:

- loading the administrative areas (provinces, regencies, districts) and one district's
  villages, and the memory they take;
- seeding the national directory into an empty database;
- routing decisions with the database lookups routing makes per event (one transaction
  per decision, as in a batch of one), and the pure decision on an in-memory directory;
- releasing N pending reports when their region connects (one transaction), each with
  its report.routed and its region feed event (the gateway's topic and the province's).
"""

from __future__ import annotations

import argparse
import json
import random
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

import sqlalchemy as sa

from routing import directory, domain, handlers
from routing.models import OUTBOX, Routing
from services import areas
from services.bus import Outbox
from services.categories import CATEGORIES
from services.db import Database, migrate
from services.settings import KitSettings

ROOT = Path(__file__).resolve().parents[1]


def _areas() -> dict[str, float]:
    for loader in (areas.provinces, areas.regencies, areas.districts):
        loader.cache_clear()
    tracemalloc.start()
    t = time.perf_counter()
    areas.districts()
    areas.regencies()
    areas.provinces()
    loaded = time.perf_counter() - t
    t = time.perf_counter()
    areas.villages_of("32.73.01")
    first_villages = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(100):
        areas.villages_of("35.78.01")
    villages = (time.perf_counter() - t) / 100
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "areas_load_ms": loaded * 1000,
        "village_index_ms": first_villages * 1000,
        "villages_of_ms": villages * 1000,
        "areas_peak_mb": peak / 1e6,
    }


def _places(n: int) -> list[tuple[str, str, str | None]]:
    rng = random.Random(7)
    districts = list(areas.districts())
    cats = list(CATEGORIES)
    out = []
    for _ in range(n):
        d = rng.choice(districts)
        out.append((rng.choice(cats), d[:5], d))
    return out


def _backend(url: str, n: int) -> dict[str, float]:
    migrate(url, ROOT / "routing" / "migrations")
    db = Database(url)
    try:
        t = time.perf_counter()
        with db.session() as s:
            rows = handlers.seed(s)
        seed = time.perf_counter() - t
        places = _places(n)
        t = time.perf_counter()
        for category, regency, district in places:
            with db.session() as s:
                domain.choose(handlers.rules(s), category, regency, district, handlers.lookup(s))
        per_decision = (time.perf_counter() - t) / n
        # Release: N reports pending for one region, connected in one transaction.
        now = datetime.now(UTC)
        with db.session() as s:
            for _ in range(n):
                s.add(
                    Routing(
                        report_id=str(uuid.uuid4()),
                        agency_id="pemda-94.01",
                        agency_name="x",
                        regency_code="94.01",
                        category="infrastruktur",
                        rule="bench",
                        routed_at=now,
                        status="pending_region",
                    )
                )
        outbox = Outbox("routing", KitSettings(aduan_namespace="bench"), OUTBOX)
        t = time.perf_counter()
        with db.session() as s:
            agency = s.get(handlers.Agency, "pemda-94.01")
            emit = handlers.OutboxEmit(s, outbox)
            released = handlers.set_connected(s, emit, agency, True, "bench")  # type: ignore[arg-type]
        release = time.perf_counter() - t
        with db.session() as s:
            written = s.execute(sa.select(sa.func.count()).select_from(OUTBOX)).scalar_one()
        # Each release: report.routed, and the region's feed event on two topics.
        assert released == n and written == 3 * n, (released, written)
        return {
            "seed_rows": rows,
            "seed_s": seed,
            "decision_ms": per_decision * 1000,
            "decisions_per_s": 1 / per_decision,
            f"release_{n}_s": release,
        }
    finally:
        db.close()


def _pure(n: int) -> dict[str, float]:
    nodes = {
        s.id: domain.Node(s.id, s.kind, s.name, s.parent_id, s.region_code, s.connected, True)
        for s in directory.seed_rows()
    }
    rules = [
        type("R", (), {**d.__dict__, "id": i, "active": True})()
        for i, d in enumerate(directory.DEFAULT_RULES, start=1)
    ]
    places = _places(n)
    t = time.perf_counter()
    for category, regency, district in places:
        domain.choose(rules, category, regency, district, nodes.get)  # type: ignore[arg-type]
    return {"pure_decisions_per_s": n / (time.perf_counter() - t)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    results: dict[str, object] = {"areas": _areas(), "pure": _pure(args.n * 10)}
    with TemporaryDirectory() as tmp:
        results["sqlite"] = _backend(f"sqlite:///{tmp}/routing.sqlite3", args.n)
    try:
        admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
        name = f"bench_routing_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            results["postgresql"] = _backend(args.pg.rsplit("/", 1)[0] + f"/{name}", args.n)
        finally:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()
    except sa.exc.OperationalError as exc:
        results["postgresql"] = f"skipped: {exc.__class__.__name__}"
    print(json.dumps(results, indent=2, default=lambda v: round(v, 3)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
