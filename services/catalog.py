"""The topic catalogue: every topic, who writes it and who reads it.

The report id is the key of every report topic, so one report's events stay in order.
Every input topic has a dead-letter topic beside it (``<topic>.dlq``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.settings import KitSettings


@dataclass(frozen=True)
class Topic:
    """One topic of the platform, by its name without the namespace prefix."""

    name: str
    event_types: tuple[str, ...]
    producer: str
    consumers: tuple[str, ...]
    description: str
    key: str = "report id"
    private: bool = False
    config: dict[str, str] = field(default_factory=dict)
    # None: ADUAN_TOPIC_PARTITIONS.
    partitions: int | None = None
    # Other services that write some of its events (see services.lifecycle).
    also_produced_by: tuple[str, ...] = ()

    def full_name(self, kit: KitSettings) -> str:
        """The topic's name on the cluster."""
        return f"{kit.aduan_namespace}.{self.name}"

    def dlq_name(self, kit: KitSettings) -> str:
        """The dead-letter topic for this input topic."""
        return f"{self.full_name(kit)}.dlq"


TOPICS: tuple[Topic, ...] = (
    Topic(
        "report.submitted",
        ("id.aduan.report.submitted.v1", "id.aduan.report.submitted.v2"),
        producer="intake",
        consumers=("verification", "notifications", "sla", "routing"),
        description="New reports, with a reporter reference; the citizen's words sealed "
        "(v2) for the services that hold the text keys.",
    ),
    Topic(
        "reporter.contact",
        ("id.aduan.reporter.contact_recorded.v1",),
        producer="intake",
        consumers=("notifications",),
        key="reporter reference",
        private=True,
        config={"cleanup.policy": "compact"},
        description="PRIVATE. Contact data per reporter reference, compacted; only "
        "notifications may read it. Never subscribed to by agencies or regions.",
    ),
    Topic(
        "reporter.code",
        ("id.aduan.reporter.code_requested.v1",),
        producer="intake",
        consumers=("notifications",),
        private=True,
        config={"retention.ms": str(24 * 3600 * 1000)},
        description="PRIVATE. A reporter's request to have their report's secret code sent "
        "to their own phone or email; kept a day; only notifications may read it.",
    ),
    Topic(
        "staff.access",
        ("id.aduan.staff.access_changed.v1",),
        producer="routing",
        consumers=(),
        key="staff account id",
        partitions=1,
        description="Staff sessions signed out or revoked and accounts disabled or changed. "
        "Every process of every service reads all of it without a consumer group "
        "(services/staffgate.py) and refuses those tokens.",
    ),
    Topic(
        "staff.invitations",
        ("id.aduan.staff.invitation_issued.v1",),
        producer="routing",
        consumers=("notifications",),
        key="staff account id",
        private=True,
        partitions=1,
        config={"retention.ms": str(24 * 3600 * 1000)},
        description="PRIVATE. One-time links for staff to set a password, to be emailed; "
        "kept a day; only notifications may read it.",
    ),
    Topic(
        "report.verified",
        ("id.aduan.report.verified.v1",),
        producer="verification",
        consumers=("routing", "intake", "sla", "notifications"),
        description="Reports accepted for routing, with corrected title and category.",
    ),
    Topic(
        "report.rejected",
        ("id.aduan.report.rejected.v1",),
        producer="verification",
        consumers=("intake", "notifications", "sla"),
        description="Reports not accepted, with the reason shown to the citizen.",
    ),
    Topic(
        "report.routed",
        ("id.aduan.report.routed.v1",),
        producer="routing",
        consumers=("sla", "notifications", "intake"),
        description="Reports handed to the agency that must answer them (and, inside a "
        "connected regional government, the unit and sub-unit chosen).",
    ),
    Topic(
        "report.pending",
        ("id.aduan.report.pending_region.v1",),
        producer="routing",
        consumers=("intake", "notifications"),
        description="Reports waiting for their regional government to connect; routing "
        "releases them with report.routed when it does.",
    ),
    Topic(
        "report.information_requested",
        ("id.aduan.report.information_requested.v1",),
        producer="verification",
        consumers=("sla", "notifications", "intake"),
        description="The citizen is asked for what the report lacks (its clock pauses).",
    ),
    Topic(
        "report.information_added",
        ("id.aduan.report.information_added.v1", "id.aduan.report.information_added.v2"),
        producer="intake",
        consumers=("verification", "sla", "routing"),
        description="The citizen added information to a report (verification checks it "
        "again); the words sealed (v2) as on report.submitted.",
    ),
    Topic(
        "report.handling",
        (
            "id.aduan.report.forwarded.v1",
            "id.aduan.report.returned.v1",
            "id.aduan.report.followup_posted.v1",
            "id.aduan.report.resolved.v1",
            "id.aduan.report.reopened.v1",
        ),
        producer="routing",
        consumers=("verification", "sla", "notifications", "intake"),
        description="What agencies do with a report, in order: forwards, returns, "
        "follow-ups, resolution, and its re-opening when the reporter says it is not "
        "solved. Who acted is a staff reference, never a reporter.",
    ),
    Topic(
        "report.reporter_replied",
        ("id.aduan.report.reporter_replied.v1",),
        producer="intake",
        consumers=("sla", "routing"),
        description="The reporter's answer to the agency, and whether it solved the case.",
    ),
    Topic(
        "sla.deadline",
        (
            "id.aduan.sla.deadline_opened.v1",
            "id.aduan.sla.deadline_updated.v1",
            "id.aduan.sla.warning.v1",
            "id.aduan.sla.breached.v1",
        ),
        producer="sla",
        consumers=("intake", "verification", "notifications", "routing"),
        description="SLA clocks of a report: opened, changed, near their deadline "
        "(warning) and past it (breached, naming the agency responsible).",
    ),
    Topic(
        "report.outcome",
        ("id.aduan.report.closed.v1", "id.aduan.report.escalated.v1"),
        producer="sla",
        also_produced_by=("routing",),
        consumers=("intake", "notifications", "routing"),
        description="Reports closed (by routing when the reporter accepts the answer, by "
        "the SLA on the reporter's silence) and reports escalated to the Ombudsman after "
        "the resolution clock.",
    ),
    Topic(
        "region.clients",
        ("id.aduan.region.client_changed.v1",),
        producer="notifications",
        consumers=("routing",),
        key="client id",
        description="Regional governments' clients revoked at the gateway: routing, which "
        "accepts the same tokens for its region API, refuses them from then on.",
    ),
    Topic(
        "report.identity",
        ("id.aduan.report.identity_release.v1",),
        producer="routing",
        also_produced_by=("intake",),
        consumers=("intake", "notifications", "routing"),
        description="Releasing a reporter's identity to one agency for one report: the "
        "officer's request, the administrator's decision, an Anonim reporter's consent "
        "(from intake), the release. Never the identity itself: the agency reads it at "
        "intake, which checks the release.",
    ),
    Topic(
        "region.feed",
        ("id.aduan.region.report_changed.v1",),
        producer="routing",
        consumers=("notifications",),
        key="report id",
        partitions=1,
        description="Every change to a report held by a regional government, for the "
        "regions' gateway (pull, server-sent events, webhooks). One partition: the "
        "gateway numbers events in the order it commits them, so a cursor never skips. "
        "The same events go to one topic per province (<namespace>.region.<code>) for "
        "regions reading Kafka directly.",
    ),
    Topic(
        "notification.sent",
        ("id.aduan.notification.sent.v1",),
        producer="notifications",
        consumers=("intake",),
        description="Messages sent: template and channel, never the address; the "
        "in_app notice carries the text the tracking page shows.",
    ),
    Topic(
        "notification.dead_letter",
        ("id.aduan.notification.dead_lettered.v1",),
        producer="notifications",
        consumers=(),
        description="Deliveries that failed for good after their last retry (ops read "
        "it; the notice stays on the tracking page). Never an address.",
    ),
)

BY_NAME: dict[str, Topic] = {t.name: t for t in TOPICS}
TOPIC_OF_TYPE: dict[str, Topic] = {et: t for t in TOPICS for et in t.event_types}


def inputs_of(service: str) -> tuple[Topic, ...]:
    """The topics a service consumes."""
    return tuple(t for t in TOPICS if service in t.consumers)


def region_topic_names(kit: KitSettings) -> list[str]:
    """One feed topic per province (``<namespace>.region.32``)."""
    from services import areas

    return [f"{kit.aduan_namespace}.region.{code}" for code in sorted(areas.provinces())]


def all_topic_names(kit: KitSettings) -> list[str]:
    """Every topic the platform needs on the cluster, dead-letter topics included."""
    names = [t.full_name(kit) for t in TOPICS]
    names += [t.dlq_name(kit) for t in TOPICS]
    return names + region_topic_names(kit)
