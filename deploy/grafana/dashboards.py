"""Aduan's Grafana dashboards, as code: ``python deploy/grafana/dashboards.py`` writes
``deploy/grafana/dashboards/*.json`` (``make dashboards``), which Grafana provisions.

Every panel has a description and its queries use only metrics the services export; the
tests check both, check that the JSON files are what this script writes, and run every
panel's query through a real Prometheus scraping a running platform.

Dashboard variables (``$clock``, ``$agency``, ``$province``) default to "All" (``.*``);
queries use fixed windows rather than Grafana's interval macros so that each one runs
as it is in Prometheus.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "aduan-prometheus"}
SERVICES = ("intake", "verification", "routing", "sla", "notifications")
STAGE_TOPICS = r'topic=~".*\\.report\\.(submitted|verified|rejected|routed)"'

# "0, not nothing" for an error count of a service that has never had one: the same
# service's traffic times zero fills the gap (the panel then shows 0, not "No data").
HTTP_5XX_SHARE = (
    '(sum(rate(aduan_http_requests_total{{service="{s}", status=~"5.."}}[5m])) '
    'or sum(rate(aduan_http_requests_total{{service="{s}"}}[5m])) * 0) '
    '/ sum(rate(aduan_http_requests_total{{service="{s}"}}[5m]))'
)


@dataclass
class Target:
    """One query of a panel."""

    expr: str
    legend: str = ""
    instant: bool = False


@dataclass
class Panel:
    """A panel: its kind, what it shows and why an operator looks at it."""

    title: str
    description: str
    targets: list[Target]
    kind: str = "timeseries"
    unit: str = "short"
    # What to show when a query has no series (an error counter never yet moved).
    no_value: str | None = None
    width: int = 12
    height: int = 8
    thresholds: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class Row:
    """A titled row of panels."""

    title: str
    panels: list[Panel]


@dataclass
class Variable:
    """A query variable over a label's values, with "All" (``.*``) as its default."""

    name: str
    label: str
    query: str


@dataclass
class Dashboard:
    """A dashboard: uid, title, what it is for, variables and rows."""

    uid: str
    title: str
    description: str
    rows: list[Row]
    variables: list[Variable] = field(default_factory=list)
    tags: tuple[str, ...] = ("aduan",)


def _panel_json(panel: Panel, pid: int, x: int, y: int) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit}
    if panel.no_value is not None:
        defaults["noValue"] = panel.no_value
    if panel.thresholds:
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": c, "value": v} for v, c in panel.thresholds],
        }
    body: dict[str, Any] = {
        "id": pid,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right"}}
        if panel.kind == "timeseries"
        else {"reduceOptions": {"calcs": ["lastNotNull"]}},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DATASOURCE,
                "expr": t.expr,
                "legendFormat": t.legend,
                "instant": t.instant,
                "range": not t.instant,
            }
            for i, t in enumerate(panel.targets)
        ],
    }
    return body


def _variable_json(v: Variable) -> dict[str, Any]:
    return {
        "name": v.name,
        "label": v.label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": v.query, "refId": v.name},
        "definition": v.query,
        "refresh": 2,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def render(d: Dashboard) -> dict[str, Any]:
    """The dashboard's JSON model, as Grafana provisions it."""
    panels: list[dict[str, Any]] = []
    pid, y = 1, 0
    for row in d.rows:
        panels.append(
            {
                "id": pid,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        pid, y, x, tallest = pid + 1, y + 1, 0, 0
        for panel in row.panels:
            if x + panel.width > 24:
                x, y, tallest = 0, y + tallest, 0
            panels.append(_panel_json(panel, pid, x, y))
            pid, x, tallest = pid + 1, x + panel.width, max(tallest, panel.height)
        y += tallest
    return {
        "uid": d.uid,
        "title": d.title,
        "description": d.description,
        "tags": list(d.tags),
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [_variable_json(v) for v in d.variables]},
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["aduan"], "asDropdown": True, "title": "Aduan"}],
        "panels": panels,
    }


def overview() -> Dashboard:
    """Reports by stage, throughput and end-to-end latency."""
    return Dashboard(
        "aduan-overview",
        "Aduan: platform overview",
        "Where reports are in their life, how many flow through each stage, and how long "
        "they take from submission to each stage.",
        [
            Row(
                "Reports",
                [
                    Panel(
                        "Reports by status",
                        "Reports held by intake by their current status (every intake "
                        "instance counts the same table: max). A growing 'submitted' means "
                        "verification is behind; a growing 'verified' means routing is.",
                        [Target("max by (status) (aduan_reports)", "{{status}}", instant=True)],
                        kind="bargauge",
                        width=8,
                    ),
                    Panel(
                        "Reports received per minute, by channel",
                        "New reports per minute from the web, SMS 1708, the REST API and "
                        "Open311. A channel dropping to zero while others flow points at "
                        "that channel (Kannel, the web form, a client).",
                        [
                            Target(
                                "sum by (channel) (rate(aduan_reports_submitted_total[5m])) * 60",
                                "{{channel}}",
                            )
                        ],
                        width=16,
                    ),
                ],
            ),
            Row(
                "Throughput by stage",
                [
                    Panel(
                        "Reports per minute entering each stage",
                        "Events per minute published by each stage: submitted (intake), "
                        "verified and rejected (verification), routed (routing). The lines "
                        "should follow one another; a gap that widens is a stage falling "
                        "behind.",
                        [
                            Target(
                                "sum by (topic) (rate(aduan_events_produced_total"
                                f"{{{STAGE_TOPICS}}}[5m])) * 60",
                                "{{topic}}",
                            )
                        ],
                    ),
                    Panel(
                        "Events applied per second, by service",
                        "Events each service applied to its database (processed, not "
                        "duplicates or dead letters), all topics together.",
                        [
                            Target(
                                "sum by (service) (rate(aduan_events_consumed_total"
                                '{outcome="processed"}[5m]))',
                                "{{service}}",
                            )
                        ],
                        unit="ops",
                    ),
                ],
            ),
            Row(
                "Verification",
                [
                    Panel(
                        "Verification queue, by state and age",
                        "Reports waiting for a verifier (queued) or for the citizen's answer "
                        "(awaiting_info), by time since submission. Anything past 3 days is "
                        "past the verification clock (AduanVerificationQueueOverdue).",
                        [
                            Target(
                                "max by (state, age) (aduan_verification_queue)",
                                "{{state}} {{age}}",
                            )
                        ],
                        width=8,
                    ),
                    Panel(
                        "Decisions per hour, automatic and by verifiers",
                        "Verification outcomes per hour by who decided: the automatic checks "
                        "or a verifier. The automatic share is what keeps verifiers from "
                        "drowning, as LAPOR!'s did.",
                        [
                            Target(
                                "sum by (outcome, decided_by) "
                                "(rate(aduan_verification_decisions_total[1h])) * 3600",
                                "{{decided_by}} {{outcome}}",
                            )
                        ],
                        width=8,
                    ),
                    Panel(
                        "Time from submission to decision (p90)",
                        "How long reports wait for their verification decision, automatic "
                        "and by verifiers.",
                        [
                            Target(
                                "histogram_quantile(0.9, sum by (decided_by, le) "
                                "(rate(aduan_verification_decision_seconds_bucket[1h])))",
                                "{{decided_by}}",
                            )
                        ],
                        unit="s",
                        width=8,
                    ),
                ],
            ),
            Row(
                "Routing and agencies",
                [
                    Panel(
                        "Reports routed, by kind of agency",
                        "Reports handed to an agency per second: first routing, pending "
                        "reports released when their region connects, and administrators' "
                        "manual dispositions (how).",
                        [
                            Target(
                                "sum by (kind, how) (rate(aduan_routing_routed_total[5m]))",
                                "{{kind}} {{how}}",
                            )
                        ],
                        unit="reqps",
                        width=8,
                    ),
                    Panel(
                        "Pending reports, by province",
                        "Reports waiting because their regional government has not joined: "
                        "the evidence used to bring a Pemda on board. Connecting it in the "
                        "directory releases them at once.",
                        [
                            Target(
                                "sum by (province) (max by (province, regency) "
                                "(aduan_routing_pending))",
                                "{{province}}",
                                instant=True,
                            )
                        ],
                        kind="bargauge",
                        width=8,
                    ),
                    Panel(
                        "Agencies' actions",
                        "Follow-ups, questions to reporters, forwards inside an agency and "
                        "across agencies, returns to verification, resolutions, per hour. "
                        "Many returns from one agency point at a routing rule to fix.",
                        [
                            Target(
                                "sum by (action) (rate(aduan_routing_hops_total[1h])) * 3600",
                                "{{action}}",
                            )
                        ],
                        width=8,
                    ),
                    Panel(
                        "Time to first response (p50, p90)",
                        "From routing to the agency's first follow-up or question, by kind "
                        "of agency. The rule is 5 working days.",
                        [
                            Target(
                                "histogram_quantile(0.5, sum by (kind, le) "
                                "(rate(aduan_routing_first_response_seconds_bucket[6h])))",
                                "p50 {{kind}}",
                            ),
                            Target(
                                "histogram_quantile(0.9, sum by (kind, le) "
                                "(rate(aduan_routing_first_response_seconds_bucket[6h])))",
                                "p90 {{kind}}",
                            ),
                        ],
                        unit="s",
                    ),
                    Panel(
                        "Most reports routed, by agency (24 h)",
                        "The ten agencies that received the most reports in the last day.",
                        [
                            Target(
                                "topk(10, sum by (agency) "
                                "(increase(aduan_routing_routed_total[24h])))",
                                "{{agency}}",
                                instant=True,
                            )
                        ],
                        kind="bargauge",
                    ),
                ],
            ),
            Row(
                "End-to-end latency",
                [
                    Panel(
                        "Time from submission to each stage (p50, p90)",
                        "How long after its submission a report was verified, rejected, "
                        "routed, closed or escalated. Verification waits for people in "
                        "production: hours are normal there, seconds for routing after it.",
                        [
                            Target(
                                "histogram_quantile(0.5, sum by (stage, le) "
                                "(rate(aduan_report_stage_seconds_bucket[1h])))",
                                "p50 {{stage}}",
                            ),
                            Target(
                                "histogram_quantile(0.9, sum by (stage, le) "
                                "(rate(aduan_report_stage_seconds_bucket[1h])))",
                                "p90 {{stage}}",
                            ),
                        ],
                        unit="s",
                    ),
                    Panel(
                        "Running deadlines, by clock",
                        "Clocks still running (open or paused) in the SLA service: "
                        "verification, the agency's first response, the reporter's reply "
                        "and resolution.",
                        [
                            Target(
                                "max by (clock, status) (aduan_sla_open_deadlines)",
                                "{{clock}} {{status}}",
                            )
                        ],
                    ),
                ],
            ),
        ],
    )


FINISHED = "aduan_sla_deadlines_finished_total"
SLA_SELECTION = 'clock=~"$clock", agency=~"$agency", province=~"$province"'


def _on_time_share(by: str, description: str) -> Panel:
    """The share of clocks stopped on time in the last day, by agency or province."""
    f, sel = FINISHED, SLA_SELECTION
    return Panel(
        f"On-time share by {by} (last 24 h)",
        description,
        [
            # (0, not nothing, where every clock was late: "or" fills the gap.)
            Target(
                f'(sum by ({by}) (increase({f}{{{sel}, outcome="on_time"}}[1d])) '
                f"or sum by ({by}) (increase({f}{{{sel}}}[1d])) * 0) "
                f"/ sum by ({by}) (increase({f}{{{sel}}}[1d]))",
                f"{{{{{by}}}}}",
                instant=True,
            )
        ],
        kind="bargauge",
        unit="percentunit",
        thresholds=[(0, "red"), (0.75, "yellow"), (0.9, "green")],
    )


def sla() -> Dashboard:
    """Compliance by agency and by region, breaches, and overdue queues."""
    finished, sel = FINISHED, SLA_SELECTION
    return Dashboard(
        "aduan-sla",
        "Aduan: SLA compliance",
        "Whether agencies and regions meet their deadlines (Perpres 76/2013 and PermenPAN-RB "
        "62/2012: 3 working days to verify, 5 for the agency's first response).",
        [
            Row(
                "Compliance",
                [
                    _on_time_share(
                        "agency",
                        "Share of the clocks stopped in the last 24 hours that stopped "
                        "before their deadline, by agency. Below 90% (yellow) or 75% (red) "
                        "the agency needs attention.",
                    ),
                    _on_time_share(
                        "province",
                        "The same share by province (the first two digits of the regency "
                        "code: 32 is Jawa Barat), for regional governments and the "
                        "ministry's oversight.",
                    ),
                    Panel(
                        "Clocks stopped per hour, on time and late",
                        "Clocks that stopped per hour (a decision, a response, a reply), "
                        "by clock and outcome.",
                        [
                            Target(
                                f"sum by (clock, outcome) (rate({finished}{{{sel}}}[1h])) * 3600",
                                "{{clock}} {{outcome}}",
                            )
                        ],
                        width=24,
                    ),
                ],
            ),
            Row(
                "Breaches and queues",
                [
                    Panel(
                        "Deadlines breached per hour, top 10 agencies",
                        "Deadlines passed per hour by agency (all clocks of the selection). "
                        "Each breach is shown to the citizen and escalates to the agency's "
                        "supervisor.",
                        [
                            Target(
                                "topk(10, sum by (agency) (rate(aduan_sla_breaches_total"
                                '{clock=~"$clock", agency=~"$agency"}[1h])) * 3600)',
                                "{{agency}}",
                            )
                        ],
                    ),
                    Panel(
                        "Open clocks past their deadline",
                        "Running clocks whose deadline has passed, by clock. For the "
                        "verification clock, these are reports waiting in the verification "
                        "queue longer than allowed (the AduanVerificationQueueOverdue alert).",
                        [
                            Target(
                                'max by (clock) (aduan_sla_overdue_deadlines{clock=~"$clock"})',
                                "{{clock}}",
                            )
                        ],
                        width=6,
                    ),
                    Panel(
                        "Oldest overdue clock",
                        "How long ago the most overdue running clock was due, by clock.",
                        [
                            Target(
                                "max by (clock) (aduan_sla_oldest_overdue_seconds"
                                '{clock=~"$clock"})',
                                "{{clock}}",
                                instant=True,
                            )
                        ],
                        kind="stat",
                        unit="s",
                        width=6,
                    ),
                    Panel(
                        "Reports closed without reply or escalated, per hour",
                        "The SLA's own outcomes: closed because the reporter did not answer "
                        "in time, or escalated (with the Ombudsman link) because the agency "
                        "did not resolve the report.",
                        [
                            Target(
                                "sum by (outcome) (rate(aduan_sla_report_outcomes_total[1h]))"
                                " * 3600",
                                "{{outcome}}",
                            )
                        ],
                    ),
                    Panel(
                        "Warnings and breaches fired late (p99)",
                        "How long after their time the scheduler fired warnings and "
                        "breaches. Seconds are normal; minutes mean the SLA service is "
                        "overloaded or was down.",
                        [
                            Target(
                                "histogram_quantile(0.99, sum by (kind, le) "
                                "(rate(aduan_sla_firing_lateness_seconds_bucket[15m])))",
                                "{{kind}}",
                            )
                        ],
                        unit="s",
                    ),
                ],
            ),
        ],
        variables=[
            Variable("clock", "Clock", f"label_values({finished}, clock)"),
            Variable("agency", "Agency", f"label_values({finished}, agency)"),
            Variable("province", "Province", f"label_values({finished}, province)"),
        ],
    )


def _service_row(service: str) -> Row:
    s = service
    return Row(
        f"Service: {s}",
        [
            Panel(
                f"{s}: events per second, by outcome",
                f"Events {s} read from its topics: processed, duplicate (already applied: "
                "a redelivery) or dead_lettered.",
                [
                    Target(
                        "sum by (outcome) (rate(aduan_events_consumed_total"
                        f'{{service="{s}"}}[5m]))',
                        "{{outcome}}",
                    )
                ],
                unit="ops",
                width=6,
            ),
            Panel(
                f"{s}: handler errors per second",
                f"Events {s} failed to handle, by error type; each went to its topic's "
                "dead-letter topic.",
                [
                    Target(
                        "sum by (error_type) (rate(aduan_handler_errors_total"
                        f'{{service="{s}"}}[5m]))',
                        "{{error_type}}",
                    )
                ],
                unit="ops",
                width=6,
                no_value="0",
            ),
            Panel(
                f"{s}: batch handling time (p99)",
                f"99th percentile of the time {s} takes to apply one batch of events in "
                "one database transaction, by event type.",
                [
                    Target(
                        "histogram_quantile(0.99, sum by (event_type, le) "
                        "(rate(aduan_handler_duration_seconds_bucket"
                        f'{{service="{s}"}}[5m])))',
                        "{{event_type}}",
                    )
                ],
                unit="s",
                width=6,
            ),
            Panel(
                f"{s}: HTTP requests, 5xx share and p99",
                f"Requests per second {s} answered, the share answered with a 5xx (should "
                "stay under 5%: the AduanHttpErrors alert), and the 99th percentile of "
                "their duration.",
                [
                    Target(
                        f'sum(rate(aduan_http_requests_total{{service="{s}"}}[5m]))',
                        "requests/s",
                    ),
                    Target(HTTP_5XX_SHARE.format(s=s), "5xx share"),
                    Target(
                        "histogram_quantile(0.99, sum by (le) "
                        f'(rate(aduan_http_request_duration_seconds_bucket{{service="{s}"}}'
                        "[5m])))",
                        "p99 seconds",
                    ),
                ],
                width=6,
            ),
        ],
    )


def services() -> Dashboard:
    """One row per service: rate, errors, duration."""
    return Dashboard(
        "aduan-services",
        "Aduan: services",
        "One row per service: events handled, errors, handling time and HTTP traffic. "
        "Instances of a service are summed; Prometheus's instance label tells them apart.",
        [_service_row(s) for s in SERVICES],
    )


def kafka() -> Dashboard:
    """Lag, dead letters and outboxes."""
    return Dashboard(
        "aduan-kafka",
        "Aduan: Kafka",
        "The event bus as the services see it: how far behind each consumer is, what went "
        "to dead-letter topics, and what waits in each service's outbox.",
        [
            Row(
                "Consumers",
                [
                    Panel(
                        "Consumer lag, by service and topic",
                        "Messages behind the end of the log, summed over partitions. Lag "
                        "that keeps growing means the stage needs more instances (up to the "
                        "topic's partition count) or a faster database.",
                        [
                            Target(
                                "sum by (service, topic) (aduan_consumer_lag)",
                                "{{service}} {{topic}}",
                            )
                        ],
                    ),
                    Panel(
                        "Events dead-lettered per minute, by service and topic",
                        "Events sent to <topic>.dlq because they could not be read or "
                        "handled. Nothing is lost: docs/operations.md says how to read them "
                        "and publish them back.",
                        [
                            Target(
                                "sum by (service, topic) (rate(aduan_dead_lettered_total[5m]))"
                                " * 60",
                                "{{service}} {{topic}}",
                            )
                        ],
                    ),
                    Panel(
                        "Dead letters in the last 24 h",
                        "Events dead-lettered in the last day, by service.",
                        [
                            Target(
                                "sum by (service) (increase(aduan_dead_lettered_total[1d]))",
                                "{{service}}",
                                instant=True,
                            )
                        ],
                        kind="stat",
                        width=8,
                    ),
                    Panel(
                        "Database retries per minute",
                        "Batches a service applied again because its database could not be "
                        "reached: the events wait, none is lost or dead-lettered.",
                        [
                            Target(
                                "sum by (service) (rate(aduan_db_retries_total[5m])) * 60 or "
                                "sum by (service) (rate(aduan_events_consumed_total[5m])) * 0",
                                "{{service}}",
                            )
                        ],
                        width=16,
                    ),
                ],
            ),
            Row(
                "Outboxes",
                [
                    Panel(
                        "Outbox backlog, by service",
                        "Events written in a service's database but not yet acknowledged "
                        "by the broker. It should drain within seconds; a backlog that grows "
                        "means the broker is unreachable (AduanOutboxBacklogGrowing).",
                        [Target("sum by (service) (aduan_outbox_backlog)", "{{service}}")],
                    ),
                    Panel(
                        "Events published and publish errors per second",
                        "Events the outbox relays published (acknowledged), and failed "
                        "publish attempts (the events stay in the outbox and are retried).",
                        [
                            Target(
                                "sum by (service) (rate(aduan_events_produced_total[5m]))",
                                "published {{service}}",
                            ),
                            Target(
                                "sum by (service) (rate(aduan_outbox_publish_errors_total[5m]))"
                                " or sum by (service) (rate(aduan_events_produced_total[5m])) * 0",
                                "errors {{service}}",
                            ),
                        ],
                        unit="ops",
                    ),
                ],
            ),
        ],
    )


def channels() -> Dashboard:
    """Reports in by channel, notices out by channel."""
    return Dashboard(
        "aduan-channels",
        "Aduan: channels",
        "How citizens reach the platform (web, SMS 1708, API, Open311) and how its notices "
        "reach them and the agencies (SMS, email, webhooks).",
        [
            Row(
                "Reports in",
                [
                    Panel(
                        "Reports per hour, by channel",
                        "New reports per hour by the channel they came in on.",
                        [
                            Target(
                                "sum by (channel) (rate(aduan_reports_submitted_total[1h])) * 3600",
                                "{{channel}}",
                            )
                        ],
                    ),
                    Panel(
                        "Intake requests per second, by route and status",
                        "Requests to intake's pages and APIs (the web form, tracking, REST, "
                        "Open311, the SMS gateway's callback), by route template and status.",
                        [
                            Target(
                                "sum by (route, status) (rate(aduan_http_requests_total"
                                '{service="intake"}[5m]))',
                                "{{route}} {{status}}",
                            )
                        ],
                        unit="reqps",
                    ),
                ],
            ),
            Row(
                "Notices out",
                [
                    Panel(
                        "Notices sent per minute, by channel",
                        "Deliveries the channel accepted (Kannel took the SMS, the SMTP "
                        "server took the email, the webhook answered 2xx).",
                        [
                            Target(
                                "sum by (channel) (rate(aduan_notifications_sent_total[5m])) * 60",
                                "{{channel}}",
                            )
                        ],
                        width=8,
                    ),
                    Panel(
                        "Failed attempts and dead letters per minute, by channel",
                        "Attempts that failed (retried later), and deliveries that failed "
                        "every retry and were dead-lettered (AduanNotificationsFailing).",
                        [
                            Target(
                                "sum by (channel) (rate(aduan_notifications_failed_total[5m]))"
                                " * 60",
                                "failed {{channel}}",
                            ),
                            Target(
                                "sum by (channel) (rate(aduan_notifications_dead_lettered_total"
                                "[5m])) * 60",
                                "dead-lettered {{channel}}",
                            ),
                        ],
                        width=8,
                    ),
                    Panel(
                        "Deliveries waiting, by channel",
                        "Deliveries due or waiting for a retry. A channel that is down "
                        "holds up only its own deliveries.",
                        [Target("max by (channel) (aduan_notifications_backlog)", "{{channel}}")],
                        width=8,
                    ),
                    Panel(
                        "Delivery latency (p90), by channel",
                        "Time from the event that called for a notice to the channel "
                        "accepting it, retries included.",
                        [
                            Target(
                                "histogram_quantile(0.9, sum by (channel, le) (rate("
                                "aduan_notification_delivery_latency_seconds_bucket[15m])))",
                                "{{channel}}",
                            )
                        ],
                        unit="s",
                        width=24,
                    ),
                ],
            ),
        ],
    )


DASHBOARDS = (overview, sla, services, kafka, channels)


def built() -> Iterator[tuple[str, str]]:
    """(file name, JSON text) of every dashboard."""
    for make in DASHBOARDS:
        d = make()
        yield f"{d.uid}.json", json.dumps(render(d), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Write every dashboard's JSON; ``--check`` only compares."""
    check = "--check" in sys.argv[1:]
    stale = []
    OUT.mkdir(exist_ok=True)
    for name, text in built():
        path = OUT / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print(f"out of date: {', '.join(stale)} (run make dashboards)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
