"""OpenID Connect sign-in for a ministry or Pemda that has its own identity provider.

Authorization code flow with PKCE (S256), by Authlib's OAuth 2 client; the ID token is
checked with joserfc (Authlib's JOSE library) against the provider's published keys:
signature, issuer, audience, expiry and the nonce this sign-in sent. The claims then give
the account's role and agency through the provider's configuration
(``ROUTING_OIDC_PROVIDERS``, a JSON list; docs/staff.md has a worked example):

    {"name": "kemenkes", "label": "SSO Kemenkes",
     "issuer": "https://sso.kemkes.go.id/realms/pegawai",
     "client_id": "aduan", "client_secret": "...",
     "role_claim": "aduan_role",
     "roles": {"koordinator": "coordinator", "penghubung": "unit_officer"},
     "agency_claim": "unit_kerja",
     "agencies": {"KEMKES": "kemenkes", "KEMKES-YANKES": "kemenkes-yankes"}}

A person is matched by the provider's (issuer, subject); the first time, by a verified
email address of an existing account, else a new account is made. Their role and agency
follow the claims at every sign-in: a change ends the account's other sessions. A claim
that maps to no role, or an agency role without a known agency, is refused. The provider
is trusted for the second factor (its own MFA).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlmodel import Session, select

from routing import staff
from routing.models import Agency, StaffAccount
from services.auth import AGENCY_ROLES, Role


@dataclass(frozen=True)
class Provider:
    """One configured identity provider."""

    name: str
    label: str
    issuer: str
    client_id: str
    client_secret: str = ""
    scope: str = "openid email profile"
    role_claim: str = "aduan_role"
    roles: dict[str, str] = field(default_factory=dict)
    agency_claim: str = ""
    agencies: dict[str, str] = field(default_factory=dict)
    link_by_email: bool = True


class OidcRefused(Exception):
    """Why an OpenID Connect sign-in is refused (logged and audited; the person reads a
    general message)."""


def providers() -> list[Provider]:
    from routing.settings import RoutingSettings

    return list(_parse(RoutingSettings().oidc_providers))


@lru_cache(maxsize=4)
def _parse(raw: str) -> tuple[Provider, ...]:
    if not raw.strip():
        return ()
    found = []
    for item in json.loads(raw):
        found.append(
            Provider(**{k: v for k, v in item.items() if k in Provider.__dataclass_fields__})
        )
    return tuple(found)


def provider(name: str) -> Provider | None:
    return next((p for p in providers() if p.name == name), None)


_METADATA: dict[str, tuple[float, dict[str, Any]]] = {}
_KEYS: dict[str, tuple[float, KeySet]] = {}


async def metadata(p: Provider) -> dict[str, Any]:
    """The provider's discovery document (cached an hour)."""
    cached = _METADATA.get(p.issuer)
    if cached and time.monotonic() - cached[0] < 3600:
        return cached[1]
    url = p.issuer.rstrip("/") + "/.well-known/openid-configuration"
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(url)
        answer.raise_for_status()
        found = dict(answer.json())
    if found.get("issuer") != p.issuer:
        raise OidcRefused("the discovery document names another issuer")
    _METADATA[p.issuer] = (time.monotonic(), found)
    return found


async def keys(p: Provider, refresh: bool = False) -> KeySet:
    cached = _KEYS.get(p.issuer)
    if cached and not refresh and time.monotonic() - cached[0] < 3600:
        return cached[1]
    meta = await metadata(p)
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(meta["jwks_uri"])
        answer.raise_for_status()
    found = KeySet.import_key_set(answer.json())
    _KEYS[p.issuer] = (time.monotonic(), found)
    return found


def client(p: Provider, redirect_uri: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=p.client_id,
        client_secret=p.client_secret or None,
        scope=p.scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post" if p.client_secret else "none",
        timeout=10,
    )


async def start(p: Provider, redirect_uri: str) -> tuple[str, dict[str, str]]:
    """The provider's authorization URL, and what the callback must find again."""
    meta = await metadata(p)
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    async with client(p, redirect_uri) as oauth:
        url, _ = oauth.create_authorization_url(
            meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
    return url, {"state": state, "nonce": nonce, "verifier": verifier}


async def finish(p: Provider, redirect_uri: str, code: str, kept: dict[str, str]) -> dict[str, Any]:
    """Exchange the code (with the PKCE verifier) and check the ID token: its claims."""
    meta = await metadata(p)
    async with client(p, redirect_uri) as oauth:
        token = await oauth.fetch_token(
            meta["token_endpoint"], code=code, code_verifier=kept["verifier"]
        )
    id_token = token.get("id_token")
    if not id_token:
        raise OidcRefused("no ID token")
    try:
        try:
            decoded = jose_jwt.decode(id_token, await keys(p))
        except JoseError:
            decoded = jose_jwt.decode(id_token, await keys(p, refresh=True))  # rotated keys
        jose_jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": p.issuer},
            aud={"essential": True, "value": p.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": kept["nonce"]},
        ).validate(decoded.claims)
    except JoseError as exc:
        raise OidcRefused(f"ID token refused: {type(exc).__name__}") from exc
    return dict(decoded.claims)


def _mapped(p: Provider, claims: dict[str, Any]) -> tuple[Role, str | None]:
    raw = claims.get(p.role_claim)
    values = raw if isinstance(raw, list) else [raw]
    role = next((p.roles[str(v)] for v in values if str(v) in p.roles), None)
    if role is None or role not in {r.value for r in staff.ROLES}:
        raise OidcRefused(f"claim {p.role_claim!r} maps to no role")
    agency = None
    if p.agency_claim:
        value = claims.get(p.agency_claim)
        agency = p.agencies.get(str(value), str(value)) if value else None
    return Role(role), agency


def account_for(session: Session, p: Provider, claims: dict[str, Any]) -> tuple[StaffAccount, bool]:
    """The account these claims sign in as (made or updated), and whether its role or
    agency changed."""
    role, agency_id = _mapped(p, claims)
    if role in AGENCY_ROLES:
        agency = session.get(Agency, agency_id) if agency_id else None
        if agency is None or not agency.active:
            raise OidcRefused("agency claim maps to no active agency")
    else:
        agency_id = None
    account = session.exec(
        select(StaffAccount).where(
            StaffAccount.oidc_issuer == p.issuer, StaffAccount.oidc_subject == str(claims["sub"])
        )
    ).first()
    email = str(claims.get("email") or "").strip().lower()
    if account is None and email and claims.get("email_verified") and p.link_by_email:
        account = staff.by_email(session, email)
    if account is None:
        if not email:
            raise OidcRefused("no email claim for a new account")
        account = staff.create_account(
            session, email, str(claims.get("name") or email), role, agency_id, f"oidc:{p.name}"
        )
    if account.disabled_at is not None:
        raise OidcRefused("account disabled")
    account.oidc_issuer = p.issuer
    account.oidc_subject = str(claims["sub"])
    changed = account.role != role.value or account.agency_id != agency_id
    account.role = role.value
    account.agency_id = agency_id
    return account, changed
