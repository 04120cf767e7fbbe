"""Event contracts: the CloudEvents 1.0 envelope and one typed payload per event.

Type names end in their major version (``id.aduan.report.submitted.v1``). Within a major
version only optional fields may be added; the JSON Schemas generated from these models
are committed under ``services/schemas/`` and a test fails when they drift.

No agency-facing payload carries a reporter's identity or contact data: reports carry a
``reporter_ref``, an opaque reference that only intake and notifications can resolve.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ReportId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{36}$")]
TrackingNumber = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{6}$")]
RegencyCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}\.[0-9]{2}$")]
Language = Literal["id", "en"]


class Payload(BaseModel):
    """Base of every event payload: strict about unknown fields within a version."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportSubmitted(Payload):
    """A citizen submitted a report; it has a tracking number and awaits verification."""

    report_id: ReportId
    tracking_number: TrackingNumber
    title: str = Field(max_length=200)
    body: str = Field(max_length=20_000)
    category: str = Field(max_length=64)
    regency_code: RegencyCode
    reporter_ref: str = Field(
        max_length=64, description="Opaque reference to the reporter; never an identity."
    )
    anonymous: bool
    confidential: bool
    channel: Literal["web", "sms", "api", "open311"]
    language: Language = "id"
    submitted_at: datetime


class ReporterContactRecorded(Payload):
    """Contact data for a reporter reference. Private topic: only notifications reads it."""

    reporter_ref: str = Field(max_length=64)
    phone: str | None = Field(None, max_length=20, description="E.164, e.g. +6281234567890")
    email: str | None = Field(None, max_length=254)
    language: Language = "id"


class ReportVerified(Payload):
    """A verifier (or the automatic checks) accepted the report for routing."""

    report_id: ReportId
    title: str = Field(max_length=200)
    category: str = Field(max_length=64)
    regency_code: RegencyCode
    decided_by: Literal["auto", "verifier"]
    reason: str = Field(max_length=500)
    verified_at: datetime


class ReportRejected(Payload):
    """The report was not accepted; the reason tells the citizen why and what to do."""

    report_id: ReportId
    reason_code: Literal["empty", "incomplete", "out_of_scope", "abuse", "duplicate"]
    reason: str = Field(max_length=500)
    decided_by: Literal["auto", "verifier"]
    rejected_at: datetime


class ReportRouted(Payload):
    """The report was handed to the agency that must answer it."""

    report_id: ReportId
    agency_id: str = Field(max_length=64)
    agency_name: str = Field(max_length=200)
    regency_code: RegencyCode
    rule: str = Field(max_length=200, description="Which routing rule chose the agency.")
    routed_at: datetime


class DeadlineOpened(Payload):
    """An SLA clock started for a report."""

    report_id: ReportId
    deadline_id: str = Field(max_length=64)
    clock: Literal["verification", "first_response", "reporter_reply", "resolution"]
    agency_id: str | None = Field(None, max_length=64)
    starts_at: datetime
    due_at: datetime
    working_days: int = Field(ge=0)


class NotificationSent(Payload):
    """A message about a report went to its reporter (the channel, never the address)."""

    report_id: ReportId
    notification_id: str = Field(max_length=64)
    template: str = Field(max_length=64)
    channel: Literal["sms", "email", "log", "in_app"]
    sent_at: datetime


# The registry: event type -> payload model. Types are versioned; topics are not.
EVENT_TYPES: dict[str, type[Payload]] = {
    "id.aduan.report.submitted.v1": ReportSubmitted,
    "id.aduan.reporter.contact_recorded.v1": ReporterContactRecorded,
    "id.aduan.report.verified.v1": ReportVerified,
    "id.aduan.report.rejected.v1": ReportRejected,
    "id.aduan.report.routed.v1": ReportRouted,
    "id.aduan.sla.deadline_opened.v1": DeadlineOpened,
    "id.aduan.notification.sent.v1": NotificationSent,
}
TYPE_OF: dict[type[Payload], str] = {model: name for name, model in EVENT_TYPES.items()}


class CloudEvent(BaseModel):
    """CloudEvents 1.0 envelope in structured JSON mode; ``subject`` is the report id."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    subject: str | None = Field(None, max_length=64)
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    data: dict[str, Any]

    def payload(self) -> Payload:
        """Validate ``data`` against the model registered for ``type``."""
        model = EVENT_TYPES.get(self.type)
        if model is None:
            raise UnknownEventType(self.type)
        return model.model_validate(self.data)


class UnknownEventType(ValueError):
    """An envelope whose type no contract describes."""


def new_event(source: str, subject: str | None, payload: Payload) -> CloudEvent:
    """Wrap a payload in a fresh envelope with a new id and the current time."""
    etype = TYPE_OF[type(payload)]
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=source,
        type=etype,
        subject=subject,
        time=datetime.now(UTC),
        dataschema=f"https://aduan.id/schemas/{etype}.json",
        data=payload.model_dump(mode="json"),
    )


def encode(event: CloudEvent) -> bytes:
    """Serialise an envelope for the wire."""
    return event.model_dump_json(exclude_none=True).encode()


def decode(raw: bytes | None) -> CloudEvent:
    """Parse bytes from the wire into an envelope (raises on anything malformed)."""
    if raw is None:
        raise ValueError("empty message value")
    return CloudEvent.model_validate_json(raw)
