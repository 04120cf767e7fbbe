"""Verification's pure rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


@dataclass(frozen=True)
class Verdict:
    """An automatic decision and its explanation."""

    outcome: str  # "verified" or "rejected"
    reason_code: str | None
    reason: str


def judge(title: str, body: str, min_words: int) -> Verdict:
    """Verify a report with a story; reject one with nothing to act on."""
    words = _WORD.findall(body)
    if len(words) < min_words:
        return Verdict(
            "rejected",
            "empty",
            "Isi laporan kosong atau terlalu singkat. Ceritakan apa yang terjadi, di mana, "
            "dan kapan, lalu kirim kembali. / The report has no story: say what happened, "
            "where and when, and send it again.",
        )
    return Verdict(
        "verified", None, f"Pemeriksaan otomatis: laporan berisi cerita ({len(words)} kata)."
    )
