"""Staff accounts and the one sign-in page of every console (decision 0016).

Routing owns staff identity because staff belong to the directory it keeps: a coordinator
to an agency, an officer to one of its work units or kecamatan, and only routing can tell
which unit belongs to which agency when a coordinator invites an officer.

- Passwords are Argon2id hashes (argon2-cffi), checked on a worker thread. Five wrong
  passwords or codes in a row lock the account for 15 minutes; every attempt also counts
  against a per-address limit.
- A TOTP second factor (pyotp, RFC 6238, 30-second steps, one step of drift either way,
  each step good once) is required of administrators and offered to everyone. Its secret
  is sealed with the platform's text keys (services/sealing.py).
- Accounts come from a one-time link that notifications emails (``staff.invitations``, a
  private topic): an administrator invites anyone, a coordinator the officers of their own
  agency's units; an administrator's password reset is such a link too. The first
  administrator's link is printed by ``aduan staff create-admin``.
- A sign-in is a session: the sign-in page keeps its random token in an HttpOnly cookie
  (the table keeps its SHA-256), and hands each console a one-minute grant for a
  10-minute token of its own (services/console.py). Signing out, revoking a session or
  disabling, re-roling or resetting an account emits ``staff.access_changed``; every
  process refuses those tokens as soon as it reads it (services/staffgate.py).
- Every sign-in, failure, sign-out and change to an account is in ``staff_audit``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import segno
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from prometheus_client import Counter
from sqlmodel import Session, col, select

from routing.models import Agency, StaffAccount, StaffAudit, StaffInvitation, StaffSession
from services import sealing
from services.auth import AGENCY_ROLES, Role
from services.bus import Outbox
from services.contracts import StaffAccessChanged, StaffInvitationIssued

SIGN_INS = Counter(
    "aduan_staff_sign_ins", "Staff sign-in attempts, by outcome (ok, failed, locked)", ["outcome"]
)
for _outcome in ("ok", "failed", "locked"):  # every series exists from the start, at 0
    SIGN_INS.labels(_outcome)
SESSION = timedelta(hours=12)
LINK = timedelta(days=3)
MAX_FAILURES = 5
LOCK = timedelta(minutes=15)
TOTP_STEP = 30
# Argon2id with argon2-cffi's defaults (RFC 9106's second recommendation: 64 MiB, t=3).
HASHER = PasswordHasher()
# Roles an administrator may give; a coordinator gives unit_officer only.
ROLES = tuple(r for r in Role if r is not Role.agency_officer)


class Refused(Exception):
    """Why an action on staff identity is refused: a key of the pages' words."""

    def __init__(self, key: str, status: int = 422) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


def now() -> datetime:
    return datetime.now(UTC)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- passwords and codes -------------------------------------------------------------


def password_problem(password: str, email: str) -> str | None:
    """Why a new password is refused (a words key), or None."""
    if len(password) < 12:
        return "pw_short"
    if len(password) > 256:
        return "pw_long"
    local = email.split("@")[0].lower()
    if len(local) >= 4 and local in password.lower():
        return "pw_personal"
    if len(set(password)) < 6:
        return "pw_simple"
    return None


def hash_password(password: str) -> str:
    """An Argon2id hash (slow on purpose: call it off the event loop)."""
    return HASHER.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the account's (slow on purpose)."""
    if not stored:
        HASHER.hash(password)  # the same time whether or not the account has one
        return False
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Aduan")


def totp_qr_svg(secret: str, email: str) -> str:
    """The enrolment QR code as inline SVG (no image request, no script)."""
    return str(segno.make(totp_uri(secret, email), error="m").svg_inline(scale=4, border=2))


def totp_step(secret: str, code: str, last_step: int | None, at: float | None = None) -> int | None:
    """The time step ``code`` belongs to (this one or one either side), if it was not
    used already; None if it is wrong or replayed."""
    code = re.sub(r"\s", "", code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP)
    moment = now().timestamp() if at is None else at
    current = int(moment // TOTP_STEP)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            return step if last_step is None or step > last_step else None
    return None


def seal_totp(account_id: str, secret: str) -> str:
    return sealing.seal(account_id, "totp", {"secret": secret})


def open_totp(account: StaffAccount) -> str | None:
    if not account.totp_secret:
        return None
    return str(sealing.open_box(account.id, "totp", account.totp_secret)["secret"])


# --- accounts ------------------------------------------------------------------------


def audit(
    session: Session,
    actor: str,
    action: str,
    account_id: str | None = None,
    ip: str = "",
    detail: str = "",
) -> None:
    session.add(
        StaffAudit(
            at=now(),
            account_id=account_id,
            actor=actor[:64],
            action=action,
            ip=ip[:64],
            detail=detail[:300],
        )
    )


def _new_id(session: Session, email: str) -> str:
    """A readable account id (it names the person in reports' logs): the address's
    local part, made unique."""
    base = re.sub(r"[^a-z0-9._-]", "", email.split("@")[0].lower())[:40] or "staf"
    candidate = base
    n = 1
    while session.get(StaffAccount, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def by_email(session: Session, email: str) -> StaffAccount | None:
    return session.exec(
        select(StaffAccount).where(StaffAccount.email == email.strip().lower())
    ).first()


def may_invite(
    session: Session, inviter_role: Role, inviter_agency: str | None, role: Role, agency_id: str
) -> str | None:
    """Why the inviter may not give this role at this agency (a words key), or None."""
    agency = session.get(Agency, agency_id) if agency_id else None
    if role in AGENCY_ROLES:
        if agency is None or not agency.active:
            return "agency_unknown"
        if role is Role.unit_officer and agency.kind not in ("unit", "kecamatan"):
            return "agency_not_unit"
        if role is Role.coordinator and agency.kind in ("unit", "kecamatan"):
            return "agency_is_unit"
    elif agency_id:
        return "agency_not_needed"
    if inviter_role is Role.administrator:
        return None
    if (
        inviter_role is Role.coordinator
        and role is Role.unit_officer
        and agency is not None
        and agency.parent_id == inviter_agency
    ):
        return None
    return "not_yours"


def create_account(
    session: Session, email: str, name: str, role: Role, agency_id: str | None, by: str
) -> StaffAccount:
    email = email.strip().lower()
    if by_email(session, email) is not None:
        raise Refused("email_taken", 409)
    account = StaffAccount(
        id=_new_id(session, email),
        email=email,
        name=name.strip(),
        role=role.value,
        agency_id=agency_id or None,
        created_at=now(),
        created_by=by,
    )
    session.add(account)
    session.flush()
    return account


def issue_link(
    session: Session,
    outbox: Outbox,
    account: StaffAccount,
    purpose: str,
    by: str,
    base_url: str,
    language: str = "id",
) -> str:
    """A one-time link to set the account's password, emailed by notifications."""
    for old in session.exec(
        select(StaffInvitation).where(
            StaffInvitation.account_id == account.id, col(StaffInvitation.used_at).is_(None)
        )
    ):
        old.used_at = now()  # a new link replaces any unused one
    token = secrets.token_urlsafe(32)
    invitation = StaffInvitation(
        id=secrets.token_hex(12),
        account_id=account.id,
        token_hash=token_hash(token),
        purpose=purpose,
        created_at=now(),
        created_by=by,
        expires_at=now() + LINK,
    )
    session.add(invitation)
    link = f"{base_url.rstrip('/')}/auth/invitation/{token}"
    agency = session.get(Agency, account.agency_id) if account.agency_id else None
    outbox.emit(
        session,
        StaffInvitationIssued(
            invitation_id=invitation.id,
            email=account.email,
            name=account.name,
            role=account.role,
            agency_name=agency.name if agency else "",
            link=link,
            purpose=purpose,  # type: ignore[arg-type]
            language="en" if language == "en" else "id",
            expires_at=invitation.expires_at,
        ),
        subject=account.id,
        key=account.id,
    )
    audit(session, by, f"link_{purpose}", account.id)
    return link


def open_link(session: Session, token: str) -> tuple[StaffInvitation, StaffAccount]:
    """The unused, unexpired link ``token`` is, and its account."""
    invitation = session.exec(
        select(StaffInvitation).where(StaffInvitation.token_hash == token_hash(token))
    ).first()
    if invitation is None or invitation.used_at is not None:
        raise Refused("link_invalid", 404)
    account = session.get(StaffAccount, invitation.account_id)
    if account is None or account.disabled_at is not None:
        raise Refused("link_invalid", 404)
    if _aware(invitation.expires_at) < now():
        raise Refused("link_expired", 410)
    return invitation, account


def totp_required(account: StaffAccount) -> bool:
    return account.role == Role.administrator.value


def use_link(
    session: Session,
    outbox: Outbox,
    token: str,
    password_hash: str,
    totp_secret: str | None,
    ip: str,
) -> StaffAccount:
    """Set the password (and second factor) through a one-time link."""
    invitation, account = open_link(session, token)
    if totp_secret is None and totp_required(account):
        raise Refused("totp_required")
    invitation.used_at = now()
    account.password_hash = password_hash
    account.totp_secret = seal_totp(account.id, totp_secret) if totp_secret else None
    account.totp_last_step = None
    account.failures = 0
    account.locked_until = None
    audit(session, account.id, f"{invitation.purpose}_used", account.id, ip)
    return account


# --- signing in ----------------------------------------------------------------------


def may_try(account: StaffAccount | None) -> None:
    """Refuse a disabled or locked account before checking anything."""
    if account is None:
        return
    if account.disabled_at is not None:
        raise Refused("bad_credentials", 401)
    if account.locked_until is not None and _aware(account.locked_until) > now():
        raise Refused("locked", 423)


def failed(session: Session, account: StaffAccount | None, ip: str, what: str) -> None:
    """One wrong password or code: the fifth in a row locks the account."""
    SIGN_INS.labels("failed").inc()
    if account is None:
        audit(session, "unknown", "sign_in_failed", None, ip, what)
        return
    account.failures += 1
    if account.failures >= MAX_FAILURES:
        account.locked_until = now() + LOCK
        account.failures = 0
        SIGN_INS.labels("locked").inc()
        audit(session, account.id, "locked", account.id, ip, what)
    audit(session, account.id, "sign_in_failed", account.id, ip, what)


def open_session(
    session: Session, account: StaffAccount, method: str, ip: str, user_agent: str
) -> tuple[str, StaffSession]:
    """A new sign-in session: its cookie token and its row."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        id=secrets.token_hex(16),
        account_id=account.id,
        token_hash=token_hash(token),
        method=method,
        ip=ip[:64],
        user_agent=user_agent[:200],
        created_at=now(),
        expires_at=now() + SESSION,
    )
    session.add(row)
    account.failures = 0
    account.locked_until = None
    account.last_sign_in_at = row.created_at
    SIGN_INS.labels("ok").inc()
    audit(session, account.id, "signed_in", account.id, ip, method)
    return token, row


def current(session: Session, token: str) -> tuple[StaffSession, StaffAccount] | None:
    """The live session a sign-in cookie names, and its account."""
    if not token:
        return None
    row = session.exec(
        select(StaffSession).where(StaffSession.token_hash == token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= now():
        return None
    account = session.get(StaffAccount, row.account_id)
    if account is None or account.disabled_at is not None:
        return None
    return row, account


def revoke(
    session: Session, outbox: Outbox, row: StaffSession, by: str, change: str, ip: str = ""
) -> None:
    """End one session everywhere."""
    if row.revoked_at is not None:
        return
    row.revoked_at = now()
    row.revoked_by = by
    outbox.emit(
        session,
        StaffAccessChanged(
            account_id=row.account_id,
            session_id=row.id,
            change=change,  # type: ignore[arg-type]
            not_before=row.revoked_at,
            forget_after=_aware(row.expires_at),
        ),
        subject=row.account_id,
        key=row.account_id,
    )
    audit(session, by, change, row.account_id, ip, row.id)


def cut_off(
    session: Session, outbox: Outbox, account: StaffAccount, by: str, change: str, ip: str = ""
) -> None:
    """End every session of an account everywhere (disabled, re-roled, reset)."""
    at = now()
    for row in session.exec(
        select(StaffSession).where(
            StaffSession.account_id == account.id, col(StaffSession.revoked_at).is_(None)
        )
    ):
        row.revoked_at = at
        row.revoked_by = by
    outbox.emit(
        session,
        StaffAccessChanged(
            account_id=account.id,
            change=change,  # type: ignore[arg-type]
            not_before=at,
            forget_after=at + SESSION,
        ),
        subject=account.id,
        key=account.id,
    )
    audit(session, by, change, account.id, ip)


def sessions_of(session: Session, account_id: str) -> list[StaffSession]:
    return list(
        session.exec(
            select(StaffSession)
            .where(
                StaffSession.account_id == account_id,
                col(StaffSession.revoked_at).is_(None),
                StaffSession.expires_at > now(),
            )
            .order_by(col(StaffSession.created_at).desc())
        )
    )


def visible_accounts(session: Session, role: Role, agency_id: str | None) -> list[StaffAccount]:
    """The accounts an administrator (all) or a coordinator (their agency's) manages."""
    query = select(StaffAccount).order_by(StaffAccount.role, StaffAccount.email)
    if role is not Role.administrator:
        units = select(Agency.id).where(Agency.parent_id == agency_id)
        query = query.where(
            sa.or_(col(StaffAccount.agency_id) == agency_id, col(StaffAccount.agency_id).in_(units))
        )
    return list(session.exec(query))


def manages(session: Session, role: Role, agency_id: str | None, account: StaffAccount) -> bool:
    """Whether a caller may disable, enable, reset or revoke ``account``."""
    if role is Role.administrator:
        return True
    if role is not Role.coordinator or account.role != Role.unit_officer.value:
        return False
    unit = session.get(Agency, account.agency_id) if account.agency_id else None
    return unit is not None and unit.parent_id == agency_id


def recent_audit(session: Session, account_ids: list[str] | None, limit: int = 50) -> list[Any]:
    query = select(StaffAudit).order_by(col(StaffAudit.at).desc(), col(StaffAudit.id).desc())
    if account_ids is not None:
        query = query.where(col(StaffAudit.account_id).in_(account_ids))
    return list(session.exec(query.limit(limit)))
