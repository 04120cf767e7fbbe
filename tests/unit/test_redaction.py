"""A verifier's redaction as verification applies it: every occurrence covered in the
title, the story and each addition, in any case and spacing; the audit's account says
where and how long, never the words; an unknown file is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services import masking
from verification.handlers import make_anonymous, redact
from verification.models import Case


def _case(**extra: object) -> Case:
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "report_id": "00000000-0000-0000-0000-000000000001",
        "tracking_number": "1234567",
        "reporter_ref": "r",
        "category": "infrastruktur",
        "regency_code": "32.73",
        "title": "Lampu mati di depan rumah Pak Joko",
        "text": "Lampu mati di depan rumah Pak Joko\nSaya Joko  Widodo, RT 04. joko widodo lagi."
        "\n\nTambahan dari JOKO WIDODO",
        "additions": json.dumps(["Tambahan dari JOKO WIDODO"]),
        "files": json.dumps([{"attachment_id": "a1", "filename": "lampiran-1.jpg"}]),
        "findings": json.dumps(
            [{"check": "privacy", "detail": "d", "evidence": ["nama: Joko Widodo"]}]
        ),
        "anonymous": True,
        "confidential": False,
        "channel": "web",
        "submitted_at": now,
        "state": "queued",
        "updated_at": now,
    }
    values.update(extra)
    return Case(**values)


def test_cover_finds_every_spelling_and_reports_spans_not_words() -> None:
    text, spans = masking.cover("Joko Widodo, joko   widodo dan JOKO\nWIDODO", ["Joko Widodo"])
    assert text == "[disamarkan], [disamarkan] dan [disamarkan]"
    assert spans == [(0, 11), (13, 26), (31, 42)]
    assert masking.cover("tidak ada", ["Joko"]) == ("tidak ada", [])
    assert masking.cover("teks", ["  "]) == ("teks", [])


def test_redaction_covers_title_story_additions_and_findings() -> None:
    case = _case()
    found = redact(case, ["Joko Widodo", "Joko", "RT 04"], ["a1"])
    assert found is not None
    redaction, detail = found
    assert "Joko" not in redaction.title and "[disamarkan]" in redaction.title
    assert redaction.story == "Saya [disamarkan], [disamarkan]. [disamarkan] lagi."
    assert redaction.additions == ["Tambahan dari [disamarkan]"]
    assert redaction.withheld == ["a1"] and redaction.passages == 5
    # Verification keeps only the covered texts, and the audit only where they were.
    for kept in (case.title, case.text, case.additions, case.findings, detail):
        assert "joko" not in kept.lower() and "RT 04" not in kept
    assert detail.startswith("5 passage(s) covered: title ") and "withheld a1" in detail


def test_nothing_to_cover_changes_nothing_and_an_unknown_file_is_refused() -> None:
    case = _case()
    assert redact(case, ["Susilo"], []) is None
    assert "Joko" in case.text
    with pytest.raises(ValueError, match="unknown attachment"):
        redact(case, [], ["not-a-file"])


def test_made_anonim_the_case_takes_intakes_masked_texts_and_says_so() -> None:
    case = _case(
        anonymous=False,
        title="Lampu mati, lapor Joko",
        text="Lampu mati, lapor Joko\nSaya Joko Widodo.\n\nTambahan Joko",
        additions=json.dumps(["Tambahan Joko"]),
        anonymous_texts=json.dumps(
            {
                "title": "Lampu mati, lapor [disamarkan]",
                "body": "Saya [disamarkan] [disamarkan].",
                "additions": ["Tambahan [disamarkan]"],
            }
        ),
    )
    assert make_anonymous(case) == 3
    found = redact(case, [], [], masked=3)
    assert found is not None
    redaction, detail = found
    assert redaction.title == "Lampu mati, lapor [disamarkan]"
    assert redaction.story == "Saya [disamarkan] [disamarkan]."
    assert redaction.additions == ["Tambahan [disamarkan]"]
    assert "joko" not in case.text.lower() and case.anonymous and case.anonymous_texts is None
    assert "identity masked in 3 text(s)" in detail
