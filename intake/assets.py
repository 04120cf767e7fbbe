"""What the citizens' site serves from itself: its own scripts, the web app manifest and
service worker (installable, offline drafts), and the npm packages it uses (Leaflet),
installed from the npm registry by ``make`` (``npm ci``: package-lock.json). Never a CDN.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from intake.settings import IntakeSettings
from services.runtime import runtime_of

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
# Beside the code in a checkout (make's npm ci); INTAKE_ASSETS_DIR elsewhere.
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
# The npm packages served, each from one folder of its own.
PACKAGES = {"leaflet": "leaflet/dist"}
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,80}\.(?:js|css|png|svg|webmanifest|json)")
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
}
NOT_FOUND = "tidak ditemukan / not found"


def _file(folder: Path, name: str, cache: str) -> Response:
    """One file of a folder by a plain name (no path: nothing outside the folder)."""
    if not _NAME.fullmatch(name):
        raise HTTPException(404, NOT_FOUND)
    path = folder / name
    if not path.is_file():
        raise HTTPException(404, NOT_FOUND)
    return FileResponse(
        path,
        media_type=_TYPES[path.suffix],
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )


def assets_dir(request: Request) -> Path:
    settings = runtime_of(request).definition.settings
    assert isinstance(settings, IntakeSettings)
    return settings.assets_dir or NODE_MODULES


@router.get("/static/{name}")
def own(name: str) -> Response:
    """The site's own scripts and icons (short cache: they change with a release)."""
    return _file(STATIC, name, "public, max-age=300")


@router.get("/vendor/{package}/{name:path}")
def vendor(request: Request, package: str, name: str) -> Response:
    """A file of an npm package the site uses (``/vendor/leaflet/leaflet.js``,
    ``/vendor/leaflet/images/marker-icon.png``): one level of folders at most."""
    if package not in PACKAGES:
        raise HTTPException(404, NOT_FOUND)
    folder = assets_dir(request) / PACKAGES[package]
    sub, _, base = name.rpartition("/")
    if sub:
        if not re.fullmatch(r"[a-z]{1,20}", sub):
            raise HTTPException(404, NOT_FOUND)
        folder = folder / sub
    return _file(folder, base, "public, max-age=86400")


@router.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: Aduan can be added to a phone's home screen."""
    return _file(STATIC, "manifest.webmanifest", "public, max-age=3600")


@router.get("/sw.js")
def service_worker() -> Response:
    """The service worker, at the root so that it controls every citizen page; never
    cached by HTTP (a new release reaches phones at their next visit)."""
    response = _file(STATIC, "sw.js", "no-cache")
    response.headers["Service-Worker-Allowed"] = "/"
    return response
