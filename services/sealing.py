"""Report texts sealed on the wire until a verifier has read them.

A citizen's words may hold what nobody but the reporter, the verifiers and the agency
should read: a neighbour's name, a house number, "ketua RT 04". Intake can mask what it
knows of the reporter (:mod:`services.masking`); what it cannot know, a verifier covers
(decision 13). Until then the words must not sit readable on a topic, where every consumer,
every dead-letter copy and the broker's retention would keep them. So intake seals them:
``report.submitted.v2`` and ``report.information_added.v2`` carry the texts as one
AES-GCM box (:class:`cryptography.hazmat.primitives.ciphers.aead.AESGCM`, a 96-bit random
nonce, the report id and the event kind as associated data, so a box cannot be moved to
another report or field).

Only the services that read the words hold the keys (``ADUAN_TEXT_KEYS``): intake, which
seals; verification, which shows them to the verifier; routing, which keeps the agency's
copy and replaces it with the verifier's redaction. SLA and notifications never need
them, and read the events' other facts. Keys carry an id: the first key seals, every key
opens, so a key is rotated by putting a new one first and dropped once the topics'
retention has passed, after which the old boxes are unreadable everywhere.

A box that does not open (unknown key, altered, another report's) raises
:class:`SealError`, and the event goes to the dead-letter topic like any broken event.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.contracts import (
    ReportInformationAdded,
    ReportInformationAddedSealed,
    ReportSubmitted,
    ReportSubmittedSealed,
)
from services.settings import KitSettings

PREFIX = "aduan-seal.1"
_BOX = re.compile(r"^aduan-seal\.1\.([A-Za-z0-9_-]{1,16})\.([A-Za-z0-9_-]+)$")
_KEY = re.compile(r"^([A-Za-z0-9_-]{1,16}):([A-Za-z0-9_=-]+)$")
# The services that hold the text keys (and the only ones `aduan run` gives them to).
HOLDERS = frozenset({"intake", "verification", "routing"})
# The texts a box may hold: what the v1 events carried (20,000 characters a story).
MAX_PLAIN_BYTES = 200_000


class SealError(ValueError):
    """A box that cannot be opened here, or keys that cannot be read."""


@dataclass(frozen=True)
class Keyring:
    """The text keys of this process: ``current`` seals, every one opens."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """Read ``id:base64url(32 bytes)[, ...]``; the first seals."""
        keys: dict[str, bytes] = {}
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            match = _KEY.match(item)
            if match is None:
                raise SealError("ADUAN_TEXT_KEYS: each key is id:base64url-of-32-bytes")
            kid, text = match.groups()
            try:
                key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            except (binascii.Error, ValueError) as exc:
                raise SealError(f"ADUAN_TEXT_KEYS: key {kid} is not base64url") from exc
            if len(key) != 32:
                raise SealError(f"ADUAN_TEXT_KEYS: key {kid} must be 32 bytes (AES-256)")
            if kid in keys:
                raise SealError(f"ADUAN_TEXT_KEYS: key id {kid} is given twice")
            keys[kid] = key
        if not keys:
            raise SealError("ADUAN_TEXT_KEYS holds no key")
        return cls(keys, next(iter(keys)))

    @classmethod
    def derived(cls, secret: str) -> Keyring:
        """One key derived from the platform secret (when no text keys are configured)."""
        key = hmac.new(secret.encode(), b"aduan report text v1", hashlib.sha256).digest()
        return cls({"s1": key}, "s1")


def new_key_spec(kid: str = "k1") -> str:
    """A fresh ``id:key`` entry for ``ADUAN_TEXT_KEYS``."""
    return f"{kid}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"


@functools.lru_cache(maxsize=4)
def _ring(spec: str | None, secret: str | None) -> Keyring:
    if spec:
        return Keyring.parse(spec)
    if secret:
        return Keyring.derived(secret)
    raise SealError(
        "report texts cannot be sealed or opened: set ADUAN_TEXT_KEYS (or ADUAN_AUTH_SECRET)"
    )


_PROCESS_RING: list[Keyring] = []


def keyring(kit: KitSettings | None = None) -> Keyring:
    """The keyring of ``kit``, or of this process's environment (read once: reading the
    settings costs a millisecond, and every event sealed or opened asks)."""
    if kit is not None:
        return _ring(kit.text_keys_value(), kit.auth_secret_value())
    if not _PROCESS_RING:
        env = KitSettings()
        _PROCESS_RING.append(_ring(env.text_keys_value(), env.auth_secret_value()))
    return _PROCESS_RING[0]


@functools.lru_cache(maxsize=16)
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def _aad(report_id: str, kind: str) -> bytes:
    return f"aduan/{kind}/{report_id}".encode()


def seal(report_id: str, kind: str, texts: dict[str, Any], ring: Keyring | None = None) -> str:
    """Seal ``texts`` (a JSON object) for one report and one kind of event."""
    ring = ring or keyring()
    plain = json.dumps(texts, ensure_ascii=False, separators=(",", ":")).encode()
    nonce = os.urandom(12)
    box = nonce + _aead(ring.keys[ring.current]).encrypt(nonce, plain, _aad(report_id, kind))
    return f"{PREFIX}.{ring.current}.{base64.urlsafe_b64encode(box).decode().rstrip('=')}"


def open_box(report_id: str, kind: str, sealed: str, ring: Keyring | None = None) -> dict[str, Any]:
    """Open a box sealed by :func:`seal` for this report and kind (raises SealError)."""
    ring = ring or keyring()
    match = _BOX.match(sealed)
    if match is None:
        raise SealError("not a sealed text")
    kid, text = match.groups()
    key = ring.keys.get(kid)
    if key is None:
        raise SealError(f"sealed with key {kid}, which this service does not hold")
    try:
        box = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SealError("sealed text is not base64url") from exc
    if len(box) < 12 + 16:
        raise SealError("sealed text is too short")
    try:
        plain = _aead(key).decrypt(box[:12], box[12:], _aad(report_id, kind))
    except InvalidTag as exc:
        raise SealError("sealed text does not open: altered, or another report's") from exc
    if len(plain) > MAX_PLAIN_BYTES:
        raise SealError("sealed text is too long")
    value = json.loads(plain)
    if not isinstance(value, dict):
        raise SealError("sealed text is not an object")
    return value


# --------------------------------------------------------------- the events, opened

SUBMITTED_TEXTS = ("title", "body", "anonymous_title", "anonymous_body")
ADDED_TEXTS = ("text", "anonymous_text")


def seal_submitted(event: ReportSubmitted, ring: Keyring | None = None) -> ReportSubmittedSealed:
    """Version 2 of ``event``: its words sealed."""
    texts = {k: getattr(event, k) for k in SUBMITTED_TEXTS}
    facts = event.model_dump(exclude=set(SUBMITTED_TEXTS))
    return ReportSubmittedSealed(**facts, sealed=seal(event.report_id, "submitted", texts, ring))


def seal_added(
    event: ReportInformationAdded, ring: Keyring | None = None
) -> ReportInformationAddedSealed:
    """Version 2 of ``event``: its words sealed."""
    texts = {k: getattr(event, k) for k in ADDED_TEXTS}
    facts = event.model_dump(exclude=set(ADDED_TEXTS))
    return ReportInformationAddedSealed(
        **facts, sealed=seal(event.report_id, "information_added", texts, ring)
    )


def _texts(box: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    if set(box) - set(names):
        raise SealError(f"sealed text holds unexpected fields: {sorted(set(box) - set(names))}")
    return {k: box.get(k) for k in names}


def opened_submitted(
    event: ReportSubmitted | ReportSubmittedSealed, ring: Keyring | None = None
) -> ReportSubmitted:
    """The event with its words, whichever version it is (raises SealError)."""
    if isinstance(event, ReportSubmitted):
        return event
    texts = _texts(open_box(event.report_id, "submitted", event.sealed, ring), SUBMITTED_TEXTS)
    return ReportSubmitted(**event.model_dump(exclude={"sealed"}), **texts)


def opened_added(
    event: ReportInformationAdded | ReportInformationAddedSealed, ring: Keyring | None = None
) -> ReportInformationAdded:
    """The event with its words, whichever version it is (raises SealError)."""
    if isinstance(event, ReportInformationAdded):
        return event
    box = open_box(event.report_id, "information_added", event.sealed, ring)
    return ReportInformationAdded(
        **event.model_dump(exclude={"sealed"}), **_texts(box, ADDED_TEXTS)
    )


def facts_of_submitted(event: ReportSubmitted | ReportSubmittedSealed) -> ReportSubmitted:
    """For services without the keys: the event's facts, its words left empty."""
    if isinstance(event, ReportSubmitted):
        return event
    return ReportSubmitted(**event.model_dump(exclude={"sealed"}), title="", body="")


def opening(
    handler: Callable[[Any, Any], None], open_: Callable[[Any], Any]
) -> Callable[[Any, Any], None]:
    """A version-2 handler: ``handler`` called with the event opened by ``open_``."""

    def handle(ctx: Any, event: Any) -> None:
        handler(ctx, open_(event))

    handle.__name__ = handle.__qualname__ = f"{handler.__name__}_sealed"
    return handle
