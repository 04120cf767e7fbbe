"""The shipped administrative areas, and the checks on uploaded files."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from services import areas, uploads


def test_the_areas_are_complete() -> None:
    assert len(areas.provinces()) == 38
    assert len(areas.regencies()) == 514
    assert len(areas.districts()) > 7000
    assert areas.get("32.73") == areas.Area("32.73", "Kota Bandung", "32")
    assert areas.province_of("32.73.01") == areas.Area("32", "Jawa Barat")
    assert [a.code for a in areas.children("32.73")][:2] == ["32.73.01", "32.73.02"]
    villages = areas.villages_of("32.73.01")
    assert villages and all(v.code.startswith("32.73.01.") for v in villages)
    assert areas.get(villages[0].code) == villages[0] and villages[0].level == "village"
    assert areas.get("99.99") is None and areas.villages_of("99.99.99") == []
    counts = areas.check(areas.DATA)
    assert counts["villages"] > 80_000
    assert "ODbL" in (areas.DATA / "ATTRIBUTION.md").read_text()


def test_a_broken_area_file_is_refused(tmp_path: Path) -> None:
    for name in areas.FILES:
        shutil.copyfile(areas.DATA / f"{name}.csv", tmp_path / f"{name}.csv")
    with (tmp_path / "districts.csv").open("a") as f:
        f.write("77.77.77,77.77,Nowhere\n")
    with pytest.raises(ValueError, match=r"unknown parent 77\.77"):
        areas.check(tmp_path)


def _jpeg_with_location() -> bytes:
    img = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "CanonSecret"  # Make
    exif[0x8825] = {2: (6.0, 54.0, 0.0)}  # GPS latitude
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_photos_lose_their_metadata(tmp_path: Path) -> None:
    original = _jpeg_with_location()
    assert b"CanonSecret" in original
    stored = uploads.Store(tmp_path).save(original, "../../etc/IMG 1.JPG", 1_000_000)
    data = (tmp_path / stored.storage_name).read_bytes()
    assert b"CanonSecret" not in data and b"Exif" not in data
    assert stored.media_type == "image/jpeg" and stored.filename == "IMG 1.jpg"
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (40, 30) and not img.getexif()


def test_files_are_judged_by_their_content(tmp_path: Path) -> None:
    store = uploads.Store(tmp_path)
    with pytest.raises(uploads.UploadRefused, match="Jenis berkas"):
        store.save(b"MZ\x90\x00 an exe named like a photo", "foto.jpg", 1_000_000)
    with pytest.raises(uploads.UploadRefused, match="rusak"):
        store.save(b"\xff\xd8\xff\xe0 not really a jpeg", "x.jpg", 1_000_000)
    with pytest.raises(uploads.UploadRefused, match="lebih dari"):
        store.save(b"%PDF-1.7" + b"0" * 2000, "big.pdf", 1024)
    with pytest.raises(uploads.UploadRefused, match="kosong"):
        store.save(b"", "x.pdf", 1024)
    pdf = store.save(b"%PDF-1.7\n%%EOF\n", "<script>.pdf", 1024)
    assert pdf.media_type == "application/pdf" and pdf.filename == "script.pdf"
    assert list(tmp_path.iterdir()) == [tmp_path / pdf.storage_name]
    with pytest.raises(FileNotFoundError):
        store.path("../routing.sqlite3")


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def test_a_phone_videos_location_is_blanked_and_its_media_kept() -> None:
    location = _box(b"\xa9xyz", b"\x00\x12\x15\xc7+06.9147+107.6098/")
    video = (
        _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
        + _box(
            b"moov",
            _box(b"mvhd", bytes(100))
            + _box(b"udta", location)
            + _box(b"trak", _box(b"meta", b"\x00" * 4 + b"Pixel 8 Pro")),
        )
        + _box(b"mdat", b"frames" * 50)
    )
    cleaned, media_type = uploads.clean(video, 1_000_000)
    assert media_type == "video/mp4" and len(cleaned) == len(video)
    assert b"107.6098" not in cleaned and b"Pixel" not in cleaned and b"udta" not in cleaned
    assert cleaned.count(b"free") == 2 and cleaned.endswith(b"frames" * 50)
    at = video.index(b"moov") - 4  # the moov box claims more than the file holds
    broken = video[:at] + (10_000).to_bytes(4, "big") + video[at + 4 :]
    with pytest.raises(uploads.UploadRefused, match="Video rusak"):
        uploads.clean(broken, 1_000_000)


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    """A flat image: a few kilobytes of PNG that claim many pixels (a decompression bomb
    when large)."""
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG", optimize=True)
    return out.getvalue()


def test_decompression_bombs_are_refused_from_their_header() -> None:
    # 100 megapixels in a few dozen kilobytes: Pillow's own check refuses it at open.
    bomb = _png(10_000, 10_000, "L")
    assert len(bomb) < 200_000
    with pytest.raises(uploads.UploadRefused, match="too large"):
        uploads.clean(bomb, 10_000_000)
    # Under the pixel limit but over the decoded-bytes limit: 30 MP of RGBA is 114 MiB.
    with pytest.raises(uploads.UploadRefused, match=r"too large \(6000 x 5000"):
        uploads.clean(_png(6000, 5000, "RGBA"), 10_000_000)
    # Over the pixel limit in a small mode.
    with pytest.raises(uploads.UploadRefused, match="41 megapixels"):
        uploads.clean(_png(8200, 5000, "L"), 10_000_000)


def test_a_large_allowed_image_is_cleaned_whole() -> None:
    # 4000 x 4000 RGB (46 MiB decoded) passes, re-encoded without its text chunks.
    img = Image.new("RGB", (4000, 4000), (10, 120, 30))
    out = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Siti Rahmawati")
    img.save(out, "PNG", pnginfo=info)
    cleaned, media_type = uploads.clean(out.getvalue(), 10_000_000)
    assert media_type == "image/png"
    with Image.open(io.BytesIO(cleaned)) as back:
        assert back.size == (4000, 4000) and back.getpixel((3999, 3999)) == (10, 120, 30)
        assert "Author" not in back.info
    assert b"Siti" not in cleaned
