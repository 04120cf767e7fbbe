"""Stand-ins for the two internet services the report map uses, so that tests send
nothing off this machine: a tile server (one plain tile for every z/x/y) and a reverse
geocoder that answers as Nominatim does (``/reverse?format=jsonv2``), from a few boxes
of real places with the address keys OpenStreetMap's Indonesian boundaries give them.
Intake's matching of those names to Kemendagri codes (intake/places.py) is what runs
for real.
"""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

# (south, west, north, east) -> the address Nominatim gives a point inside.
PLACES: list[tuple[tuple[float, float, float, float], dict[str, str]]] = [
    (
        (-6.915, 107.585, -6.895, 107.605),  # Cicendo, in the city of Bandung
        {
            "road": "Jalan Pajajaran",
            "village": "Pasirkaliki",
            "city_district": "Cicendo",
            "city": "Bandung",
            "state": "Jawa Barat",
            "ISO3166-2-lvl4": "ID-JB",
            "region": "Jawa",
            "postcode": "40171",
            "country": "Indonesia",
            "country_code": "id",
        },
    ),
    (
        (-7.05, 107.50, -7.00, 107.55),  # Soreang, in the regency of Bandung
        {
            "village": "Soreang",
            "municipality": "Soreang",
            "county": "Bandung",
            "state": "Jawa Barat",
            "ISO3166-2-lvl4": "ID-JB",
            "country": "Indonesia",
            "country_code": "id",
        },
    ),
    (
        (1.25, 103.6, 1.5, 104.1),  # across the strait: not Indonesia
        {"city": "Singapore", "country": "Singapore", "country_code": "sg"},
    ),
]


def _tile() -> bytes:
    img = Image.new("RGB", (256, 256), "#e8ecef")
    draw = ImageDraw.Draw(img)
    for k in range(0, 256, 64):
        draw.line([(k, 0), (k, 255)], fill="#cfd6dc")
        draw.line([(0, k), (255, k)], fill="#cfd6dc")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


class MapStandIn:
    """Serves tiles at ``tiles_url`` and answers reverse look-ups at ``geocoder_url``;
    ``asked`` keeps what each look-up sent (its query and User-Agent)."""

    def __init__(self) -> None:
        tile = _tile()
        asked: list[dict[str, Any]] = []
        self.asked = asked

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path.startswith("/tiles/"):
                    self._send(200, "image/png", tile)
                    return
                if url.path != "/reverse":
                    self._send(404, "text/plain", b"not found")
                    return
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                asked.append({**q, "user_agent": self.headers.get("User-Agent", "")})
                lat, lon = float(q["lat"]), float(q["lon"])
                for (s, w, n, e), address in PLACES:
                    if s <= lat <= n and w <= lon <= e:
                        body = {"lat": q["lat"], "lon": q["lon"], "address": address}
                        break
                else:
                    body = {"error": "Unable to geocode"}
                self._send(200, "application/json", json.dumps(body).encode())

            def _send(self, status: int, kind: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def tiles_url(self) -> str:
        return self.base + "/tiles/{z}/{x}/{y}.png"

    @property
    def geocoder_url(self) -> str:
        return self.base + "/reverse"

    def __enter__(self) -> MapStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
