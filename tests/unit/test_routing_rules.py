"""Routing's rules against the seeded national directory (no database: a dict of nodes)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from routing import directory, domain


@dataclass
class R:
    """A rule as the table holds it."""

    id: int
    category: str
    target: str
    unit_code: str | None = None
    to_district: bool = False
    region_prefix: str = ""
    priority: int = 0
    active: bool = True


@pytest.fixture(scope="module")
def nodes() -> dict[str, domain.Node]:
    return {
        s.id: domain.Node(s.id, s.kind, s.name, s.parent_id, s.region_code, s.connected, True)
        for s in directory.seed_rows()
    }


@pytest.fixture(scope="module")
def rules() -> list[R]:
    return [
        R(i, d.category, d.target, d.unit_code, d.to_district, d.region_prefix, d.priority)
        for i, d in enumerate(directory.DEFAULT_RULES, start=1)
    ]


def test_the_seed_covers_the_country(nodes: dict[str, domain.Node]) -> None:
    kinds: dict[str, int] = {}
    for n in nodes.values():
        kinds[n.kind] = kinds.get(n.kind, 0) + 1
    assert kinds["pemprov"] == 38
    assert kinds["pemkab"] + kinds["pemkot"] + kinds["kota_adm"] == 514
    assert kinds["kota_adm"] == 6  # DKI Jakarta's five cities and Kepulauan Seribu
    assert kinds["kecamatan"] > 7000
    assert kinds["unit"] == (38 + 514 - 6) * len(directory.UNITS)
    assert nodes["pemda-32.73"].name == "Pemerintah Kota Bandung"
    assert nodes["pemda-32.04"].name == "Pemerintah Kabupaten Bandung"
    assert nodes["pemprov-11"].name == "Pemerintah Aceh"
    unconnected = [n for n in nodes.values() if n.kind in domain.REGIONAL and not n.connected]
    assert unconnected and all(n.region_code[:2] in {"93", "94", "95", "96"} for n in unconnected)  # type: ignore[index]


def test_a_national_authority_wins_everywhere(
    nodes: dict[str, domain.Node], rules: list[R]
) -> None:
    for place in ("32.73", "94.01", "31.71"):
        d = domain.choose(rules, "listrik", place, None, nodes.get)
        assert (d.agency.id, d.pending, d.unit) == ("bumn-pln", False, None)
    assert domain.choose(rules, "kepolisian", "73.71", None, nodes.get).agency.id == "polri"


def test_a_regional_category_goes_to_the_unit_and_the_kecamatan(
    nodes: dict[str, domain.Node], rules: list[R]
) -> None:
    d = domain.choose(rules, "infrastruktur", "32.73", "32.73.01", nodes.get)
    assert d.agency.id == "pemda-32.73" and not d.pending
    assert d.unit is not None and d.unit.id == "pemda-32.73-pupr"
    assert d.subunit is not None and d.subunit.id == "kec-32.73.01"
    assert d.subunit.name == "Kecamatan Sukasari"
    # Extortion goes to the inspectorate, never down to a kecamatan.
    d = domain.choose(rules, "pungli", "32.73", "32.73.01", nodes.get)
    assert d.unit is not None and d.unit.id == "pemda-32.73-inspektorat" and d.subunit is None
    # A district of another regency is ignored, not trusted.
    d = domain.choose(rules, "infrastruktur", "32.73", "32.04.01", nodes.get)
    assert d.subunit is None


def test_dki_cities_are_answered_by_the_province(
    nodes: dict[str, domain.Node], rules: list[R]
) -> None:
    d = domain.choose(rules, "kesehatan", "31.71", "31.71.01", nodes.get)
    assert d.agency.id == "pemprov-31"
    assert d.unit is not None and d.unit.id == "pemprov-31-dinkes"
    assert d.subunit is not None and d.subunit.id == "kec-31.71.01"


def test_an_unconnected_pemda_holds_the_report(
    nodes: dict[str, domain.Node], rules: list[R]
) -> None:
    d = domain.choose(rules, "infrastruktur", "94.01", None, nodes.get)
    assert d.pending and d.agency.id == "pemda-94.01" and d.unit is None
    assert d.timezone == "Asia/Jayapura"
    connected = {**nodes, "pemda-94.01": replace(nodes["pemda-94.01"], connected=True)}
    d = domain.choose(rules, "infrastruktur", "94.01", None, connected.get)
    assert not d.pending and d.unit is not None and d.unit.id == "pemda-94.01-pupr"


def test_the_most_specific_rule_wins(nodes: dict[str, domain.Node], rules: list[R]) -> None:
    extra = [
        *rules,
        R(100, "*", "pemprov", region_prefix="35"),
        R(101, "infrastruktur", "agency:kemenpu", region_prefix="35.78"),
    ]
    # A named category in the regency beats "*" in the province...
    assert domain.choose(extra, "infrastruktur", "35.78", None, nodes.get).agency.id == "kemenpu"
    # ...and "*" in the province beats the national category rule (longer prefix).
    d = domain.choose(extra, "pendidikan", "35.78", None, nodes.get)
    assert d.agency.id == "pemprov-35" and d.rule == "rule:100:*"
    # Priority beats specificity; an inactive rule is skipped.
    urgent = [*extra, R(102, "*", "agency:kemenpanrb", priority=50)]
    assert domain.choose(urgent, "pendidikan", "35.78", None, nodes.get).agency.id == "kemenpanrb"
    urgent[-1].active = False
    assert domain.choose(urgent, "pendidikan", "35.78", None, nodes.get).agency.id == "pemprov-35"


def test_a_returning_agency_is_skipped(nodes: dict[str, domain.Node], rules: list[R]) -> None:
    d = domain.choose(rules, "infrastruktur", "32.73", None, nodes.get, exclude=["pemda-32.73"])
    assert (d.agency.id, d.rule) == ("kemenpanrb", "fallback:national")
    both = [*rules, R(100, "infrastruktur", "pemprov", region_prefix="32", priority=-1)]
    d = domain.choose(both, "infrastruktur", "32.73", None, nodes.get, exclude=["pemda-32.73"])
    assert d.agency.id == "pemprov-32"


def test_no_rule_and_unknown_places_fall_back(
    nodes: dict[str, domain.Node], rules: list[R]
) -> None:
    assert domain.choose(rules, "infrastruktur", "99.01", None, nodes.get).agency.id == "kemenpanrb"
    assert domain.choose([], "kesehatan", "32.73", None, nodes.get).rule == "fallback:national"
