"""Indonesia's administrative areas, with their Kemendagri codes.

38 provinces (``32``), 514 regencies and cities (``32.73``), about 7,300 districts
(``32.73.01``) and about 83,800 villages (``32.73.01.1001``), read from the CSV files of
the npm package ``idn-area-data`` shipped in ``data/`` (ODbL: see ``data/ATTRIBUTION.md``).

Provinces, regencies and districts are loaded once, on first use (a few milliseconds);
villages only when asked for, one district at a time from an index built on first use.
``aduan areas refresh`` replaces the files with a newer release.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"
FILES = ("provinces", "regencies", "districts", "villages")
HEADERS = {
    "provinces": ["code", "name"],
    "regencies": ["code", "province_code", "name"],
    "districts": ["code", "regency_code", "name"],
    "villages": ["code", "district_code", "name"],
}
CODE_PATTERNS = {
    "provinces": re.compile(r"^\d{2}$"),
    "regencies": re.compile(r"^\d{2}\.\d{2}$"),
    "districts": re.compile(r"^\d{2}\.\d{2}\.\d{2}$"),
    "villages": re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"),
}


@dataclass(frozen=True)
class Area:
    """One administrative area: its code, its parent's code and its name."""

    code: str
    name: str
    parent: str | None = None

    @property
    def level(self) -> str:
        """province, regency, district or village, by the shape of the code."""
        return ("province", "regency", "district", "village")[self.code.count(".")]


def _rows(name: str, directory: Path = DATA) -> Iterator[list[str]]:
    with (directory / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header != HEADERS[name]:
            raise ValueError(f"{name}.csv: unexpected header {header}")
        yield from reader


def _load(name: str) -> dict[str, Area]:
    out: dict[str, Area] = {}
    for row in _rows(name):
        if name == "provinces":
            out[row[0]] = Area(row[0], row[1])
        else:
            out[row[0]] = Area(row[0], row[2], row[1])
    return out


@cache
def provinces() -> dict[str, Area]:
    """Every province, by code."""
    return _load("provinces")


@cache
def regencies() -> dict[str, Area]:
    """Every regency and city, by code."""
    return _load("regencies")


@cache
def districts() -> dict[str, Area]:
    """Every district (kecamatan), by code."""
    return _load("districts")


@cache
def _children() -> dict[str, list[Area]]:
    kids: dict[str, list[Area]] = defaultdict(list)
    for table in (regencies(), districts()):
        for area in table.values():
            assert area.parent is not None
            kids[area.parent].append(area)
    return kids


@cache
def _village_index() -> dict[str, tuple[int, int]]:
    """District code -> (byte offset, byte length) of its villages in villages.csv."""
    index: dict[str, tuple[int, int]] = {}
    with (DATA / "villages.csv").open("rb") as f:
        f.readline()
        current, start, pos = None, f.tell(), f.tell()
        for line in iter(f.readline, b""):
            district = line.split(b",", 2)[1].decode()
            if district != current:
                if current is not None:
                    index[current] = (start, pos - start)
                current, start = district, pos
            pos += len(line)
        if current is not None:
            index[current] = (start, pos - start)
    return index


def province_of(code: str) -> Area | None:
    """The province of any area code (``32.73.01`` -> Jawa Barat)."""
    return provinces().get(code[:2])


def get(code: str) -> Area | None:
    """Any area by its code, villages included."""
    level = code.count(".")
    if level == 0:
        return provinces().get(code)
    if level == 1:
        return regencies().get(code)
    if level == 2:
        return districts().get(code)
    return next((v for v in villages_of(code[:8]) if v.code == code), None)


def children(code: str) -> list[Area]:
    """The regencies of a province, the districts of a regency, or a district's villages."""
    if code.count(".") == 2:
        return villages_of(code)
    return list(_children().get(code, []))


def villages_of(district_code: str) -> list[Area]:
    """The villages (desa/kelurahan) of one district."""
    span = _village_index().get(district_code)
    if span is None:
        return []
    with (DATA / "villages.csv").open("rb") as f:
        f.seek(span[0])
        chunk = f.read(span[1]).decode("utf-8")
    return [Area(r[0], r[2], r[1]) for r in csv.reader(chunk.splitlines())]


def source() -> dict[str, str]:
    """Which release of idn-area-data the files come from."""
    return json.loads((DATA / "source.json").read_text())  # type: ignore[no-any-return]


def check(directory: Path) -> dict[str, int]:
    """Validate a set of area files (headers, code shapes, parents); rows per file.

    Raises ValueError on the first problem, so a refresh never installs broken data.
    """
    counts: dict[str, int] = {}
    seen: dict[str, set[str]] = {}
    parents = {"regencies": "provinces", "districts": "regencies", "villages": "districts"}
    for name in FILES:
        codes: set[str] = set()
        for number, row in enumerate(_rows(name, directory), start=2):
            if len(row) != len(HEADERS[name]) or not row[-1].strip():
                raise ValueError(f"{name}.csv line {number}: {row}")
            if not CODE_PATTERNS[name].match(row[0]) or row[0] in codes:
                raise ValueError(f"{name}.csv line {number}: bad or repeated code {row[0]}")
            if name in parents and row[1] not in seen[parents[name]]:
                raise ValueError(f"{name}.csv line {number}: unknown parent {row[1]}")
            codes.add(row[0])
        seen[name] = codes
        counts[name] = len(codes)
    if counts["provinces"] < 34 or counts["regencies"] < 500 or counts["villages"] < 80_000:
        raise ValueError(f"too few areas: {counts}")
    return counts


REGISTRY = "https://registry.npmjs.org/idn-area-data"


def refresh(version: str, directory: Path = DATA, registry: str = REGISTRY) -> dict[str, int]:
    """Download ``idn-area-data`` at ``version`` from the npm registry, check it, install it.

    The files are checked in a temporary folder first; the shipped ones are replaced only
    when every file passes. Returns rows per file.
    """
    import io
    import shutil
    import tarfile
    import tempfile

    import httpx

    meta = httpx.get(f"{registry}/{version}", timeout=30, follow_redirects=True)
    meta.raise_for_status()
    tarball = httpx.get(meta.json()["dist"]["tarball"], timeout=120, follow_redirects=True)
    tarball.raise_for_status()
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp)
        with tarfile.open(fileobj=io.BytesIO(tarball.content), mode="r:gz") as tar:
            for name in [*FILES, "LICENSE"]:
                suffix = ".md" if name == "LICENSE" else ".csv"
                member = tar.getmember(f"package/data/{name}{suffix}")
                extracted = tar.extractfile(member)
                if extracted is None:
                    raise ValueError(f"{member.name} is not a file")
                (staged / f"{name}{suffix}").write_bytes(extracted.read())
        counts = check(staged)
        for name in FILES:
            shutil.copyfile(staged / f"{name}.csv", directory / f"{name}.csv")
        shutil.copyfile(staged / "LICENSE.md", directory / "LICENSE-ODbL.md")
    (directory / "source.json").write_text(
        json.dumps({"package": "idn-area-data", "version": version}) + "\n"
    )
    attribution = directory / "ATTRIBUTION.md"
    text = re.sub(
        r"idn-area-data \d+\.\d+\.\d+", f"idn-area-data {version}", attribution.read_text()
    )
    attribution.write_text(text)
    for loader in (provinces, regencies, districts, _children, _village_index):
        loader.cache_clear()
    return counts
