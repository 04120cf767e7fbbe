"""HTTP requests are counted by route template, so ids in paths do not explode the
label set, and failures are counted with their status."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from services import metrics
from services.runtime import HttpMetrics


def count(route: str, status: str) -> float:
    value = metrics.HTTP_REQUESTS.labels("test-svc", route, "GET", status)._value.get()
    return float(value)


def test_requests_are_counted_by_route_template_and_status() -> None:
    app = FastAPI()

    @app.get("/v1/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        if item_id == "missing":
            raise HTTPException(404, "no such item")
        return {"id": item_id}

    client = TestClient(HttpMetrics(app, "test-svc"))  # type: ignore[arg-type]
    before_ok = count("/v1/items/{item_id}", "200")
    before_404 = count("/v1/items/{item_id}", "404")
    before_unmatched = count("unmatched", "404")
    for i in range(5):
        assert client.get(f"/v1/items/{i}").status_code == 200
    assert client.get("/v1/items/missing").status_code == 404
    assert client.get("/nowhere/at/all").status_code == 404
    assert count("/v1/items/{item_id}", "200") - before_ok == 5
    assert count("/v1/items/{item_id}", "404") - before_404 == 1
    assert count("unmatched", "404") - before_unmatched == 1
    samples = {
        s.labels["route"]
        for family in metrics.HTTP_REQUESTS.collect()
        for s in family.samples
        if s.labels.get("service") == "test-svc"
    }
    assert samples == {"/v1/items/{item_id}", "unmatched"}
