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
