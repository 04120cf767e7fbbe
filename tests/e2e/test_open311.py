"""Open311 GeoReport v2 on intake, end to end with the real broker: discovery, services
and their definitions, a partner app's form-encoded request, its token and its status,
in JSON and XML, each answer checked against the published Swagger definitions; the
spec's errors; confidential requests never listed; nothing of who reported, ever."""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from services.launcher import Platform
from tests.e2e.helpers import fully_routed, staff_headers, wait_for

pytestmark = pytest.mark.e2e

SPEC = yaml.safe_load(
    (Path(__file__).parents[1] / "data" / "open311" / "georeport_v2-1.yaml").read_text()
)


def valid(rows: Any, definition: str) -> None:
    """Each row matches the spec's definition (its $refs resolved in the spec)."""
    schema = {"definitions": SPEC["definitions"], "$ref": f"#/definitions/{definition}"}
    for row in rows if isinstance(rows, list) else [rows]:
        jsonschema.validate(row, schema)


def test_a_partner_app_reports_and_follows_through_open311(make_platform: Any) -> None:
    platform: Platform = make_platform("sqlite")
    base = f"{platform.url('intake')}/open311/v2"
    key = httpx.post(
        f"{platform.url('intake')}/v1/partners",
        json={"name": "Aplikasi Warga Bandung"},
        headers=staff_headers(platform),
        timeout=10,
    )
    assert key.status_code == 201
    api_key = key.json()["api_key"]

    discovery = httpx.get(f"{base}/discovery.json").json()
    assert discovery["endpoints"][0]["url"].endswith("/open311/v2/")
    assert ET.fromstring(httpx.get(f"{base}/discovery.xml").content).tag == "discovery"

    services = httpx.get(f"{base}/services.json").json()
    valid(services, "Service")
    assert {s["service_code"] for s in services} >= {"infrastruktur", "pungli", "listrik"}
    pungli = next(s for s in services if s["service_code"] == "pungli")
    assert "siapa" in pungli["description"] and "bagaimana" in pungli["description"]
    xml = ET.fromstring(httpx.get(f"{base}/services.xml").content)
    assert xml.tag == "services" and len(xml.findall("service")) == len(services)
    definition = httpx.get(f"{base}/services/infrastruktur.json").json()
    valid(definition, "ServiceDefinition")
    assert definition["attributes"][0]["code"] == "regency_code"

    canary = uuid.uuid4().hex[:8]
    person = {
        "first_name": "Siti",
        "last_name": f"Canary{canary}",
        "email": f"canary{canary}@example.id",
        "phone": "0813" + str(int(canary, 16) % 10**8).zfill(8),
    }
    form = {
        "api_key": api_key,
        "service_code": "infrastruktur",
        "description": "Jalan Cikutra di depan Pasar Cicadas berlubang besar sejak dua minggu "
        "lalu dan sudah membuat dua pengendara motor jatuh.",
        "attribute[regency_code]": "32.73",
        "attribute[district_code]": "32.73.01",
        "address_string": "Jalan Cikutra 12",
        "lat": "-6.9022",
        "long": "107.6345",
        **person,
    }

    # The spec's errors, in the format asked for; never a 500.
    def post(data: Any, fmt: str = "json") -> httpx.Response:
        return httpx.post(f"{base}/requests.{fmt}", data=data, timeout=10)

    for bad, status in (
        ({**form, "api_key": ""}, 403),
        ({**form, "api_key": "nope"}, 403),
        ({**form, "service_code": "sihir"}, 400),
        ({**form, "attribute[regency_code]": "99.99"}, 400),
        ({**form, "attribute[district_code]": "35.78.01"}, 400),
        ({**form, "description": ""}, 400),
        ({**form, "phone": "12"}, 400),
        ({**form, "lat": "utara"}, 400),
        ({**form, "long": ""}, 400),
    ):
        r = post(bad)
        assert r.status_code == status, (bad, r.text)
        [err] = r.json()
        assert err["code"] == status and err["description"]
    r = post({**form, "service_code": "sihir"}, "xml")
    assert r.status_code == 400 and ET.fromstring(r.content).find("error/code").text == "400"
    garbage = httpx.post(
        f"{base}/requests.json",
        content=b"\xff\xfe\x00garbage",
        headers={"content-type": "multipart/form-data; boundary=x"},
        timeout=10,
    )
    assert garbage.status_code in (400, 403, 422)
    assert httpx.get(f"{base}/requests.csv").status_code == 404

    created = post(form)
    assert created.status_code == 201, created.text
    [made] = created.json()
    valid(made, "RequestResponse")
    tn, token = made["service_request_id"], made["token"]
    [by_token] = httpx.get(f"{base}/tokens/{token}.json").json()
    assert by_token == {"service_request_id": tn, "token": token}
    secret = post({**form, "attribute[confidential]": "true"}).json()[0]["service_request_id"]

    wait_for(lambda: fully_routed(platform, tn), what="routed")
    [request] = httpx.get(f"{base}/requests/{tn}.json").json()
    valid(request, "Request")
    assert request["status"] == "open" and request["service_code"] == "infrastruktur"
    assert request["agency_responsible"] == "Pemerintah Kota Bandung"
    assert request["address"] == "Kota Bandung" and request["address_id"] == "32.73.01"
    assert "Cikutra" in request["description"] and request["status_notes"]
    xml = ET.fromstring(httpx.get(f"{base}/requests/{tn}.xml").content)
    assert xml.find("request/service_request_id").text == tn
    assert xml.find("request/status").text == "open"

    # Lists: never the confidential one; filters by code and status.
    listed = httpx.get(f"{base}/requests.json").json()
    valid(listed, "Request")
    ids = {r["service_request_id"] for r in listed}
    assert tn in ids and secret not in ids
    assert httpx.get(f"{base}/requests/{secret}.json").status_code == 404
    assert httpx.get(f"{base}/requests.json", params={"status": "closed"}).json() == []
    some = httpx.get(f"{base}/requests.json", params={"service_request_id": f"{tn},{secret}"})
    assert [r["service_request_id"] for r in some.json()] == [tn]
    assert httpx.get(f"{base}/requests.json", params={"status": "done"}).status_code == 400

    # Nothing of who reported leaves through Open311, in either format.
    blob = " ".join(
        httpx.get(url).text
        for url in (
            f"{base}/requests.json",
            f"{base}/requests.xml",
            f"{base}/requests/{tn}.json",
            f"{base}/requests/{tn}.xml",
            f"{base}/tokens/{token}.xml",
        )
    )
    e164 = "+62" + person["phone"][1:]
    for needle in (canary, person["phone"], e164, person["phone"][-8:], "Siti"):
        assert needle not in blob, needle
    shown = json.loads(httpx.get(f"{base}/requests/{tn}.json").text)[0]
    assert (shown["lat"], shown["long"]) == (-6.9022, 107.6345)
