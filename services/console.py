"""What every staff console shares: sign-in through the one staff sign-in page, CSRF
protection for its forms, Indonesian and English, and the page frame.

A person who is not signed in is sent to the staff sign-in page, which routing serves
for every console (routing/staff.py, decision 0016). Once they are signed in it sends
them back to the console's ``/session`` with a one-minute grant, which the console
exchanges for its own short-lived token (services/auth.py) kept in an HttpOnly,
SameSite=Strict cookie. The console renews that token while it is used, never past the
session's end, and refuses it as soon as the session or the account is revoked
(services/staffgate.py). Each form carries a CSRF token derived from it, so a page of
another site cannot post in a member of staff's name.

No console page asks for a raw token; ``aduan token``'s tokens still work as a bearer
token on the APIs and, for tests and scripts, in a console's cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from services import auth, i18n
from services.auth import InvalidToken, Role, Staff
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
    "bad_token": N_("console", "The sign-in link has expired; please sign in again."),
    "wrong_role": N_("console", "Your role cannot open this console."),
    "signed_in_as": N_("console", "Signed in as"),
    "my_account": N_("console", "My account"),
    "language": N_("console", "Bahasa Indonesia"),
}
WORDS: dict[str, tuple[str, str]] = i18n.pairs("console", _WORDS_EN)


def secret() -> str:
    """The staff tokens' signing secret (503 when the platform has none)."""
    value = KitSettings().auth_secret_value()
    if not value:
        raise HTTPException(503, "Login staf belum dikonfigurasi / staff sign-in not configured")
    return value


def csrf_token(token: str, purpose: str = "csrf") -> str:
    """The CSRF value that goes with a signed-in token (``purpose`` keeps one page's value
    from serving another's)."""
    message = f"{purpose}:".encode() + token.encode()
    return hmac.new(secret().encode(), message, hashlib.sha256).hexdigest()[:32]


# How long after its token expired an idle console may still renew it (its session
# permitting): a person writing a long reply keeps their text.
IDLE = timedelta(minutes=30)


def signin_url(request: Request) -> str:
    """The staff sign-in page's base address (routing's)."""
    configured = KitSettings().aduan_staff_signin_url.rstrip("/")
    return configured or str(request.base_url).rstrip("/")


def cookie_header(name: str, value: str, request: Request, max_age: int | None = None) -> str:
    """A console cookie's ``Set-Cookie`` value: HttpOnly, SameSite=Strict, Secure on HTTPS."""
    response = Response()
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response.headers["set-cookie"]


class _Redeemed:
    """The grants this process has exchanged in the last minutes (each works once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def first_time(self, jti: str) -> bool:
        now = time.monotonic()
        with self._lock:
            for old in [j for j, at in self._seen.items() if now - at > 300]:
                del self._seen[old]
            if jti in self._seen:
                return False
            self._seen[jti] = now
            return True


REDEEMED = _Redeemed()


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
        """The signed-in member of staff with a role of this console, if any; their
        token is renewed on the response when it nears its end."""
        if hasattr(request.state, "console_staff"):
            cached: Staff | None = request.state.console_staff
            return cached
        token = request.cookies.get(self.cookie)
        member = None
        if token:
            checked = auth.renew(secret(), token, IDLE)
            if checked is not None and checked[0].role in self.roles:
                member, fresh = checked
                if fresh is not None:
                    request.state.console_token = fresh
                    cookies = getattr(request.state, "set_cookies", [])
                    request.state.set_cookies = [
                        *cookies,
                        cookie_header(self.cookie, fresh, request),
                    ]
        request.state.console_staff = member
        return member

    def token(self, request: Request) -> str:
        """The console token this request carries (renewed, if it was)."""
        return getattr(request.state, "console_token", None) or request.cookies.get(self.cookie, "")

    def check_form(self, request: Request, csrf: str) -> Staff:
        """The staff member behind a form post, refusing forged or stale posts."""
        member = self.staff(request)
        token = request.cookies.get(self.cookie, "")
        if member is None:
            raise HTTPException(401, "silakan masuk / please sign in")
        # The form's CSRF value was made from the token the page was rendered with; a
        # renewed token keeps the same session, so either token's value is accepted.
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

        staff = self.staff(request)
        token = self.token(request)
        nonce = new_nonce()
        frame: dict[str, Any] = {
            "t": t,
            "nonce": nonce,
            "lang": lang,
            "other_lang": LANGUAGES[1 - index],
            "title": self.title[index],
            "prefix": self.prefix,
            "staff": staff,
            "account_url": f"{signin_url(request)}/auth/account",
            "csrf": csrf_token(token) if token and staff else "",
            "path": request.url.path,
        }
        page = self.env.get_template(template).render({**frame, **values})
        response = HTMLResponse(page, status_code=status)
        response.headers["Content-Security-Policy"] = page_csp(
            nonce, forms_to=self.forms_to(request)
        )
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

    def forms_to(self, request: Request) -> str:
        """Where this console's forms may lead, besides itself: the sign-in page (signing
        out goes there)."""
        return _origin(signin_url(request))

    def login_redirect(self, request: Request) -> RedirectResponse:
        """To the staff sign-in page, which sends the person back here afterwards."""
        back = f"{str(request.base_url).rstrip('/')}{self.prefix}/session?" + urlencode(
            {"next": _safe_next(request.url.path, self.prefix)}
        )
        return RedirectResponse(
            f"{signin_url(request)}/auth/login?" + urlencode({"to": back}), status_code=303
        )

    def router(self) -> APIRouter:
        """The console's side of signing in and out, under its prefix."""
        router = APIRouter(prefix=self.prefix, include_in_schema=False)

        @router.get("/login")
        def login_page(request: Request, next: str = "") -> Response:
            if self.staff(request) is not None:
                return RedirectResponse(_safe_next(next, self.prefix), status_code=303)
            request.scope["path"] = _safe_next(next, self.prefix)
            return self.login_redirect(request)

        @router.get("/session")
        def session(request: Request, grant: str = "", next: str = "") -> Response:
            """The sign-in page's grant, exchanged once for this console's token."""
            try:
                member, signed_in, jti = auth.redeem_grant(secret(), grant[:4096])
            except InvalidToken:
                return self.render(request, "console_login.html", 401, error="bad_token")
            if not REDEEMED.first_time(jti):
                return self.render(request, "console_login.html", 401, error="bad_token")
            if member.role not in self.roles:
                return self.render(request, "console_login.html", 403, error="wrong_role")
            token = auth.issue(
                secret(), member.sub, member.role, member.agency_id, auth.ACCESS_TTL, signed_in
            )
            response = RedirectResponse(_safe_next(next, self.prefix), status_code=303)
            response.headers.append("set-cookie", cookie_header(self.cookie, token, request))
            return response

        @router.post("/logout")
        def logout(request: Request, csrf: str = Form("")) -> Response:
            member = self.check_form(request, csrf)
            ticket = ""
            if member.sid:
                ticket = auth.issue_signout(secret(), member)
            response = RedirectResponse(
                f"{signin_url(request)}/auth/logout?" + urlencode({"ticket": ticket}),
                status_code=303,
            )
            response.delete_cookie(self.cookie, path="/")
            return response

        return router


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def console_origins() -> list[str]:
    """The consoles' origins the sign-in page may send people back to."""
    return [
        o.strip().rstrip("/") for o in KitSettings().aduan_console_origins.split(",") if o.strip()
    ]


def allowed_return(target: str) -> bool:
    """Whether the sign-in page may send a person to ``target``: a console's
    ``/session`` on one of the configured console origins (no open redirect)."""
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}"
    origins = set(console_origins())
    return (
        parts.scheme in ("http", "https")
        and origin in origins
        and parts.path.endswith("/session")
        and "\\" not in target
    )


def _safe_next(target: str, prefix: str) -> str:
    """Only a path inside this console (no open redirect to another site)."""
    if target.startswith(prefix + "/") and "//" not in target and "\\" not in target:
        return target
    return prefix + "/"
