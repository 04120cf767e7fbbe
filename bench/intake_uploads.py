"""What intake's files and accounts cost.

Prints, from one run on this machine:
- a password hash and a password check (scrypt N=2^15, r=8, p=1): time and memory,
- cleaning one upload (a 12-megapixel phone photo with EXIF, a 5 MB PDF): time and peak
  Python memory,
- web reports with one phone photo (1600x1200, about 1.2 MB) through the running
  platform (SQLite): reports per second and the POST's p50/p99, one after another and 8
  at a time.

    python -m bench.intake_uploads [--reports 200]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx
from PIL import Image

from intake import domain
from services import uploads
from services.launcher import Platform


def passwords(n: int = 20) -> None:
    t0 = time.perf_counter()
    hashes = [domain.hash_password(f"kata-sandi-{i}-panjang") for i in range(n)]
    hashing = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    assert all(domain.check_password(f"kata-sandi-{i}-panjang", h) for i, h in enumerate(hashes))
    checking = (time.perf_counter() - t0) / n
    mib = 128 * domain.SCRYPT_N * domain.SCRYPT_R / 2**20
    print(
        f"scrypt N=2^15 r=8 p=1: hash {hashing * 1000:.0f} ms, check {checking * 1000:.0f} ms, "
        f"{mib:.0f} MiB each"
    )


def photo(width: int = 4000, height: int = 3000) -> bytes:
    """A noisy phone-sized JPEG with GPS EXIF (noise keeps it near a real photo's size)."""
    img = Image.effect_noise((width, height), 60).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "Phone"
    exif[0x8825] = {2: (6.0, 54.0, 0.0)}
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


def cleaning() -> None:
    for name, data in (
        ("12 MP photo", photo()),
        ("5 MB PDF", b"%PDF-1.4\n" + b"0" * 5_000_000),
    ):
        tracemalloc.start()
        t0 = time.perf_counter()
        cleaned, _ = uploads.clean(data, 20_000_000)
        took = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"clean {name} ({len(data) / 1e6:.1f} MB -> {len(cleaned) / 1e6:.1f} MB): "
            f"{took * 1000:.0f} ms, peak {peak / 2**20:.0f} MiB"
        )


# Cleaned in a fresh process that only reads the file: its peak resident memory, less
# what the interpreter and Pillow take before, is what one image costs (Pillow's buffers
# are C memory that tracemalloc does not see).
_CLEAN = """
import sys, time
from services import uploads
def hwm():  # the process's peak resident memory, KiB (a fresh count per exec)
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
    return int(line.split()[1])
data = open(sys.argv[1], "rb").read()
before = hwm()
t0 = time.perf_counter()
try:
    uploads.clean(data, 20_000_000)
    verdict = "cleaned"
except uploads.UploadRefused:
    verdict = "refused"
took = time.perf_counter() - t0
after = hwm()
print(f"{len(data) / 1e3:.0f} KB, {verdict} in {took * 1000:.0f} ms, "
      f"peak +{(after - before) / 1024:.0f} MiB over {before / 1024:.0f} MiB")
"""


def worst_images() -> None:
    """The largest images intake accepts, and bombs it refuses: time and peak memory."""
    import subprocess
    import sys

    for w, h, mode, kind, name in (
        (6000, 4360, "RGB", "flat", "largest RGB PNG allowed (26 MP, 99.8 MiB decoded)"),
        (6000, 4360, "RGB", "noise", "largest RGB JPEG allowed (26 MP, noisy)"),
        (6800, 5100, "RGB", "flat", "bomb: 35 MP RGB PNG (132 MiB decoded)"),
        (4000, 3000, "RGB", "noise", "12 MP phone-like JPEG"),
        (10_000, 10_000, "L", "flat", "bomb: 100 MP PNG"),
        (6000, 5000, "RGBA", "flat", "bomb: 30 MP RGBA PNG (114 MiB decoded)"),
    ):
        out = io.BytesIO()
        if kind == "noise":
            Image.effect_noise((w, h), 60).convert(mode).save(out, "JPEG", quality=85)
        else:
            Image.new(mode, (w, h)).save(out, "PNG")
        with tempfile.NamedTemporaryFile(suffix=".img") as f:
            f.write(out.getvalue())
            f.flush()
            run = subprocess.run(
                [sys.executable, "-c", _CLEAN, f.name], capture_output=True, text=True, check=True
            )
        print(f"clean {name}: {run.stdout.strip()}")


async def web_reports(
    base: str, n: int, concurrency: int, image: bytes
) -> tuple[float, list[float]]:
    form = {
        "title": "Jalan berlubang",
        "body": "Jalan Cikutra di depan Pasar Cicadas berlubang besar sejak dua minggu lalu.",
        "category": "infrastruktur",
        "regency_code": "32.73",
    }
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one() -> None:
            async with sem:
                t0 = time.perf_counter()
                r = await client.post(
                    "/lapor", data=form, files=[("lampiran", ("foto.jpg", image, "image/jpeg"))]
                )
                assert r.status_code == 201, r.text[:200]
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - t0), latencies


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=200)
    args = parser.parse_args()
    passwords()
    cleaning()
    worst_images()
    image = photo(1600, 1200)
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(
            var_dir=Path(tmp),
            extra_env={"INTAKE_RATE_PER_IP_PER_MINUTE": "1000000"},
        )
        platform.start()
        try:
            base = platform.url("intake")
            for concurrency in (1, 8):
                rate, lat = asyncio.run(web_reports(base, args.reports, concurrency, image))
                q = statistics.quantiles(lat, n=100)
                print(
                    f"web report with a {len(image) / 1e6:.1f} MB photo, {concurrency} at a time: "
                    f"{rate:.1f}/s, p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms"
                )
        finally:
            platform.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
