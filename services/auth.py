"""Staff identity shared by every console and admin API: signed tokens with a role.

Verifiers, agency officers and administrators carry a JSON Web Token (HS256, signed
with ``ADUAN_AUTH_SECRET``) holding who they are (``sub``), their role and, for agency
officers, their agency. Every service checks tokens the same way, with
:func:`require_staff`. Citizens' accounts are not staff: they belong to intake.

``aduan token --role administrator --sub alice`` issues a token for operators. An
OpenID Connect provider can replace the issuer later: only :func:`verify` changes.
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

from services.settings import KitSettings

ISSUER = "aduan"
AUDIENCE = "aduan-staff"
ALGORITHM = "HS256"


class Role(StrEnum):
    """What a member of staff may do."""

    verifier = "verifier"
    agency_officer = "agency_officer"
    administrator = "administrator"


@dataclass(frozen=True)
class Staff:
    """The caller, as its token says."""

    sub: str
    role: Role
    agency_id: str | None


def load_or_create_secret(path: Path) -> str:
    """The embedded default's signing secret: made once, kept in the var folder (0600)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


def issue(
    secret: str,
    sub: str,
    role: Role,
    agency_id: str | None = None,
    ttl: timedelta = timedelta(hours=8),
) -> str:
    """A signed token for one member of staff."""
    if len(secret) < 32:
        raise ValueError("the signing secret must be at least 32 characters")
    if role is Role.agency_officer and not agency_id:
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
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class InvalidToken(Exception):
    """A token that is missing, forged, expired or malformed."""


def claims_of(secret: str, token: str, audience: str) -> dict[str, object]:
    """A token's claims, checked for signature, expiry, issuer and audience."""
    try:
        return dict(
            jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc


def verify(secret: str, token: str) -> Staff:
    """The staff member a token names, or :class:`InvalidToken`."""
    claims = claims_of(secret, token, AUDIENCE)
    try:
        agency = claims.get("agency")
        return Staff(
            sub=str(claims["sub"]),
            role=Role(str(claims["role"])),
            agency_id=str(agency) if agency is not None else None,
        )
    except (KeyError, ValueError) as exc:
        raise InvalidToken(type(exc).__name__) from exc


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
# Who may read one report's internals by its id (its clocks, notices, decision): these
# name its tracking number and agency, so never anyone, even for a Rahasia report.
CaseReader = Annotated[Staff, Depends(require_staff(Role.administrator, Role.verifier))]
