"""HTTP helpers shared by every service: language choice and clear, bilingual errors.

Validation errors never echo the input back (it may hold personal data); they name the
field and what is wrong, in Indonesian first and English beside it.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services import i18n
from services.i18n import N_

_MESSAGES_EN: dict[str, str] = {
    "missing": N_("validation", "is required"),
    "string_too_short": N_("validation", "is too short"),
    "string_too_long": N_("validation", "is too long"),
    "string_pattern_mismatch": N_("validation", "has the wrong format"),
    "string_type": N_("validation", "must be text"),
    "bool_parsing": N_("validation", "must be true or false"),
    "bool_type": N_("validation", "must be true or false"),
    "literal_error": N_("validation", "is not an allowed value"),
    "value_error": N_("validation", "is not valid"),
    "json_invalid": N_("validation", "is not valid JSON"),
    "model_attributes_type": N_("validation", "must be an object"),
    "dict_type": N_("validation", "must be an object"),
    "extra_forbidden": N_("validation", "is not a known field"),
}
_MESSAGES: dict[str, tuple[str, str]] = i18n.pairs("validation", _MESSAGES_EN)


def language(request: Request) -> str:
    """``en`` if the caller asked for English (``?lang=en`` or Accept-Language), else ``id``."""
    explicit = request.query_params.get("lang")
    if explicit in ("id", "en"):
        return explicit
    accept = request.headers.get("accept-language", "")
    first = accept.split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "id"


def install_error_handlers(app: FastAPI) -> None:
    """Replace FastAPI's 422 body with one that names fields and never echoes input."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = language(request)
        details = []
        for err in exc.errors()[:20]:
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            field = ".".join(loc) or "body"
            pair = _MESSAGES.get(err.get("type", ""), ("tidak valid", "is not valid"))
            custom = err.get("ctx", {}).get("error") if err.get("type") == "value_error" else None
            text = str(custom) if custom else (pair[1] if lang == "en" else pair[0])
            details.append({"field": field, "code": err.get("type", "invalid"), "msg": text})
        summary = (
            "The request has invalid fields." if lang == "en" else "Ada isian yang tidak valid."
        )
        return JSONResponse({"error": summary, "detail": details}, status_code=422)


def new_nonce() -> str:
    """A fresh nonce for one page's inline scripts."""
    return secrets.token_urlsafe(16)


def page_csp(nonce: str, images_from: str | None = None, forms_to: str = "") -> str:
    """The pages' Content-Security-Policy: scripts only from here or with this page's
    nonce (no inline script without it, no inline event handler), nothing framed; images
    from here (and a map's tile server, when given); forms post here, or to (and redirect
    to) the origins in ``forms_to`` (the staff sign-in page and the consoles)."""
    images = f"img-src 'self' data: {images_from}; " if images_from else ""
    forms = f"'self' {forms_to}".strip()
    return (
        f"default-src 'self'; {images}style-src 'self' 'unsafe-inline'; "
        f"script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'; "
        f"form-action {forms}; frame-ancestors 'none'"
    )


# FastAPI's /docs and /redoc load Swagger UI and ReDoc from jsDelivr with inline scripts:
# that much, and never in a frame.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# Answers that are data, never a page to render.
_DATA_CSP = "default-src 'none'; frame-ancestors 'none'"


class SecurityHeaders:
    """Every answer says ``X-Content-Type-Options: nosniff``; the API docs get their CSP
    and frame protection; JSON answers a CSP that runs nothing. A pure ASGI middleware:
    streamed answers (the regions' server-sent events) pass untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        docs = path in ("/docs", "/redoc", "/docs/oauth2-redirect")

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if docs:
                    headers.append((b"content-security-policy", _DOCS_CSP.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                elif b"content-security-policy" not in names and any(
                    k.lower() == b"content-type" and v.startswith(b"application/json")
                    for k, v in headers
                ):
                    headers.append((b"content-security-policy", _DATA_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
