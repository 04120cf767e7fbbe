"""The staff sign-in page of every console, and staff accounts' pages (``/auth``).

- ``/auth/login``: email and password, then the TOTP code when the account has one;
  afterwards back to the console that sent the person (``to``: a console's ``/session``
  on a configured origin) with a one-minute grant, or to their account page.
- ``/auth/invitation/{token}``: a one-time link sets the password and the second factor.
- ``/auth/account``: one's own sessions (sign out any of them) and consoles.
- ``/auth/staff``: administrators (everyone) and coordinators (their units' officers)
  invite, disable, enable, reset and sign out staff, and read the audit.

The pages authenticate with the sign-in cookie against the sessions table itself, so a
revocation counts here at once. Account logic is in routing/staff.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import jwt
from authlib.common.errors import AuthlibBaseError
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session, select

from routing import api, staff
from routing.models import Agency, StaffAccount, StaffSession
from services import auth, i18n, localtime
from services.auth import AGENCY_ROLES, Role
from services.console import (
    Console,
    allowed_return,
    console_origins,
    csrf_token,
    language,
    secret,
    signin_url,
)
from services.i18n import N_
from services.ratelimit import Limited, Limiter, client_ip
from services.runtime import ServiceRuntime, runtime_of

T = TypeVar("T")
COOKIE = "aduan_signin"
STEP_COOKIE = "aduan_signin_step"
STEP_AUDIENCE = "aduan-staff-step"
ENROL_AUDIENCE = "aduan-staff-enrol"
# Per address, two limits. Failed attempts (a wrong password or code, a locked or disabled
# account, a link that does not exist): 10 a minute, bursts of 10, against guessing across
# accounts (each account also locks after five failures in a row). Every attempt: 60 a
# minute, bursts of 30, a bound on password hashing that an office's staff signing in
# behind one address do not reach. Successful sign-ins count only in the second.
FAILURES = Limiter(10, 60.0, 10)
ATTEMPTS = Limiter(60, 60.0, 30)


def _wait(ip: str) -> int | None:
    """Whole seconds ``ip`` must wait before trying again, or None if it may try now (the
    try takes one of its attempts)."""
    try:
        FAILURES.spent(ip)
        ATTEMPTS.hit(ip)
    except Limited as exc:
        return max(1, math.ceil(exc.retry_after))
    return None


def _retry_after(response: Response, seconds: int) -> Response:
    response.headers["Retry-After"] = str(seconds)
    return response


def _failed_from(ip: str) -> None:
    """A failed attempt from ``ip`` takes one of its failures."""
    with contextlib.suppress(Limited):  # already at the limit: the next try is refused
        FAILURES.hit(ip)


_WORDS_EN: dict[str, str] = {
    "signin_title": N_("staff_signin", "Staff sign-in"),
    "email": N_("staff_signin", "Email address"),
    "password": N_("staff_signin", "Password"),
    "password_again": N_("staff_signin", "Password again"),
    "next": N_("staff_signin", "Continue"),
    "code": N_("staff_signin", "Code from your authenticator app"),
    "code_help": N_(
        "staff_signin", "Open the authenticator app on your phone and type the 6 digits."
    ),
    "bad_credentials": N_("staff_signin", "The email address or password is wrong."),
    "bad_code": N_("staff_signin", "The code is wrong or was already used; wait for a new one."),
    "locked": N_(
        "staff_signin",
        "Too many wrong attempts: the account is locked for 15 minutes. "
        "An administrator can reset it.",
    ),
    "too_many": N_("staff_signin", "Too many attempts from this address; wait a minute."),
    "step_expired": N_("staff_signin", "That took too long; please sign in again."),
    "no_totp_admin": N_(
        "staff_signin",
        "Administrators need a second factor; ask another administrator to reset your account.",
    ),
    "ready": N_("staff_signin", "Your account is ready: sign in."),
    "signed_out": N_("staff_signin", "You have signed out."),
    "sign_out_everywhere": N_("staff_signin", "Sign out"),
    "link_invalid": N_("staff_signin", "This link is not valid (it was used or replaced)."),
    "link_expired": N_("staff_signin", "This link has expired; ask for a new one."),
    "set_password_title": N_("staff_signin", "Set your password"),
    "reset_title": N_("staff_signin", "Choose a new password"),
    "welcome": N_("staff_signin", "Welcome, {name}. Your role: {role}."),
    "pw_rules": N_(
        "staff_signin",
        "At least 12 characters; not your email address. A short sentence is easy to remember.",
    ),
    "pw_short": N_("staff_signin", "The password needs at least 12 characters."),
    "pw_long": N_("staff_signin", "The password may have at most 256 characters."),
    "pw_personal": N_("staff_signin", "The password may not contain your email address."),
    "pw_simple": N_("staff_signin", "The password is too simple; use more different characters."),
    "pw_differ": N_("staff_signin", "The two passwords differ."),
    "totp_title": N_("staff_signin", "Second factor (TOTP)"),
    "totp_scan": N_(
        "staff_signin",
        "Scan this code with an authenticator app (for example FreeOTP or Google "
        "Authenticator), or type the key, then enter the 6 digits it shows.",
    ),
    "totp_key": N_("staff_signin", "Key"),
    "totp_required": N_("staff_signin", "Administrators must set up the second factor."),
    "totp_optional": N_("staff_signin", "Recommended; leave the code empty to skip."),
    "account_title": N_("staff_signin", "My account"),
    "role": N_("staff_signin", "Role"),
    "agency": N_("staff_signin", "Agency or unit"),
    "consoles": N_("staff_signin", "Consoles"),
    "agency_console": N_("staff_signin", "Agencies' console"),
    "verification_console": N_("staff_signin", "Verification console"),
    "staff_title": N_("staff_signin", "Staff"),
    "sessions": N_("staff_signin", "Signed-in sessions"),
    "this_session": N_("staff_signin", "this one"),
    "started": N_("staff_signin", "Signed in"),
    "ends": N_("staff_signin", "Ends"),
    "device": N_("staff_signin", "Device"),
    "address": N_("staff_signin", "Address"),
    "revoke": N_("staff_signin", "Sign out this session"),
    "invite_title": N_("staff_signin", "Invite a member of staff"),
    "name": N_("staff_signin", "Name"),
    "invite": N_("staff_signin", "Send the invitation"),
    "invited": N_("staff_signin", "The invitation was sent to {email}."),
    "status": N_("staff_signin", "Status"),
    "active": N_("staff_signin", "active"),
    "disabled": N_("staff_signin", "disabled"),
    "invited_state": N_("staff_signin", "invited"),
    "locked_state": N_("staff_signin", "locked"),
    "last_sign_in": N_("staff_signin", "Last sign-in"),
    "disable": N_("staff_signin", "Disable"),
    "enable": N_("staff_signin", "Enable"),
    "reset": N_("staff_signin", "Reset password"),
    "done_disable": N_("staff_signin", "The account is disabled; its sessions are ended."),
    "done_enable": N_("staff_signin", "The account is enabled."),
    "done_reset": N_("staff_signin", "A link to set a new password was sent."),
    "done_revoke": N_("staff_signin", "The session is ended."),
    "audit": N_("staff_signin", "Recent activity"),
    "when": N_("staff_signin", "When"),
    "who": N_("staff_signin", "Who"),
    "what": N_("staff_signin", "What"),
    "email_taken": N_("staff_signin", "There is already an account with this email address."),
    "agency_unknown": N_("staff_signin", "No active agency or unit has this id."),
    "agency_not_unit": N_("staff_signin", "A unit officer belongs to a unit or kecamatan."),
    "agency_is_unit": N_("staff_signin", "A coordinator belongs to an agency, not a unit."),
    "agency_not_needed": N_("staff_signin", "This role belongs to no agency."),
    "not_yours": N_(
        "staff_signin", "You may invite or manage only the officers of your agency's units."
    ),
    "bad_form": N_("staff_signin", "The form is incomplete or invalid."),
    "role_administrator": N_("staff_role", "National administrator"),
    "role_verifier": N_("staff_role", "Verifier"),
    "role_coordinator": N_("staff_role", "Agency coordinator"),
    "role_unit_officer": N_("staff_role", "Unit officer"),
    "role_monitor": N_("staff_role", "Monitor (read-only)"),
    "role_agency_officer": N_("staff_role", "Agency officer"),
    "oidc": N_("staff_signin", "Sign in with {provider}"),
    "or": N_("staff_signin", "or"),
}
_ACTIONS_EN: dict[str, str] = {
    "signed_in": N_("staff_audit", "signed in"),
    "sign_in_failed": N_("staff_audit", "sign-in failed"),
    "locked": N_("staff_audit", "locked after wrong attempts"),
    "signed_out": N_("staff_audit", "signed out"),
    "session_revoked": N_("staff_audit", "session ended"),
    "account_disabled": N_("staff_audit", "account disabled"),
    "account_enabled": N_("staff_audit", "account enabled"),
    "account_changed": N_("staff_audit", "role or agency changed"),
    "password_reset": N_("staff_audit", "password reset"),
    "link_invitation": N_("staff_audit", "invitation sent"),
    "link_reset": N_("staff_audit", "reset link sent"),
    "invitation_used": N_("staff_audit", "password set"),
    "reset_used": N_("staff_audit", "new password set"),
}
ACTIONS = i18n.pairs("staff_audit", _ACTIONS_EN)
WORDS = {
    **i18n.pairs("staff_signin", {k: v for k, v in _WORDS_EN.items() if not k.startswith("role_")}),
    **i18n.pairs("staff_role", {k: v for k, v in _WORDS_EN.items() if k.startswith("role_")}),
}


class SignInPages(Console):
    """The console frame for the sign-in pages: their forms lead back to the consoles."""

    def forms_to(self, request: Request) -> str:
        return " ".join(console_origins())


pages = SignInPages(
    "/auth",
    ("Aduan: staf", "Aduan: staff"),
    tuple(Role),
    Path(__file__).parent / "templates",
    WORDS,
    name="auth",
)
router = APIRouter(prefix="/auth", include_in_schema=False)


# --- helpers -------------------------------------------------------------------------


def _runtime(request: Request) -> ServiceRuntime:
    return runtime_of(request)


async def _read(request: Request, work: Callable[[Session], T]) -> T:
    return await api._read(_runtime(request), work)


async def _write(request: Request, work: Callable[[Session], T]) -> T:
    return await api._write(_runtime(request), work)


def _ip(request: Request) -> str:
    return client_ip(request)


def _csrf(token: str) -> str:
    return csrf_token(token, "signin-csrf")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _set(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/auth",
    )


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device(user_agent: str | None) -> str:
    """A session's browser and system in two words ("Chrome, Android"), for people to
    recognise their sessions; the raw header when it names neither."""
    agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in agent), "")
    return ", ".join(filter(None, (browser, system))) or agent[:60]


def _render(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    lang = language(request)
    i = 0 if lang == "id" else 1
    return pages.render(
        request,
        template,
        status,
        role_name=lambda r: WORDS.get(f"role_{r}", (r, r))[i],
        action_name=lambda a: ACTIONS.get(a, (a, a))[i],
        when=lambda at: localtime.format_local(at, None, lang, short=True) if at else "",
        device=device,
        **values,
    )


def _to(target: str) -> str:
    """Where to send the person once signed in, if it is a console's."""
    return target if target and allowed_return(target) else ""


def _send_back(request: Request, target: str, account: StaffAccount, row: StaffSession) -> str:
    """The console address with its grant, or the account page."""
    if not target:
        return "/auth/account"
    member = auth.Staff(
        sub=account.id, role=Role(account.role), agency_id=account.agency_id, sid=row.id
    )
    started = staff._aware(row.created_at)
    grant = auth.issue_grant(
        secret(), member, auth.Session(row.id, started, staff._aware(row.expires_at))
    )
    return f"{target}&{urlencode({'grant': grant})}" if "?" in target else f"{target}?grant={grant}"


async def _signed_in(request: Request) -> tuple[StaffSession, StaffAccount] | None:
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    return await _read(request, lambda s: staff.current(s, token))


def _check_csrf(request: Request, csrf: str) -> None:
    if not hmac.compare_digest(csrf, _csrf(request.cookies.get(COOKIE, ""))):
        raise HTTPException(403, "formulir kedaluwarsa / stale or forged form")


def _sign(audience: str, subject: str, ttl: timedelta, **claims: Any) -> str:
    """A short signed value for one step of signing in (a cookie, a form field)."""
    return jwt.encode(
        {
            "iss": auth.ISSUER,
            "aud": audience,
            "sub": subject,
            "exp": staff.now() + ttl,
            **claims,
        },
        secret(),
        algorithm=auth.ALGORITHM,
    )


def _unsign(audience: str, value: str) -> dict[str, Any] | None:
    """What :func:`_sign` signed for ``audience``, unless forged or expired."""
    try:
        return dict(
            jwt.decode(
                value, secret(), algorithms=[auth.ALGORITHM], audience=audience, issuer=auth.ISSUER
            )
        )
    except jwt.PyJWTError:
        return None


def _step_token(account_id: str, to: str, method: str) -> str:
    return _sign(STEP_AUDIENCE, account_id, timedelta(minutes=5), to=to, method=method)


def _finish(
    request: Request, account_id: str, method: str, to: str
) -> Callable[[Session], tuple[str, str]]:
    """Open the session, in a write: (cookie token, where to go)."""

    def work(s: Session) -> tuple[str, str]:
        account = s.get(StaffAccount, account_id)
        assert account is not None
        token, row = staff.open_session(
            s, account, method, _ip(request), request.headers.get("user-agent", "")
        )
        return token, _send_back(request, to, account, row)

    return work


def _signed_in_response(request: Request, token: str, where: str) -> Response:
    response = RedirectResponse(where, status_code=303)
    _set(response, request, COOKIE, token, int(staff.SESSION.total_seconds()))
    response.delete_cookie(STEP_COOKIE, path="/auth")
    return response


# --- signing in ----------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, to: str = "", ready: str = "", out: str = "") -> Response:
    to = _to(to)
    found = await _signed_in(request)
    if found is not None:  # already signed in: straight back, with a fresh grant
        row, account = found
        return RedirectResponse(_send_back(request, to, account, row), status_code=303)
    notice = "ready" if ready else ("signed_out" if out else "")
    return _render(
        request,
        "auth_login.html",
        to=to,
        notice=notice,
        oidc=_oidc_providers(),
        keep_query=urlencode({"to": to}) if to else "",  # switching language keeps it
    )


@router.post("/login")
async def login(
    request: Request,
    email: str = Form("", max_length=254),
    password: str = Form("", max_length=256),
    to: str = Form("", max_length=2000),
) -> Response:
    to = _to(to)
    ip = _ip(request)

    def refuse(key: str, status: int) -> Response:
        return _render(request, "auth_login.html", status, to=to, error=key, email=email)

    if (wait := _wait(ip)) is not None:
        return _retry_after(refuse("too_many", 429), wait)
    address = email.strip().lower()
    account = await _read(request, lambda s: staff.by_email(s, address))
    try:
        staff.may_try(account)
    except staff.Refused as exc:
        _failed_from(ip)
        return refuse(exc.key, exc.status)
    stored = account.password_hash if account else None
    ok = await asyncio.to_thread(staff.password_matches, stored, password)
    if not ok or account is None:
        _failed_from(ip)
        await _write(request, lambda s: staff.failed(s, _fresh(s, account), ip, "password"))
        return refuse("bad_credentials", 401)
    if account.totp_secret:
        response = RedirectResponse("/auth/code", status_code=303)
        _set(response, request, STEP_COOKIE, _step_token(account.id, to, "password"), 300)
        return response
    if staff.totp_required(account):
        return refuse("no_totp_admin", 403)
    token, where = await _write(request, _finish(request, account.id, "password", to))
    return _signed_in_response(request, token, where)


def _fresh(s: Session, account: StaffAccount | None) -> StaffAccount | None:
    return s.get(StaffAccount, account.id) if account is not None else None


def _step(request: Request) -> dict[str, Any] | None:
    return _unsign(STEP_AUDIENCE, request.cookies.get(STEP_COOKIE, ""))


@router.get("/code")
async def code_page(request: Request) -> Response:
    if _step(request) is None:
        return _render(request, "auth_login.html", 401, error="step_expired", to="")
    return _render(request, "auth_code.html")


@router.post("/code")
async def code(request: Request, code: str = Form("", max_length=20)) -> Response:
    step = _step(request)
    if step is None:
        return _render(request, "auth_login.html", 401, error="step_expired", to="")
    ip = _ip(request)
    if (wait := _wait(ip)) is not None:
        return _retry_after(_render(request, "auth_code.html", 429, error="too_many"), wait)
    account_id = str(step["sub"])

    def check(s: Session) -> str:
        account = s.get(StaffAccount, account_id)
        try:
            staff.may_try(account)
        except staff.Refused as exc:
            return exc.key
        assert account is not None
        secret_ = staff.open_totp(account)
        used = staff.totp_step(secret_, code, account.totp_last_step) if secret_ else None
        if used is None:
            staff.failed(s, account, ip, "totp")
            return "bad_code"
        account.totp_last_step = used
        return ""

    problem = await _write(request, check)
    if problem:
        _failed_from(ip)
        status = 423 if problem == "locked" else 401
        return _render(request, "auth_code.html", status, error=problem)
    token, where = await _write(
        request, _finish(request, account_id, f"{step['method']}+totp", _to(str(step["to"])))
    )
    return _signed_in_response(request, token, where)


@router.get("/logout")
async def logout_page(request: Request, ticket: str = "") -> Response:
    """A console's sign-out: its ticket ends the session it names, everywhere."""
    try:
        account_id, sid = auth.verify_signout(secret(), ticket[:4096])
    except auth.InvalidToken:
        found = await _signed_in(request)
        if found is None:
            return RedirectResponse("/auth/login?out=1", status_code=303)
        csrf = _csrf(request.cookies.get(COOKIE, ""))
        return _render(request, "auth_logout.html", csrf=csrf)

    def work(s: Session) -> None:
        row = s.get(StaffSession, sid)
        if row is not None and row.account_id == account_id:
            staff.revoke(s, _runtime(request).outbox, row, account_id, "signed_out", _ip(request))

    await _write(request, work)
    response = RedirectResponse("/auth/login?out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/auth")
    return response


@router.post("/logout")
async def logout(request: Request, csrf: str = Form("")) -> Response:
    _check_csrf(request, csrf)
    token = request.cookies.get(COOKIE, "")

    def work(s: Session) -> None:
        found = staff.current(s, token)
        if found is not None:
            row, account = found
            staff.revoke(s, _runtime(request).outbox, row, account.id, "signed_out", _ip(request))

    await _write(request, work)
    response = RedirectResponse("/auth/login?out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/auth")
    return response


# --- one-time links ------------------------------------------------------------------


def _enrol_token(invitation_id: str, totp_secret: str) -> str:
    """The TOTP secret shown with a link's form, signed to that link (the form carries
    it back; the person sees it anyway, it is theirs)."""
    return _sign(ENROL_AUDIENCE, invitation_id, staff.LINK, totp=totp_secret)


def _enrolled(invitation_id: str, token: str) -> str | None:
    claims = _unsign(ENROL_AUDIENCE, token)
    if claims is None:
        return None
    return str(claims["totp"]) if claims.get("sub") == invitation_id else None


def _link_form(
    request: Request, token: str, status: int = 200, error: str = "", enrol: str = ""
) -> Callable[[Session], Response]:
    def work(s: Session) -> Response:
        try:
            invitation, account = staff.open_link(s, token)
        except staff.Refused as exc:
            return _render(request, "auth_message.html", exc.status, error=exc.key)
        totp_secret = _enrolled(invitation.id, enrol) if enrol else None
        totp_secret = totp_secret or staff.new_totp_secret()
        agency = s.get(Agency, account.agency_id) if account.agency_id else None
        return _render(
            request,
            "auth_invitation.html",
            status,
            account=account,
            agency=agency,
            purpose=invitation.purpose,
            error=error,
            totp_key=totp_secret,
            # segno draws the QR modules as paths: no text of ours reaches the markup.
            totp_qr=Markup(staff.totp_qr_svg(totp_secret, account.email)),  # noqa: S704
            enrol=_enrol_token(invitation.id, totp_secret),
            totp_required=staff.totp_required(account),
            token=token,
        )

    return work


@router.get("/invitation/{token}")
async def invitation_page(request: Request, token: str) -> Response:
    return await _read(request, _link_form(request, token[:100]))


@router.post("/invitation/{token}")
async def invitation(
    request: Request,
    token: str,
    password: str = Form("", max_length=256),
    password_again: str = Form("", max_length=256),
    code: str = Form("", max_length=20),
    enrol: str = Form("", max_length=1000),
) -> Response:
    token = token[:100]
    ip = _ip(request)
    if (wait := _wait(ip)) is not None:
        page = await _read(request, _link_form(request, token, 429, "too_many", enrol))
        return _retry_after(page, wait)

    def check(s: Session) -> tuple[str, str | None, str]:
        try:
            invitation, account = staff.open_link(s, token)
        except staff.Refused as exc:
            return exc.key, None, ""
        problem = staff.password_problem(password, account.email)
        if problem is None and password != password_again:
            problem = "pw_differ"
        totp_secret = _enrolled(invitation.id, enrol)
        if problem is None and code.strip():
            if totp_secret is None or staff.totp_step(totp_secret, code, None) is None:
                problem = "bad_code"
        elif problem is None and staff.totp_required(account):
            problem = "totp_required"
        return problem or "", totp_secret if code.strip() else None, account.email

    problem, totp_secret, _email = await _read(request, check)
    if problem:
        if problem == "link_invalid":
            _failed_from(ip)  # guessing links; a password not to the rules is not a guess
        status = 404 if problem == "link_invalid" else 422
        return await _read(request, _link_form(request, token, status, problem, enrol))
    hashed = await asyncio.to_thread(staff.hash_password, password)

    def work(s: Session) -> str:
        try:
            staff.use_link(s, _runtime(request).outbox, token, hashed, totp_secret, ip)
        except staff.Refused as exc:
            return exc.key
        return ""

    problem = await _write(request, work)
    if problem:
        return await _read(request, _link_form(request, token, 422, problem, enrol))
    return RedirectResponse("/auth/login?ready=1", status_code=303)


# --- one's account and sessions ------------------------------------------------------


def _consoles(request: Request, account: StaffAccount) -> list[tuple[str, str]]:
    verification = _runtime(request).settings.verification_console_url.rstrip("/")  # type: ignore[attr-defined]
    found: list[tuple[str, str]] = []
    role = Role(account.role)
    if role in (*AGENCY_ROLES, Role.monitor, Role.administrator):
        found.append(("agency_console", f"{signin_url(request)}/console/"))
    if role in (Role.verifier, Role.administrator) and verification:
        found.append(("verification_console", f"{verification}/console/"))
    return found


@router.get("/account")
async def account_page(request: Request, done: str = "") -> Response:
    found = await _signed_in(request)
    if found is None:
        return RedirectResponse("/auth/login", status_code=303)
    row, account = found

    def work(s: Session) -> dict[str, Any]:
        agency = s.get(Agency, account.agency_id) if account.agency_id else None
        return {"sessions": staff.sessions_of(s, account.id), "agency": agency}

    data = await _read(request, work)
    # The consoles' own addresses: one not signed in there comes back here and straight
    # on with a fresh grant (a grant in this page would expire while it is read).
    consoles = _consoles(request, account)
    return _render(
        request,
        "auth_account.html",
        me=account,
        current_sid=row.id,
        consoles=consoles,
        manages=Role(account.role) in (Role.administrator, Role.coordinator),
        csrf=_csrf(request.cookies.get(COOKIE, "")),
        done=done,
        **data,
    )


@router.post("/sessions/{sid}/revoke")
async def revoke_session(request: Request, sid: str, csrf: str = Form("")) -> Response:
    _check_csrf(request, csrf)
    found = await _signed_in(request)
    if found is None:
        return RedirectResponse("/auth/login", status_code=303)
    _, me = found

    def work(s: Session) -> str:
        row = s.get(StaffSession, sid[:64])
        target = s.get(StaffAccount, row.account_id) if row else None
        if row is None or target is None:
            raise HTTPException(404, "tidak ditemukan / not found")
        if target.id != me.id and not staff.manages(s, Role(me.role), me.agency_id, target):
            raise HTTPException(404, "tidak ditemukan / not found")
        staff.revoke(s, _runtime(request).outbox, row, me.id, "session_revoked", _ip(request))
        return target.id

    target = await _write(request, work)
    back = "/auth/account" if target == me.id else "/auth/staff"
    return RedirectResponse(f"{back}?done=revoke", status_code=303)


# --- managing staff ------------------------------------------------------------------


async def _manager(request: Request) -> StaffAccount:
    found = await _signed_in(request)
    if found is None:
        raise HTTPException(401, "silakan masuk / please sign in")
    account = found[1]
    if Role(account.role) not in (Role.administrator, Role.coordinator):
        raise HTTPException(403, "Tidak berwenang. Not permitted.")
    return account


@router.get("/staff")
async def staff_page(
    request: Request, done: str = "", error: str = "", email: str = ""
) -> Response:
    found = await _signed_in(request)
    if found is None:
        return RedirectResponse("/auth/login", status_code=303)
    me = await _manager(request)
    role = Role(me.role)

    def work(s: Session) -> dict[str, Any]:
        accounts = staff.visible_accounts(s, role, me.agency_id)
        ids = None if role is Role.administrator else [a.id for a in accounts]
        units = []
        if role is Role.coordinator:
            units = [
                a
                for a in s.exec(select(Agency).where(Agency.parent_id == me.agency_id))
                if a.kind in ("unit", "kecamatan") and a.active
            ]
        open_sessions = {a.id: staff.sessions_of(s, a.id) for a in accounts}
        names = {}
        for a in accounts:
            place = s.get(Agency, a.agency_id) if a.agency_id else None
            if place is not None:
                names[place.id] = place.name
        return {
            "accounts": accounts,
            "audit": staff.recent_audit(s, ids),
            "units": units,
            "open_sessions": open_sessions,
            "agency_names": names,
        }

    data = await _read(request, work)
    roles = staff.ROLES if role is Role.administrator else (Role.unit_officer,)
    return _render(
        request,
        "auth_staff.html",
        me=me,
        roles=[r.value for r in roles],
        csrf=_csrf(request.cookies.get(COOKIE, "")),
        done=done,
        error=error if error in WORDS else "",
        email=email,
        now=staff.now(),
        aware=staff._aware,
        **data,
    )


@router.post("/staff/invite")
async def invite(
    request: Request,
    csrf: str = Form(""),
    email: str = Form("", max_length=254),
    name: str = Form("", max_length=200),
    role: str = Form("", max_length=32),
    agency_id: str = Form("", max_length=64),
) -> Response:
    _check_csrf(request, csrf)
    me = await _manager(request)
    email = email.strip().lower()
    if (
        "@" not in email
        or len(email) < 5
        or not name.strip()
        or role not in {r.value for r in staff.ROLES}
    ):
        return RedirectResponse("/auth/staff?error=bad_form", status_code=303)
    lang = language(request)

    def work(s: Session) -> str:
        problem = staff.may_invite(s, Role(me.role), me.agency_id, Role(role), agency_id.strip())
        if problem:
            return problem
        try:
            account = staff.create_account(
                s, email, name, Role(role), agency_id.strip() or None, me.id
            )
        except staff.Refused as exc:
            return exc.key
        staff.issue_link(
            s, _runtime(request).outbox, account, "invitation", me.id, signin_url(request), lang
        )
        return ""

    problem = await _write(request, work)
    if problem:
        return RedirectResponse(f"/auth/staff?error={problem}", status_code=303)
    return RedirectResponse(f"/auth/staff?{urlencode({'done': 'invited', 'email': email})}", 303)


def _manage_route(action: str) -> None:
    async def post(request: Request, account_id: str, csrf: str = Form("")) -> Response:
        _check_csrf(request, csrf)
        me = await _manager(request)
        lang = language(request)
        ip = _ip(request)

        def work(s: Session) -> None:
            target = s.get(StaffAccount, account_id[:64])
            if target is None or not staff.manages(s, Role(me.role), me.agency_id, target):
                raise HTTPException(404, "tidak ditemukan / not found")
            outbox = _runtime(request).outbox
            if action == "disable":
                target.disabled_at = staff.now()
                staff.cut_off(s, outbox, target, me.id, "account_disabled", ip)
            elif action == "enable":
                target.disabled_at = None
                target.failures = 0
                target.locked_until = None
                staff.audit(s, me.id, "account_enabled", target.id, ip)
            else:  # reset: the old password and second factor stop working now
                target.password_hash = None
                target.totp_secret = None
                staff.cut_off(s, outbox, target, me.id, "password_reset", ip)
                staff.issue_link(s, outbox, target, "reset", me.id, signin_url(request), lang)

        await _write(request, work)
        return RedirectResponse(f"/auth/staff?done={action}", status_code=303)

    router.add_api_route(f"/staff/{{account_id}}/{action}", post, methods=["POST"])


for _action in ("disable", "enable", "reset"):
    _manage_route(_action)


def _oidc_providers() -> list[tuple[str, str]]:
    """(name, start URL) of each configured OpenID Connect provider."""
    from routing import oidc

    return [(p.label, f"/auth/oidc/{p.name}") for p in oidc.providers()]


# --- OpenID Connect ------------------------------------------------------------------

OIDC_COOKIE = "aduan_oidc"
OIDC_AUDIENCE = "aduan-staff-oidc"


@router.get("/oidc/{name}")
async def oidc_start(request: Request, name: str, to: str = "") -> Response:
    from routing import oidc

    p = oidc.provider(name)
    if p is None:
        raise HTTPException(404, "tidak ditemukan / not found")
    redirect_uri = f"{signin_url(request)}/auth/oidc/{name}/callback"
    url, kept = await oidc.start(p, redirect_uri)
    sealed = _sign(
        OIDC_AUDIENCE, name, timedelta(minutes=10), to=_to(to), redirect_uri=redirect_uri, **kept
    )
    response = RedirectResponse(url, status_code=303)
    _set(response, request, OIDC_COOKIE, sealed, 600)
    return response


@router.get("/oidc/{name}/callback")
async def oidc_callback(request: Request, name: str, code: str = "", state: str = "") -> Response:
    from routing import oidc

    p = oidc.provider(name)
    if p is None:
        raise HTTPException(404, "tidak ditemukan / not found")
    ip = _ip(request)
    kept = _unsign(OIDC_AUDIENCE, request.cookies.get(OIDC_COOKIE, ""))
    if kept is None:
        return _render(request, "auth_login.html", 401, error="step_expired", to="")
    if kept.get("sub") != name or not state or not hmac.compare_digest(state, kept["state"]):
        return _render(request, "auth_login.html", 401, error="step_expired", to="")
    try:
        claims = await oidc.finish(p, kept["redirect_uri"], code[:2000], kept)
    except (oidc.OidcRefused, httpx.HTTPError, AuthlibBaseError, KeyError, ValueError) as exc:
        detail = f"{name}: {exc}"[:300]
        await _write(
            request, lambda s: staff.audit(s, f"oidc:{name}", "sign_in_failed", None, ip, detail)
        )
        return _render(request, "auth_login.html", 401, error="bad_credentials", to="")

    def work(s: Session) -> tuple[str, str] | str:
        try:
            account, changed = oidc.account_for(s, p, claims)
        except (oidc.OidcRefused, staff.Refused) as exc:
            staff.audit(s, f"oidc:{name}", "sign_in_failed", None, ip, str(exc)[:300])
            return "bad_credentials"
        if changed:
            staff.cut_off(
                s, _runtime(request).outbox, account, f"oidc:{name}", "account_changed", ip
            )
        s.flush()
        return _finish(request, account.id, "oidc", str(kept.get("to", "")))(s)

    done = await _write(request, work)
    if isinstance(done, str):
        return _render(request, "auth_login.html", 401, error=done, to="")
    response = _signed_in_response(request, *done)
    response.delete_cookie(OIDC_COOKIE, path="/auth")
    return response
