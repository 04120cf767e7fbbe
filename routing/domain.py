"""Routing's pure rules: category and place to the responsible agency."""

from __future__ import annotations

from dataclasses import dataclass

from services import timezones


@dataclass(frozen=True)
class Agency:
    """An agency that answers reports."""

    id: str
    name: str


# National authorities that answer a category wherever it happens.
BY_CATEGORY: dict[str, Agency] = {
    "listrik": Agency("bumn-pln", "PT PLN (Persero)"),
    "kepolisian": Agency("polri", "Kepolisian Negara Republik Indonesia"),
}

# Regency/city governments (Kemendagri codes). DKI Jakarta's cities are administrative:
# the province answers for them.
BY_REGENCY: dict[str, Agency] = {
    "31.71": Agency("pemprov-31", "Pemerintah Provinsi DKI Jakarta"),
    "31.72": Agency("pemprov-31", "Pemerintah Provinsi DKI Jakarta"),
    "31.73": Agency("pemprov-31", "Pemerintah Provinsi DKI Jakarta"),
    "31.74": Agency("pemprov-31", "Pemerintah Provinsi DKI Jakarta"),
    "31.75": Agency("pemprov-31", "Pemerintah Provinsi DKI Jakarta"),
    "32.73": Agency("pemda-32.73", "Pemerintah Kota Bandung"),
    "32.04": Agency("pemda-32.04", "Pemerintah Kabupaten Bandung"),
    "33.74": Agency("pemda-33.74", "Pemerintah Kota Semarang"),
    "34.71": Agency("pemda-34.71", "Pemerintah Kota Yogyakarta"),
    "35.78": Agency("pemda-35.78", "Pemerintah Kota Surabaya"),
    "12.71": Agency("pemda-12.71", "Pemerintah Kota Medan"),
    "51.71": Agency("pemda-51.71", "Pemerintah Kota Denpasar"),
    "73.71": Agency("pemda-73.71", "Pemerintah Kota Makassar"),
}

BY_PROVINCE: dict[str, Agency] = {
    "11": Agency("pemprov-11", "Pemerintah Aceh"),
    "12": Agency("pemprov-12", "Pemerintah Provinsi Sumatera Utara"),
    "31": Agency("pemprov-31", "Pemerintah Provinsi DKI Jakarta"),
    "32": Agency("pemprov-32", "Pemerintah Provinsi Jawa Barat"),
    "33": Agency("pemprov-33", "Pemerintah Provinsi Jawa Tengah"),
    "34": Agency("pemprov-34", "Pemerintah Daerah DI Yogyakarta"),
    "35": Agency("pemprov-35", "Pemerintah Provinsi Jawa Timur"),
    "36": Agency("pemprov-36", "Pemerintah Provinsi Banten"),
    "51": Agency("pemprov-51", "Pemerintah Provinsi Bali"),
    "73": Agency("pemprov-73", "Pemerintah Provinsi Sulawesi Selatan"),
}

# The national administrator of the complaint system disposes by hand what no rule covers.
FALLBACK = Agency("kemenpanrb", "Kementerian PANRB (pengelola nasional)")


def timezone_of(rule: str, regency_code: str) -> str:
    """Where the chosen agency sits: a regional government in its region, else Jakarta."""
    if rule.startswith(("regency:", "province:")):
        return timezones.of_region(regency_code)
    return timezones.WIB


def choose(category: str, regency_code: str) -> tuple[Agency, str]:
    """The responsible agency and the rule that chose it."""
    if category in BY_CATEGORY:
        return BY_CATEGORY[category], f"category:{category}"
    if regency_code in BY_REGENCY:
        return BY_REGENCY[regency_code], f"regency:{regency_code}"
    province = regency_code.split(".")[0]
    if province in BY_PROVINCE:
        return BY_PROVINCE[province], f"province:{province}"
    return FALLBACK, "fallback:national"
