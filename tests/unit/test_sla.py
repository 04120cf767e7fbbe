"""The SLA's calendar and clock rules, without broker or database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services import timezones
from sla import domain
from sla.workdays import (
    SHIPPED_FILE,
    CalendarEntry,
    EntryKind,
    WorkingCalendar,
    check_closed_runs,
    dump_file,
    parse_file,
)

WIB, WITA, WIT = timezones.WIB, timezones.WITA, timezones.WIT
SHIPPED = parse_file(SHIPPED_FILE.read_text(encoding="utf-8"))
CAL = WorkingCalendar(SHIPPED)


def at(y: int, m: int, d: int, h: int = 10, tz: str = WIB) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=ZoneInfo(tz))


class TestCalendar:
    def test_weekends_holidays_and_cuti_bersama_are_closed(self) -> None:
        assert not CAL.is_working_day(date(2026, 11, 28))  # Saturday
        assert not CAL.is_working_day(date(2026, 8, 17))  # Independence Day (library)
        assert not CAL.is_working_day(date(2026, 3, 23))  # cuti bersama Idul Fitri (data)
        assert CAL.is_working_day(date(2026, 11, 27))
        assert "cuti_bersama" in (CAL.why_closed(date(2026, 3, 23)) or "")
        assert "national holiday" in (CAL.why_closed(date(2026, 8, 17)) or "")

    def test_without_the_data_cuti_bersama_is_a_working_day(self) -> None:
        assert WorkingCalendar().is_working_day(date(2026, 3, 23))

    def test_a_working_entry_wins(self) -> None:
        saturday = date(2026, 11, 28)
        entry = CalendarEntry.model_validate(
            {"date": saturday, "kind": "working", "name": "Hari kerja pengganti", "source": "t"}
        )
        assert WorkingCalendar([entry]).is_working_day(saturday)

    def test_idul_fitri_2026_pushes_a_deadline_over_the_holidays(self) -> None:
        # Routed Wed 18 Mar 2026 (itself cuti bersama Nyepi). Closed: Thu 19 (Nyepi),
        # Fri 20 (cuti), Sat-Sun, Mon 23 and Tue 24 (cuti). Working: 25, 26, 27, 30, 31.
        due = CAL.add_working_days(at(2026, 3, 18), 5, WIB)
        assert due.date() == date(2026, 3, 31)

    def test_deadline_ends_at_the_end_of_the_day_in_the_agency_zone(self) -> None:
        start = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # Friday in all three zones
        for tz, offset in ((WIB, 7), (WITA, 8), (WIT, 9)):
            due = CAL.add_working_days(start, 1, tz)
            assert due.date() == date(2026, 11, 30)
            assert due.utcoffset() == timedelta(hours=offset)
            assert (due.hour, due.minute, due.second) == (23, 59, 59)

    def test_a_moment_can_be_a_different_day_in_another_zone(self) -> None:
        # 17:30 UTC Friday is already Saturday 00:30 in Jayapura (WIT).
        start = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
        assert CAL.add_working_days(start, 1, WIB).date() == date(2026, 11, 30)
        assert CAL.add_working_days(start, 1, WIT).date() == date(2026, 11, 30)
        assert CAL.add_working_days(start, 0, WIB).date() == date(2026, 11, 27)
        assert CAL.add_working_days(start, 0, WIT).date() == date(2026, 11, 30)

    def test_naive_times_are_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            CAL.add_working_days(datetime(2026, 1, 5), 5, WIB)

    def test_warning_is_one_working_day_before(self) -> None:
        due = CAL.add_working_days(at(2026, 11, 27), 5, WIB)  # Fri 4 Dec
        warn = CAL.warning_time(at(2026, 11, 27), due, 1, WIB)
        assert warn is not None and warn.date() == date(2026, 12, 3)
        monday_due = CAL.add_working_days(at(2026, 11, 26), 2, WIB)  # Mon 30 Nov
        warn = CAL.warning_time(at(2026, 11, 26), monday_due, 1, WIB)
        assert warn is not None and warn.date() == date(2026, 11, 27)  # the Friday before

    def test_no_warning_when_the_clock_is_too_short(self) -> None:
        start = at(2026, 11, 27, 23)
        due = CAL.add_working_days(start, 0, WIB)
        assert CAL.warning_time(start, due, 1, WIB) is None

    def test_resolution_is_calendar_days_moved_to_a_working_day(self) -> None:
        # 60 days after Wed 4 Nov 2026 is Sun 3 Jan 2027: moved to Mon 4 Jan.
        due = CAL.add_calendar_days(at(2026, 11, 4), 60, WIB)
        assert due.date() == date(2027, 1, 4)


class TestCalendarFile:
    def test_shipped_file_matches_the_holidays_package(self) -> None:
        # Drift guard: our data and the library's government category agree on cuti
        # bersama for the years the file covers.
        years = sorted({e.day.year for e in SHIPPED})
        ours = {e.day for e in SHIPPED if e.kind is EntryKind.cuti_bersama}
        theirs = {
            d for d in holidays.country_holidays("ID", years=years, categories=("government",))
        }
        assert ours == theirs
        assert all(e.source for e in SHIPPED)

    def test_round_trip(self) -> None:
        assert parse_file(dump_file(SHIPPED)) == sorted(SHIPPED, key=lambda e: e.day)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("entries: [{date: 2026-02-30, kind: closure, name: x, source: y}]", "date"),
            ("entries: [{date: 2026-02-03, kind: party, name: x, source: y}]", "kind"),
            ("entries: [{date: 2026-02-03, kind: closure, name: x}]", "source"),
            ("entries: [{date: 2026-02-03, kind: closure, name: x, source: y, z: 1}]", "z"),
            ("- just a list", "entries"),
            ("entries: [", "YAML"),
            (
                "entries: [{date: 2026-02-03, kind: closure, name: x, source: y},"
                " {date: 2026-02-03, kind: closure, name: x, source: y}]",
                "twice",
            ),
        ],
    )
    def test_bad_files_are_refused_clearly(self, text: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            parse_file(text)

    def test_closing_a_whole_month_is_refused(self) -> None:
        closed = [
            CalendarEntry.model_validate(
                {
                    "date": date(2026, 7, 1) + timedelta(days=i),
                    "kind": "closure",
                    "name": "x",
                    "source": "y",
                }
            )
            for i in range(40)
        ]
        with pytest.raises(ValueError, match="in a row"):
            check_closed_runs(WorkingCalendar(closed), [2026])


starts = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
zones = st.sampled_from([WIB, WITA, WIT])


class TestCalendarProperties:
    @given(starts, st.integers(0, 40), zones)
    @settings(max_examples=300, deadline=None)
    def test_deadline_never_lands_on_a_non_working_day(
        self, start: datetime, days: int, tz: str
    ) -> None:
        due = CAL.add_working_days(start, days, tz)
        assert CAL.is_working_day(due.date())
        assert due > start or days == 0

    @given(starts, st.integers(0, 40), st.integers(0, 40), zones)
    @settings(max_examples=300, deadline=None)
    def test_adding_is_monotonic(self, start: datetime, a: int, b: int, tz: str) -> None:
        lo, hi = sorted((a, b))
        assert CAL.add_working_days(start, lo, tz) <= CAL.add_working_days(start, hi, tz)

    @given(starts, starts, st.integers(1, 20), zones)
    @settings(max_examples=200, deadline=None)
    def test_later_start_never_gives_earlier_deadline(
        self, s1: datetime, s2: datetime, days: int, tz: str
    ) -> None:
        early, late = sorted((s1, s2))
        assert CAL.add_working_days(early, days, tz) <= CAL.add_working_days(late, days, tz)

    @given(starts, st.integers(1, 60), zones)
    @settings(max_examples=300, deadline=None)
    def test_counting_agrees_with_adding(self, start: datetime, days: int, tz: str) -> None:
        due = CAL.add_working_days(start, days, tz)
        assert CAL.working_days_between(start, due, tz) == days
        # One second before the end of the due day is still the same day.
        assert CAL.working_days_between(start, due - timedelta(seconds=1), tz) == days


# ----------------------------------------------------------------------- the fold


def fid() -> str:
    return str(uuid.uuid4())


def fact(kind: str, when: datetime, **kw: object) -> domain.Fact:
    return domain.Fact(fid(), kind, when, **kw)  # type: ignore[arg-type]


RULES = domain.Rules()


def by_clock(clocks: dict[str, domain.ClockState]) -> dict[str, list[domain.ClockState]]:
    out: dict[str, list[domain.ClockState]] = {}
    for state in sorted(clocks.values(), key=lambda s: s.starts_at):
        out.setdefault(state.clock, []).append(state)
    return out


class TestFold:
    def test_submission_opens_verification_and_resolution(self) -> None:
        clocks = by_clock(
            domain.fold([fact("submitted", at(2026, 11, 27), regency_code="32.73")], CAL, RULES)
        )
        (ver,) = clocks["verification"]
        assert ver.due_at.date() == date(2026, 12, 2) and ver.status == "open"
        assert ver.agency_id == "kemenpanrb"
        (res,) = clocks["resolution"]
        assert res.due_at.date() == date(2027, 1, 26) and res.working_days == 0

    def test_routing_stops_verification_and_opens_first_response_in_agency_zone(self) -> None:
        facts = [
            fact("submitted", at(2026, 11, 23), regency_code="73.71"),
            fact("verified", at(2026, 11, 24)),
            fact(
                "routed",
                at(2026, 11, 24),
                agency_id="pemda-73.71",
                timezone=WITA,
                regency_code="73.71",
            ),
        ]
        clocks = by_clock(domain.fold(facts, CAL, RULES))
        assert clocks["verification"][0].status == "stopped"
        (first,) = clocks["first_response"]
        assert first.timezone == WITA and first.agency_id == "pemda-73.71"
        assert first.due_at.date() == date(2026, 12, 1)
        assert clocks["resolution"][0].agency_id == "pemda-73.71"

    def test_order_of_arrival_does_not_matter(self) -> None:
        facts = [
            fact("submitted", at(2026, 11, 23), regency_code="32.73"),
            fact("verified", at(2026, 11, 24)),
            fact("routed", at(2026, 11, 24, 11), agency_id="a"),
            fact("followup_posted", at(2026, 11, 26), agency_id="a"),
            fact("resolved", at(2026, 11, 27), agency_id="a"),
        ]
        expected = domain.fold(facts, CAL, RULES)
        for shuffled in (facts[::-1], facts[2:] + facts[:2], [facts[4], *facts[:4]]):
            assert domain.fold(shuffled, CAL, RULES) == expected

    def test_pause_and_resume_keep_the_working_days_left(self) -> None:
        sub = fact("submitted", at(2026, 11, 23), regency_code="32.73")  # Mon, due Thu 26
        asked = fact("information_requested", at(2026, 11, 24))  # Tue: 2 days left
        answered = fact("information_added", at(2026, 12, 1))  # Tue next week
        paused = by_clock(domain.fold([sub, asked], CAL, RULES))["verification"][0]
        assert paused.status == "paused" and paused.remaining_days == 2
        resumed = by_clock(domain.fold([sub, asked, answered], CAL, RULES))["verification"][0]
        assert resumed.status == "open"
        assert resumed.due_at.date() == date(2026, 12, 3)

    def test_forward_within_agency_keeps_deadline_but_leaves_two_days(self) -> None:
        base = [
            fact("submitted", at(2026, 11, 16), regency_code="32.73"),
            fact("routed", at(2026, 11, 16, 12), agency_id="pemda-32.73"),  # due Mon 23
        ]
        early = fact("forwarded", at(2026, 11, 17), agency_id="unit", within_agency=True)
        late = fact("forwarded", at(2026, 11, 20), agency_id="unit", within_agency=True)
        first = by_clock(domain.fold([*base, early], CAL, RULES))["first_response"]
        assert len(first) == 1 and first[0].due_at.date() == date(2026, 11, 23)
        assert first[0].agency_id == "pemda-32.73"
        first = by_clock(domain.fold([*base, late], CAL, RULES))["first_response"]
        assert first[0].due_at.date() == date(2026, 11, 24)  # Fri + 2 working days

    def test_forward_to_another_agency_restarts_for_it(self) -> None:
        facts = [
            fact("submitted", at(2026, 11, 16), regency_code="32.73"),
            fact("routed", at(2026, 11, 16, 12), agency_id="pemda-32.73"),
            fact("forwarded", at(2026, 11, 19), agency_id="bumn-pln", within_agency=False),
        ]
        old, new = by_clock(domain.fold(facts, CAL, RULES))["first_response"]
        assert old.status == "cancelled" and old.agency_id == "pemda-32.73"
        assert new.status == "open" and new.agency_id == "bumn-pln"
        assert new.due_at.date() == date(2026, 11, 26)

    def test_return_goes_back_to_verification_then_reroute(self) -> None:
        facts = [
            fact("submitted", at(2026, 11, 16), regency_code="32.73"),
            fact("verified", at(2026, 11, 16, 11)),
            fact("routed", at(2026, 11, 16, 12), agency_id="a"),
            fact("returned", at(2026, 11, 18), agency_id="a"),
        ]
        clocks = by_clock(domain.fold(facts, CAL, RULES))
        assert clocks["first_response"][0].status == "cancelled"
        assert [v.status for v in clocks["verification"]] == ["stopped", "open"]
        assert clocks["resolution"][0].agency_id is None
        facts.append(fact("routed", at(2026, 11, 19), agency_id="b"))
        clocks = by_clock(domain.fold(facts, CAL, RULES))
        assert [v.status for v in clocks["verification"]] == ["stopped", "stopped"]
        assert [(f.agency_id, f.status) for f in clocks["first_response"]] == [
            ("a", "cancelled"),
            ("b", "open"),
        ]

    def test_resolution_starts_reply_clock_and_acceptance_closes(self) -> None:
        facts = [
            fact("submitted", at(2026, 11, 16), regency_code="32.73"),
            fact("routed", at(2026, 11, 16, 12), agency_id="a"),
            fact("resolved", at(2026, 11, 18), agency_id="a"),
        ]
        clocks = by_clock(domain.fold(facts, CAL, RULES))
        assert clocks["first_response"][0].status == "stopped"
        assert domain.outcome(clocks["first_response"][0], False) == "on_time"
        assert clocks["reporter_reply"][0].due_at.date() == date(2026, 12, 2)
        facts.append(fact("reporter_replied", at(2026, 11, 20), satisfied=True))
        clocks = by_clock(domain.fold(facts, CAL, RULES))
        assert clocks["reporter_reply"][0].status == "stopped"
        assert clocks["resolution"][0].status == "stopped"
        assert domain.outcome(clocks["resolution"][0], False) == "on_time"

    def test_not_solved_reopens_the_agency_clock(self) -> None:
        facts = [
            fact("submitted", at(2026, 11, 16), regency_code="32.73"),
            fact("routed", at(2026, 11, 16, 12), agency_id="a"),
            fact("resolved", at(2026, 11, 18), agency_id="a"),
            fact("reporter_replied", at(2026, 11, 19), satisfied=False),
        ]
        first = by_clock(domain.fold(facts, CAL, RULES))["first_response"]
        assert [f.status for f in first] == ["stopped", "open"]
        assert first[1].due_at.date() == date(2026, 11, 26)

    def test_rejection_and_closing_cancel_what_runs(self) -> None:
        facts = [
            fact("submitted", at(2026, 11, 16), regency_code="32.73"),
            fact("rejected", at(2026, 11, 17)),
            fact("routed", at(2026, 11, 18), agency_id="a"),  # a late, stray event
        ]
        clocks = by_clock(domain.fold(facts, CAL, RULES))
        assert {s.status for states in clocks.values() for s in states} == {"cancelled"}

    def test_late_followup_is_late(self) -> None:
        facts = [
            fact("submitted", at(2026, 11, 2), regency_code="32.73"),
            fact("routed", at(2026, 11, 2, 12), agency_id="a"),
            fact("followup_posted", at(2026, 11, 16), agency_id="a"),
        ]
        first = by_clock(domain.fold(facts, CAL, RULES))["first_response"][0]
        assert domain.outcome(first, breached=True) == "late"
        assert domain.outcome(first, breached=False) == "late"
