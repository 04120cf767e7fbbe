"""deploy/compose, checked offline (no Docker engine here): the file is resolved as
compose resolves it (YAML anchors and merge keys, ``${VAR}``, ``${VAR:-default}``,
``${VAR:?error}``) and validated against the Compose Specification's JSON schema
(vendored by check-jsonschema); then what the issue asks of the stack is checked: a
3-broker KRaft cluster, every service scalable, every mounted file present, every
service's database created, every replica scraped."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from services import sealing
from services.serve import SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose"
SECRETS = {
    "ADUAN_AUTH_SECRET": "a" * 48,
    "ADUAN_TEXT_KEYS": "k1:" + "A" * 43,
    "POSTGRES_PASSWORD": "pg-secret",
    "KANNEL_SENDSMS_PASSWORD": "kannel-secret",
    "KANNEL_SMS_SECRET": "kannel-sms-secret",
    "GRAFANA_ADMIN_PASSWORD": "grafana-secret",
}
PORTS = {"intake": 8080, "verification": 8081, "routing": 8082, "sla": 8083, "notifications": 8084}
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}|\$\$")


class MissingVariable(Exception):
    """A ${VAR:?message} with VAR unset."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution, applied to every string of the model."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1), m.group(2), m.group(3)
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op in ("-", ":-"):
            return arg if unset else str(current)
        if op in ("?", ":?"):
            if unset:
                raise MissingVariable(f"{name}: {arg}")
            return str(current)
        return current or ""

    return _VAR.sub(sub, value)


def resolved(env: dict[str, str] | None = None) -> dict[str, Any]:
    raw = yaml.safe_load((COMPOSE / "compose.yaml").read_text())  # anchors and merges
    model = interpolate(raw, SECRETS if env is None else env)
    # Compose turns numeric strings into numbers where the schema asks for them.
    for service in model["services"].values():
        replicas = service.get("deploy", {}).get("replicas")
        if isinstance(replicas, str):
            service["deploy"]["replicas"] = int(replicas)
    return {k: v for k, v in model.items() if not k.startswith("x-")}


def compose_schema() -> dict[str, Any]:
    path = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def validate(model: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(compose_schema()).validate(model)


def test_the_file_is_valid_against_the_compose_specification() -> None:
    validate(yaml.safe_load((COMPOSE / "compose.yaml").read_text()))
    validate(resolved())


def test_the_schema_check_can_fail() -> None:
    bad = resolved()
    bad["services"]["intake"]["replica"] = 2  # a misspelt key
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    bad = resolved()
    bad["services"]["gateway"]["ports"] = "8080:8080"  # a list is required
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


def test_secrets_are_required_not_defaulted() -> None:
    for name in SECRETS:
        with pytest.raises(MissingVariable, match=name):
            resolved({k: v for k, v in SECRETS.items() if k != name})
    text = (COMPOSE / "compose.yaml").read_text()
    assert "change-me" not in text.lower()


def test_a_three_broker_kraft_cluster() -> None:
    services = resolved()["services"]
    brokers = {
        name: s for name, s in services.items() if s.get("image", "").startswith("apache/kafka")
    }
    assert sorted(brokers) == ["kafka-1", "kafka-2", "kafka-3"]
    voters = {f"{i}@kafka-{i}:9093" for i in (1, 2, 3)}
    ids = set()
    for name, broker in brokers.items():
        env = broker["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert int(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == 2
        assert env["CLUSTER_ID"] == brokers["kafka-1"]["environment"]["CLUSTER_ID"]
        assert broker["volumes"], name  # the log survives a restart
        ids.add(int(env["KAFKA_NODE_ID"]))
    assert ids == {1, 2, 3}
    assert not any("zookeeper" in n for n in services)


def test_every_service_runs_scalable_on_the_cluster_and_its_own_database() -> None:
    model = resolved()
    services = model["services"]
    init = (COMPOSE / "postgres-init.sql").read_text()
    env_file = dict(
        line.split("=", 1)
        for line in (COMPOSE / "aduan.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env_file["ADUAN_TOPIC_REPLICATION"] == "3"
    for name in SERVICES:
        s = services[name]
        assert s["command"] == [name]
        # Scalable: no fixed name, no host port, a replica count compose can raise.
        assert "container_name" not in s and "ports" not in s, name
        assert s["deploy"]["replicas"] >= 1
        env = s["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
        assert env[f"{name.upper()}_HTTP_HOST"] == "0.0.0.0"
        assert env["ADUAN_HEALTH_PORT"] == str(PORTS[name])
        database = env[f"{name.upper()}_DATABASE_URL"].rsplit("/", 1)[1]
        assert database == f"aduan_{name}"
        assert f"CREATE DATABASE {database};" in init
        assert s["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        # Citizens' words are sealed on the topics: only their readers hold the keys.
        assert ("ADUAN_TEXT_KEYS" in env) == (name in sealing.HOLDERS), name
    assert services["topics"]["entrypoint"] == ["aduan", "topics"]
    for other in ("db", "prometheus", "grafana", "kannel", "gateway"):
        assert other in services, other


def test_every_mounted_file_and_build_context_exists() -> None:
    for name, service in resolved()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE / source).exists(), (name, source)
        build = service.get("build")
        if build:
            context = COMPOSE / build["context"]
            assert (context / build.get("dockerfile", "Dockerfile")).exists(), name


def test_the_gateway_and_prometheus_reach_every_replica_of_every_service() -> None:
    nginx = (COMPOSE / "nginx.conf").read_text()
    assert "resolver 127.0.0.11" in nginx  # re-reads Docker's DNS: new replicas get traffic
    for name, port in PORTS.items():
        assert f"listen {port};" in nginx and f"set $upstream {name}:{port};" in nginx
    prom = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    job = next(j for j in prom["scrape_configs"] if j["job_name"] == "aduan")
    found = {c["names"][0]: c["port"] for c in job["dns_sd_configs"]}
    assert found == PORTS
    done = subprocess.run(
        ["promtool", "check", "config", "--syntax-only", str(COMPOSE / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_copies_what_exists_and_names_each_replica(tmp_path: Path) -> None:
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+)", dockerfile, re.M):
        if not source.startswith("--"):
            assert (ROOT / source).exists(), source
    for name in SERVICES:
        assert f"COPY {name} ./{name}" in dockerfile
    # The entrypoint names the instance after the host unless told, then runs the service
    # (python here is a stand-in that prints what it was given).
    entry = ROOT / "deploy" / "docker" / "entrypoint.sh"
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "$ROUTING_INSTANCE $*"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}"}
    out = subprocess.run(["sh", str(entry), "routing"], env=env, capture_output=True, text=True)
    hostname = subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    assert out.stdout.strip() == f"{hostname} -m services.serve routing"
    env["ROUTING_INSTANCE"] = "routing-7"
    out = subprocess.run(["sh", str(entry), "routing"], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "routing-7 -m services.serve routing"
    for script in (entry, COMPOSE / "kannel-start.sh"):
        shell = "bash" if script.read_text().startswith("#!/bin/bash") else "sh"
        assert subprocess.run([shell, "-n", str(script)]).returncode == 0, script
