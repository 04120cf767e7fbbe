"""SLA's pure rules: which clocks a report has, given what happened to it.

Events about one report arrive on several topics, so their order of arrival is not
their order in time. The SLA service therefore keeps every relevant event of a report
as a *fact* and folds the facts, sorted by when they happened, into the report's clocks
(:func:`fold`). Folding again after a late fact gives the state as if the facts had
arrived in order; a clock is named by the fact that opened it, so names never shift.

The rules (each duration a setting, defaults from the domain):

- **verification**: 3 working days from submission (verifier's zone, WIB). Paused
  while the citizen is asked for information; on their answer the working days left
  at the pause are counted again from the answer's day. Stopped by verification or
  rejection. Re-opened, with a fresh 3 days, when an agency returns the report.
- **first_response**: 5 working days from routing, in the agency's zone. Stopped by
  the agency's first follow-up or resolution. Forwarding *within* the agency (down to
  a unit or district) keeps the agency's deadline, but leaves the unit at least 2
  working days. Forwarding to *another* agency cancels the clock and starts a full one
  for the new agency; so does a re-routing. A return cancels it (the report goes back
  to verification). The reporter's "not solved" re-opens a full clock.
- **reporter_reply**: 10 working days from the agency's resolution; stopped by the
  reporter's reply. Its breach closes the report (``report.closed``, no_reply).
- **resolution**: 60 calendar days from submission (the end of that day, moved on to
  a working day); its breach escalates the report to the Ombudsman. Stopped when the
  report is closed.

A rejected (archived) or closed report cancels every clock still running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services import timezones
from sla.workdays import WorkingCalendar

CLOCKS = ("verification", "first_response", "reporter_reply", "resolution")

# Facts at the same instant apply in lifecycle order.
KINDS = (
    "submitted",
    "information_requested",
    "information_added",
    "verified",
    "rejected",
    "routed",
    "forwarded",
    "returned",
    "followup_posted",
    "resolved",
    "reporter_replied",
    "closed",
)
KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Rules:
    """Durations and defaults of the clocks."""

    verification_days: int = 3
    first_response_days: int = 5
    reporter_reply_days: int = 10
    resolution_calendar_days: int = 60
    warning_working_days: int = 1
    forward_min_working_days: int = 2
    verifier_agency_id: str = "kemenpanrb"
    verifier_timezone: str = timezones.WIB
    default_timezone: str = timezones.WIB


@dataclass(frozen=True)
class Fact:
    """Something that happened to a report and matters to its clocks."""

    id: str
    kind: str
    at: datetime
    agency_id: str | None = None
    timezone: str | None = None
    regency_code: str | None = None
    within_agency: bool = False
    satisfied: bool | None = None

    def sort_key(self) -> tuple[datetime, int, str]:
        """When it happened; same instant: lifecycle order."""
        return (self.at, KIND_ORDER[self.kind], self.id)


@dataclass
class ClockState:
    """One clock of a report, as the facts make it."""

    id: str
    clock: str
    agency_id: str | None
    timezone: str
    regency_code: str | None
    starts_at: datetime
    due_at: datetime
    warn_at: datetime | None
    working_days: int
    status: str = "open"  # open | paused | stopped | cancelled
    reason: str = "opened"
    stopped_at: datetime | None = None
    paused_at: datetime | None = None
    remaining_days: int | None = None

    @property
    def running(self) -> bool:
        """Open or paused: still owed."""
        return self.status in ("open", "paused")


@dataclass
class _Report:
    calendar: WorkingCalendar
    rules: Rules
    clocks: dict[str, ClockState] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)
    regency_code: str | None = None
    agency_id: str | None = None
    agency_tz: str | None = None
    finished: bool = False

    def cur(self, clock: str) -> ClockState | None:
        key = self.current.get(clock)
        if key is None:
            return None
        state = self.clocks[key]
        return state if state.running else None

    def open(
        self,
        clock: str,
        fact: Fact,
        days: int,
        tz: str,
        agency_id: str | None,
        calendar_days: bool = False,
    ) -> None:
        previous = self.cur(clock)
        if previous is not None:
            self.end(previous, fact, "cancelled")
        if calendar_days:
            due = self.calendar.add_calendar_days(fact.at, days, tz)
        else:
            due = self.calendar.add_working_days(fact.at, days, tz)
        state = ClockState(
            id=f"{clock}:{fact.id}"[:64],
            clock=clock,
            agency_id=agency_id,
            timezone=tz,
            regency_code=self.regency_code,
            starts_at=fact.at,
            due_at=due,
            warn_at=self.calendar.warning_time(fact.at, due, self.rules.warning_working_days, tz),
            working_days=0 if calendar_days else days,
        )
        self.clocks[state.id] = state
        self.current[clock] = state.id
        if self.finished:
            self.end(state, fact, "cancelled")

    def open_verification(self, fact: Fact) -> None:
        rules = self.rules
        self.open(
            "verification",
            fact,
            rules.verification_days,
            rules.verifier_timezone,
            rules.verifier_agency_id,
        )

    def open_first_response(self, fact: Fact) -> None:
        tz = self.agency_tz or self.rules.default_timezone
        self.open("first_response", fact, self.rules.first_response_days, tz, self.agency_id)
        _assign_resolution(self)

    def end(self, state: ClockState, fact: Fact, status: str) -> None:
        state.status = status
        state.stopped_at = fact.at
        state.reason = fact.kind
        state.paused_at = None
        state.remaining_days = None

    def stop(self, clock: str, fact: Fact, status: str = "stopped") -> None:
        state = self.cur(clock)
        if state is not None:
            self.end(state, fact, status)

    def finish(self, fact: Fact, resolved: bool) -> None:
        """The report ended: resolution met if it was resolved, the rest cancelled."""
        for clock in CLOCKS:
            self.stop(clock, fact, "stopped" if resolved and clock == "resolution" else "cancelled")
        self.finished = True

    def reschedule(self, state: ClockState, start: datetime, due: datetime, reason: str) -> None:
        state.due_at = due
        state.warn_at = self.calendar.warning_time(
            start, due, self.rules.warning_working_days, state.timezone
        )
        state.reason = reason


def fold(facts: list[Fact], calendar: WorkingCalendar, rules: Rules) -> dict[str, ClockState]:
    """Every clock of a report, given all its facts (in any order)."""
    r = _Report(calendar, rules)
    for fact in sorted(facts, key=Fact.sort_key):
        _apply(r, fact)
    return r.clocks


def _apply(r: _Report, fact: Fact) -> None:
    rules, kind = r.rules, fact.kind
    if kind == "submitted":
        r.regency_code = fact.regency_code
        r.open_verification(fact)
        r.open(
            "resolution",
            fact,
            rules.resolution_calendar_days,
            rules.default_timezone,
            None,
            calendar_days=True,
        )
    elif kind == "information_requested":
        state = r.cur("verification")
        if state is not None and state.status == "open":
            state.status = "paused"
            state.paused_at = fact.at
            state.remaining_days = (
                r.calendar.working_days_between(fact.at, state.due_at, state.timezone)
                if fact.at < state.due_at
                else 0
            )
            state.reason = kind
    elif kind == "information_added":
        state = r.cur("verification")
        if state is not None and state.status == "paused":
            remaining = state.remaining_days or 0
            state.status = "open"
            state.paused_at = None
            state.remaining_days = None
            due = r.calendar.add_working_days(fact.at, remaining, state.timezone)
            r.reschedule(state, fact.at, due, kind)
    elif kind == "verified":
        r.stop("verification", fact)
    elif kind == "rejected":
        r.finish(fact, resolved=False)
    elif kind == "routed":
        r.stop("verification", fact)
        r.agency_id = fact.agency_id
        r.agency_tz = fact.timezone or rules.default_timezone
        if fact.regency_code:
            r.regency_code = fact.regency_code
        r.open_first_response(fact)
    elif kind == "forwarded":
        state = r.cur("first_response")
        if fact.within_agency:
            if state is not None and state.status == "open":
                floor = r.calendar.add_working_days(
                    fact.at, rules.forward_min_working_days, state.timezone
                )
                if floor > state.due_at:
                    r.reschedule(state, fact.at, floor, kind)
        else:
            r.agency_id = fact.agency_id
            r.open_first_response(fact)
    elif kind == "returned":
        r.stop("first_response", fact, "cancelled")
        r.agency_id = None
        r.open_verification(fact)
        _assign_resolution(r)
    elif kind in ("followup_posted", "resolved"):
        r.stop("first_response", fact)
        if kind == "resolved":
            tz = r.agency_tz or rules.default_timezone
            r.open("reporter_reply", fact, rules.reporter_reply_days, tz, fact.agency_id)
    elif kind == "reporter_replied":
        r.stop("reporter_reply", fact)
        if fact.satisfied:
            r.finish(fact, resolved=True)
        elif r.agency_id is not None:
            r.open_first_response(fact)
    elif kind == "closed":
        r.finish(fact, resolved=True)


def _assign_resolution(r: _Report) -> None:
    state = r.cur("resolution")
    if state is not None:
        state.agency_id = r.agency_id


def outcome(state: ClockState, breached: bool) -> str | None:
    """on_time or late for a finished (or breached) clock; None while it can still be met."""
    if state.status == "cancelled":
        return None
    if state.status == "stopped" and state.stopped_at is not None:
        return "on_time" if state.stopped_at <= state.due_at and not breached else "late"
    return "late" if breached else None
