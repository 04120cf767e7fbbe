"""What every staff console shares: sign-in with a staff token kept in a cookie, CSRF
protection for its forms, Indonesian and English, and the page frame.

Staff sign in with the same signed token as the APIs (services/auth.py; issued by
``aduan token`` or, later, an OpenID Connect provider). The console keeps it in an
HttpOnly, SameSite=Strict cookie; each form carries a CSRF token derived from it, so a
page of another site cannot post in a verifier's name.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from services import i18n
from services.auth import InvalidToken, Role, Staff, verify
from services.http import new_nonce, page_csp
from services.i18n import N_
from services.settings import KitSettings

log = logging.getLogger("aduan.console")
COOKIE = "aduan_staff"
# Each console keeps its own sign-in (one console's must not replace another's on the same
# host); links a console opens on intake (files, an identity) accept any of them.
CONSOLE_COOKIES = (f"{COOKIE}_routing", f"{COOKIE}_verification")
# What a console says for a message it has no text for.
GENERIC = ("Terjadi kesalahan; silakan coba lagi.", "Something went wrong; please try again.")
LANG_COOKIE = "aduan_lang"
LANGUAGES = ("id", "en")
_KIT_TEMPLATES = Path(__file__).parent / "templates"

# The frame's own words; each console adds its own table.
_WORDS_EN: dict[str, str] = {
    "sign_in": N_("console", "Sign in"),
    "sign_out": N_("console", "Sign out"),
    "token": N_("console", "Staff token"),
    "token_help": N_(
        "console",
        "Paste the token your administrator (aduan token) or sign-in provider gave you.",
    ),
    "bad_token": N_("console", "The token is invalid or expired."),
    "wrong_role": N_("console", "Your role cannot open this console."),
    "signed_in_as": N_("console", "Signed in as"),
    "language": N_("console", "Bahasa Indonesia"),
}
WORDS: dict[str, tuple[str, str]] = i18n.pairs("console", _WORDS_EN)


def secret() -> str:
    """The staff tokens' signing secret (503 when the platform has none)."""
    value = KitSettings().auth_secret_value()
    if not value:
        raise HTTPException(503, "Login staf belum dikonfigurasi / staff sign-in not configured")
    return value


def csrf_token(token: str) -> str:
    """The CSRF value that goes with a signed-in token."""
    return hmac.new(secret().encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:32]


def language(request: Request) -> str:
    """The console's language: ?lang=, else the cookie, else Indonesian."""
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "id"
    return wanted if wanted in LANGUAGES else "id"


class Console:
    """One service's console: its URL prefix, who may use it, and its templates."""

    def __init__(
        self,
        prefix: str,
        title: tuple[str, str],
        roles: Iterable[Role],
        templates: Path,
        words: Mapping[str, tuple[str, str]],
        name: str | None = None,
    ) -> None:
        self.cookie = f"{COOKIE}_{name}" if name else COOKIE
        self.prefix = prefix
        self.title = title
        self.roles = tuple(roles)
        self.words = {**WORDS, **words}
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(templates), FileSystemLoader(_KIT_TEMPLATES)]),
            autoescape=select_autoescape(["html"]),
        )

    def staff(self, request: Request) -> Staff | None:
        """The signed-in member of staff with a role of this console, if any."""
        token = request.cookies.get(self.cookie)
        if not token:
            return None
        try:
            member = verify(secret(), token)
        except InvalidToken:
            return None
        return member if member.role in self.roles else None

    def check_form(self, request: Request, csrf: str) -> Staff:
        """The staff member behind a form post, refusing forged or stale posts."""
        member = self.staff(request)
        token = request.cookies.get(self.cookie, "")
        if member is None:
            raise HTTPException(401, "silakan masuk / please sign in")
        if not hmac.compare_digest(csrf, csrf_token(token)):
            raise HTTPException(403, "formulir kedaluwarsa / stale or forged form")
        return member

    def render(self, request: Request, template: str, status: int = 200, **values: Any) -> Response:
        """A page in the console's language, with the frame's values."""
        lang = language(request)
        index = LANGUAGES.index(lang)

        def t(key: str) -> str:
            found = self.words.get(key)
            if found is None:  # a key from a link (?error=...): never a 500
                log.warning("no console text for %r", key[:64])
                return GENERIC[index]
            return found[index]

        token = request.cookies.get(self.cookie, "")
        nonce = new_nonce()
        page = self.env.get_template(template).render(
            t=t,
            nonce=nonce,
            lang=lang,
            other_lang=LANGUAGES[1 - index],
            title=self.title[index],
            prefix=self.prefix,
            staff=self.staff(request),
            csrf=csrf_token(token) if token else "",
            path=request.url.path,
            **values,
        )
        response = HTMLResponse(page, status_code=status)
        response.headers["Content-Security-Policy"] = page_csp(nonce)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=365 * 86400,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return response

    def login_redirect(self, request: Request) -> RedirectResponse:
        """To the sign-in page, coming back here afterwards."""
        return RedirectResponse(
            f"{self.prefix}/login?next={quote(request.url.path)}", status_code=303
        )

    def router(self) -> APIRouter:
        """Sign-in and sign-out pages under the console's prefix."""
        router = APIRouter(prefix=self.prefix, include_in_schema=False)

        @router.get("/login")
        def login_page(request: Request, next: str = "") -> Response:
            return self.render(request, "console_login.html", next=_safe_next(next, self.prefix))

        @router.post("/login")
        def login(
            request: Request, token: str = Form(max_length=4096), next: str = Form("")
        ) -> Response:
            token = token.strip()
            try:
                member = verify(secret(), token)
            except InvalidToken:
                return self.render(request, "console_login.html", 401, error="bad_token", next=next)
            if member.role not in self.roles:
                return self.render(
                    request, "console_login.html", 403, error="wrong_role", next=next
                )
            response = RedirectResponse(_safe_next(next, self.prefix), status_code=303)
            response.set_cookie(
                self.cookie,
                token,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
            return response

        @router.post("/logout")
        def logout(request: Request, csrf: str = Form("")) -> Response:
            self.check_form(request, csrf)
            response = RedirectResponse(f"{self.prefix}/login", status_code=303)
            response.delete_cookie(self.cookie, path="/")
            return response

        return router


def _safe_next(target: str, prefix: str) -> str:
    """Only a path inside this console (no open redirect to another site)."""
    if target.startswith(prefix + "/") and "//" not in target and "\\" not in target:
        return target
    return prefix + "/"
