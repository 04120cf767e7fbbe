"""Notifications' pure rules: templates and channel choice."""

from __future__ import annotations

import string

# Template -> (Indonesian, English). Variables never include anyone's contact data.
TEMPLATES: dict[str, tuple[str, str]] = {
    "received": (
        "Aduan Anda telah diterima dengan nomor pelacakan #$tracking_number. "
        "Kami akan memverifikasinya dalam 3 hari kerja.",
        "Your report was received with tracking number #$tracking_number. "
        "It will be verified within 3 working days.",
    ),
    "rejected": (
        "Aduan #$tracking_number belum dapat diproses: $reason",
        "Report #$tracking_number could not be accepted: $reason",
    ),
    "routed": (
        "Aduan #$tracking_number telah diteruskan ke $agency_name, yang wajib "
        "menanggapi dalam 5 hari kerja.",
        "Report #$tracking_number was sent to $agency_name, which must respond "
        "within 5 working days.",
    ),
}


# The order messages reach a reporter when several wait together (events on different
# topics arrive in any order, but "received" must come before "rejected" or "routed").
TEMPLATE_ORDER: dict[str, int] = {"received": 0, "rejected": 10, "routed": 20}


def render(template: str, language: str, **values: str) -> str:
    """The message text in the reporter's language (Indonesian unless English)."""
    pair = TEMPLATES[template]
    text = pair[1] if language == "en" else pair[0]
    return string.Template(text).safe_substitute(values)


def channel_for(phone: str | None, email: str | None) -> str:
    """SMS if we have a phone, else email, else the tracking page only."""
    if phone:
        return "sms"
    if email:
        return "email"
    return "in_app"


def mask(address: str) -> str:
    """An address as logs may show it: phone last four hidden, email user hidden."""
    if "@" in address:
        return "***@" + address.split("@", 1)[1]
    return address[:-4] + "XXXX"
