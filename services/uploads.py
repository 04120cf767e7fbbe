"""Uploaded files: checked by their content, cleaned, and stored under server-made names.

- The type is read from the first bytes (magic numbers), never from the name or the
  Content-Type the browser sent: JPEG, PNG, WebP, PDF, MP4 and WebM are accepted.
- Photos are decoded and re-encoded, which drops EXIF (a phone photo's EXIF carries
  where it was taken: personal data) and anything hidden after the image. An MP4's
  metadata boxes (a phone video's location, make and model) are blanked in place.
- Each file is stored as ``<uuid>.<ext>`` in one folder; the citizen's or officer's file
  name is kept only as a display name, cleaned of paths and control characters.

Every refusal is an :class:`UploadRefused` with a reason in Indonesian and English.
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from fastapi.responses import FileResponse, Response
from PIL import Image, UnidentifiedImageError

from services.contracts import AttachmentRef

KINDS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "video/mp4": "mp4",
    "video/webm": "webm",
}
IMAGES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# Decompression bombs: a 50 KB PNG can claim 100 megapixels. Its header is read first, and
# an image is refused before any pixel is decoded when it claims more than MAX_PIXELS or
# more than MAX_DECODED_BYTES once decoded (Pillow keeps RGB in four bytes a pixel: a
# 24-megapixel photo is 92 MiB). Pillow's
# own bomb check is set to the same limit.
MAX_PIXELS = 40_000_000
MAX_DECODED_BYTES = 100 * 2**20
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# At most this many images are decoded at once in one process: with the decoded image and
# its clean copy, a decode holds at most 2 x MAX_DECODED_BYTES (see docs/benchmarks.md).
DECODERS = threading.BoundedSemaphore(2)


class UploadRefused(ValueError):
    """A file that is not accepted; ``args[0]`` is (Indonesian, English)."""

    def __init__(self, id_text: str, en_text: str) -> None:
        super().__init__(f"{id_text} / {en_text}")
        self.id_text = id_text
        self.en_text = en_text


def sniff(head: bytes) -> str | None:
    """The media type of a file from its first bytes, or None if not an accepted kind."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp" and head[8:12] in (b"isom", b"iso2", b"mp41", b"mp42", b"avc1"):
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def display_name(name: str | None, media_type: str) -> str:
    """A safe display name: no folders, no control characters, the right extension."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", base).strip(" .")[:150]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem or 'lampiran'}.{KINDS[media_type]}"


def clean(data: bytes, max_bytes: int) -> tuple[bytes, str]:
    """The bytes to store and their media type; photos re-encoded without metadata."""
    if not data:
        raise UploadRefused("Berkas kosong.", "The file is empty.")
    if len(data) > max_bytes:
        mb = max_bytes / 1_000_000
        raise UploadRefused(f"Berkas lebih dari {mb:g} MB.", f"The file is larger than {mb:g} MB.")
    media_type = sniff(data[:16])
    if media_type is None:
        raise UploadRefused(
            "Jenis berkas tidak diterima (foto JPEG/PNG/WebP, PDF, video MP4/WebM).",
            "File type not accepted (JPEG/PNG/WebP photos, PDF, MP4/WebM video).",
        )
    if media_type in IMAGES:
        data = _reencode(data, IMAGES[media_type])
    elif media_type == "video/mp4":
        data = strip_mp4(data)
    return data, media_type


# MP4 boxes that hold others (walked to find metadata), and the metadata boxes: user data
# (a phone's "©xyz" location, make, model) and "meta" (iTunes-style tags, XMP).
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"edts", b"dinf", b"stbl"}
_METADATA = {b"udta", b"meta", b"uuid"}


def strip_mp4(data: bytes) -> bytes:
    """An MP4 with its metadata boxes blanked: each becomes a ``free`` box of the same
    size, filled with zeros, so no offset into the media data moves and every player
    skips it. A box structure that does not add up is refused as a broken video."""
    out = bytearray(data)

    def walk(start: int, end: int, depth: int) -> None:
        pos = start
        while pos + 8 <= end:
            size = int.from_bytes(out[pos : pos + 4], "big")
            kind = bytes(out[pos + 4 : pos + 8])
            header = 8
            if size == 1:
                if pos + 16 > end:
                    raise ValueError("truncated box header")
                size, header = int.from_bytes(out[pos + 8 : pos + 16], "big"), 16
            elif size == 0:
                size = end - pos
            if size < header or pos + size > end:
                raise ValueError("box runs past its parent")
            if kind in _METADATA:
                out[pos + 4 : pos + 8] = b"free"
                out[pos + header : pos + size] = bytes(size - header)
            elif kind in _CONTAINERS and depth < 8:
                walk(pos + header, pos + size, depth + 1)
            pos += size

    try:
        walk(0, len(out), 0)
    except ValueError as exc:
        raise UploadRefused("Video rusak atau tidak terbaca.", "The video is broken.") from exc
    return bytes(out)


def decoded_size(img: Image.Image) -> int:
    """The bytes an image takes once decoded, from its header alone: Pillow keeps one
    byte a pixel for 1, L and P, two for I;16, and four for the rest (RGB included)."""
    mode = img.mode
    per_pixel = 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4
    return img.width * img.height * per_pixel


def _too_big(img: Image.Image) -> UploadRefused | None:
    if img.width * img.height > MAX_PIXELS or decoded_size(img) > MAX_DECODED_BYTES:
        mp = img.width * img.height / 1_000_000
        return UploadRefused(
            f"Gambar terlalu besar ({img.width} x {img.height}, {mp:.0f} megapiksel): kirim "
            "foto yang lebih kecil.",
            f"The image is too large ({img.width} x {img.height}, {mp:.0f} megapixels): "
            "send a smaller photo.",
        )
    return None


def _reencode(data: bytes, fmt: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as img:
            refused = _too_big(img)  # from the header: nothing decoded yet
            if refused is not None:
                raise refused
            with DECODERS:
                img.load()
                out = io.BytesIO()
                if fmt == "JPEG":
                    rgb = img.convert("RGB") if img.mode not in ("RGB", "L") else img
                    rgb.save(out, "JPEG", quality=90, optimize=True)
                else:
                    # A fresh image carries pixels only: no EXIF, no text chunks. Copied
                    # in C (paste), never through Python objects per pixel.
                    fresh = Image.new(img.mode, img.size)
                    fresh.paste(img, (0, 0))
                    if img.mode == "P" and img.getpalette():
                        fresh.putpalette(img.getpalette())  # type: ignore[arg-type]
                    fresh.save(out, fmt)
                return out.getvalue()
    except Image.DecompressionBombError as exc:  # Pillow's own check, at twice the limit
        raise UploadRefused(
            "Gambar terlalu besar: kirim foto yang lebih kecil.",
            "The image is too large: send a smaller photo.",
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        if isinstance(exc, UploadRefused):
            raise
        raise UploadRefused("Gambar rusak atau tidak terbaca.", "The image is broken.") from exc


@dataclass(frozen=True)
class Stored:
    """A stored file."""

    storage_name: str
    media_type: str
    size: int
    filename: str

    @property
    def attachment_id(self) -> str:
        """The id events and links use: the storage name without its extension."""
        return self.storage_name.split(".")[0]


class Store:
    """A folder of uploads under server-made names."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes, name: str | None, max_bytes: int) -> Stored:
        """Check, clean and write a file; raises UploadRefused."""
        cleaned, media_type = clean(data, max_bytes)
        self.root.mkdir(parents=True, exist_ok=True)
        storage_name = f"{uuid.uuid4()}.{KINDS[media_type]}"
        tmp = self.root / f".{storage_name}.part"
        tmp.write_bytes(cleaned)
        tmp.replace(self.root / storage_name)
        return Stored(storage_name, media_type, len(cleaned), display_name(name, media_type))

    def response(self, storage_name: str, media_type: str, filename: str) -> Response:
        """A stored file as a download (never rendered by the browser); 404 if gone."""
        try:
            path = self.path(storage_name)
        except FileNotFoundError:
            path = None
        if path is None or not path.exists():
            raise HTTPException(404, "lampiran tidak ditemukan / attachment not found")
        return FileResponse(
            path,
            media_type=media_type,
            filename=filename,
            headers={"X-Content-Type-Options": "nosniff"},
        )

    def discard(self, stored: list[Stored]) -> None:
        """Remove files stored for a request that did not commit."""
        for f in stored:
            self.path(f.storage_name).unlink(missing_ok=True)

    def path(self, storage_name: str) -> Path:
        """Where a stored file is (names are checked: nothing outside the folder)."""
        if not re.fullmatch(r"[0-9a-f-]{36}\.[a-z0-9]{2,4}", storage_name):
            raise FileNotFoundError(storage_name)
        return self.root / storage_name


# --- the reporter's files, as the services after intake keep them ----------------------


def with_refs(kept: str, refs: Iterable[AttachmentRef]) -> str:
    """A JSON list of file references (kept on a case or a report copy) with more added."""
    return json.dumps(json.loads(kept) + [r.model_dump() for r in refs])


def reporter_files(kept: str, intake_url: str, report_id: str) -> list[dict[str, Any]]:
    """The reporter's files of a report, each with the intake address staff download it
    from (intake keeps the bytes and checks who may see them)."""
    files: list[dict[str, Any]] = json.loads(kept)
    for f in files:
        f["url"] = f"{intake_url}/v1/staff/reports/{report_id}/attachments/{f['attachment_id']}"
    return files
