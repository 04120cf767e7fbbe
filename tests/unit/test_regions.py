"""What a region may read of the feed, its tokens, and the production ACLs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from services import auth, regions, schemas

SECRET = "s" * 40


def event(agency: str, regency: str, confidential: bool = False) -> dict[str, object]:
    return {
        "report_id": "r",
        "agency_id": agency,
        "province_code": regency[:2],
        "regency_code": regency,
        "title": "Pungli di kelurahan",
        "story": "cerita",
        "text": "tindak lanjut",
        "attachments": [{"attachment_id": "a"}],
        "confidential": confidential,
    }


def test_a_regency_sees_its_own_government_reports_only() -> None:
    own = event("pemda-32.73", "32.73")
    assert regions.sees("32.73", own)
    assert not regions.sees("32.04", own)
    assert not regions.sees("32.73", event("pemprov-32", "32.73"))  # the province's, not its
    assert regions.sees("32", own) and not regions.sees("35", own)


def test_a_confidential_report_is_read_in_full_only_by_the_government_in_charge() -> None:
    secret = event("pemda-32.73", "32.73", confidential=True)
    assert regions.view("32.73", secret) == secret
    seen = regions.view("32", secret)
    assert seen["title"] == seen["story"] == seen["text"] == regions.REDACTED
    assert seen["attachments"] == [] and seen["redacted"] is True
    provinces_own = event("pemprov-32", "32.73", confidential=True)
    assert regions.view("32", provinces_own) == provinces_own
    assert regions.view("32", event("pemda-32.73", "32.73"))["title"] == "Pungli di kelurahan"


def test_region_and_staff_tokens_do_not_open_each_others_doors() -> None:
    token = regions.issue_token(SECRET, "rg_1", "32.73")
    client = regions.verify_token(SECRET, token)
    assert (client.client_id, client.region, client.government) == ("rg_1", "32.73", "pemda-32.73")
    with pytest.raises(auth.InvalidToken):
        auth.verify(SECRET, token)
    staff = auth.issue(SECRET, "admin", auth.Role.administrator)
    with pytest.raises(auth.InvalidToken):
        regions.verify_token(SECRET, staff)
    with pytest.raises(auth.InvalidToken):
        regions.verify_token("x" * 40, token)
    expired = regions.issue_token(SECRET, "rg_1", "32", ttl=timedelta(seconds=-1))
    with pytest.raises(auth.InvalidToken):
        regions.verify_token(SECRET, expired)
    with pytest.raises(ValueError):
        regions.issue_token(SECRET, "rg_1", "32.73.01")


def test_each_province_principal_reads_only_its_own_topic() -> None:
    text = schemas.region_acls()
    reads = re.findall(
        r"User:(region-\d+) --operation Read --operation Describe --topic (\S+)", text
    )
    assert len(reads) == 38
    assert all(topic == f"aduan.region.{p.removeprefix('region-')}" for p, topic in reads)
    assert "--resource-pattern-type prefixed" in text
    for line in text.splitlines():
        if "User:region-" in line and "--topic" in line:
            assert "literal" in line  # never a prefix: region-3 must not read region-32
    assert (schemas.ROOT / "deploy/kafka/region-acls.sh").read_text() == text, "aduan region-acls"


def test_the_regions_asyncapi_document_is_current() -> None:
    current = (schemas.ROOT / "docs/regions/asyncapi.yaml").read_text()
    assert current == schemas.region_asyncapi_yaml(), "run `aduan asyncapi`"
    doc = schemas.region_asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == {"provinceFeed", "gatewayStream", "regionWebhook"}
    for op in doc["operations"].values():
        assert op["action"] == "receive"
    ref = doc["components"]["messages"]["reportChanged"]["payload"]["$ref"]
    assert (schemas.ROOT / "docs/regions" / ref).resolve().exists()
