"""The Prometheus configuration in deploy/prometheus: valid for promtool, alert rules
that pass their unit tests, and no rule on a metric the services do not export."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from services.serve import SERVICES

PROM = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool(*args: str) -> str:
    assert Path(PROMTOOL).exists(), "promtool missing: make installs Debian's prometheus"
    done = subprocess.run([PROMTOOL, *args], cwd=PROM, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_config_and_rules_are_valid() -> None:
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")
    rules = sorted(str(p.relative_to(PROM)) for p in (PROM / "rules").glob("*.yml"))
    assert rules
    promtool("check", "rules", *rules)


@pytest.mark.parametrize("test_file", sorted((PROM / "tests").glob("*.yml")), ids=str)
def test_alert_and_recording_rules_pass_their_unit_tests(test_file: Path) -> None:
    assert "SUCCESS" in promtool("test", "rules", str(test_file.relative_to(PROM)))


def test_every_alert_has_a_unit_test_and_explains_itself() -> None:
    alerts = {
        rule["alert"]: rule
        for f in (PROM / "rules").glob("*.yml")
        for group in yaml.safe_load(f.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = set(
        re.findall(
            r"alertname: (\w+)", "".join(f.read_text() for f in (PROM / "tests").glob("*.yml"))
        )
    )
    assert set(alerts) <= tested, set(alerts) - tested
    for name, rule in alerts.items():
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        # Alerts read raw series: a recorded series from another group may be a step old
        # when the alert is evaluated (promtool's results then depend on group order).
        assert "aduan:" not in rule["expr"], name


def exported_metric_names() -> set[str]:
    """Every sample name the services can export (their metric modules imported)."""
    for service in SERVICES:
        importlib.import_module(f"{service}.app").build()
    names: set[str] = set()
    for family in REGISTRY.collect():
        base = family.name
        if family.type == "counter":
            names |= {base + "_total", base + "_created"}
        elif family.type == "histogram":
            names |= {base + s for s in ("_bucket", "_count", "_sum", "_created")}
        else:
            names.add(base)
    return names


def test_rules_use_only_metrics_the_services_export() -> None:
    exported = exported_metric_names()
    text = " ".join(
        rule["expr"]
        for f in (PROM / "rules").glob("*.yml")
        for group in yaml.safe_load(f.read_text())["groups"]
        for rule in group["rules"]
    )
    # Metric names, not labels ($labels.aduan_service, aduan_service="...").
    used = set(re.findall(r"(?<!\$labels\.)\b(aduan_[a-z_]+)\b(?!\s*[=!]~?)", text))
    assert used, "no metric found in the rules"
    assert used <= exported, used - exported


def test_a_target_file_per_service() -> None:
    files = {p.stem: json.loads(p.read_text()) for p in (PROM / "targets").glob("*.json")}
    assert set(files) == set(SERVICES)
    for service, groups in files.items():
        assert groups[0]["labels"]["aduan_service"] == service and groups[0]["targets"]
