"""The report categories every service shares: code -> (Indonesian, English) names.

Intake offers them, verification knows what each needs (5W1H), routing maps them to
agencies. Codes are stable: they travel in events.
"""

from __future__ import annotations

CATEGORIES: dict[str, tuple[str, str]] = {
    "infrastruktur": ("Infrastruktur dan jalan", "Infrastructure and roads"),
    "kesehatan": ("Kesehatan", "Health"),
    "pendidikan": ("Pendidikan", "Education"),
    "kependudukan": ("Administrasi kependudukan", "Civil registration"),
    "lingkungan": ("Lingkungan hidup dan kebersihan", "Environment and sanitation"),
    "pelayanan-publik": ("Pelayanan publik", "Public services"),
    "pungli": ("Pungutan liar", "Illegal levies (extortion)"),
    "bansos": ("Bantuan sosial", "Social assistance"),
    "listrik": ("Listrik", "Electricity"),
    "air-bersih": ("Air bersih", "Water supply"),
    "transportasi": ("Transportasi", "Transport"),
    "kepolisian": ("Pelayanan kepolisian", "Police services"),
}


# What a complete report of each category must say (5W1H: what, who, where, when, how,
# why). A pothole needs only a place; extortion needs who, where, when and how. Intake's
# forms and Open311 show it; verification checks it.
NEEDS: dict[str, tuple[str, ...]] = {
    "infrastruktur": ("what", "where"),
    "lingkungan": ("what", "where"),
    "listrik": ("what", "where"),
    "air-bersih": ("what", "where"),
    "transportasi": ("what", "where"),
    "kesehatan": ("what", "where"),
    "pendidikan": ("what", "where"),
    "kependudukan": ("what", "where"),
    "bansos": ("what", "where"),
    "pelayanan-publik": ("what", "where"),
    "kepolisian": ("what", "where", "when"),
    "pungli": ("what", "who", "where", "when", "how"),
}


# The 5W1H elements as a citizen is asked for them: code -> (Indonesian, English).
ELEMENTS: dict[str, tuple[str, str]] = {
    "what": ("apa yang terjadi", "what happened"),
    "where": (
        "di mana tepatnya (jalan, nomor, RT/RW, nama kantor atau fasilitas)",
        "where exactly (street, number, RT/RW, name of the office or facility)",
    ),
    "when": ("kapan terjadinya (tanggal atau hari, jam)", "when it happened (date or day, time)"),
    "who": (
        "siapa yang terlibat (jabatan, ciri, atau nama petugas)",
        "who was involved (position, description or the officer's name)",
    ),
    "how": (
        "bagaimana kejadiannya (misalnya berapa uang yang diminta dan caranya)",
        "how it happened (for instance how much money was asked and how)",
    ),
}


def elements_text(codes: list[str] | tuple[str, ...], lang: str = "id") -> str:
    """The missing elements, named for the reader, in one language."""
    i = 1 if lang == "en" else 0
    return "; ".join(ELEMENTS[c][i] for c in codes if c in ELEMENTS)
