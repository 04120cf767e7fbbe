"""deploy/k8s, checked offline: kustomize (kubectl's) builds the base and the overlay;
every Kubernetes object validates against the Kubernetes 1.33 OpenAPI schemas
(kubernetes-validate, strict: unknown fields fail); every KEDA ScaledObject against the
fields KEDA's CRD defines for it; then what the issue asks of them: a Deployment,
Service and config per service, probes on /health, resource requests, scaling on lag."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from services import sealing
from services.serve import SERVICES

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUBERNETES = "1.33.0"
PORTS = {"intake": 8080, "verification": 8081, "routing": 8082, "sla": 8083, "notifications": 8084}

# KEDA's ScaledObject (keda.sh/v1alpha1), the fields it defines that these manifests use;
# anything else is refused, as a misspelt field would be ignored by the cluster.
_TRIGGER = {
    "type": "object",
    "required": ["type", "metadata"],
    "additionalProperties": False,
    "properties": {
        "type": {"type": "string", "minLength": 1},
        "name": {"type": "string"},
        "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
        "useCachedMetrics": {"type": "boolean"},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        "authenticationRef": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "kind": {"type": "string"}},
        },
    },
}
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}},
        },
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "apiVersion": {"type": "string"},
                        "envSourceContainerName": {"type": "string"},
                    },
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "fallback": {"type": "object"},
                "advanced": {"type": "object"},
                "triggers": {"type": "array", "minItems": 1, "items": _TRIGGER},
            },
        },
    },
}


def build(path: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with kustomize) is part of this machine's image"
    done = subprocess.run(
        [kubectl, "kustomize", str(K8S / path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def validate(doc: dict[str, Any]) -> None:
    if doc["kind"] == "ScaledObject":
        jsonschema.validate(doc, SCALED_OBJECT)
    else:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


@pytest.mark.parametrize("path", ["base", "overlays/production"])
def test_every_object_validates(path: str) -> None:
    docs = build(path)
    assert len(docs) >= 1 + 1 + 1 + 4 * len(SERVICES)
    for doc in docs:
        validate(doc)


def test_validation_can_fail() -> None:
    docs = build("base")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"][
        "pathh"
    ] = "/x"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    scaled = next(d for d in docs if d["kind"] == "ScaledObject")
    scaled["spec"]["minReplicas"] = 1  # KEDA calls it minReplicaCount
    with pytest.raises(jsonschema.ValidationError):
        validate(scaled)


def test_each_service_is_deployed_probed_sized_and_scaled_on_its_lag() -> None:
    docs = build("overlays/production")
    by_kind: dict[tuple[str, str], dict[str, Any]] = {
        (d["kind"], d["metadata"]["name"]): d for d in docs
    }
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    assert config["metadata"]["name"].startswith("aduan-config-")  # hashed: rollouts on change
    bootstrap = config["data"]["KAFKA_BOOTSTRAP_SERVERS"]
    partitions = int(config["data"]["ADUAN_TOPIC_PARTITIONS"])
    assert int(config["data"]["ADUAN_TOPIC_REPLICATION"]) == 3
    assert ("Job", "aduan-topics") in by_kind
    for name in SERVICES:
        port = PORTS[name]
        deployment = by_kind[("Deployment", name)]
        assert deployment["metadata"]["namespace"] == "aduan"
        pod = deployment["spec"]["template"]
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        (container,) = pod["spec"]["containers"]
        assert container["args"] == [name]
        assert container["image"].startswith("registry.example.go.id/aduan/aduan:")
        assert container["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"]
        env = {e["name"]: e for e in container["env"]}
        assert env[f"{name.upper()}_HTTP_HOST"]["value"] == "0.0.0.0"
        assert env[f"{name.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == (
            f"{name}-database-url"
        )
        # Citizens' words are sealed on the topics: only their readers mount the keys.
        keys = env.get("ADUAN_TEXT_KEYS", {}).get("valueFrom", {}).get("secretKeyRef", {})
        assert (keys.get("key") == "text-keys") == (name in sealing.HOLDERS), name
        assert env[f"{name.upper()}_INSTANCE"]["valueFrom"]["fieldRef"]["fieldPath"] == (
            "metadata.name"
        )
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        requests = container["resources"]["requests"]
        assert requests["cpu"] and requests["memory"]
        assert container["resources"]["limits"]["memory"]
        service = by_kind[("Service", name)]
        assert service["spec"]["ports"][0]["port"] == port
        assert service["spec"]["selector"] == {"app.kubernetes.io/name": name}
        assert ("PodDisruptionBudget", name) in by_kind
        scaled = by_kind[("ScaledObject", name)]["spec"]
        assert scaled["scaleTargetRef"]["name"] == name
        assert scaled["maxReplicaCount"] <= partitions  # more would sit idle
        kafka = next(t for t in scaled["triggers"] if t["type"] == "kafka")["metadata"]
        # The faust app id is the consumer group: <ADUAN_NAMESPACE>-<service> (services/bus.py).
        assert kafka["consumerGroup"] == f"{config['data']['ADUAN_NAMESPACE']}-{name}"
        assert kafka["bootstrapServers"] == bootstrap  # one source: the config map
        assert kafka["allowIdleConsumers"] == "false"
    assert by_kind[("ScaledObject", "intake")]["spec"]["minReplicaCount"] == 3  # the overlay
