"""Masking people out of the texts citizens write, so that privacy does not depend on a
verifier remembering to look.

Two rules. For an Anonim report, every occurrence of its reporter's own name (each part
of it), phone (08..., +62..., 62..., with spaces, dots or dashes between the digits),
email and account name is masked in what leaves intake. For every report, the public's
views also mask any phone number, email address or 16-digit NIK in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[disamarkan]"
_SEP = r"[\s.\-]?"

# Any Indonesian mobile number, written however people write it; any email address; a
# 16-digit NIK (identity card number), grouped or not.
_PHONE = re.compile(r"(?<![\w+])(?:\(?\+?62\)?|0)" + _SEP + r"8(?:" + _SEP + r"\d){7,11}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NIK = re.compile(r"(?<!\d)(?:\d[\s.]?){15}\d(?!\d)")


def _phone_pattern(phone: str) -> str | None:
    """A pattern for one phone number in any of its spellings."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("62"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    if len(digits) < 7:
        return None
    body = _SEP.join(re.escape(d) for d in digits)
    return r"(?<!\d)(?:\(?\+?62\)?|0)?" + _SEP + body + r"(?!\d)"


def identity_pattern(
    name: str | None, phone: str | None, email: str | None, others: Iterable[str] = ()
) -> re.Pattern[str] | None:
    """One pattern matching a reporter's own name parts, phone, email and other names
    (an account's username), or None when nothing is known of them."""
    parts: list[str] = []
    if email:
        parts.append(re.escape(email))
        local = email.split("@", 1)[0]
        if len(local) >= 4:
            parts.append(r"\b" + re.escape(local) + r"\b")
    if phone and (p := _phone_pattern(phone)):
        parts.append(p)
    words = re.findall(r"\w+", name or "") + [w for o in others for w in re.findall(r"[\w.]+", o)]
    parts += [r"\b" + re.escape(w) + r"\b" for w in words if len(w) >= 3]
    if not parts:
        return None
    # Longest first: an email is masked whole before its local part alone.
    parts.sort(key=len, reverse=True)
    return re.compile("|".join(parts), re.IGNORECASE)


def mask_identity(text: str, pattern: re.Pattern[str] | None) -> str:
    """The text with the reporter's own identity masked."""
    return pattern.sub(MASK, text) if pattern is not None and text else text


def mask_contacts(text: str) -> str:
    """The text with any email, mobile number or NIK masked (the public's views)."""
    if not text:
        return text
    for pattern in (_EMAIL, _PHONE, _NIK):
        text = pattern.sub(MASK, text)
    return text


def cover(text: str, phrases: Iterable[str]) -> tuple[str, list[tuple[int, int]]]:
    """The text with every occurrence of each phrase (any case, any run of spaces) covered
    by the mask, and where the covered passages were in the original, as (start, end).

    A verifier's redaction: the spans are what the audit keeps, never the words."""
    patterns = [r"\s+".join(re.escape(w) for w in p.split()) for p in phrases if p and p.strip()]
    if not text or not patterns:
        return text, []
    patterns.sort(key=len, reverse=True)
    found = re.compile("|".join(patterns), re.IGNORECASE)
    spans = [m.span() for m in found.finditer(text)]
    return found.sub(MASK, text), spans
