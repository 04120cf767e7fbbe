"""Intake's pure rules: tracking numbers, phone numbers, categories, statuses."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

# Categories the platform knows (the Open311 "services" later), re-exported for intake.
from services import i18n, lifecycle, localtime
from services.categories import CATEGORIES as CATEGORIES
from services.categories import elements_text
from services.i18n import N_

# Status -> (order, Indonesian label, English label): the report's states as the kit's
# lifecycle defines them (services.lifecycle); intake folds its history into one of them.
STATUSES: dict[str, tuple[int, str, str]] = {
    code: (i, state.id, state.en) for i, (code, state) in enumerate(lifecycle.STATES.items())
}

# Intake's history kinds that are lifecycle steps under another name.
_STEP_OF_HISTORY = {"pending": "pending_region", "reply": "reporter_replied"}


def step_of(kind: str) -> str | None:
    """The lifecycle step a history entry records, or None (notices, deadlines)."""
    step = _STEP_OF_HISTORY.get(kind, kind)
    return step if step in lifecycle.STEPS else None


def deadline_detail(due_at: datetime, working_days: int) -> str:
    """How a deadline entry keeps its due time and length."""
    return f"{due_at.isoformat()}|{working_days}"


def parse_deadline(detail: str) -> tuple[datetime, int] | None:
    """The due time and working days of a deadline entry (older entries: no length)."""
    text = detail.split(":", 1)[1] if detail.startswith("first_response:") else detail
    due, _, days = text.partition("|")
    try:
        return datetime.fromisoformat(due), int(days or 0)
    except ValueError:
        return None


_HISTORY_LABELS_EN: dict[str, str] = {
    "submitted": N_("history", "Report received"),
    "verified": N_("history", "Report verified"),
    "information_requested": N_("history", "The verifiers ask you to complete the report"),
    "returned": N_("history", "The agency says it is not theirs; the verifiers review it again"),
    "reopened": N_("history", "Re-opened: you said it is not solved"),
    "rejected": N_("history", "Report not accepted"),
    "pending": N_(
        "history",
        "The regional government in charge has not joined yet; the report waits and is counted",
    ),
    "routed": N_("history", "Sent to the agency"),
    "deadline": N_("history", "Agency response deadline"),
    "forwarded": N_("history", "Passed to the unit handling it"),
    "transferred": N_("history", "Moved to another agency"),
    "information_added": N_("history", "You added information"),
    "identity_consent": N_(
        "history",
        "An agency asks to know who you are, for this report only; an administrator agreed. "
        "It will only know if you consent",
    ),
    "identity_released": N_(
        "history", "Your name and contact were opened to this agency, for this report only"
    ),
    "identity_declined": N_("history", "You declined: your identity stays hidden"),
    "reply": N_("history", "Your reply"),
    "followup": N_("history", "The agency's response"),
    "question": N_("history", "A question from the agency"),
    "acknowledgement": N_("history", "The agency received the report and is handling it"),
    "resolved": N_("history", "The agency says it is done: did it solve your problem?"),
    "notification": N_("history", "Notification sent"),
    "code_sms": N_("history", "Your secret code was sent by SMS at your request"),
    "code_email": N_("history", "Your secret code was sent by email at your request"),
    "overdue": N_("history", "The agency missed its deadline"),
    "escalated": N_("history", "Not resolved: you can take it to the Ombudsman"),
    "closed": N_("history", "Report closed"),
}
HISTORY_LABELS: dict[str, tuple[str, str]] = i18n.pairs("history", _HISTORY_LABELS_EN)


# Ties in time (the deadline starts the moment the report is routed) break by lifecycle.
HISTORY_ORDER: dict[str, int] = {
    kind: i
    for i, kind in enumerate(
        [
            "submitted",
            "information_requested",
            "information_added",
            "verified",
            "rejected",
            "pending",
            "routed",
            "deadline",
            "forwarded",
            "transferred",
            "acknowledgement",
            "followup",
            "question",
            "resolved",
            "reply",
            "reopened",
            "returned",
            "overdue",
            "escalated",
            "closed",
            "notification",
        ]
    )
}


_CLOSING_REASONS_EN: dict[str, str] = {
    "accepted": N_("closing", "You said the problem is solved."),
    "no_reply": N_("closing", "No reply came from you within 10 working days."),
}
CLOSING_REASONS: dict[str, tuple[str, str]] = i18n.pairs("closing", _CLOSING_REASONS_EN)


def history_detail(kind: str, detail: str, regency_code: str, lang: str) -> str:
    """A history entry's detail as its reader reads it: a deadline in the report's own
    zone, what is missing named in the reader's language, never a code."""
    if kind == "deadline":
        parsed = parse_deadline(detail)
        if parsed is None:
            return ""
        due, days = parsed
        when = localtime.format_local(due, regency_code, lang)
        if not days:
            return when
        unit = "working days" if lang == "en" else "hari kerja"
        return f"{when} ({days} {unit})"
    if kind == "information_requested":
        return elements_text(detail.split(), lang)
    if kind == "closed" and detail in CLOSING_REASONS:
        return label(CLOSING_REASONS, detail, lang)
    return i18n.one_language(detail, lang)


def new_tracking_number() -> str:
    """Seven digits, not sequential, never starting with 0 (LAPOR! style: #1916449)."""
    return str(1_000_000 + secrets.randbelow(9_000_000))


# The secret code's letters: no look-alikes (no 0/O, 1/I/L, no U/V pair), readable aloud
# and typed on a phone's keyboard in either case. 20 of them: 97 bits.
SECRET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"  # noqa: S105 (an alphabet)
SECRET_LENGTH = 20
_SECRET = re.compile(rf"[{SECRET_ALPHABET}]{{{SECRET_LENGTH}}}")


def new_tracking_secret() -> str:
    """The proof a reporter keeps to open a confidential report, written in groups of
    four (``7KQM-2H4X-...``) for reading and copying."""
    raw = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    return group_secret(raw)


def group_secret(raw: str) -> str:
    """A secret code in groups of four, joined by dashes."""
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise_secret(secret: str) -> str:
    """A code as a person may type it (any case, spaces or dashes between groups) in the
    form its hash is of; a code of the earlier kind (URL-safe base64) as it was."""
    compact = re.sub(r"[\s-]", "", secret).upper()
    return compact if _SECRET.fullmatch(compact) else secret


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy random secret (no password stretching needed)."""
    return hashlib.sha256(normalise_secret(secret).encode()).hexdigest()


def proves(secret: str | None, secret_hash: str) -> bool:
    """Whether a tracking secret given by a caller is the report's (constant time); a
    code of the earlier kind is compared as it was written, too."""
    if not secret:
        return False
    legacy = hashlib.sha256(secret.encode()).hexdigest()
    return hmac.compare_digest(hash_secret(secret), secret_hash) or hmac.compare_digest(
        legacy, secret_hash
    )


_NON_DIGIT = re.compile(r"[^\d+]")


def normalise_phone(raw: str) -> str:
    """An Indonesian mobile number in E.164 (+628...), or ValueError."""
    digits = _NON_DIGIT.sub("", raw.strip())
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("0"):
        digits = "62" + digits[1:]
    if not digits.startswith("62"):
        raise ValueError("nomor telepon harus nomor Indonesia (+62 atau 08...)")
    if not re.fullmatch(r"628\d{7,11}", digits):
        raise ValueError("nomor telepon tidak valid")
    return "+" + digits


def mask_email(email: str) -> str:
    """``budi.santoso@example.id`` -> ``b***@example.id``."""
    user, _, host = email.partition("@")
    return f"{user[:1]}***@{host}"


def mask_phone(e164: str) -> str:
    """``+6281234567890`` -> ``0812-3456-XXXX``: the last four digits hidden."""
    local = "0" + e164[3:] if e164.startswith("+62") else e164
    head, rest = local[:4], local[4:-4]
    return f"{head}-{rest}-XXXX" if rest else f"{head}-XXXX"


def label(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    """A user-facing label in Indonesian (default) or English."""
    pair = table[key]
    return pair[1] if lang == "en" else pair[0]


_REPORT_TYPES_EN: dict[str, str] = {
    "complaint": N_("report_type", "Complaint"),
    "aspiration": N_("report_type", "Aspiration"),
    "information_request": N_("report_type", "Information request"),
}
REPORT_TYPES: dict[str, tuple[str, str]] = i18n.pairs("report_type", _REPORT_TYPES_EN)

# scrypt (RFC 7914). OWASP's parameters (N=2^17, r=8, p=1) need 128 MiB and over a second
# per hash on a small server; N=2^15 needs 32 MiB and about 0.13 s here (make bench), run on
# a worker thread. Each hash keeps its parameters: old ones still verify after N is raised.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")


def hash_password(password: str) -> str:
    """A salted scrypt hash, with its parameters, for the accounts table."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 2**20
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether a password matches a stored hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 2**20,
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def password_problem(username: str, password: str) -> tuple[str, str] | None:
    """Why a new password is refused (Indonesian, English), or None."""
    if len(password) < 10:
        return ("Kata sandi minimal 10 karakter.", "The password needs at least 10 characters.")
    if len(password) > 200:
        return ("Kata sandi terlalu panjang.", "The password is too long.")
    if username.lower() in password.lower():
        return ("Kata sandi tidak boleh memuat nama pengguna.", "Do not put the username in it.")
    if len(set(password)) < 5:
        return ("Kata sandi terlalu mudah ditebak.", "The password is too easy to guess.")
    return None
