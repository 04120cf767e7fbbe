"""Cross-site request forgery on the citizens' forms (reporting, replying, adding
information, consenting, signing in and out), the consoles' protection adapted to
citizens who have no sign-in:

- Every page gives its forms a token: an HMAC, keyed with the platform's secret, of a
  random value kept in an HttpOnly, SameSite=Strict cookie (``aduan_form``). A page on
  another site, or on another port of the same host (SameSite does not tell ports
  apart), can neither read the token nor make one for a cookie it plants.
- A browser's post (it says where it comes from: ``Origin``, ``Sec-Fetch-Site``) must
  come from this site and carry the token; otherwise 403. A program posting without a
  browser's headers holds no citizen's cookies to abuse, and is not asked for one (the
  REST API and Open311 are the programs' way in).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from fastapi.responses import Response

from services.settings import KitSettings

COOKIE = "aduan_form"
FIELD = "csrf"
_VALUE = re.compile(r"^[A-Za-z0-9_-]{24,64}$")
FORGED = (
    "Formulir kedaluwarsa atau dari situs lain; muat ulang halaman. / "
    "Stale or forged form: reload the page."
)


def key() -> bytes:
    """The key of the citizens' form tokens (the platform's secret)."""
    return (KitSettings().auth_secret_value() or "").encode()


def _sign(value: str) -> str:
    return hmac.new(key(), b"citizen-form:" + value.encode(), hashlib.sha256).hexdigest()[:32]


def token(request: Request) -> tuple[str, str | None]:
    """The token for this browser's forms, and a new cookie value to set (or None)."""
    value = request.cookies.get(COOKIE, "")
    if _VALUE.match(value):
        return _sign(value), None
    value = secrets.token_urlsafe(24)
    return _sign(value), value


def remember(request: Request, response: Response, new_value: str | None) -> None:
    """Set the form cookie when the page made one."""
    if new_value is not None:
        response.set_cookie(
            COOKIE,
            new_value,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=30 * 86400,
        )


def _own_origins(request: Request, public_base_url: str | None) -> set[str]:
    own = {f"{request.url.scheme}://{request.url.netloc}"}
    if public_base_url:
        parts = urlsplit(public_base_url)
        own.add(f"{parts.scheme}://{parts.netloc}")
    return own


async def check(request: Request, public_base_url: str | None = None) -> None:
    """Refuse a browser's post that comes from elsewhere or without this browser's token."""
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    if origin is None and site is None:
        return  # not a browser
    if site is not None and site not in ("same-origin", "none"):
        raise HTTPException(403, FORGED)
    # "null": our own pages send no referrer, so a browser without Sec-Fetch-Site says
    # Origin: null for their posts too; the token decides.
    if origin not in (None, "null") and origin not in _own_origins(request, public_base_url):
        raise HTTPException(403, FORGED)
    form = await request.form()
    given = str(form.get(FIELD, ""))
    value = request.cookies.get(COOKIE, "")
    if not _VALUE.match(value) or not hmac.compare_digest(given, _sign(value)):
        raise HTTPException(403, FORGED)
