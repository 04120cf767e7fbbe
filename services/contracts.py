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
DistrictCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}$")]
Language = Literal["id", "en"]


class Payload(BaseModel):
    """Base of every event payload: strict about unknown fields within a version."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AttachmentRef(BaseModel):
    """A file attached to a report or a follow-up; the bytes stay with the service that
    stored it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attachment_id: str = Field(max_length=64)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    size: int = Field(ge=0)


ReportType = Literal["complaint", "aspiration", "information_request"]


class GeoPoint(BaseModel):
    """A point in WGS 84 degrees."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float = Field(ge=-90, le=90)
    long: float = Field(ge=-180, le=180)


class _SubmittedFacts(Payload):
    """What both versions of report.submitted say besides the citizen's words."""

    report_id: ReportId
    tracking_number: TrackingNumber
    category: str = Field(max_length=64)
    regency_code: RegencyCode
    district_code: DistrictCode | None = Field(
        None, description="Kemendagri district (kecamatan) code, when the citizen gave it."
    )
    reporter_ref: str = Field(
        max_length=64, description="Opaque reference to the reporter; never an identity."
    )
    anonymous: bool
    confidential: bool
    channel: Literal["web", "sms", "api", "open311"]
    sender_ref: str | None = Field(
        None,
        max_length=64,
        description="Opaque and stable for one phone (else email) as typed, proven or not "
        "(a keyed hash only intake can make): verification's same-sender, flood and block "
        "checks use it. Never an identity, and never links reports to a reporter's contact.",
    )
    language: Language = "id"
    submitted_at: datetime
    report_type: ReportType = Field(
        "complaint",
        description="complaint (pengaduan), aspiration (aspirasi) or information_request "
        "(permintaan informasi).",
    )
    location: GeoPoint | None = Field(
        None, description="The point the citizen marked on the map, when they did."
    )
    attachments: list[AttachmentRef] = Field(
        default_factory=list,
        max_length=10,
        description="The reporter's files; the bytes stay with intake, which serves them to "
        "staff (GET /v1/staff/reports/{report_id}/attachments/{attachment_id}).",
    )


class ReportSubmitted(_SubmittedFacts):
    """A citizen submitted a report; it has a tracking number and awaits verification.

    Version 1 carries the words in the clear; intake now publishes version 2
    (:class:`ReportSubmittedSealed`), and consumers read both."""

    title: str = Field(max_length=200)
    body: str = Field(max_length=20_000)
    anonymous_title: str | None = Field(
        None,
        max_length=200,
        description="Not Anonim: the title with the reporter's own identity masked, for a "
        "verifier who makes the report Anonim (set only when it differs from title).",
    )
    anonymous_body: str | None = Field(
        None,
        max_length=20_000,
        description="Not Anonim: the story with the reporter's own identity masked (set "
        "only when it differs from body).",
    )


SealedText = Annotated[
    str,
    Field(
        max_length=400_000,
        pattern=r"^aduan-seal\.1\.[A-Za-z0-9_-]{1,16}\.[A-Za-z0-9_-]+$",
        description="The citizen's words, sealed (services.sealing): only intake, "
        "verification and routing hold the keys.",
    ),
]


class ReportSubmittedSealed(_SubmittedFacts):
    """A citizen submitted a report (version 2): its words travel sealed.

    ``sealed`` opens to ``{"title", "body", "anonymous_title", "anonymous_body"}`` as
    version 1 carries them, for the services that hold the text keys; no other reader,
    no dead-letter copy and no retained record can read a word a verifier may yet cover."""

    sealed: SealedText


class ReporterContactRecorded(Payload):
    """Contact data for a reporter reference. Private topic: only notifications reads it."""

    reporter_ref: str = Field(max_length=64)
    phone: str | None = Field(None, max_length=20, description="E.164, e.g. +6281234567890")
    email: str | None = Field(None, max_length=254)
    language: Language = "id"
    sms_notices: bool = Field(
        True,
        description="False once the phone sent STOP (BERHENTI) to 1708, until it sends "
        "MULAI: no notice goes to it by SMS (email and the tracking page still do).",
    )


class ReporterCodeRequested(Payload):
    """The reporter asked for their report's secret code by SMS or email. Private topic:
    only notifications reads it, sends it once to the report's own contact and keeps
    neither the code nor the text once sent."""

    report_id: ReportId
    code: str = Field(min_length=8, max_length=40, description="The report's secret code.")
    via: Literal["sms", "email"]
    requested_at: datetime


class StaffAccessChanged(Payload):
    """A member of staff's access was taken back: one sign-in session (signed out or
    revoked), or every session of the account begun before ``not_before`` (disabled,
    re-roled, password reset). Every service process reads the whole topic
    (services/staffgate.py) and refuses those tokens."""

    account_id: str = Field(min_length=1, max_length=64)
    session_id: str | None = Field(None, max_length=64)
    change: Literal[
        "signed_out", "session_revoked", "account_disabled", "account_changed", "password_reset"
    ]
    not_before: datetime
    forget_after: datetime = Field(
        description="After this, no token of the session could be used anyway."
    )


class StaffInvitationIssued(Payload):
    """PRIVATE. A one-time link for a member of staff to set their password (an invitation
    or an administrator's reset): notifications emails it once and keeps neither the link
    nor the text once sent."""

    invitation_id: str = Field(min_length=1, max_length=64)
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    role: str = Field(max_length=32)
    agency_name: str = Field(default="", max_length=200)
    link: str = Field(max_length=2000)
    purpose: Literal["invitation", "reset"]
    language: Literal["id", "en"] = "id"
    expires_at: datetime


class Redaction(BaseModel):
    """What a verifier covered before the report went on: the texts as every reader but
    the reporter and the administrators now reads them (the covered words stay in
    intake), and the reporter's files withheld from agencies, regions and the public."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(max_length=200)
    story: str = Field(max_length=20_000, description="The story as submitted, redacted.")
    additions: list[Annotated[str, StringConstraints(max_length=20_000)]] = Field(
        default_factory=list,
        max_length=50,
        description="What the citizen added before the verification, redacted, in the "
        "order they added it (the n-th replaces the n-th report.information_added).",
    )
    withheld: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list, max_length=20, description="Attachment ids withheld."
    )
    passages: int = Field(ge=0, description="How many passages were covered.")


class ReportVerified(Payload):
    """A verifier (or the automatic checks) accepted the report for routing."""

    report_id: ReportId
    title: str = Field(max_length=200)
    category: str = Field(max_length=64)
    regency_code: RegencyCode
    district_code: DistrictCode | None = Field(
        None, description="The district inside regency_code, when known."
    )
    decided_by: Literal["auto", "verifier"]
    reason: str = Field(max_length=500)
    verified_at: datetime
    anonymous: bool | None = Field(
        None, description="Set by a verifier to protect the reporter (Anonim); null: unchanged."
    )
    confidential: bool | None = Field(
        None, description="Set by a verifier to protect the reporter (Rahasia); null: unchanged."
    )
    redaction: Redaction | None = Field(
        None, description="The verifier's redaction; null: nothing was covered."
    )


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
    timezone: str | None = Field(
        None,
        max_length=40,
        description="IANA time zone of the agency's seat (Asia/Jakarta, Asia/Makassar, "
        "Asia/Jayapura): its working day ends the agency's deadlines.",
    )
    district_code: DistrictCode | None = None
    category: str | None = Field(None, max_length=64)
    unit_id: str | None = Field(
        None, max_length=64, description="The agency's work unit (SKPD/OPD) chosen for it."
    )
    unit_name: str | None = Field(None, max_length=200)
    subunit_id: str | None = Field(
        None, max_length=64, description="The sub-unit (kecamatan) for the report's district."
    )
    subunit_name: str | None = Field(None, max_length=200)
    title: str | None = Field(
        None,
        max_length=200,
        description="The title as agencies read it (a verifier's correction and redaction): "
        "the agency's notice says it whichever of report.verified and this comes first.",
    )


class ReportPendingRegion(Payload):
    """The responsible regional government is not connected yet: the report waits for it.

    Pending reports per region are the evidence that brings a Pemda on board; when it
    connects, routing releases them to it with ``report.routed``.
    """

    report_id: ReportId
    pemda_id: str = Field(max_length=64)
    pemda_name: str = Field(max_length=200)
    regency_code: RegencyCode
    category: str = Field(max_length=64)
    pending_at: datetime


Actor = Annotated[str, StringConstraints(max_length=64)]


class ReportInformationRequested(Payload):
    """The report lacks something it needs; the citizen is asked for it.

    The verification clock pauses until the citizen answers (ReportInformationAdded).
    """

    report_id: ReportId
    missing: list[Annotated[str, StringConstraints(max_length=32)]] = Field(
        default_factory=list, max_length=10, description="5W1H elements missing."
    )
    message: str = Field(max_length=1000, description="What the citizen is asked.")
    requested_by: Literal["auto", "verifier"]
    requested_at: datetime


class _AddedFacts(Payload):
    """What both versions of report.information_added say besides the words."""

    report_id: ReportId
    added_at: datetime
    attachments: list[AttachmentRef] = Field(
        default_factory=list, max_length=10, description="Files added with the text."
    )


class ReportInformationAdded(_AddedFacts):
    """The citizen added information to a report (an answer to a request, or unasked).

    Version 1 carries the words in the clear; intake now publishes version 2."""

    text: str = Field(max_length=20_000)
    anonymous_text: str | None = Field(
        None,
        max_length=20_000,
        description="Not Anonim: the text with the reporter's own identity masked, for a "
        "verifier who makes the report Anonim (set only when it differs from text).",
    )


class ReportInformationAddedSealed(_AddedFacts):
    """The citizen added information (version 2): ``sealed`` opens to
    ``{"text", "anonymous_text"}`` for the services that hold the text keys."""

    sealed: SealedText


class ReportForwarded(Payload):
    """An agency handed a report on: down to its own unit, or to another agency."""

    report_id: ReportId
    from_agency_id: str = Field(max_length=64)
    to_agency_id: str = Field(max_length=64)
    to_agency_name: str = Field(max_length=200)
    within_agency: bool = Field(
        description="True when it goes down to a unit or sub-unit of the same agency."
    )
    reason: str = Field(max_length=500)
    forwarded_by: Actor
    forwarded_at: datetime


class ReportReturned(Payload):
    """An agency returned a report as not theirs; it goes back to verification."""

    report_id: ReportId
    agency_id: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    returned_by: Actor
    returned_at: datetime


class ReportFollowupPosted(Payload):
    """The agency posted a follow-up (tindak lanjut): its answer or progress."""

    report_id: ReportId
    agency_id: str = Field(max_length=64)
    followup_id: str = Field(max_length=64)
    text: str = Field(max_length=5000)
    posted_by: Actor
    posted_at: datetime
    kind: Literal["followup", "question", "acknowledgement"] = Field(
        "followup",
        description="question: the agency asks the reporter something; acknowledgement: "
        "the agency confirms it received the report and is handling it.",
    )
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=10)


class ReportResolved(Payload):
    """The agency marked its work done; the reporter has 10 working days to reply."""

    report_id: ReportId
    agency_id: str = Field(max_length=64)
    summary: str = Field(max_length=2000)
    resolved_by: Actor
    resolved_at: datetime


class ReportReopened(Payload):
    """The reporter said the agency's answer did not solve it: the agency must act again."""

    report_id: ReportId
    agency_id: str = Field(max_length=64)
    reply_id: str = Field(max_length=64, description="The reporter's reply that re-opened it.")
    reopened_at: datetime


class ReportReporterReplied(Payload):
    """The reporter answered the agency (tanggapan), saying whether it solved the case."""

    report_id: ReportId
    reply_id: str = Field(max_length=64)
    satisfied: bool | None = Field(
        None, description="True: solved (the report closes). False or null: not solved."
    )
    text: str = Field("", max_length=5000)
    replied_at: datetime


Clock = Literal["verification", "first_response", "reporter_reply", "resolution"]


class DeadlineOpened(Payload):
    """An SLA clock started for a report."""

    report_id: ReportId
    deadline_id: str = Field(max_length=64)
    clock: Clock
    agency_id: str | None = Field(None, max_length=64)
    starts_at: datetime
    due_at: datetime
    working_days: int = Field(ge=0, description="0 for a clock counted in calendar days.")
    timezone: str | None = Field(None, max_length=40, description="Zone whose day ends it.")


class DeadlineUpdated(Payload):
    """An SLA clock paused, resumed, moved, stopped or was cancelled."""

    report_id: ReportId
    deadline_id: str = Field(max_length=64)
    clock: Clock
    agency_id: str | None = Field(None, max_length=64)
    status: Literal["open", "paused", "stopped", "cancelled"]
    due_at: datetime | None = Field(None, description="None while paused.")
    reason: str = Field(max_length=64, description="What changed it (the event kind).")
    changed_at: datetime


class SlaWarning(Payload):
    """A deadline is near (by default one working day before it)."""

    report_id: ReportId
    deadline_id: str = Field(max_length=64)
    clock: Clock
    agency_id: str | None = Field(None, max_length=64, description="Who must act.")
    due_at: datetime
    warned_at: datetime


class SlaBreached(Payload):
    """A deadline passed with nothing done; names the agency responsible."""

    report_id: ReportId
    deadline_id: str = Field(max_length=64)
    clock: Clock
    agency_id: str | None = Field(None, max_length=64, description="Who failed to act.")
    due_at: datetime
    breached_at: datetime


class ReportClosed(Payload):
    """The report is closed (selesai): the reporter accepted, or stayed silent."""

    report_id: ReportId
    reason: Literal["accepted", "no_reply"]
    closed_at: datetime


class ReportEscalated(Payload):
    """Unresolved after the resolution clock: the reporter is offered the Ombudsman."""

    report_id: ReportId
    agency_id: str | None = Field(None, max_length=64)
    reason: str = Field(max_length=500)
    ombudsman_url: str = Field(max_length=200)
    escalated_at: datetime


IdentityStep = Literal[
    "requested", "refused", "consent_requested", "consented", "declined", "released"
]


class IdentityReleaseChanged(Payload):
    """One step of releasing a reporter's identity to one agency, for one report, as the
    LAPOR! FAQ describes it: an officer asks with a reason (routing), an administrator
    approves or refuses (routing), an Anonim reporter consents or declines (intake), and
    on release that agency alone may read the name and contact, at intake. Never the
    identity itself."""

    report_id: ReportId
    request_id: str = Field(max_length=64)
    agency_id: str = Field(max_length=64)
    agency_name: str = Field("", max_length=200)
    step: IdentityStep
    actor: Actor
    reason: str = Field("", max_length=500, description="The officer's reason, or the note.")
    occurred_at: datetime


RegionChange = Literal[
    "routed",
    "forwarded",
    "acknowledgement",
    "followup",
    "question",
    "resolved",
    "reporter_replied",
    "returned",
    "rerouted",
    "closed",
    "reopened",
    "escalated",
]


class RegionReportChanged(Payload):
    """One change to a report held by a regional government, for the governments that
    subscribe (the feed, and one topic per province). The report as it now stands, and
    what changed. Never the reporter's identity or contact: Anonim or not, no reporter
    data is carried at all."""

    report_id: ReportId
    change: RegionChange
    occurred_at: datetime
    actor_kind: Literal["system", "agency", "region", "reporter", "administrator"]
    external_id: str | None = Field(
        None, max_length=100, description="The region's own id, when its system made it."
    )
    text: str = Field("", max_length=5000, description="The follow-up, reason or reply.")
    satisfied: bool | None = Field(None, description="reporter_replied: solved or not.")
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=10)
    tracking_number: TrackingNumber | None = None
    status: str = Field(max_length=24, description="The report's state (services.lifecycle codes).")
    status_label: str | None = Field(
        None, max_length=100, description="The state's name in Indonesian."
    )
    province_code: str = Field(pattern=r"^[0-9]{2}$")
    regency_code: RegencyCode
    district_code: DistrictCode | None = None
    category: str = Field(max_length=64)
    title: str = Field("", max_length=200)
    story: str = Field("", max_length=20_000)
    agency_id: str = Field(max_length=64, description="The government in charge.")
    agency_name: str = Field(max_length=200)
    unit_id: str | None = Field(None, max_length=64)
    unit_name: str | None = Field(None, max_length=200)
    subunit_id: str | None = Field(None, max_length=64)
    subunit_name: str | None = Field(None, max_length=200)
    anonymous: bool
    confidential: bool
    redacted: bool = Field(
        False, description="Confidential: title, story and texts removed for this reader."
    )


class RegionClientChanged(Payload):
    """A regional government's client credentials were revoked (by an administrator, at
    the gateway): every service that accepts its tokens refuses them from then on, not
    when they expire."""

    client_id: str = Field(max_length=64)
    region: str = Field(pattern=r"^[0-9]{2}(\.[0-9]{2})?$")
    revoked: bool = True
    changed_at: datetime


class NotificationSent(Payload):
    """A message about a report went out (the channel, never the address).

    ``in_app`` is the notice on the reporter's tracking page: it carries the text, and is
    sent whatever becomes of the SMS or email that repeats it.
    """

    report_id: ReportId
    notification_id: str = Field(max_length=64)
    template: str = Field(max_length=64)
    channel: Literal["sms", "email", "webhook", "log", "in_app"]
    audience: Literal["reporter", "agency"] = "reporter"
    text: str | None = Field(
        None, max_length=1000, description="The notice as the reporter reads it (in_app only)."
    )
    sent_at: datetime


class NotificationDeadLettered(Payload):
    """A delivery failed for good after its last retry (the channel, never the address)."""

    report_id: ReportId
    notification_id: str = Field(max_length=64)
    delivery_id: str = Field(max_length=64)
    template: str = Field(max_length=64)
    channel: Literal["sms", "email", "webhook"]
    audience: Literal["reporter", "agency"]
    attempts: int = Field(ge=1)
    last_error: str = Field(max_length=300, description="Status or error, never an address.")
    failed_at: datetime


# The registry: event type -> payload model. Types are versioned; topics are not.
EVENT_TYPES: dict[str, type[Payload]] = {
    "id.aduan.report.submitted.v1": ReportSubmitted,
    "id.aduan.report.submitted.v2": ReportSubmittedSealed,
    "id.aduan.reporter.contact_recorded.v1": ReporterContactRecorded,
    "id.aduan.reporter.code_requested.v1": ReporterCodeRequested,
    "id.aduan.report.verified.v1": ReportVerified,
    "id.aduan.report.rejected.v1": ReportRejected,
    "id.aduan.report.routed.v1": ReportRouted,
    "id.aduan.report.pending_region.v1": ReportPendingRegion,
    "id.aduan.report.information_requested.v1": ReportInformationRequested,
    "id.aduan.report.information_added.v1": ReportInformationAdded,
    "id.aduan.report.information_added.v2": ReportInformationAddedSealed,
    "id.aduan.report.forwarded.v1": ReportForwarded,
    "id.aduan.report.returned.v1": ReportReturned,
    "id.aduan.report.followup_posted.v1": ReportFollowupPosted,
    "id.aduan.report.resolved.v1": ReportResolved,
    "id.aduan.report.reporter_replied.v1": ReportReporterReplied,
    "id.aduan.report.reopened.v1": ReportReopened,
    "id.aduan.sla.deadline_opened.v1": DeadlineOpened,
    "id.aduan.sla.deadline_updated.v1": DeadlineUpdated,
    "id.aduan.sla.warning.v1": SlaWarning,
    "id.aduan.sla.breached.v1": SlaBreached,
    "id.aduan.report.closed.v1": ReportClosed,
    "id.aduan.report.escalated.v1": ReportEscalated,
    "id.aduan.report.identity_release.v1": IdentityReleaseChanged,
    "id.aduan.region.report_changed.v1": RegionReportChanged,
    "id.aduan.region.client_changed.v1": RegionClientChanged,
    "id.aduan.notification.sent.v1": NotificationSent,
    "id.aduan.notification.dead_lettered.v1": NotificationDeadLettered,
    "id.aduan.staff.access_changed.v1": StaffAccessChanged,
    "id.aduan.staff.invitation_issued.v1": StaffInvitationIssued,
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
