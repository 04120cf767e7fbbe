"""The life of a report: its states and the steps between them, in one place.

Every service and every page asks this module where a report stands and what to call it,
instead of keeping its own list (as FixMyStreet's ``State`` does). A report's state is a
fold of the lifecycle facts seen for it: each fact is an event (``report.verified``, an
agency's follow-up, ``report.closed``...) reduced to a *step*. Facts are ordered by the
time their emitter stamped on them, then by the step's place in the lifecycle, then by
event id, so a projection that receives them in any order, on any topic, folds them the
same way and ends in the same state. A step that the definition does not allow from the
state the report is in at that point is refused: logged, no change, never an error.

Ordering needs no shared counter across the five services: every event already carries
its emitter's time (``verified_at``, ``resolved_at``...), and a service that acts on a
report it knows stamps its event after the last step it has seen (:func:`after`), so a
step caused by another always sorts after it, whatever the machines' clocks say.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from services import i18n
from services.i18n import N_

log = logging.getLogger(__name__)

Audience = Literal["reporter", "public", "agency", "verifier", "region"]
EVERYONE: tuple[Audience, ...] = ("reporter", "public", "agency", "verifier", "region")
BEFORE_ROUTING: tuple[Audience, ...] = ("reporter", "public", "verifier")
# Before a verifier accepts it, a report's text is unchecked: the public does not see it.
UNCHECKED: tuple[Audience, ...] = ("reporter", "verifier")


@dataclass(frozen=True)
class State:
    """A state of a report as its readers know it. Texts are English msgids of the
    catalogues (services/i18n.py): ``label`` and ``next_step`` give the reader's."""

    code: str
    en: str
    open311: Literal["open", "closed"]
    next_en: str
    audiences: tuple[Audience, ...] = EVERYONE
    terminal: bool = False
    # Whether the reporter can still add information or reply.
    reporter_can_add: bool = True

    def label(self, lang: str = "id") -> str:
        """The state's name in the reader's language."""
        return i18n.text("state", self.en, lang)

    def next_step(self, lang: str = "id") -> str:
        """What happens next, in the reader's language."""
        return i18n.text("next", self.next_en, lang)

    @property
    def id(self) -> str:
        """The state's name in Indonesian."""
        return self.label("id")

    @property
    def next_id(self) -> str:
        return self.next_step("id")


STATES: dict[str, State] = {
    s.code: s
    for s in (
        State(
            "submitted",
            N_("state", "Awaiting verification"),
            "open",
            N_("next", "A verifier checks the report within 3 working days."),
            UNCHECKED,
        ),
        State(
            "information_requested",
            N_("state", "Waiting for information from the reporter"),
            "open",
            N_(
                "next",
                "Complete the report on the tracking page or by SMS; the verification"
                " clock waits for your answer.",
            ),
            UNCHECKED,
        ),
        State(
            "verified",
            N_("state", "Verified"),
            "open",
            N_("next", "The report is being sent to the agency in charge."),
            BEFORE_ROUTING,
        ),
        State(
            "pending_region",
            N_("state", "Waiting for the regional government to join"),
            "open",
            N_("next", "The report is kept and counted; it goes on as soon as the region joins."),
            ("reporter", "public", "verifier", "agency"),
        ),
        State(
            "routed",
            N_("state", "Routed to the agency"),
            "open",
            N_("next", "The agency must give a first response within 5 working days."),
        ),
        State(
            "in_progress",
            N_("state", "Being handled by the agency"),
            "open",
            N_("next", "The agency is following up; you will hear of every step."),
        ),
        State(
            "resolved",
            N_("state", "Done according to the agency, awaiting the reporter"),
            "open",
            N_(
                "next",
                "Answer within 10 working days: solved or not? Without an answer it closes.",
            ),
        ),
        State(
            "reopened",
            N_("state", "Re-opened"),
            "open",
            N_(
                "next",
                "The reporter says it is not solved; the agency must respond again "
                "within 5 working days.",
            ),
        ),
        State(
            "returned",
            N_("state", "Being reviewed again by the verifiers"),
            "open",
            N_("next", "The agency says it is not theirs; the verifiers find the right one."),
            ("reporter", "public", "verifier", "agency", "region"),
        ),
        State(
            "escalated",
            N_("state", "Escalated to the Ombudsman"),
            "open",
            N_(
                "next",
                "Not resolved after 60 days: you can take it to the Ombudsman; the "
                "agency must still resolve it.",
            ),
        ),
        State(
            "closed",
            N_("state", "Closed"),
            "closed",
            N_("next", "The report is closed. Thank you for taking part."),
            terminal=True,
            reporter_can_add=False,
        ),
        State(
            "rejected",
            N_("state", "Not accepted"),
            "closed",
            N_("next", "Read the reason; you can send a new, complete report."),
            UNCHECKED,
            terminal=True,
            reporter_can_add=False,
        ),
    )
}

OPEN = frozenset(c for c, s in STATES.items() if s.open311 == "open")
CLOSED = frozenset(c for c, s in STATES.items() if s.open311 == "closed")
# States in which the agency holds the report and must act.
WITH_AGENCY = frozenset({"routed", "in_progress", "reopened", "escalated"})
BEFORE_AGENCY = frozenset({"submitted", "information_requested", "verified", "returned"})
# States in which the public may read a report (never a Rahasia one: see the privacy rules).
PUBLIC = frozenset(c for c, s in STATES.items() if "public" in s.audiences)
# The reporter may answer the agency (tanggapan) once the agency holds the report.
REPLYABLE = WITH_AGENCY | {"resolved"}


def state(code: str) -> State:
    """The state of a code (KeyError for an unknown one)."""
    return STATES[code]


def label(code: str, lang: str = "id") -> str:
    """A state's name in the reader's language (the code itself if unknown)."""
    found = STATES.get(code)
    return found.label(lang) if found else code


def open311_status(code: str) -> Literal["open", "closed"]:
    """Open311's two statuses."""
    return STATES[code].open311


@dataclass(frozen=True)
class Step:
    """A kind of lifecycle fact: what event makes it, who emits it, where it leads.

    ``moves`` maps the states it may happen in to the state it leads to (the same state:
    it happens, and the state stays). From any other state it is refused.
    """

    kind: str
    event_type: str
    emitter: str
    moves: dict[str | None, str]
    en: str
    audiences: tuple[Audience, ...] = EVERYONE
    # The reporter gets a notice for it (by SMS or email, and on the tracking page).
    notify_reporter: bool = True

    def label(self, lang: str = "id") -> str:
        """The step's name in the reader's language (for histories)."""
        return i18n.text("step", self.en, lang)

    @property
    def id(self) -> str:
        return self.label("id")


def _moves(sources: Iterable[str | None], to: str | None = None) -> dict[str | None, str]:
    """Every source state to ``to`` (``None``: each stays where it is)."""
    if to is not None:
        return dict.fromkeys(sources, to)
    return {s: s for s in sources if s is not None}


_ACTIVE = ("routed", "in_progress", "reopened", "escalated")
# An escalation does not stop the work: a report escalated while the verifiers still hold
# it goes on through verification and routing. A report waiting for its regional
# government stays counted as waiting (the evidence that brings that government on board).
_VERIFYING = ("submitted", "information_requested", "returned", "escalated")

# An agency's answer (acknowledgement, follow-up, question) starts its handling; once it
# handles, answers leave the state as it is.
_ANSWER = _moves(("routed", "reopened"), "in_progress") | _moves(
    ("in_progress", "escalated", "resolved")
)

STEPS: dict[str, Step] = {
    s.kind: s
    for s in (
        Step(
            "submitted",
            "id.aduan.report.submitted.v1",
            "intake",
            {None: "submitted"},
            N_("step", "Report received"),
            BEFORE_ROUTING,
        ),
        Step(
            "information_requested",
            "id.aduan.report.information_requested.v1",
            "verification",
            _moves(("submitted", "returned", "escalated"), "information_requested")
            | _moves(("information_requested",)),
            N_("step", "More information asked of the reporter"),
            BEFORE_ROUTING,
        ),
        Step(
            "information_added",
            "id.aduan.report.information_added.v1",
            "intake",
            # An answer to a request sends it back to the verifiers; otherwise it is an
            # addition the agency reads, and the state stays.
            _moves(("information_requested",), "submitted")
            | _moves(("submitted", "verified", "pending_region", "returned", *_ACTIVE)),
            N_("step", "The reporter added information"),
            notify_reporter=False,
        ),
        Step(
            "verified",
            "id.aduan.report.verified.v1",
            "verification",
            _moves(_VERIFYING, "verified"),
            N_("step", "Report verified"),
            BEFORE_ROUTING,
        ),
        Step(
            "rejected",
            "id.aduan.report.rejected.v1",
            "verification",
            _moves(_VERIFYING, "rejected"),
            N_("step", "Report not accepted"),
            BEFORE_ROUTING,
        ),
        Step(
            "transferred",
            "id.aduan.report.forwarded.v1",
            "routing",
            # An administrator hands it to another agency: that one must answer anew.
            _moves(_ACTIVE, "routed"),
            N_("step", "Moved to another agency"),
            notify_reporter=False,
        ),
        Step(
            "pending_region",
            "id.aduan.report.pending_region.v1",
            "routing",
            # Also an administrator's re-routing to a government not connected yet.
            _moves(("verified", "returned", *_ACTIVE), "pending_region"),
            N_("step", "Waiting for the regional government in charge to join"),
            ("reporter", "public", "verifier", "agency"),
        ),
        Step(
            "routed",
            "id.aduan.report.routed.v1",
            "routing",
            # Administrators may re-route a report the agency holds.
            _moves(("verified", "pending_region", "returned", *_ACTIVE), "routed"),
            N_("step", "Routed to the agency"),
        ),
        Step(
            "forwarded",
            "id.aduan.report.forwarded.v1",
            "routing",
            _moves(_ACTIVE),
            N_("step", "Passed to the unit or agency handling it"),
            ("reporter", "public", "agency", "verifier", "region"),
            notify_reporter=False,
        ),
        Step(
            "returned",
            "id.aduan.report.returned.v1",
            "routing",
            _moves(_ACTIVE, "returned"),
            N_("step", "Returned by the agency to the verifiers"),
            notify_reporter=False,
        ),
        Step(
            "acknowledgement",
            "id.aduan.report.followup_posted.v1",
            "routing",
            _ANSWER,
            N_("step", "The agency received the report and is handling it"),
        ),
        Step(
            "followup",
            "id.aduan.report.followup_posted.v1",
            "routing",
            _ANSWER,
            N_("step", "The agency's follow-up"),
        ),
        Step(
            "question",
            "id.aduan.report.followup_posted.v1",
            "routing",
            _ANSWER,
            N_("step", "A question from the agency"),
        ),
        Step(
            "resolved",
            "id.aduan.report.resolved.v1",
            "routing",
            _moves(_ACTIVE, "resolved"),
            N_("step", "The agency says it is done"),
        ),
        Step(
            "reporter_replied",
            "id.aduan.report.reporter_replied.v1",
            "intake",
            _moves(("resolved", *_ACTIVE)),
            N_("step", "The reporter's reply"),
            ("reporter", "public", "agency", "verifier", "region"),
            notify_reporter=False,
        ),
        Step(
            "reopened",
            "id.aduan.report.reopened.v1",
            "routing",
            _moves(("resolved",), "reopened"),
            N_("step", "Re-opened: the reporter says it is not solved"),
        ),
        Step(
            "closed",
            "id.aduan.report.closed.v1",
            "routing (accepted), sla (no reply)",
            _moves(("resolved", *_ACTIVE), "closed"),
            N_("step", "Report closed"),
        ),
        Step(
            "escalated",
            "id.aduan.report.escalated.v1",
            "sla",
            _moves(
                (
                    "submitted",
                    "information_requested",
                    "verified",
                    "returned",
                    "routed",
                    "in_progress",
                    "reopened",
                ),
                "escalated",
            ),
            N_("step", "Escalated: it may go to the Ombudsman"),
        ),
    )
}

# Same instant: the order of the lifecycle (a deadline and a routing share a timestamp).
ORDER: dict[str, int] = {kind: i for i, kind in enumerate(STEPS)}


def step_kind(event_type: str, payload: Any) -> str | None:
    """The lifecycle step an event is, or None for events that move no report."""
    if event_type == "id.aduan.report.followup_posted.v1":
        return str(payload.kind)
    if event_type == "id.aduan.report.forwarded.v1":
        return "forwarded" if payload.within_agency else "transferred"
    family = event_type.rsplit(".", 1)[0]  # a step is the same fact in every major version
    for kind, step in STEPS.items():
        if step.event_type.rsplit(".", 1)[0] == family:
            return kind
    return None


@dataclass(frozen=True)
class Fact:
    """One lifecycle step of one report, as a projection stores it."""

    event_id: str
    kind: str
    at: datetime

    def key(self) -> tuple[datetime, int, str]:
        """Emitter's time, then lifecycle order, then event id: a total order."""
        return (self.at, ORDER.get(self.kind, 99), self.event_id)


@dataclass
class Folded:
    """Where a report stands after its facts."""

    state: str | None = None
    since: datetime | None = None
    last_at: datetime | None = None
    applied: list[Fact] = field(default_factory=list)
    refused: list[tuple[Fact, str]] = field(default_factory=list)
    # The state each refused fact met (by event id).
    refused_from: dict[str, str | None] = field(default_factory=dict)

    @property
    def label_id(self) -> str:
        return label(self.state or "submitted", "id")


def allowed(kind: str, current: str | None) -> str | None:
    """The state a step leads to from ``current``, or None when the definition refuses."""
    step = STEPS.get(kind)
    if step is None:
        return None
    return step.moves.get(current)


def fold(facts: Iterable[Fact], gaps: bool = False) -> Folded:
    """Fold a report's facts (in any order, repeats dropped) into its state.

    ``gaps``: for a projection that does not see every step (notifications). A step not
    allowed from where the fold stands is then taken as the sign of steps it never saw,
    and applied, unless it contradicts that state (:func:`contradicts`).
    """
    out = Folded()
    seen: set[str] = set()
    for fact in sorted(facts, key=Fact.key):
        if fact.event_id in seen:
            continue
        seen.add(fact.event_id)
        to = allowed(fact.kind, out.state)
        if to is None and gaps and not contradicts(fact.kind, out.state):
            to = _target(fact.kind, out.state)
        if to is None:
            reason = f"{fact.kind} is not allowed from {out.state or 'nothing'}"
            out.refused.append((fact, reason))
            out.refused_from[fact.event_id] = out.state
            continue
        if to != out.state:
            out.since = fact.at
        out.state = to
        out.applied.append(fact)
        out.last_at = fact.at
    return out


def fold_rows(
    rows: Iterable[tuple[str, str, datetime]],
    step_of: Callable[[str], str | None],
    report_id: str,
    new_event_id: str | None = None,
    before: Iterable[Fact] = (),
    gaps: bool = False,
) -> Folded:
    """Fold a projection's own records of a report ((event id, its kind, when) rows; its
    kinds named by ``step_of``, None for records that are no step), after the facts
    ``before`` it takes as known. A refusal of the record just added is logged."""
    facts = [*before]
    for event_id, kind, at in rows:
        step = step_of(kind)
        if step is not None:
            facts.append(Fact(event_id, step, at))
    folded = fold(facts, gaps)
    for fact, reason in folded.refused:
        if fact.event_id == new_event_id:
            log.info("lifecycle step refused: %s", reason, extra={"report_id": report_id})
    return folded


def _target(kind: str, state: str | None) -> str | None:
    """Where a step leads when the steps before it were not seen: its first move's end
    (a step that leaves the state as it is keeps it)."""
    step = STEPS.get(kind)
    if step is None or not step.moves:
        return None
    source, to = next(iter(step.moves.items()))
    return state if to == source else to


def contradicts(kind: str, state: str | None) -> bool:
    """Whether telling ``kind`` would contradict a state already reached, for a projection
    that does not see every step (a refusal from an earlier state only means a step it
    never sees is missing): anything after the end, a second closing, an escalation of a
    report the agency has answered or that waits for its region."""
    if state is None:
        return False
    if STATES[state].terminal:
        return True
    return kind == "escalated" and state in ("resolved", "pending_region")


def after(last: datetime | None, now: datetime) -> datetime:
    """The time to stamp on a step caused by one seen at ``last``: never before it."""
    if last is not None and now <= last:
        return last + timedelta(microseconds=1)
    return now
