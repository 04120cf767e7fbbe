"""Staff identity shared by every console and admin API: signed tokens with a role.

Staff carry a short-lived JSON Web Token (HS256, signed with ``ADUAN_AUTH_SECRET``)
holding who they are (``sub``), their role and, for agency staff, their agency or unit.
Every service checks tokens the same way, with :func:`require_staff`. Citizens' accounts
are not staff: they belong to intake.

A token made at sign-in (routing owns staff accounts, see routing/staff.py and decision
0016) also names its sign-in session (``sid``), when that session began (``sat``) and
when it must end (``sexp``). Every process keeps the revocations it has read from the
``staff.access`` topic (services/staffgate.py); :func:`verify` refuses a token whose
session was revoked or whose account was disabled or changed after the session began.

``aduan token --role administrator --sub alice`` issues a token for scripts and tests:
it names no session and lives its hours out unless its account is disabled.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request

from services import staffgate
from services.settings import KitSettings

ISSUER = "aduan"
AUDIENCE = "aduan-staff"
ALGORITHM = "HS256"


class Role(StrEnum):
    """What a member of staff may do (LAPOR!'s organisation of staff)."""

    # National: every report, the directory, the rules, staff accounts.
    administrator = "administrator"
    # National: the verification queue.
    verifier = "verifier"
    # An agency's admin koordinator: the agency's inbox, disposes to its units and
    # kecamatan, answers, invites the officers of its units.
    coordinator = "coordinator"
    # A unit's admin penghubung: only what was disposed to their unit; answers.
    unit_officer = "unit_officer"
    # The Ombudsman or an inspectorate: reads across agencies, changes nothing.
    monitor = "monitor"
    # Tokens made by ``aduan token`` before the roles above: acts as a coordinator.
    agency_officer = "agency_officer"


# Staff who belong to one agency or unit, and see only its reports.
AGENCY_ROLES = (Role.coordinator, Role.agency_officer, Role.unit_officer)
# Who may dispose a report to a unit, return it or ask for the reporter's identity.
DISPOSERS = (Role.coordinator, Role.agency_officer, Role.administrator)


@dataclass(frozen=True)
class Staff:
    """The caller, as its token says."""

    sub: str
    role: Role
    agency_id: str | None
    # The sign-in session the token belongs to (None for ``aduan token``'s).
    sid: str | None = None

    @property
    def in_agency(self) -> bool:
        """Whether the caller sees only their own agency's or unit's reports."""
        return self.role in AGENCY_ROLES


def load_or_create_secret(path: Path) -> str:
    """The embedded default's signing secret: made once, kept in the var folder (0600)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


# A signed-in console's token: renewed by the console while it is used, never past its
# session's end, and refused everywhere within a minute of a revocation (staffgate).
ACCESS_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class Session:
    """A sign-in session, as its tokens carry it."""

    sid: str
    started: datetime
    ends: datetime


def issue(
    secret: str,
    sub: str,
    role: Role,
    agency_id: str | None = None,
    ttl: timedelta = timedelta(hours=8),
    session: Session | None = None,
) -> str:
    """A signed token for one member of staff; with ``session``, a sign-in's token that
    lives ``ttl`` (at most until the session ends)."""
    if len(secret) < 32:
        raise ValueError("the signing secret must be at least 32 characters")
    if role in AGENCY_ROLES and not agency_id:
        raise ValueError("an agency officer's token names the agency")
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "role": role.value,
        "iat": now,
        "exp": now + ttl,
    }
    if agency_id:
        claims["agency"] = agency_id
    if session is not None:
        claims["exp"] = min(now + ttl, session.ends)
        claims["sid"] = session.sid
        claims["sat"] = session.started.timestamp()
        claims["sexp"] = session.ends.timestamp()
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class InvalidToken(Exception):
    """A token that is missing, forged, expired or malformed."""


def claims_of(
    secret: str, token: str, audience: str, leeway: timedelta = timedelta(0)
) -> dict[str, object]:
    """A token's claims, checked for signature, expiry (give or take ``leeway``), issuer
    and audience."""
    try:
        return dict(
            jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                leeway=leeway,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc


def staff_of(claims: dict[str, object]) -> Staff:
    """The staff member checked claims name, unless their session or account was
    revoked (:class:`InvalidToken`)."""
    try:
        agency = claims.get("agency")
        sid = claims.get("sid")
        member = Staff(
            sub=str(claims["sub"]),
            role=Role(str(claims["role"])),
            agency_id=str(agency) if agency is not None else None,
            sid=str(sid) if sid is not None else None,
        )
        began = float(claims.get("sat") or claims["iat"])  # type: ignore[arg-type]
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidToken(type(exc).__name__) from exc
    if staffgate.GATE.refuses(member.sub, member.sid, began):
        raise InvalidToken("revoked")
    return member


def verify(secret: str, token: str) -> Staff:
    """The staff member a token names, or :class:`InvalidToken`."""
    return staff_of(claims_of(secret, token, AUDIENCE))


def session_of(claims: dict[str, object]) -> Session | None:
    """The sign-in session a token's claims name, if any."""
    try:
        return Session(
            sid=str(claims["sid"]),
            started=datetime.fromtimestamp(float(claims["sat"]), UTC),  # type: ignore[arg-type]
            ends=datetime.fromtimestamp(float(claims["sexp"]), UTC),  # type: ignore[arg-type]
        )
    except (KeyError, ValueError, TypeError):
        return None


def renew(secret: str, token: str, idle: timedelta) -> tuple[Staff, str | None] | None:
    """A console's token checked, and a fresh one when it is within half its life of its
    end: a session's token expired less than ``idle`` ago is still renewed, so a person
    who wrote a long reply does not lose it. None when it may not be used."""
    try:
        claims = claims_of(secret, token, AUDIENCE, leeway=idle)
        member = staff_of(claims)
    except InvalidToken:
        return None
    session = session_of(claims)
    now = datetime.now(UTC)
    expires = datetime.fromtimestamp(float(claims["exp"]), UTC)  # type: ignore[arg-type]
    if session is None:  # a script's token: no leeway, no renewal
        return (member, None) if expires > now else None
    if now >= session.ends:
        return None
    if expires - now > ACCESS_TTL / 2:
        return member, None
    fresh = issue(secret, member.sub, member.role, member.agency_id, ACCESS_TTL, session)
    return member, fresh


FILE_AUDIENCE = "aduan-reporter-file"


def issue_file_grant(
    secret: str, report_id: str, attachment_id: str, ttl: timedelta = timedelta(minutes=30)
) -> str:
    """A short-lived grant, signed by intake for a reporter who proved their report, to
    download one of the agency's files from routing (which keeps the bytes and never sees
    the reporter's proof)."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": FILE_AUDIENCE,
        "sub": report_id,
        "att": attachment_id,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_file_grant(secret: str, token: str) -> tuple[str, str]:
    """The (report id, attachment id) a grant opens, or :class:`InvalidToken`."""
    claims = claims_of(secret, token, FILE_AUDIENCE)
    if "att" not in claims:
        raise InvalidToken("no attachment")
    return str(claims["sub"]), str(claims["att"])


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def require_staff(
    *roles: Role, cookie: str | tuple[str, ...] | None = None
) -> Callable[[Request], Staff]:
    """FastAPI dependency: a valid staff token with one of ``roles`` (401, else 403).

    The token is the bearer token; with ``cookie``, a console's sign-in cookie of that
    name also counts (for links a console opens in the browser on another service)."""

    def dependency(request: Request) -> Staff:
        secret = KitSettings().auth_secret_value()
        if not secret:
            raise HTTPException(
                status_code=503,
                detail="Login staf belum dikonfigurasi. Staff sign-in is not configured "
                "(ADUAN_AUTH_SECRET).",
            )
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" and cookie:
            names = (cookie,) if isinstance(cookie, str) else cookie
            token = next((request.cookies[n] for n in names if request.cookies.get(n)), "")
        elif scheme.lower() != "bearer":
            token = ""
        if not token:
            raise _unauthorised("Perlu login staf. Staff sign-in required.")
        try:
            staff = verify(secret, token.strip())
        except InvalidToken as exc:
            raise _unauthorised("Token tidak valid. Invalid token.") from exc
        if roles and staff.role not in roles:
            raise HTTPException(status_code=403, detail="Tidak berwenang. Not permitted.")
        return staff

    return dependency


Administrator = Annotated[Staff, Depends(require_staff(Role.administrator))]
GRANT_AUDIENCE = "aduan-staff-grant"


def issue_grant(
    secret: str, member: Staff, session: Session, ttl: timedelta = timedelta(seconds=60)
) -> str:
    """What the sign-in page hands a console in its redirect: one minute to exchange it
    for the console's own token (it is in a URL, so it is not the token itself)."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": GRANT_AUDIENCE,
        "sub": member.sub,
        "role": member.role.value,
        "sid": session.sid,
        "sat": session.started.timestamp(),
        "sexp": session.ends.timestamp(),
        "jti": secrets.token_urlsafe(12),
        "iat": now,
        "exp": now + ttl,
    }
    if member.agency_id:
        claims["agency"] = member.agency_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def redeem_grant(secret: str, grant: str) -> tuple[Staff, Session, str]:
    """A grant's member, session and one-time id, or :class:`InvalidToken`."""
    claims = claims_of(secret, grant, GRANT_AUDIENCE)
    member = staff_of(claims)
    session = session_of(claims)
    if session is None or "jti" not in claims:
        raise InvalidToken("grant")
    return member, session, str(claims["jti"])


# Who may read one report's internals by its id (its clocks, notices, decision): these
# name its tracking number and agency, so never anyone, even for a Rahasia report.
CaseReader = Annotated[Staff, Depends(require_staff(Role.administrator, Role.verifier))]


SIGNOUT_AUDIENCE = "aduan-staff-signout"


def issue_signout(secret: str, member: Staff, ttl: timedelta = timedelta(seconds=60)) -> str:
    """A console's note to the sign-in page that this session's person signed out."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": SIGNOUT_AUDIENCE,
        "sub": member.sub,
        "sid": member.sid or "",
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_signout(secret: str, ticket: str) -> tuple[str, str]:
    """The (account, session) a sign-out note names, or :class:`InvalidToken`."""
    claims = claims_of(secret, ticket, SIGNOUT_AUDIENCE)
    if not claims.get("sid"):
        raise InvalidToken("no session")
    return str(claims["sub"]), str(claims["sid"])
