"""Event contracts: schemas pinned, every event round-trips, the catalogue is whole."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import jsonschema
import pytest

from services import catalog, schemas, sealing
from services.contracts import (
    EVENT_TYPES,
    AttachmentRef,
    DeadlineOpened,
    DeadlineUpdated,
    IdentityReleaseChanged,
    NotificationDeadLettered,
    NotificationSent,
    Payload,
    Redaction,
    RegionClientChanged,
    RegionReportChanged,
    ReportClosed,
    ReporterCodeRequested,
    ReporterContactRecorded,
    ReportEscalated,
    ReportFollowupPosted,
    ReportForwarded,
    ReportInformationAdded,
    ReportInformationRequested,
    ReportPendingRegion,
    ReportRejected,
    ReportReopened,
    ReportReporterReplied,
    ReportResolved,
    ReportReturned,
    ReportRouted,
    ReportSubmitted,
    ReportVerified,
    SlaBreached,
    SlaWarning,
    StaffAccessChanged,
    StaffInvitationIssued,
    decode,
    encode,
    new_event,
)
from services.serve import SERVICES

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
RID = str(uuid.uuid4())
RING = sealing.Keyring.parse(sealing.new_key_spec())

SUBMITTED = ReportSubmitted(
    report_id=RID,
    tracking_number="1916449",
    title="Jalan rusak",
    body="Berlubang.",
    category="infrastruktur",
    regency_code="32.73",
    reporter_ref="r1",
    anonymous=False,
    confidential=False,
    channel="web",
    submitted_at=NOW,
)
ADDED = ReportInformationAdded(report_id=RID, text="Jl. Merdeka 1", added_at=NOW)

EXAMPLES: list[Payload] = [
    SUBMITTED,
    sealing.seal_submitted(SUBMITTED, RING),
    ReporterContactRecorded(reporter_ref="r1", phone="+6281234567890", email=None),
    ReporterCodeRequested(
        report_id=RID, code="7KQM-2H4X-PW9C-M3TB-ZX8D", via="sms", requested_at=NOW
    ),
    StaffAccessChanged(
        account_id="siti.rahma",
        session_id="9f1c2d3e4b5a69788796a5b4c3d2e1f0",
        change="signed_out",
        not_before=NOW,
        forget_after=NOW,
    ),
    StaffAccessChanged(
        account_id="siti.rahma", change="account_disabled", not_before=NOW, forget_after=NOW
    ),
    StaffInvitationIssued(
        invitation_id="a1b2c3d4e5f6a1b2c3d4e5f6",
        email="siti.rahma@bandung.go.id",
        name="Siti Rahma",
        role="unit_officer",
        agency_name="Dinas PUPR Kota Bandung",
        link="https://aduan.example.go.id/auth/invitation/x" + "y" * 40,
        purpose="invitation",
        expires_at=NOW,
    ),
    ReportVerified(
        report_id=RID,
        title="Jalan rusak",
        category="infrastruktur",
        regency_code="32.73",
        decided_by="auto",
        reason="ok",
        verified_at=NOW,
    ),
    ReportVerified(
        report_id=RID,
        title="Jalan rusak di depan rumah [disamarkan]",
        category="infrastruktur",
        regency_code="32.73",
        decided_by="verifier",
        reason="Alamat pelapor disamarkan",
        verified_at=NOW,
        redaction=Redaction(
            title="Jalan rusak di depan rumah [disamarkan]",
            story="Berlubang di depan rumah [disamarkan].",
            additions=["Foto dari [disamarkan]"],
            withheld=["att-1"],
            passages=3,
        ),
    ),
    RegionClientChanged(client_id="c-1", region="32", changed_at=NOW),
    IdentityReleaseChanged(
        report_id=RID,
        request_id="req-1",
        agency_id="a",
        agency_name="A",
        step="consent_requested",
        actor="admin-1",
        reason="Perlu memastikan lokasi rumah pelapor",
        occurred_at=NOW,
    ),
    ReportRejected(
        report_id=RID, reason_code="empty", reason="kosong", decided_by="auto", rejected_at=NOW
    ),
    ReportRouted(
        report_id=RID,
        agency_id="a",
        agency_name="A",
        regency_code="32.73",
        rule="regency:32.73",
        routed_at=NOW,
    ),
    RegionReportChanged(
        report_id=RID,
        change="acknowledgement",
        occurred_at=NOW,
        actor_kind="region",
        external_id="BDG-1",
        text="Diterima",
        status="in_progress",
        province_code="32",
        regency_code="32.73",
        district_code="32.73.01",
        category="infrastruktur",
        title="Jalan berlubang",
        story="Jalan Cikutra berlubang",
        agency_id="pemda-32.73",
        agency_name="Pemerintah Kota Bandung",
        anonymous=False,
        confidential=False,
    ),
    ReportPendingRegion(
        report_id=RID,
        pemda_id="pemda-94.01",
        pemda_name="Pemerintah Kabupaten Nabire",
        regency_code="94.01",
        category="infrastruktur",
        pending_at=NOW,
    ),
    DeadlineOpened(
        report_id=RID,
        deadline_id="d",
        clock="first_response",
        agency_id="a",
        starts_at=NOW,
        due_at=NOW,
        working_days=5,
    ),
    NotificationSent(
        report_id=RID, notification_id="n", template="received", channel="sms", sent_at=NOW
    ),
    NotificationSent(
        report_id=RID,
        notification_id="n",
        template="routed",
        channel="in_app",
        text="Aduan #1234567 telah diteruskan.",
        sent_at=NOW,
    ),
    NotificationDeadLettered(
        report_id=RID,
        notification_id="n",
        delivery_id="d",
        template="new_report",
        channel="webhook",
        audience="agency",
        attempts=8,
        last_error="HTTP 503",
        failed_at=NOW,
    ),
    ReportInformationRequested(
        report_id=RID,
        missing=["where"],
        message="Di mana lokasinya?",
        requested_by="auto",
        requested_at=NOW,
    ),
    ADDED,
    sealing.seal_added(ADDED, RING),
    ReportForwarded(
        report_id=RID,
        from_agency_id="a",
        to_agency_id="a/dinas-pu",
        to_agency_name="Dinas PU",
        within_agency=True,
        reason="teknis",
        forwarded_by="officer-1",
        forwarded_at=NOW,
    ),
    ReportReturned(
        report_id=RID, agency_id="a", reason="bukan wewenang", returned_by="o", returned_at=NOW
    ),
    ReportFollowupPosted(
        report_id=RID,
        agency_id="a",
        followup_id="f",
        text="Ditinjau",
        posted_by="o",
        posted_at=NOW,
        kind="question",
        attachments=[
            AttachmentRef(attachment_id="x", filename="a.jpg", media_type="image/jpeg", size=3)
        ],
    ),
    ReportResolved(
        report_id=RID, agency_id="a", summary="Diperbaiki", resolved_by="o", resolved_at=NOW
    ),
    ReportReporterReplied(report_id=RID, reply_id="r", satisfied=False, replied_at=NOW),
    ReportReopened(report_id=RID, agency_id="a", reply_id="r", reopened_at=NOW),
    DeadlineUpdated(
        report_id=RID,
        deadline_id="d",
        clock="verification",
        status="paused",
        reason="information_requested",
        changed_at=NOW,
    ),
    SlaWarning(
        report_id=RID,
        deadline_id="d",
        clock="first_response",
        agency_id="a",
        due_at=NOW,
        warned_at=NOW,
    ),
    SlaBreached(
        report_id=RID,
        deadline_id="d",
        clock="first_response",
        agency_id="a",
        due_at=NOW,
        breached_at=NOW,
    ),
    ReportClosed(report_id=RID, reason="no_reply", closed_at=NOW),
    ReportEscalated(
        report_id=RID, reason="60 hari", ombudsman_url="https://ombudsman.go.id/", escalated_at=NOW
    ),
]


def test_every_event_type_has_an_example() -> None:
    assert {type(e) for e in EXAMPLES} == set(EVENT_TYPES.values())


@pytest.mark.parametrize("payload", EXAMPLES, ids=lambda p: type(p).__name__)
def test_round_trip_and_schema(payload: Payload) -> None:
    event = new_event("/aduan/test", RID, payload)
    wire = encode(event)
    back = decode(wire)
    assert back.payload() == payload
    schema = json.loads((schemas.SCHEMA_DIR / f"{event.type}.json").read_text())
    jsonschema.validate(json.loads(wire), schema)


def test_schema_rejects_a_changed_payload() -> None:
    event = new_event("/aduan/test", RID, EXAMPLES[0])
    doc = json.loads(encode(event))
    doc["data"]["tracking_number"] = "12"
    schema = json.loads((schemas.SCHEMA_DIR / f"{event.type}.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_pinned_schemas_match_the_models() -> None:
    assert schemas.write_or_check(schemas.schema_files(), check=True) == 0, (
        "a contract changed: if on purpose, bump the type's major version or add only "
        "optional fields, then run `aduan schemas`"
    )


def test_asyncapi_document_is_current() -> None:
    current = (schemas.ROOT / "docs" / "asyncapi.yaml").read_text()
    assert current == schemas.asyncapi_yaml(), "run `aduan asyncapi`"
    doc = schemas.asyncapi()
    assert doc["asyncapi"].startswith("3.")
    assert len(doc["channels"]) == len(catalog.TOPICS)


def test_catalogue_is_consistent() -> None:
    seen: set[str] = set()
    for topic in catalog.TOPICS:
        assert topic.producer in SERVICES
        assert set(topic.consumers) <= set(SERVICES)
        for et in topic.event_types:
            assert et in EVENT_TYPES and et not in seen
            seen.add(et)
    assert seen == set(EVENT_TYPES)


def test_no_agency_facing_payload_carries_contact_fields() -> None:
    contact_words = {"phone", "email", "name", "address", "nik"}
    for topic in catalog.TOPICS:
        if topic.private:
            continue
        for et in topic.event_types:
            fields = set(EVENT_TYPES[et].model_fields)
            assert not fields & contact_words, (et, fields & contact_words)
    assert [t.name for t in catalog.TOPICS if t.private] == [
        "reporter.contact",
        "reporter.code",
        "staff.invitations",
    ]


def test_decode_refuses_garbage() -> None:
    for raw in [b"", b"not json", b"{}", b'{"specversion":"0.3"}', None]:
        with pytest.raises(ValueError):
            decode(raw)
