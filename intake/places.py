"""A map point to its Kemendagri area: the province, regency or city and district that
the citizen's pin falls in, for the report form to fill its pickers.

The point is asked of a reverse geocoder of the Nominatim kind (OpenStreetMap's
boundaries: ``INTAKE_GEOCODER_URL``; production runs its own or uses OSM's within its
usage policy) from the server, so the citizen's address never reaches a third party.
Its answer names places (``state``, ``city``, ``county``, ``city_district``...) and the
province's ISO 3166-2 code; they are matched here to the Kemendagri areas by name. What
is not matched is left for the citizen to choose, and the form says the pickers are a
suggestion to check.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import httpx

from services import areas

# ISO 3166-2:ID -> Kemendagri province code.
ISO_PROVINCES = {
    "AC": "11", "SU": "12", "SB": "13", "RI": "14", "JA": "15", "SS": "16", "BE": "17",
    "LA": "18", "BB": "19", "KR": "21", "JK": "31", "JB": "32", "JT": "33", "YO": "34",
    "JI": "35", "BT": "36", "BA": "51", "NB": "52", "NT": "53", "KB": "61", "KT": "62",
    "KS": "63", "KI": "64", "KU": "65", "SA": "71", "ST": "72", "SN": "73", "SG": "74",
    "GO": "75", "SR": "76", "MA": "81", "MU": "82", "PA": "91", "PB": "92", "PS": "93",
    "PT": "94", "PE": "95", "PD": "96",
}  # fmt: skip
# The address keys that may name a regency or city, and the kind each most likely names.
_CITY_KEYS = ("city", "town", "municipality")
_REGENCY_KEYS = ("county", "regency", "state_district")
_DISTRICT_KEYS = ("city_district", "district", "suburb", "subdistrict", "municipality")
_PREFIX = re.compile(r"^(kabupaten|kab\.?|kota|city of|regency)\s+", re.I)


def _plain(name: str) -> str:
    """A name without its kind, case or punctuation: "Kota Bandung" -> "bandung"."""
    return re.sub(r"[^a-z0-9]+", " ", _PREFIX.sub("", name.strip()).lower()).strip()


def match(address: dict[str, Any]) -> dict[str, str]:
    """The Kemendagri codes an address names: ``province``, ``regency_code`` and
    ``district_code`` as far as each is found (an empty dict outside Indonesia)."""
    if str(address.get("country_code", "id")).lower() != "id":
        return {}
    found: dict[str, str] = {}
    iso = str(address.get("ISO3166-2-lvl4", ""))
    province = ISO_PROVINCES.get(iso.removeprefix("ID-"))
    if province is None:
        state = _plain(str(address.get("state", "")))
        province = next(
            (p.code for p in areas.provinces().values() if _plain(p.name) == state), None
        )
    if province is None:
        return found
    found["province"] = province
    regencies = areas.children(province)

    def regency_named(keys: tuple[str, ...], kind: str) -> str | None:
        for key in keys:
            name = _plain(str(address.get(key, "")))
            if not name:
                continue
            same = [r for r in regencies if _plain(r.name) == name]
            preferred = [r for r in same if r.name.lower().startswith(kind)]
            if preferred or same:
                return (preferred or same)[0].code
        return None

    regency = regency_named(_CITY_KEYS, "kota") or regency_named(_REGENCY_KEYS, "kabupaten")
    if regency is None:
        return found
    found["regency_code"] = regency
    districts = {_plain(d.name): d.code for d in areas.children(regency)}
    for key in _DISTRICT_KEYS:
        code = districts.get(_plain(str(address.get(key, ""))))
        if code:
            found["district_code"] = code
            break
    return found


class Geocoder:
    """Asks the reverse geocoder, with a timeout, and remembers recent answers (points
    rounded to about 100 m: a pin moved a little is not asked again)."""

    def __init__(self, url: str, user_agent: str, size: int = 2048) -> None:
        self.url = url
        self.headers = {"User-Agent": user_agent, "Accept-Language": "id"}
        self.size = size
        self.cache: OrderedDict[tuple[float, float], dict[str, str]] = OrderedDict()

    async def areas_at(self, lat: float, lon: float) -> dict[str, str]:
        key = (round(lat, 3), round(lon, 3))
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        params = {
            "format": "jsonv2",
            "lat": f"{lat:.6f}",
            "lon": f"{lon:.6f}",
            "zoom": "14",
            "addressdetails": "1",
        }
        async with httpx.AsyncClient(timeout=4.0, headers=self.headers) as client:
            r = await client.get(self.url, params=params)
        r.raise_for_status()
        body = r.json()
        found = match(body.get("address") or {}) if isinstance(body, dict) else {}
        self.cache[key] = found
        if len(self.cache) > self.size:
            self.cache.popitem(last=False)
        return found
