"""Machine-readable contracts generated from the models and the topic catalogue.

- ``services/schemas/<event type>.json``: the JSON Schema of each event (the CloudEvents
  envelope with its typed ``data``). Committed; a test fails when a model drifts from it.
- ``docs/asyncapi.yaml``: an AsyncAPI 3.0 document of every topic, for the regional
  governments who subscribe.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from services import catalog
from services.contracts import EVENT_TYPES, CloudEvent
from services.settings import KitSettings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "services" / "schemas"


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of one event type: the envelope with its payload as ``data``."""
    envelope = CloudEvent.model_json_schema()
    payload = EVENT_TYPES[event_type].model_json_schema(ref_template="#/$defs/{model}")
    defs = payload.pop("$defs", {})
    envelope["properties"]["type"] = {"const": event_type, "type": "string"}
    envelope["properties"]["data"] = payload
    envelope["required"] = sorted(set(envelope.get("required", [])) | {"type", "data", "subject"})
    if defs:
        envelope["$defs"] = defs
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://aduan.id/schemas/{event_type}.json",
        "title": event_type,
        **envelope,
    }


def schema_files() -> dict[Path, str]:
    """Every schema file, by path, as it should be on disk."""
    return {
        SCHEMA_DIR / f"{etype}.json": json.dumps(event_schema(etype), indent=2, sort_keys=True)
        + "\n"
        for etype in EVENT_TYPES
    }


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3.0 document describing the catalogue (default namespace)."""
    kit = KitSettings(aduan_namespace="aduan")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for etype, model in EVENT_TYPES.items():
        name = etype.replace("id.aduan.", "").replace(".", "_")
        schemas[name] = {"$ref": f"../services/schemas/{etype}.json"}
        messages[name] = {
            "name": etype,
            "title": etype,
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/cloudevents+json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
        }
    for topic in catalog.TOPICS:
        cid = topic.name.replace(".", "_")
        producers = ", ".join((topic.producer, *topic.also_produced_by))
        channels[cid] = {
            "address": topic.full_name(kit),
            "description": topic.description
            + f" Key: {topic.key}. Produced by {producers}; consumed by "
            + ", ".join(topic.consumers)
            + ".",
            "messages": {
                et.replace("id.aduan.", "").replace(".", "_"): {
                    "$ref": "#/components/messages/" + et.replace("id.aduan.", "").replace(".", "_")
                }
                for et in topic.event_types
            },
        }
        if topic.private:
            channels[cid]["x-aduan-private"] = True
        operations[f"receive_{cid}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{cid}"},
            "summary": f"Consumed by {', '.join(topic.consumers)}.",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Aduan events",
            "version": "1.0.0",
            "description": "Events of the Aduan complaint platform. Every message is a "
            "CloudEvents 1.0 envelope in structured JSON mode; the Kafka key and the "
            "`subject` are the report id. Topic names carry the platform's namespace "
            "(`aduan` by default). Channels marked x-aduan-private are internal.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "production": {
                "host": "kafka.aduan.example:9092",
                "protocol": "kafka",
                "description": "The platform's Kafka cluster (KAFKA_BOOTSTRAP_SERVERS).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


REGION_EVENT = "id.aduan.region.report_changed.v1"
WEBHOOK_HEADERS = {
    "type": "object",
    "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    "properties": {
        "webhook-id": {
            "type": "string",
            "description": "The same on every retry of one delivery: drop repeats.",
        },
        "webhook-timestamp": {
            "type": "string",
            "description": "Unix seconds; refuse a message more than 5 minutes off.",
        },
        "webhook-signature": {
            "type": "string",
            "description": "Space-separated `v1,<base64>`: HMAC-SHA256 over "
            "`{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded "
            "secret after `whsec_`. Two signatures while a rotated secret is in its grace.",
        },
    },
}


def region_asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3.0 document of what a connected regional government receives."""
    from services import areas

    summary = "One change to a report held by a regional government, as the region may read it."
    payload = {"$ref": f"../../services/schemas/{REGION_EVENT}.json"}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Aduan for connected regional governments",
            "version": "1.0.0",
            "description": "What a connected regional government (Pemda) receives about the "
            "reports it is in charge of: every change (routed, forwarded, acknowledged, "
            "follow-up, question, resolved, the reporter's reply, returned, re-routed, "
            "closed) as a CloudEvents 1.0 envelope whose `data` is the report as it now "
            "stands. Three ways to receive it: Kafka (one topic per province), the HTTP "
            "gateway's server-sent events (and its pull API, in the gateway's OpenAPI), and "
            "signed webhooks. The guide is docs/regions.md. No message ever carries a "
            "reporter's identity or contact.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "kafka": {
                "host": "kafka.aduan.example:9093",
                "protocol": "kafka-secure",
                "description": "The platform's cluster. The principal User:region-<province> "
                "may read its province's topic only, with consumer groups named "
                "region-<province>.* (deploy/kafka/region-acls.sh).",
                "security": [{"$ref": "#/components/securitySchemes/kafkaScram"}],
            },
            "gateway": {
                "host": "aduan.example",
                "protocol": "https",
                "description": "The regions' gateway (the notifications service): "
                "/v1/region/token, /v1/region/events, /v1/region/stream, /v1/region/webhooks.",
                "security": [{"$ref": "#/components/securitySchemes/clientCredentials"}],
            },
        },
        "channels": {
            "provinceFeed": {
                "address": "aduan.region.{province}",
                "description": "One topic per province, keyed by report id, one partition by "
                "default (events of one report stay in order). What the province may read: "
                "reports held by the province and its regencies' governments; a confidential "
                "report held by a regency arrives with its title, story and texts removed "
                "(`redacted: true`).",
                "parameters": {
                    "province": {
                        "description": "Kemendagri province code.",
                        "enum": sorted(areas.provinces()),
                    }
                },
                "servers": [{"$ref": "#/servers/kafka"}],
                "messages": {"reportChanged": {"$ref": "#/components/messages/reportChanged"}},
                "bindings": {"kafka": {"partitions": 1, "bindingVersion": "0.5.0"}},
            },
            "gatewayStream": {
                "address": "/v1/region/stream",
                "description": "Server-sent events (text/event-stream). Each event's `id` "
                "is its cursor; reconnect with `Last-Event-ID` (or `?after=`) to resume. "
                "A comment line every 15 seconds keeps idle connections open.",
                "servers": [{"$ref": "#/servers/gateway"}],
                "messages": {"reportChanged": {"$ref": "#/components/messages/reportChanged"}},
                "bindings": {"http": {"method": "GET", "bindingVersion": "0.3.0"}},
            },
            "regionWebhook": {
                "address": "{webhookUrl}",
                "description": "The region's own HTTPS endpoint, registered with POST "
                "/v1/region/webhooks. Each event is POSTed once it is stored, retried with "
                "backoff until a 2xx (410 Gone disables the webhook), signed per Standard "
                "Webhooks.",
                "parameters": {"webhookUrl": {"description": "The URL the region registered."}},
                "messages": {"signedReportChanged": {"$ref": "#/components/messages/signed"}},
                "bindings": {"http": {"method": "POST", "bindingVersion": "0.3.0"}},
            },
        },
        "operations": {
            "readProvinceFeed": {
                "action": "receive",
                "channel": {"$ref": "#/channels/provinceFeed"},
                "summary": "A province's system consumes its topic.",
            },
            "readStream": {
                "action": "receive",
                "channel": {"$ref": "#/channels/gatewayStream"},
                "summary": "A region's system listens to its stream.",
            },
            "receiveWebhook": {
                "action": "receive",
                "channel": {"$ref": "#/channels/regionWebhook"},
                "summary": "A region's endpoint receives each event, signed.",
            },
        },
        "components": {
            "messages": {
                "reportChanged": {
                    "name": REGION_EVENT,
                    "title": "Report changed",
                    "summary": summary,
                    "contentType": "application/cloudevents+json",
                    "payload": payload,
                },
                "signed": {
                    "name": REGION_EVENT,
                    "title": "Report changed (webhook)",
                    "summary": summary + " Signed; `sequence` is the feed cursor.",
                    "contentType": "application/cloudevents+json",
                    "headers": WEBHOOK_HEADERS,
                    "payload": payload,
                },
            },
            "securitySchemes": {
                "kafkaScram": {
                    "type": "scramSha512",
                    "description": "One principal per province: User:region-<province>.",
                },
                "clientCredentials": {
                    "type": "oauth2",
                    "description": "Client credentials issued by an administrator (stored "
                    "hashed, rotatable, revocable), exchanged for a 15-minute token.",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": "https://aduan.example/v1/region/token",
                            "availableScopes": {},
                        }
                    },
                },
            },
        },
    }


def asyncapi_yaml() -> str:
    """The AsyncAPI document as YAML text."""
    return (
        "# Generated by `aduan asyncapi` from services/catalog.py. Do not edit.\n"
        + yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True, width=100)
    )


def region_acls(namespace: str = "aduan") -> str:
    """deploy/kafka/region-acls.sh: the per-province topics' ACLs."""
    from services import areas, regions

    return "\n".join(regions.kafka_acls(namespace, sorted(areas.provinces()))) + "\n"


def region_asyncapi_yaml() -> str:
    """The regions' AsyncAPI document as YAML text."""
    return (
        "# Generated by `aduan asyncapi` from services/schemas.py. Do not edit.\n"
        + yaml.safe_dump(region_asyncapi(), sort_keys=False, allow_unicode=True, width=100)
    )


def write_or_check(files: dict[Path, str], check: bool) -> int:
    """Write the files, or with ``check`` report those that differ and return 1."""
    stale = []
    for path, text in files.items():
        path = path if path.is_absolute() else ROOT / path
        current = path.read_text() if path.exists() else None
        if current != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if check and stale:
        print("out of date (run `aduan schemas` / `aduan asyncapi`):", file=sys.stderr)
        for path in stale:
            print(f"  {path.relative_to(ROOT)}", file=sys.stderr)
        return 1
    return 0
