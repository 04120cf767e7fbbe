"""Citizens' optional accounts: a username and a password, hashed with scrypt.

A signed-in citizen's reports are listed on their page and open without the secret code;
the username is shown with the report unless it is Anonim. Contact data (name, phone,
email) stays in the reporter row the account points at, like any reporter's.

Sign-in keeps a random token in an HttpOnly, SameSite=Lax cookie; the table keeps only
its SHA-256, so a copy of the database opens no session. Five wrong passwords lock the
account for fifteen minutes (and the per-address rate limit applies to every attempt).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from fastapi import Request
from sqlmodel import Session, select

from intake import domain
from intake.models import Account, AccountSession, Report, Reporter

COOKIE = "aduan_akun"
MAX_FAILURES = 5
LOCK = timedelta(minutes=15)


class Problem(Exception):
    """Why a sign-up or sign-in is refused: (Indonesian, English)."""

    def __init__(self, id_text: str, en_text: str) -> None:
        super().__init__(en_text)
        self.id_text = id_text
        self.en_text = en_text

    def text(self, lang: str) -> str:
        return self.en_text if lang == "en" else self.id_text


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def register(
    session: Session,
    username: str,
    password: str,
    name: str | None,
    phone: str | None,
    email: str | None,
    language: str,
) -> Account:
    """A new account and its reporter row; :class:`Problem` if refused."""
    username = username.strip().lower()
    if not domain.USERNAME.fullmatch(username):
        raise Problem(
            "Nama pengguna 3-32 huruf kecil, angka, titik, minus atau garis bawah.",
            "Username: 3-32 lower-case letters, digits, dots, dashes or underscores.",
        )
    problem = domain.password_problem(username, password)
    if problem:
        raise Problem(*problem)
    if session.exec(select(Account).where(Account.username == username)).first():
        raise Problem("Nama pengguna sudah dipakai.", "That username is taken.")
    now = datetime.now(UTC)
    reporter = Reporter(
        ref=uuid.uuid4().hex,
        name=name,
        phone=phone,
        email=email,
        language=language,
        created_at=now,
    )
    account = Account(
        id=str(uuid.uuid4()),
        username=username,
        password_hash=domain.hash_password(password),
        reporter_ref=reporter.ref,
        created_at=now,
    )
    session.add(reporter)
    session.flush()
    session.add(account)
    return account


def sign_in(session: Session, username: str, password: str, days: int) -> str:
    """A new session token for the right password; :class:`Problem` otherwise."""
    wrong = Problem("Nama pengguna atau kata sandi salah.", "Wrong username or password.")
    account = session.exec(
        select(Account).where(Account.username == username.strip().lower()[:32])
    ).first()
    now = datetime.now(UTC)
    if account is None:
        domain.check_password(password, _DUMMY)  # the same time as for a real account
        raise wrong
    if account.locked_until is not None and _aware(account.locked_until) > now:
        raise Problem(
            "Terlalu banyak percobaan: coba lagi dalam 15 menit.",
            "Too many attempts: try again in 15 minutes.",
        )
    if not domain.check_password(password, account.password_hash):
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILURES:
            account.failed_logins = 0
            account.locked_until = now + LOCK
        session.add(account)
        session.commit()
        raise wrong
    account.failed_logins = 0
    account.locked_until = None
    session.add(account)
    token = secrets.token_urlsafe(32)
    session.add(
        AccountSession(
            token_hash=_token_hash(token),
            account_id=account.id,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    return token


_DUMMY = domain.hash_password(secrets.token_urlsafe(12))


def current(session: Session, request: Request) -> Account | None:
    """The signed-in account of a request, if its session is valid."""
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 100:
        return None
    found = session.get(AccountSession, _token_hash(token))
    if found is None or _aware(found.expires_at) <= datetime.now(UTC):
        return None
    return session.get(Account, found.account_id)


def sign_out(session: Session, request: Request) -> None:
    found = session.get(AccountSession, _token_hash(request.cookies.get(COOKIE, "")))
    if found is not None:
        session.delete(found)


def owns(account: Account | None, report: Report) -> bool:
    """Whether a report was made by this signed-in account."""
    return account is not None and report.account_id == account.id


def reports_of(session: Session, account: Account) -> list[Report]:
    return list(
        session.exec(
            select(Report)
            .where(Report.account_id == account.id)
            .order_by(Report.submitted_at.desc())  # type: ignore[attr-defined]
        ).all()
    )


def usernames(session: Session, account_ids: set[str]) -> dict[str, str]:
    """Usernames by account id (shown with non-anonymous reports)."""
    if not account_ids:
        return {}
    rows = session.exec(
        select(Account.id, Account.username).where(Account.id.in_(account_ids))  # type: ignore[attr-defined]
    ).all()
    return dict(rows)
