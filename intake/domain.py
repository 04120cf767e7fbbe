"""Intake's pure rules: tracking numbers, phone numbers, categories, statuses."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# Categories the platform knows (the Open311 "services" later), re-exported for intake.
from services.categories import CATEGORIES as CATEGORIES

# Status -> (rank, Indonesian label, English label). A later event never lowers the rank,
# so events that arrive out of order (different topics) still give the right status.
STATUSES: dict[str, tuple[int, str, str]] = {
    "submitted": (0, "Belum terverifikasi", "Awaiting verification"),
    "verified": (10, "Terverifikasi", "Verified"),
    "rejected": (10, "Tidak dapat diproses", "Not accepted"),
    "pending": (
        15,
        "Menunggu pemerintah daerah tersambung",
        "Waiting for the regional government to join",
    ),
    "routed": (20, "Didisposisikan ke instansi", "Routed to the agency"),
    "escalated": (30, "Dieskalasi ke Ombudsman", "Escalated to the Ombudsman"),
    "closed": (40, "Selesai", "Closed"),
}

HISTORY_LABELS: dict[str, tuple[str, str]] = {
    "submitted": ("Laporan diterima", "Report received"),
    "verified": ("Laporan terverifikasi", "Report verified"),
    "rejected": ("Laporan tidak dapat diproses", "Report not accepted"),
    "pending": (
        "Pemerintah daerah yang berwenang belum tersambung; laporan menunggu dan dihitung",
        "The regional government in charge has not joined yet; the report waits and is counted",
    ),
    "routed": ("Diteruskan ke instansi", "Sent to the agency"),
    "deadline": ("Batas waktu tanggapan instansi", "Agency response deadline"),
    "forwarded": ("Diteruskan ke unit yang menangani", "Passed to the unit handling it"),
    "information_added": ("Anda menambahkan informasi", "You added information"),
    "reply": ("Tanggapan Anda", "Your reply"),
    "followup": ("Tanggapan instansi", "The agency's response"),
    "question": ("Pertanyaan dari instansi: mohon dijawab", "A question from the agency"),
    "acknowledgement": (
        "Instansi menerima laporan dan sedang menanganinya",
        "The agency received the report and is handling it",
    ),
    "resolved": (
        "Instansi menyatakan selesai: apakah masalah Anda terselesaikan?",
        "The agency says it is done: did it solve your problem?",
    ),
    "notification": ("Pemberitahuan dikirim", "Notification sent"),
    "overdue": ("Instansi melewati batas waktu tanggapan", "The agency missed its deadline"),
    "escalated": (
        "Belum selesai: Anda dapat melapor ke Ombudsman RI",
        "Not resolved: you can take it to the Ombudsman",
    ),
    "closed": ("Laporan selesai", "Report closed"),
}


# Ties in time (the deadline starts the moment the report is routed) break by lifecycle.
HISTORY_ORDER: dict[str, int] = {
    kind: i
    for i, kind in enumerate(
        [
            "submitted",
            "verified",
            "information_added",
            "rejected",
            "pending",
            "routed",
            "deadline",
            "forwarded",
            "acknowledgement",
            "followup",
            "question",
            "resolved",
            "reply",
            "overdue",
            "escalated",
            "closed",
            "notification",
        ]
    )
}


def new_tracking_number() -> str:
    """Seven digits, not sequential, never starting with 0 (LAPOR! style: #1916449)."""
    return str(1_000_000 + secrets.randbelow(9_000_000))


def new_tracking_secret() -> str:
    """The proof a reporter keeps to open a confidential report."""
    return secrets.token_urlsafe(18)


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy random secret (no password stretching needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def proves(secret: str | None, secret_hash: str) -> bool:
    """Whether a tracking secret given by a caller is the report's (constant time)."""
    return bool(secret) and hmac.compare_digest(hash_secret(secret or ""), secret_hash)


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


def mask_phone(e164: str) -> str:
    """``+6281234567890`` -> ``0812-3456-XXXX``: the last four digits hidden."""
    local = "0" + e164[3:] if e164.startswith("+62") else e164
    head, rest = local[:4], local[4:-4]
    return f"{head}-{rest}-XXXX" if rest else f"{head}-XXXX"


def rank(status: str) -> int:
    """Order of a status in a report's life."""
    return STATUSES[status][0]


def label(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    """A user-facing label in Indonesian (default) or English."""
    pair = table[key]
    return pair[1] if lang == "en" else pair[0]


REPORT_TYPES: dict[str, tuple[str, str]] = {
    "complaint": ("Pengaduan", "Complaint"),
    "aspiration": ("Aspirasi", "Aspiration"),
    "information_request": ("Permintaan informasi", "Information request"),
}

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
