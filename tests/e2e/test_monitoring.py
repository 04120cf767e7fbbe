"""A real Prometheus (Debian's) scraping the running platform after a short load, with
the rules of deploy/prometheus: every recording rule returns series, every alert
expression evaluates without error, every metric the rules use has series, and every
query of every Grafana dashboard panel (deploy/grafana) returns series.

The load makes every kind of series appear: reports flow; the SLA clock runs 70 days
ahead (breaches, escalations past the 60-day resolution clock); a poison message on
every topic is dead-lettered by every service; emails go to a closed port with one
attempt (notifications dead-lettered).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from services import catalog
from services.broker import free_port
from services.launcher import Platform
from tests.channels import wait_port
from tests.contract.test_dashboards import dashboards, expressions
from tests.e2e.helpers import staff_headers, submit, wait_for
from tests.kafka_helpers import produce

pytestmark = pytest.mark.e2e

PROM = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMETHEUS = Path("/usr/bin/prometheus")


def rules() -> list[dict[str, Any]]:
    return [
        rule
        for f in sorted((PROM / "rules").glob("*.yml"))
        for group in yaml.safe_load(f.read_text())["groups"]
        for rule in group["rules"]
    ]


def start_prometheus(platform: Platform, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    targets = [
        {"targets": [inst.url.removeprefix("http://")], "labels": {"aduan_service": inst.service}}
        for inst in platform.instances
    ]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(f) for f in sorted((PROM / "rules").glob("*.yml"))],
        "scrape_configs": [{"job_name": "aduan", "static_configs": targets}],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_port(port, 30)
    return proc, f"http://127.0.0.1:{port}"


def query(base: str, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", (expr, body)
    return list(body["data"]["result"])


def test_every_rule_runs_on_what_the_platform_exports(make_platform: Any, tmp_path: Path) -> None:
    assert PROMETHEUS.exists(), "prometheus missing: make installs Debian's prometheus"
    closed = free_port()  # nothing listens: every email fails at once
    platform = make_platform(
        extra_env={
            "SLA_CLOCK_OFFSET_SECONDS": str(70 * 86400),
            "SLA_GAUGE_SECONDS": "1",
            "INTAKE_GAUGE_SECONDS": "1",
            "ROUTING_GAUGE_SECONDS": "1",
            "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "NOTIFICATIONS_SMTP_PORT": str(closed),
            "NOTIFICATIONS_MAX_ATTEMPTS": "1",
            "NOTIFICATIONS_TICK_SECONDS": "0.1",
        }
    )
    proc, base = start_prometheus(platform, tmp_path)
    try:
        kit = platform.kit()
        for topic in catalog.TOPICS:
            produce(platform.bootstrap or "", topic.full_name(kit), b"\x00poison", key=b"poison")
        for i in range(8):
            reporter = {"phone": f"08123456{i:04d}"} if i % 2 else {"email": f"w{i}@example.id"}
            submit(platform, reporter=reporter)
        httpx.get(f"{platform.url('intake')}/v1/reports/0000000", timeout=10)  # a 404
        # A report for a region not connected yet, and an agency's answer to another.
        submit(platform, regency_code="96.01", reporter={"phone": "081299990000"})
        answered = submit(platform, reporter={"phone": "081299990001"})
        officer = staff_headers(platform, "agency_officer", "pemda-32.73")
        routed = f"{platform.url('routing')}/v1/reports/{answered['report_id']}"
        wait_for(
            lambda: httpx.get(routed, headers=officer).status_code == 200 or None, 60, "routed"
        )
        r = httpx.post(
            f"{platform.url('routing')}/v1/reports/{answered['report_id']}/followups",
            data={"text": "Sedang ditinjau petugas."},
            headers=officer,
            timeout=10,
        )
        assert r.status_code == 201, r.text

        used = set(
            re.findall(
                r"(?<!\$labels\.)\b(aduan_[a-z_]+)\b(?!\s*[=!]~?)",
                " ".join(r["expr"] for r in rules()),
            )
        )

        left: list[str] = []

        def all_have_series(exprs: list[str]) -> bool:
            left[:] = [e for e in exprs if not query(base, e)]
            return not left

        try:
            wait_for(
                lambda: all_have_series([f"count({m})" for m in sorted(used)]),
                120,
                "series of every metric the rules use",
            )
            # Rates need two scrapes inside their window; the rules evaluate every second.
            recorded = [r["record"] for r in rules() if "record" in r]
            wait_for(lambda: all_have_series(recorded), 90, "every recording rule's series")
            panel_queries = sorted({e for d in dashboards().values() for e in expressions(d)})
            wait_for(lambda: all_have_series(panel_queries), 90, "every dashboard panel's series")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; still empty: {left}") from None
        for rule in rules():
            if "alert" in rule:
                query(base, rule["expr"])  # evaluates without error
        up = query(base, 'up{job="aduan"}')
        assert len(up) == len(platform.instances)
        assert all(s["value"][1] == "1" for s in up)
        # Prometheus loaded the rule files and evaluates them without errors.
        groups = httpx.get(f"{base}/api/v1/rules", timeout=10).json()["data"]["groups"]
        assert {g["name"] for g in groups} == {"aduan-recording", "aduan-alerts"}
        for group in groups:
            for rule in group["rules"]:
                assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
    finally:
        proc.terminate()
        proc.wait(20)
