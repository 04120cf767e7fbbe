"""The kit's lifecycle: one definition of a report's states, folded the same whatever
the order its facts arrive in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake import domain as intake_domain
from notifications import domain as notifications_domain
from services import catalog, lifecycle
from services.contracts import EVENT_TYPES, ReportFollowupPosted
from services.serve import SERVICES

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

# Every path of issue 16, as the facts each produces (kind, minutes after submission),
# with the state every projection must end in.
JOURNEYS: dict[str, tuple[list[tuple[str, int]], str]] = {
    "accepted": (
        [
            ("submitted", 0),
            ("verified", 1),
            ("routed", 2),
            ("followup", 3),
            ("question", 4),
            ("reporter_replied", 5),
            ("resolved", 6),
            ("reporter_replied", 7),
            ("closed", 8),
        ],
        "closed",
    ),
    "reopened then silence": (
        [
            ("submitted", 0),
            ("verified", 1),
            ("routed", 2),
            ("resolved", 3),
            ("reporter_replied", 4),
            ("reopened", 5),
            ("resolved", 6),
            ("closed", 7),
        ],
        "closed",
    ),
    "reopened": (
        [
            ("submitted", 0),
            ("verified", 1),
            ("routed", 2),
            ("resolved", 3),
            ("reporter_replied", 4),
            ("reopened", 5),
        ],
        "reopened",
    ),
    "information requested": (
        [
            ("submitted", 0),
            ("information_requested", 1),
            ("information_added", 2),
            ("verified", 3),
            ("routed", 4),
        ],
        "routed",
    ),
    "waiting for information": (
        [("submitted", 0), ("information_requested", 1)],
        "information_requested",
    ),
    "duplicate": ([("submitted", 0), ("rejected", 1)], "rejected"),
    "pending region": (
        [("submitted", 0), ("verified", 1), ("pending_region", 2), ("routed", 30)],
        "routed",
    ),
    "returned and re-routed": (
        [
            ("submitted", 0),
            ("verified", 1),
            ("routed", 2),
            ("acknowledgement", 3),
            ("returned", 4),
            ("verified", 5),
            ("routed", 6),
        ],
        "routed",
    ),
    "escalated": (
        [("submitted", 0), ("verified", 1), ("routed", 2), ("followup", 3), ("escalated", 90)],
        "escalated",
    ),
    "escalated, then resolved": (
        [("submitted", 0), ("verified", 1), ("routed", 2), ("escalated", 90), ("resolved", 91)],
        "resolved",
    ),
}


def facts_of(steps: list[tuple[str, int]]) -> list[lifecycle.Fact]:
    return [
        lifecycle.Fact(f"e{i}", kind, T0 + timedelta(minutes=m))
        for i, (kind, m) in enumerate(steps)
    ]


@pytest.mark.parametrize("name", list(JOURNEYS))
def test_each_journey_ends_where_it_should_and_refuses_nothing(name: str) -> None:
    steps, end = JOURNEYS[name]
    folded = lifecycle.fold(facts_of(steps))
    assert folded.state == end
    assert folded.refused == []


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(JOURNEYS)),
    data=st.data(),
)
def test_any_arrival_order_and_any_repeats_give_the_same_state(
    name: str, data: st.DataObject
) -> None:
    steps, end = JOURNEYS[name]
    facts = facts_of(steps)
    shuffled = data.draw(st.permutations(facts))
    repeats = data.draw(st.lists(st.sampled_from(facts), max_size=4))
    # A projection folds what it has seen so far each time a fact arrives: every prefix
    # is a state of the lifecycle, and the last one is the journey's end.
    seen: list[lifecycle.Fact] = []
    for fact in [*shuffled, *repeats]:
        seen.append(fact)
        state = lifecycle.fold(seen).state
        assert state is None or state in lifecycle.STATES
    assert lifecycle.fold(seen).state == end


def test_a_step_not_allowed_is_refused_with_a_reason_and_changes_nothing() -> None:
    steps, _ = JOURNEYS["accepted"]
    facts = facts_of(steps)
    late = lifecycle.Fact("late-close", "closed", T0 + timedelta(minutes=60))
    escalation = lifecycle.Fact("late-escalation", "escalated", T0 + timedelta(minutes=61))
    folded = lifecycle.fold([*facts, late, escalation])
    assert folded.state == "closed"
    assert [(f.event_id, reason) for f, reason in folded.refused] == [
        ("late-close", "closed is not allowed from closed"),
        ("late-escalation", "escalated is not allowed from closed"),
    ]
    assert lifecycle.allowed("reopened", "in_progress") is None
    # A report waiting for its regional government stays counted as waiting.
    assert lifecycle.allowed("escalated", "pending_region") is None
    assert lifecycle.allowed("no such step", "routed") is None


def test_every_state_has_labels_next_steps_and_an_open311_status() -> None:
    for code, state in lifecycle.STATES.items():
        assert state.code == code
        assert state.id and state.en and state.id != state.en
        assert state.next_id and state.next_en and state.next_id != state.next_en
        assert state.open311 in ("open", "closed")
        assert "reporter" in state.audiences and "verifier" in state.audiences
    assert {"closed", "rejected"} == lifecycle.CLOSED
    assert "submitted" not in lifecycle.PUBLIC and "routed" in lifecycle.PUBLIC


def test_every_step_is_an_event_of_the_catalogue_emitted_by_its_producer() -> None:
    for kind, step in lifecycle.STEPS.items():
        assert step.event_type in EVENT_TYPES, kind
        assert set(step.moves.values()) <= set(lifecycle.STATES), kind
        assert {s for s in step.moves if s is not None} <= set(lifecycle.STATES), kind
        topic = catalog.TOPIC_OF_TYPE[step.event_type]
        producers = {topic.producer, *topic.also_produced_by}
        named = {w.strip("(),") for w in step.emitter.split()} & set(SERVICES)
        assert named and named <= producers, (kind, step.emitter, producers)
        assert step.id and step.en and step.id != step.en


def test_step_kind_reads_the_kind_of_an_agency_answer() -> None:
    followup = ReportFollowupPosted(
        report_id="0" * 8 + "-0000-0000-0000-" + "0" * 12,
        agency_id="pemda-32.73",
        followup_id="f1",
        text="Sudah ditinjau",
        posted_by="officer",
        posted_at=T0,
        kind="question",
    )
    assert lifecycle.step_kind("id.aduan.report.followup_posted.v1", followup) == "question"
    assert lifecycle.step_kind("id.aduan.report.closed.v1", None) == "closed"
    assert lifecycle.step_kind("id.aduan.sla.warning.v1", None) is None


def test_every_reporter_notice_tells_a_step_that_notifies_the_reporter() -> None:
    told = set(notifications_domain.STEP_OF_TEMPLATE.values())
    meant = {kind for kind, step in lifecycle.STEPS.items() if step.notify_reporter}
    # The three kinds of an agency's answer share one notice.
    assert meant - told == {"acknowledgement", "question"}
    assert told <= meant
    for template in notifications_domain.STEP_OF_TEMPLATE:
        assert template in notifications_domain.REPORTER_TEMPLATES


def test_intake_history_kinds_map_onto_steps() -> None:
    assert intake_domain.step_of("pending") == "pending_region"
    assert intake_domain.step_of("reply") == "reporter_replied"
    assert intake_domain.step_of("notification") is None
    assert intake_domain.step_of("deadline") is None
    for kind in lifecycle.STEPS:
        assert intake_domain.step_of(kind) == kind


def test_after_never_stamps_before_the_step_it_follows() -> None:
    assert lifecycle.after(T0, T0 - timedelta(seconds=5)) > T0
    assert lifecycle.after(T0, T0 + timedelta(seconds=5)) == T0 + timedelta(seconds=5)
    assert lifecycle.after(None, T0) == T0


NOTICED = {
    "submitted",
    "information_requested",
    "verified",
    "rejected",
    "pending_region",
    "routed",
    "followup",
    "resolved",
    "reopened",
    "closed",
    "escalated",
}


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(JOURNEYS)), data=st.data())
def test_a_projection_that_sees_only_some_steps_refuses_none_of_a_real_journey(
    name: str, data: st.DataObject
) -> None:
    """Notifications sees only the steps it tells, in any order: with gaps filled, no step
    of a real journey is held back, and the end is the journey's."""
    steps, end = JOURNEYS[name]
    facts = [f for f in facts_of(steps) if f.kind in NOTICED]
    seen: list[lifecycle.Fact] = []
    for fact in data.draw(st.permutations(facts)):
        seen.append(fact)
        assert lifecycle.fold(seen, gaps=True).refused == []
    assert lifecycle.fold(seen, gaps=True).state == end


def test_with_gaps_only_a_contradiction_is_refused() -> None:
    t = [T0 + timedelta(minutes=m) for m in range(6)]
    routed_first = lifecycle.fold(
        [lifecycle.Fact("a", "submitted", t[0]), lifecycle.Fact("b", "routed", t[2])], gaps=True
    )
    assert routed_first.state == "routed" and not routed_first.refused
    twice = lifecycle.fold(
        [
            lifecycle.Fact("a", "submitted", t[0]),
            lifecycle.Fact("b", "resolved", t[1]),
            lifecycle.Fact("c", "closed", t[2]),
            lifecycle.Fact("d", "closed", t[3]),
            lifecycle.Fact("e", "escalated", t[4]),
        ],
        gaps=True,
    )
    assert twice.state == "closed" and set(twice.refused_from) == {"d", "e"}
    answered = lifecycle.fold(
        [lifecycle.Fact("b", "resolved", t[1]), lifecycle.Fact("e", "escalated", t[4])],
        gaps=True,
    )
    assert answered.state == "resolved" and answered.refused_from == {"e": "resolved"}
