"""The Grafana dashboards in deploy/grafana: written by their script, every panel
described, every query valid PromQL (promtool parses it) on metrics the services export.

tests/e2e/test_monitoring.py runs every query against a real Prometheus."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from services.serve import SERVICES
from tests.contract.test_monitoring import PROMTOOL, exported_metric_names

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
METRIC = re.compile(r"\b(aduan_[a-z_]+)\b(?!\s*[=!]~?)")


def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aduan_dashboards", GRAFANA / "dashboards.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def dashboards() -> dict[str, dict[str, Any]]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((GRAFANA / "dashboards").glob("*.json"))
    }


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every panel query with the dashboard's variables at their default ("All": .*)."""
    names = [v["name"] for v in dashboard["templating"]["list"]]
    found = []
    for panel in panels(dashboard):
        for target in panel["targets"]:
            expr = target["expr"]
            for name in names:
                expr = expr.replace(f"${name}", ".*")
            assert "$" not in expr, (panel["title"], expr)
            found.append(expr)
    return found


def test_the_json_files_are_what_the_script_writes() -> None:
    module = builder()
    written = dict(module.built())
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in (GRAFANA / "dashboards").glob("*")}
    assert on_disk == written, "dashboards out of date: run make dashboards"


def test_the_dashboards_the_operators_need() -> None:
    found = dashboards()
    assert set(found) == {
        "aduan-overview",
        "aduan-sla",
        "aduan-services",
        "aduan-kafka",
        "aduan-channels",
    }
    rows = [p["title"] for p in found["aduan-services"]["panels"] if p["type"] == "row"]
    assert rows == [f"Service: {s}" for s in SERVICES]
    sla = found["aduan-sla"]
    assert {v["name"] for v in sla["templating"]["list"]} == {"clock", "agency", "province"}
    text = json.dumps(sla)
    assert "by (agency)" in text and "by (province)" in text


def test_every_panel_is_described_placed_and_on_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "aduan.yml").read_text()
    )
    uid = provisioned["datasources"][0]["uid"]
    uids = set()
    for name, dashboard in dashboards().items():
        assert dashboard["uid"] == name and dashboard["uid"] not in uids
        uids.add(dashboard["uid"])
        assert dashboard["title"].startswith("Aduan: ") and dashboard["description"]
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), name
        occupied: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, (name, panel["title"])
            cells = {
                (x, y)
                for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])
            }
            assert not cells & occupied, f"{name}: {panel['title']} overlaps another panel"
            occupied |= cells
        for panel in panels(dashboard):
            assert panel["title"], name
            assert len(panel["description"]) >= 40, (name, panel["title"])
            assert panel["datasource"]["uid"] == uid, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == uid and target["expr"].strip()
        for variable in dashboard["templating"]["list"]:
            assert variable["datasource"]["uid"] == uid and variable["allValue"] == ".*"


def test_panels_use_only_metrics_the_services_export() -> None:
    exported = exported_metric_names()
    for name, dashboard in dashboards().items():
        text = " ".join(expressions(dashboard)) + " ".join(
            v["definition"] for v in dashboard["templating"]["list"]
        )
        used = set(METRIC.findall(text))
        assert used, name
        assert used <= exported, (name, used - exported)


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses rule files offline: each query becomes a recording rule.
    exprs = [e for d in dashboards().values() for e in expressions(d)]
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    done = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in done.stdout


def test_a_broken_query_is_caught(tmp_path: Path) -> None:
    # The check above can fail: promtool refuses a query with a syntax error.
    path = tmp_path / "bad.yml"
    path.write_text(
        yaml.safe_dump(
            {"groups": [{"name": "x", "rules": [{"record": "x:y", "expr": "sum by (a (b)"}]}]}
        )
    )
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, timeout=60)
    assert done.returncode != 0
