"""Report texts sealed on the wire: only a holder of the text keys reads them."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from services import lifecycle, sealing
from services.contracts import (
    ReportInformationAdded,
    ReportSubmitted,
    ReportSubmittedSealed,
    decode,
    encode,
    new_event,
)
from services.settings import KitSettings

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WORDS = "Pak Joko ketua RT 04 minta uang Rp50.000"


def _submitted(rid: str) -> ReportSubmitted:
    return ReportSubmitted(
        report_id=rid,
        tracking_number="1234567",
        title="Pungutan liar di kelurahan",
        body=WORDS,
        anonymous_body=WORDS.replace("Joko", "[disamarkan]"),
        category="pelayanan",
        regency_code="32.73",
        reporter_ref="r1",
        anonymous=False,
        confidential=True,
        channel="web",
        submitted_at=NOW,
    )


def test_a_sealed_report_carries_none_of_its_words_and_opens_whole() -> None:
    ring = sealing.Keyring.parse(sealing.new_key_spec())
    rid = str(uuid.uuid4())
    event = _submitted(rid)
    sealed = sealing.seal_submitted(event, ring)
    wire = encode(new_event("/aduan/intake", rid, sealed))
    for word in ("Joko", "RT 04", "Pungutan", "50.000"):
        assert word.encode() not in wire
    back = decode(wire)
    assert back.type == "id.aduan.report.submitted.v2"
    assert sealing.opened_submitted(back.payload(), ring) == event  # type: ignore[arg-type]
    # Every fact but the words is still readable by everyone.
    facts = sealing.facts_of_submitted(sealed)
    assert (facts.title, facts.body, facts.confidential) == ("", "", True)
    assert lifecycle.step_kind(back.type, sealed) == "submitted"


def test_the_same_words_seal_differently_each_time() -> None:
    ring = sealing.Keyring.parse(sealing.new_key_spec())
    rid = str(uuid.uuid4())
    a = sealing.seal(rid, "submitted", {"body": WORDS}, ring)
    b = sealing.seal(rid, "submitted", {"body": WORDS}, ring)
    assert a != b  # a fresh nonce: equal stories cannot be matched on the topic


def test_a_box_does_not_open_for_another_report_kind_or_key() -> None:
    ring = sealing.Keyring.parse(sealing.new_key_spec())
    rid = str(uuid.uuid4())
    box = sealing.seal(rid, "submitted", {"body": WORDS}, ring)
    with pytest.raises(sealing.SealError, match="another report"):
        sealing.open_box(str(uuid.uuid4()), "submitted", box, ring)
    with pytest.raises(sealing.SealError, match="another report"):
        sealing.open_box(rid, "information_added", box, ring)
    other = sealing.Keyring.parse(sealing.new_key_spec())  # same id "k1", another key
    with pytest.raises(sealing.SealError):
        sealing.open_box(rid, "submitted", box, other)
    stranger = sealing.Keyring.parse(sealing.new_key_spec("k9"))
    with pytest.raises(sealing.SealError, match="does not hold"):
        sealing.open_box(rid, "submitted", box, stranger)


def test_an_altered_or_malformed_box_is_refused() -> None:
    ring = sealing.Keyring.parse(sealing.new_key_spec())
    rid = str(uuid.uuid4())
    box = sealing.seal(rid, "submitted", {"body": WORDS}, ring)
    head, _, body = box.rpartition(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[20] ^= 1
    flipped = f"{head}.{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"
    for bad in (flipped, f"{head}.AAAA", "aduan-seal.1.k1.!!", "plain text", box[:-8]):
        with pytest.raises(sealing.SealError):
            sealing.open_box(rid, "submitted", bad, ring)


def test_unexpected_fields_in_a_box_are_refused() -> None:
    ring = sealing.Keyring.parse(sealing.new_key_spec())
    rid = str(uuid.uuid4())
    facts = _submitted(rid).model_dump(exclude=set(sealing.SUBMITTED_TEXTS))
    odd = ReportSubmittedSealed(
        **facts, sealed=sealing.seal(rid, "submitted", {"title": "t", "body": "b", "x": 1}, ring)
    )
    with pytest.raises(sealing.SealError, match="unexpected"):
        sealing.opened_submitted(odd, ring)


def test_rotation_old_boxes_open_while_their_key_is_kept() -> None:
    old_spec = sealing.new_key_spec("k1")
    old = sealing.Keyring.parse(old_spec)
    rid = str(uuid.uuid4())
    added = ReportInformationAdded(report_id=rid, text=WORDS, added_at=NOW)
    before = sealing.seal_added(added, old)
    rotated = sealing.Keyring.parse(f"{sealing.new_key_spec('k2')}, {old_spec}")
    assert rotated.current == "k2"
    after = sealing.seal_added(added, rotated)
    assert after.sealed.startswith("aduan-seal.1.k2.")
    assert sealing.opened_added(before, rotated) == added
    assert sealing.opened_added(after, rotated) == added
    dropped = sealing.Keyring.parse(sealing.new_key_spec("k2"))  # k1 retired: shredded
    with pytest.raises(sealing.SealError):
        sealing.opened_added(before, dropped)


def test_key_settings_are_checked() -> None:
    for spec in ("", "k1", "k1:abc", "k1:" + "A" * 43 + ",k1:" + "A" * 43, "bad id!:x"):
        with pytest.raises(sealing.SealError):
            sealing.Keyring.parse(spec)
    # Without text keys, a key derived from the platform secret (the same on every host).
    kit = KitSettings(aduan_auth_secret="s" * 48, aduan_text_keys=None)
    ring = sealing.keyring(kit)
    assert ring == sealing.Keyring.derived("s" * 48) and ring.current == "s1"
    with pytest.raises(sealing.SealError, match="ADUAN_TEXT_KEYS"):
        sealing.keyring(KitSettings(aduan_auth_secret=None, aduan_text_keys=None))


def test_the_box_holds_json_of_the_v1_texts() -> None:
    ring = sealing.Keyring.parse(sealing.new_key_spec())
    rid = str(uuid.uuid4())
    sealed = sealing.seal_submitted(_submitted(rid), ring)
    box = sealing.open_box(rid, "submitted", sealed.sealed, ring)
    assert set(box) == set(sealing.SUBMITTED_TEXTS)
    assert json.dumps(box)  # plain JSON, nothing else
