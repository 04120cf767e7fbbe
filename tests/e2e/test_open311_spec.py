"""Open311 GeoReport v2 as outsiders read it: a published client (``georeport`` from PyPI,
in JSON and XML), a client generated from the published Swagger file (every field in
the query, as the file declares them), and schemathesis walking that Swagger file
against the running server. Errors always in the Open311 format."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from georeport import GeoReport

from services.launcher import Platform
from tests.e2e.helpers import fully_routed, staff_headers, submit, wait_for

pytestmark = pytest.mark.e2e

SPEC_FILE = Path(__file__).parents[1] / "data" / "open311" / "georeport_v2-1.yaml"
SPEC = yaml.safe_load(SPEC_FILE.read_text())


def valid(rows: Any, definition: str) -> None:
    schema = {"definitions": SPEC["definitions"], "$ref": f"#/definitions/{definition}"}
    for row in rows if isinstance(rows, list) else [rows]:
        jsonschema.validate(row, schema)


def open311_error(response: httpx.Response, status: int) -> str:
    """The Open311 error list, in the format of the path, with this status."""
    assert response.status_code == status, (response.status_code, response.text)
    if response.headers["content-type"].startswith("text/xml"):
        root = ET.fromstring(response.content)
        assert root.tag == "errors" and root.find("error/code").text == str(status)  # type: ignore[union-attr]
        return root.find("error/description").text or ""  # type: ignore[union-attr]
    [err] = response.json()
    assert err["code"] == status and err["description"]
    return str(err["description"])


def test_a_published_client_and_the_published_swagger_file_read_open311(
    make_platform: Any, tmp_path: Path
) -> None:
    platform: Platform = make_platform("sqlite")
    intake = platform.url("intake")
    base = f"{intake}/open311/v2"
    made = submit(platform, reporter={"phone": "081255500311"})
    tn = made["tracking_number"]
    wait_for(lambda: fully_routed(platform, tn), what="routed")

    # 1. georeport (PyPI), JSON and XML.
    for fmt in ("json", "xml"):
        client = GeoReport(base, output_format=fmt)
        services = client.get_service_list()
        assert "infrastruktur" in {s["service_code"] for s in services}
        definition = client.get_service_definition("infrastruktur")
        assert definition["service_code"] == "infrastruktur"
        listed = client.get_service_requests()
        listed = listed if isinstance(listed, list) else [listed]
        assert tn in {r["service_request_id"] for r in listed}
        assert client.get_service_request(tn)["service_request_id"] == tn
        # service_request_id overrides every other filter.
        only = client.get_service_requests(
            service_request_id=tn, service_code="listrik", status="closed"
        )
        only = only if isinstance(only, list) else [only]
        assert [r["service_request_id"] for r in only] == [tn], fmt

    # start_date alone, however far back: the 90 days from it (not a 400).
    now = datetime.now(UTC)
    far = (now - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert GeoReport(base).get_service_requests(start_date=far) == []
    since = GeoReport(base).get_service_requests(start_date=recent)
    assert tn in {r["service_request_id"] for r in since}
    # end_date alone: the 90 days before it; both more than 90 days apart: the spec's 400.
    before = GeoReport(base).get_service_requests(end_date=recent)
    assert tn not in {r["service_request_id"] for r in before}
    wide = httpx.get(f"{base}/requests.json", params={"start_date": far, "end_date": recent})
    assert "90" in open311_error(wide, 400)

    # 2. Discovery: formats is a list, as the specification's JSON shows it.
    discovery = httpx.get(f"{base}/discovery.json").json()
    assert discovery["endpoints"][0]["formats"] == ["application/json", "text/xml"]

    # 3. As a client generated from the Swagger file calls it: every field in the query.
    key = httpx.post(
        f"{intake}/v1/partners",
        json={"name": "Aplikasi dari Swagger"},
        headers=staff_headers(platform),
    ).json()["api_key"]
    query = {
        "api_key": key,
        "jurisdiction_id": "aduan.id",
        "service_code": "infrastruktur",
        "lat": "-6.9022",
        "long": "107.6345",
        "address_string": "Jalan Cikutra 12",
        "attribute[regency_code]": "32.73",
        "description": "Lampu jalan di Jalan Cikutra depan Pasar Cicadas mati sejak seminggu "
        "lalu, jalan gelap dan rawan kecelakaan pada malam hari.",
    }
    created = httpx.post(f"{base}/requests.json", params=query)
    assert created.status_code == 201, created.text
    [row] = created.json()
    valid(row, "RequestResponse")
    assert "api_key required" in open311_error(
        httpx.post(f"{base}/requests.json", params={**query, "api_key": ""}), 403
    )
    # The form body still wins over the query, as before.
    body_wins = httpx.post(
        f"{base}/requests.json", params={**query, "api_key": "nope"}, data={"api_key": key}
    )
    assert body_wins.status_code == 201, body_wins.text

    # 4. The singular path of the Swagger file: one Request object, errors as Open311's.
    one = httpx.get(f"{base}/request/{tn}.json")
    assert one.status_code == 200 and one.json()["service_request_id"] == tn
    valid(one.json(), "Request")
    xml = ET.fromstring(httpx.get(f"{base}/request/{tn}.xml").content)
    assert xml.find("request/service_request_id").text == tn  # type: ignore[union-attr]
    open311_error(httpx.get(f"{base}/request/9999999.json"), 404)
    open311_error(httpx.get(f"{base}/request/{tn}.csv"), 404)
    # A method the path does not take: 405 in Open311's format, Allow naming both.
    for method, path in (
        ("DELETE", "requests.json"),
        ("PUT", "requests.xml"),
        ("PATCH", "requests.json"),
    ):
        answer = httpx.request(method, f"{base}/{path}")
        open311_error(answer, 405)
        assert set(re.split(r",\s*", answer.headers["allow"])) == {"GET", "POST"}, path
    answer = httpx.post(f"{base}/services.json")
    open311_error(answer, 405)
    assert answer.headers["allow"] == "GET"

    # 5. schemathesis with the published Swagger file: no 5xx, every 200 as the file says.
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            str(SPEC_FILE),
            "--url",
            base,
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "40",
            "--continue-on-failure",
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "20",
            "--seed",
            "311",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, f"schemathesis:\n{run.stdout[-8000:]}"
    summary = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    print(
        "\nschemathesis (GeoReport v2 Swagger):", summary.group(0) if summary else run.stdout[-300:]
    )
