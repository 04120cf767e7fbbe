"""The national agency directory as first seeded, and the routing rules it starts with.

Seeded from the administrative areas (services/areas): every province and every regency
or city government (Pemda), each with its standard work units (SKPD/OPD) and one
sub-unit per district (kecamatan); and the ministries, national agencies and state
companies (BUMN) that national categories need. Administrators change all of it later
through the API and console: the seed only fills an empty directory (and adds what a
newer seed version brings), it never overwrites their edits.

Which Pemda are connected is data too. LAPOR! had about 493 of 552 regional governments
connected; the seed connects every Pemda except those of the four Papua provinces formed
in 2022 (codes 93 to 96), whose reports wait as pending until an administrator connects
them. Replace that with the real list when deploying (``PATCH /v1/agencies/{id}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services import areas

SEED_VERSION = 1

# Provinces whose governments (and their regencies') start unconnected.
UNCONNECTED_PROVINCES = frozenset({"93", "94", "95", "96"})


@dataclass(frozen=True)
class Unit:
    """A standard work unit (OPD) of a regional government."""

    code: str
    name: str
    categories: tuple[str, ...]


# The work units every Pemda has, and the categories each answers.
UNITS: tuple[Unit, ...] = (
    Unit("pupr", "Dinas Pekerjaan Umum dan Penataan Ruang", ("infrastruktur",)),
    Unit("dinkes", "Dinas Kesehatan", ("kesehatan",)),
    Unit("disdik", "Dinas Pendidikan", ("pendidikan",)),
    Unit("dukcapil", "Dinas Kependudukan dan Pencatatan Sipil", ("kependudukan",)),
    Unit("dlh", "Dinas Lingkungan Hidup", ("lingkungan",)),
    Unit("dinsos", "Dinas Sosial", ("bansos",)),
    Unit("dishub", "Dinas Perhubungan", ("transportasi",)),
    Unit("pdam", "Perusahaan Umum Daerah Air Minum", ("air-bersih",)),
    Unit("inspektorat", "Inspektorat Daerah", ("pungli",)),
    Unit("setda", "Sekretariat Daerah (Bagian Organisasi)", ("pelayanan-publik",)),
)
UNIT_CODES = frozenset(u.code for u in UNITS)


@dataclass(frozen=True)
class National:
    """A ministry, national agency or state company."""

    id: str
    kind: str
    name: str
    categories: tuple[str, ...] = ()


NATIONAL: tuple[National, ...] = (
    National(
        "kemenpanrb",
        "ministry",
        "Kementerian Pendayagunaan Aparatur Negara dan Reformasi Birokrasi "
        "(pengelola nasional SP4N)",
        ("pelayanan-publik",),
    ),
    National("kemendagri", "ministry", "Kementerian Dalam Negeri", ("kependudukan",)),
    National("kemenkes", "ministry", "Kementerian Kesehatan", ("kesehatan",)),
    National(
        "kemendikdasmen", "ministry", "Kementerian Pendidikan Dasar dan Menengah", ("pendidikan",)
    ),
    National("kemensos", "ministry", "Kementerian Sosial", ("bansos",)),
    National("kemenhub", "ministry", "Kementerian Perhubungan", ("transportasi",)),
    National("kemenpu", "ministry", "Kementerian Pekerjaan Umum", ("infrastruktur", "air-bersih")),
    National("klh", "ministry", "Kementerian Lingkungan Hidup", ("lingkungan",)),
    National("kemenag", "ministry", "Kementerian Agama"),
    National("kemenkeu", "ministry", "Kementerian Keuangan"),
    National("atr-bpn", "ministry", "Kementerian Agraria dan Tata Ruang/Badan Pertanahan Nasional"),
    National("polri", "agency", "Kepolisian Negara Republik Indonesia", ("kepolisian",)),
    National("kejaksaan", "agency", "Kejaksaan Republik Indonesia"),
    National("bpjs-kesehatan", "agency", "BPJS Kesehatan"),
    National("bpjs-ketenagakerjaan", "agency", "BPJS Ketenagakerjaan"),
    National("saber-pungli", "agency", "Satuan Tugas Sapu Bersih Pungutan Liar"),
    National("bumn-pln", "bumn", "PT PLN (Persero)", ("listrik",)),
    National("bumn-pertamina", "bumn", "PT Pertamina (Persero)"),
    National("bumn-kai", "bumn", "PT Kereta Api Indonesia (Persero)"),
    National("bumn-pos", "bumn", "PT Pos Indonesia (Persero)"),
    National("bumn-telkom", "bumn", "PT Telkom Indonesia (Persero) Tbk"),
)

# The national administrator disposes by hand what no rule covers.
FALLBACK_ID = "kemenpanrb"


def pemprov_id(province: str) -> str:
    return f"pemprov-{province}"


def pemda_id(regency: str) -> str:
    return f"pemda-{regency}"


def unit_id(parent: str, code: str) -> str:
    return f"{parent}-{code}"


def kecamatan_id(district: str) -> str:
    return f"kec-{district}"


def province_government_name(name: str) -> str:
    if name == "Aceh":
        return "Pemerintah Aceh"
    if name.startswith("Daerah Istimewa") or name == "DI Yogyakarta":
        return f"Pemerintah Daerah {name}"
    return f"Pemerintah Provinsi {name}"


@dataclass
class Seed:
    """One directory row to insert."""

    id: str
    kind: str
    name: str
    parent_id: str | None = None
    region_code: str | None = None
    categories: list[str] = field(default_factory=list)
    connected: bool = False


def seed_rows() -> list[Seed]:
    """Every row of the seeded directory (about 13,500)."""
    rows = [
        Seed(n.id, n.kind, n.name, categories=list(n.categories), connected=True) for n in NATIONAL
    ]
    for code, province in areas.provinces().items():
        pid = pemprov_id(code)
        connected = code not in UNCONNECTED_PROVINCES
        rows.append(
            Seed(pid, "pemprov", province_government_name(province.name), None, code, [], connected)
        )
        rows += _units(pid, code)
    for code, regency in areas.regencies().items():
        parent = pemprov_id(code[:2])
        # DKI Jakarta's cities and regency are administrative: parts of the province.
        kind = (
            "kota_adm"
            if code.startswith("31.")
            else ("pemkot" if regency.name.startswith("Kota ") else "pemkab")
        )
        rid = pemda_id(code)
        name = f"Pemerintah {regency.name}" if kind != "kota_adm" else regency.name
        connected = code[:2] not in UNCONNECTED_PROVINCES
        rows.append(Seed(rid, kind, name, parent, code, [], connected))
        if kind != "kota_adm":
            rows += _units(rid, code)
    for code, district in areas.districts().items():
        rows.append(
            Seed(
                kecamatan_id(code),
                "kecamatan",
                f"Kecamatan {district.name}",
                pemda_id(code[:5]),
                code,
            )
        )
    return rows


def _units(parent: str, region: str) -> list[Seed]:
    return [
        Seed(unit_id(parent, u.code), "unit", u.name, parent, region, list(u.categories))
        for u in UNITS
    ]


@dataclass(frozen=True)
class DefaultRule:
    """A routing rule as seeded (see models.Rule)."""

    category: str
    target: str
    unit_code: str | None = None
    to_district: bool = False
    region_prefix: str = ""
    priority: int = 0
    note: str = ""


DEFAULT_RULES: tuple[DefaultRule, ...] = (
    DefaultRule("infrastruktur", "pemda", "pupr", True, note="Jalan, jembatan, drainase"),
    DefaultRule("kesehatan", "pemda", "dinkes", True, note="Puskesmas, RSUD"),
    DefaultRule("pendidikan", "pemda", "disdik", True),
    DefaultRule("kependudukan", "pemda", "dukcapil", True, note="KTP, KK, akta"),
    DefaultRule("lingkungan", "pemda", "dlh", True, note="Sampah, pencemaran"),
    DefaultRule("bansos", "pemda", "dinsos", True),
    DefaultRule("transportasi", "pemda", "dishub"),
    DefaultRule("air-bersih", "pemda", "pdam"),
    DefaultRule("pungli", "pemda", "inspektorat"),
    DefaultRule("pelayanan-publik", "pemda", "setda", True),
    DefaultRule("listrik", "agency:bumn-pln", note="Listrik: PLN di seluruh wilayah"),
    DefaultRule("kepolisian", "agency:polri", note="Pelayanan kepolisian"),
)
