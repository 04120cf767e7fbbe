"""Routing's pure rules: category and place to the responsible agency, its unit and the
sub-unit for the district. No database here: the caller passes the rules and a lookup
into the directory, so the same function serves routing, release and the dry run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from routing import directory
from services import timezones


class RuleLike(Protocol):
    id: int | None
    category: str
    region_prefix: str
    target: str
    unit_code: str | None
    to_district: bool
    priority: int
    active: bool


@dataclass(frozen=True)
class Node:
    """What routing needs of a directory entry."""

    id: str
    kind: str
    name: str
    parent_id: str | None
    region_code: str | None
    connected: bool
    active: bool


Lookup = Callable[[str], Node | None]

REGIONAL = frozenset({"pemprov", "pemkab", "pemkot"})


@dataclass(frozen=True)
class Decision:
    """Where a report goes, and why."""

    agency: Node
    rule: str
    pending: bool = False
    unit: Node | None = None
    subunit: Node | None = None

    @property
    def timezone(self) -> str:
        """A regional government's deadlines end in its own zone; national ones in WIB."""
        if self.agency.kind in REGIONAL and self.agency.region_code:
            return timezones.of_region(self.agency.region_code)
        return timezones.WIB


def applicable(rules: Iterable[RuleLike], category: str, regency_code: str) -> list[RuleLike]:
    """The active rules for a category and place, the most specific first: a higher
    priority, then a longer region prefix, then a named category before ``*``."""
    found = [
        r
        for r in rules
        if r.active and r.category in (category, "*") and regency_code.startswith(r.region_prefix)
    ]
    return sorted(
        found,
        key=lambda r: (r.priority, len(r.region_prefix), r.category != "*", -(r.id or 0)),
        reverse=True,
    )


def _government(target: str, regency_code: str, get: Lookup) -> Node | None:
    """The regional government a ``pemda`` or ``pemprov`` target names for a place.

    An administrative city or regency (DKI Jakarta's) is part of its province, which
    answers for it.
    """
    if target == "pemprov":
        return get(directory.pemprov_id(regency_code[:2]))
    node = get(directory.pemda_id(regency_code))
    if node is not None and node.kind == "kota_adm" and node.parent_id:
        return get(node.parent_id)
    return node


def choose(
    rules: Sequence[RuleLike],
    category: str,
    regency_code: str,
    district_code: str | None,
    get: Lookup,
    exclude: Iterable[str] = (),
) -> Decision:
    """The responsible agency (and unit, sub-unit) for a report.

    ``exclude`` lists agencies that returned the report as not theirs: a rule that
    points at one of them is skipped. Without a usable rule the national administrator
    disposes by hand (``fallback``).
    """
    excluded = set(exclude)
    for rule in applicable(rules, category, regency_code):
        label = f"rule:{rule.id}:{rule.category}"
        if rule.target.startswith("agency:"):
            agency = get(rule.target.split(":", 1)[1])
            if agency is None or not agency.active or agency.id in excluded:
                continue
            return Decision(agency, label)
        government = _government(rule.target, regency_code, get)
        if government is None or not government.active or government.id in excluded:
            continue
        if not government.connected:
            return Decision(government, label, pending=True)
        unit = None
        if rule.unit_code:
            candidate = get(directory.unit_id(government.id, rule.unit_code))
            if candidate is not None and candidate.active:
                unit = candidate
        subunit = None
        if rule.to_district and district_code and district_code.startswith(regency_code):
            candidate = get(directory.kecamatan_id(district_code))
            if candidate is not None and candidate.active and _under(candidate, government, get):
                subunit = candidate
        return Decision(government, label, unit=unit, subunit=subunit)
    fallback = get(directory.FALLBACK_ID)
    if fallback is None:
        raise LookupError("the directory has no national administrator")
    return Decision(fallback, "fallback:national")


def _under(node: Node, ancestor: Node, get: Lookup) -> bool:
    """Whether ``node`` sits somewhere below ``ancestor`` in the directory."""
    seen = 0
    current: Node | None = node
    while current is not None and current.parent_id and seen < 8:
        if current.parent_id == ancestor.id:
            return True
        current = get(current.parent_id)
        seen += 1
    return False


def is_within(node: Node, ancestor_id: str, get: Lookup) -> bool:
    """Whether ``node`` is ``ancestor_id`` or below it."""
    if node.id == ancestor_id:
        return True
    anc = get(ancestor_id)
    return anc is not None and _under(node, anc, get)
