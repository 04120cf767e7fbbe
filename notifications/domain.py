"""Notifications' pure rules: templates, channel choice, SMS encoding, retry timing, and
which addresses a webhook may reach."""

from __future__ import annotations

import ipaddress
import math
import random
import string
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from services import i18n
from services.categories import elements_short
from services.i18n import N_

# -- Templates ------------------------------------------------------------------------
# The reporter's own secret code, sent at their request: never on the tracking page, and
# neither its text nor its values are kept once it is sent (handlers.on_code_requested).
CODE_TEMPLATE = "secret_code"
# Template -> (Indonesian, English). Variables never include anyone's contact data: the
# values come from report events (tracking number, agency name, reasons), never from the
# contact table. Reporter texts are short enough for one or two SMS.
_REPORTER_TEMPLATES_EN: dict[str, str] = {
    "received": N_(
        "notice",
        "Your report was received with tracking number #$tracking_number. It will be verified "
        "within 3 working days.",
    ),
    "information_requested": N_(
        "notice",
        "Report #$tracking_number needs: $message. Reply INFO $tracking_number <details>, or "
        "use the tracking page.",
    ),
    "verified": N_(
        "notice", "Report #$tracking_number was verified and is being sent to the agency in charge."
    ),
    "rejected": N_("notice", "Report #$tracking_number could not be accepted: $reason"),
    "routed": N_(
        "notice",
        "Report #$tracking_number was sent to $agency_name, which must respond within 5 working "
        "days.",
    ),
    "pending_region": N_(
        "notice",
        "Report #$tracking_number belongs to $agency_name, which has not joined this system yet. "
        "Your report is kept, counted, and sent on as soon as it joins.",
    ),
    "followup_posted": N_(
        "notice",
        "$agency_name responded to report #$tracking_number. Read it and reply on the tracking "
        "page.",
    ),
    "resolved": N_(
        "notice",
        "$agency_name says report #$tracking_number is done. Did it solve your problem? Reply "
        "within 10 working days.",
    ),
    "reopened": N_(
        "notice",
        "Report #$tracking_number was re-opened and is back with $agency_name, which must respond"
        " again within 5 working days.",
    ),
    "reply_reminder": N_(
        "notice",
        "Reminder: please reply to the answer to report #$tracking_number. Without a reply the "
        "report is closed automatically.",
    ),
    "closed_accepted": N_(
        "notice", "Report #$tracking_number is closed. Thank you for taking part."
    ),
    "closed_no_reply": N_(
        "notice", "Report #$tracking_number was closed: no reply came within 10 working days."
    ),
    "escalated": N_(
        "notice",
        "Report #$tracking_number was not resolved in time. You can take it to the Ombudsman of "
        "Indonesia: $ombudsman_url",
    ),
    "identity_consent": N_(
        "notice",
        "$agency_name asks who you are for Anonymous report #$tracking_number (an admin "
        "agreed). Reply SETUJU $tracking_number or TOLAK $tracking_number.",
    ),
    "identity_released": N_(
        "notice",
        "Your name and contact were opened to $agency_name for report #$tracking_number only.",
    ),
    CODE_TEMPLATE: N_(
        "notice",
        "Aduan report #$tracking_number, secret code: $code. Keep it to reply and follow the"
        " report; nobody from Aduan will ask for it.",
    ),
}
REPORTER_TEMPLATES: dict[str, tuple[str, str]] = i18n.pairs("notice", _REPORTER_TEMPLATES_EN)

# Agency-facing messages (email subscriptions; webhooks carry the data as JSON).
_AGENCY_TEMPLATES_EN: dict[str, str] = {
    "new_report": N_(
        "notice",
        "New report #$tracking_number for $agency_name: $title ($category_name, $region). Respond"
        " within 5 working days.",
    ),
    "deadline_warning": N_(
        "notice", "The first-response deadline of report #$tracking_number ends $due_at."
    ),
    "deadline_breached": N_(
        "notice", "The first-response deadline of report #$tracking_number passed at $due_at."
    ),
}
AGENCY_TEMPLATES: dict[str, tuple[str, str]] = i18n.pairs("notice", _AGENCY_TEMPLATES_EN)

# A member of staff's one-time link to set a password (routing/staff.py), by email.
_STAFF_TEMPLATES_EN: dict[str, str] = {
    "staff_invitation": N_(
        "staff_notice",
        "Hello $name, you are invited to Aduan as $role $agency_name. Set your password with "
        "this link, which works once, until $expires_at: $link",
    ),
    "staff_reset": N_(
        "staff_notice",
        "Hello $name, an administrator reset your Aduan password. Choose a new one with this "
        "link, which works once, until $expires_at: $link",
    ),
}
STAFF_TEMPLATES: dict[str, tuple[str, str]] = i18n.pairs("staff_notice", _STAFF_TEMPLATES_EN)
_STAFF_SUBJECTS_EN: dict[str, str] = {
    "staff_invitation": N_("subject", "Your invitation to Aduan"),
    "staff_reset": N_("subject", "Reset your Aduan password"),
}
STAFF_SUBJECTS: dict[str, tuple[str, str]] = i18n.pairs("subject", _STAFF_SUBJECTS_EN)
_ROLES_EN: dict[str, str] = {
    "administrator": N_("staff_role", "National administrator"),
    "verifier": N_("staff_role", "Verifier"),
    "coordinator": N_("staff_role", "Agency coordinator"),
    "unit_officer": N_("staff_role", "Unit officer"),
    "monitor": N_("staff_role", "Monitor (read-only)"),
    "agency_officer": N_("staff_role", "Agency officer"),
}
ROLE_NAMES: dict[str, tuple[str, str]] = i18n.pairs("staff_role", _ROLES_EN)


def role_name(role: str, language: str) -> str:
    pair = ROLE_NAMES.get(role, (role, role))
    return pair[1] if language == "en" else pair[0]


def staff_subject(template: str, language: str) -> str:
    pair = STAFF_SUBJECTS.get(template, ("Aduan", "Aduan"))
    return pair[1] if language == "en" else pair[0]


# Report notices (a staff member's link is not one: STAFF_TEMPLATES).
TEMPLATES: dict[str, tuple[str, str]] = {**REPORTER_TEMPLATES, **AGENCY_TEMPLATES}

# Email subjects, by template.
_SUBJECTS_EN: dict[str, str] = {
    "received": N_("subject", "Report received"),
    CODE_TEMPLATE: N_("subject", "Your report's secret code"),
    "information_requested": N_("subject", "Information needed"),
    "verified": N_("subject", "Report verified"),
    "rejected": N_("subject", "Report not accepted"),
    "routed": N_("subject", "Report sent to the agency"),
    "pending_region": N_("subject", "Report waiting for the region"),
    "followup_posted": N_("subject", "The agency responded"),
    "resolved": N_("subject", "Report marked done"),
    "reply_reminder": N_("subject", "Reply reminder"),
    "reopened": N_("subject", "Report re-opened"),
    "closed_accepted": N_("subject", "Report closed"),
    "closed_no_reply": N_("subject", "Report closed"),
    "escalated": N_("subject", "Report may go to the Ombudsman"),
    "identity_consent": N_("subject", "An agency asks for your identity"),
    "identity_released": N_("subject", "Your identity was opened to the agency"),
    "new_report": N_("subject", "New report"),
    "deadline_warning": N_("subject", "Deadline near"),
    "deadline_breached": N_("subject", "Deadline passed"),
}
SUBJECTS: dict[str, tuple[str, str]] = i18n.pairs("subject", _SUBJECTS_EN)

# The order messages reach a reporter when several wait together (events on different
# topics arrive in any order, but "received" must come before "rejected" or "routed").
TEMPLATE_ORDER: dict[str, int] = {
    "received": 0,
    "information_requested": 5,
    "verified": 8,
    "rejected": 10,
    "pending_region": 15,
    "routed": 20,
    "followup_posted": 30,
    "resolved": 40,
    "reply_reminder": 45,
    "reopened": 47,
    "closed_accepted": 50,
    "closed_no_reply": 50,
    "escalated": 50,
    "identity_consent": 60,
    "identity_released": 61,
    CODE_TEMPLATE: 1,
}


def render(template: str, language: str, **values: str) -> str:
    """The message text in the reader's language (Indonesian unless English)."""
    pair = TEMPLATES.get(template) or STAFF_TEMPLATES[template]
    text = pair[1] if language == "en" else pair[0]
    if values.get("reason"):  # verification writes its reasons in both languages
        values = {**values, "reason": i18n.one_language(values["reason"], language)}
    if values.get("missing"):
        # What is missing is kept as 5W1H codes and named in the reader's language.
        values = {**values, "message": elements_short(values["missing"].split(), language)}
    return string.Template(text).safe_substitute(values)


# A reporter's notice and the lifecycle step it tells (services.lifecycle).
STEP_OF_TEMPLATE: dict[str, str] = {
    "received": "submitted",
    "information_requested": "information_requested",
    "verified": "verified",
    "rejected": "rejected",
    "pending_region": "pending_region",
    "routed": "routed",
    "followup_posted": "followup",
    "resolved": "resolved",
    "reopened": "reopened",
    "closed_accepted": "closed",
    "closed_no_reply": "closed",
    "escalated": "escalated",
}


def subject(template: str, language: str, tracking_number: str) -> str:
    """An email's subject line."""
    pair = SUBJECTS.get(template, ("Aduan", "Report"))
    return f"{pair[1] if language == 'en' else pair[0]} #{tracking_number}"


def channel_for(phone: str | None, email: str | None) -> str | None:
    """The reporter's channel: SMS if we have a phone, else email, else none (the
    tracking page only)."""
    if phone:
        return "sms"
    if email:
        return "email"
    return None


def mask(address: str) -> str:
    """An address as logs may show it: phone last four hidden, email user hidden."""
    if "@" in address:
        return "***@" + address.split("@", 1)[1]
    return address[:-4] + "XXXX"


# -- SMS encoding ---------------------------------------------------------------------
# GSM 03.38 default alphabet and its extension table (each extension char costs 2 septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

# Typographic characters that templates and agency names bring in, and their GSM-7
# stand-ins: one curly quote must not turn a 160-character SMS into three 70-char parts.
_GSM_FALLBACK = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2022": "-",
    "\u00b7": "-",
    "\t": " ",
}

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsText:
    """A message ready for the SMS network."""

    text: str
    coding: str  # "gsm7" or "ucs2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int


def gsm_septets(text: str) -> int | None:
    """Septets the text needs in GSM-7, or None when it has a character GSM-7 lacks."""
    total = 0
    for ch in text:
        if ch in GSM7_BASIC:
            total += 1
        elif ch in GSM7_EXTENSION:
            total += 2
        else:
            return None
    return total


def _to_gsm(text: str) -> str:
    out = "".join(_GSM_FALLBACK.get(ch, ch) for ch in text)
    if gsm_septets(out) is not None:
        return out
    # Accented Latin letters GSM-7 lacks (ô, ç, ...) lose their accents; anything else
    # (another script, an emoji) stays, and the message goes as UCS-2.
    stripped = "".join(
        ch if ch in GSM7_BASIC or ch in GSM7_EXTENSION else _strip_accent(ch) for ch in out
    )
    return stripped


def _strip_accent(ch: str) -> str:
    base = unicodedata.normalize("NFKD", ch)
    plain = "".join(c for c in base if not unicodedata.combining(c))
    return plain if plain and gsm_septets(plain) is not None else ch


def parts_for(units: int, coding: str) -> int:
    """How many SMS a message of ``units`` needs (concatenated parts carry a header)."""
    single, part = (GSM_SINGLE, GSM_PART) if coding == "gsm7" else (UCS2_SINGLE, UCS2_PART)
    return 1 if units <= single else math.ceil(units / part)


def sms_text(text: str, max_parts: int) -> SmsText:
    """The text as it will be sent: GSM-7 where it can be (typography replaced), else
    UCS-2; cut with "..." to at most ``max_parts`` concatenated parts."""
    text = " ".join(_to_gsm(text).split())
    septets = gsm_septets(text)
    coding = "gsm7" if septets is not None else "ucs2"
    units = septets if septets is not None else len(text.encode("utf-16-le")) // 2
    if parts_for(units, coding) > max_parts:
        single, part = (GSM_SINGLE, GSM_PART) if coding == "gsm7" else (UCS2_SINGLE, UCS2_PART)
        limit = (single if max_parts == 1 else part * max_parts) - 3
        text = _cut(text, limit, coding) + "..."
        units = _units(text, coding)
    return SmsText(text, coding, units, parts_for(units, coding))


def _units(text: str, coding: str) -> int:
    if coding == "gsm7":
        return gsm_septets(text) or 0
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int, coding: str) -> str:
    out: list[str] = []
    used = 0
    for ch in text:
        cost = (
            (2 if ch in GSM7_EXTENSION else 1)
            if coding == "gsm7"
            else (2 if ord(ch) > 0xFFFF else 1)
        )
        if used + cost > limit:
            break
        out.append(ch)
        used += cost
    return "".join(out).rstrip()


# -- Retries --------------------------------------------------------------------------
def backoff(
    attempt: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds before the next attempt after ``attempt`` failures: exponential with full
    jitter (AWS's "full jitter"), never sooner than the server's ``Retry-After`` and never
    longer than ``cap`` unless the server asked for longer."""
    rng = rng or random.Random()
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    delay = rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86_400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, min(seconds, 86_400.0))


def next_attempt(
    now: datetime, attempt: int, base: float, cap: float, retry_after: float | None
) -> datetime:
    """When to try again."""
    return now + timedelta(seconds=backoff(attempt, base, cap, retry_after))


# -- Outbound address filter ----------------------------------------------------------
def address_allowed(
    ip: str, allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
) -> bool:
    """Whether a webhook may connect to ``ip``: public unicast addresses only (no
    loopback, private, link-local, CGNAT, multicast, reserved or unspecified), unless an
    operator allowed the network explicitly."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if any(addr in net for net in allowed_networks):
        return True
    return addr.is_global and not addr.is_multicast
