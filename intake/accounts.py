"""Citizens' optional accounts: a username and a password, hashed with scrypt.

A signed-in citizen's reports are listed on their page and open without the secret code;
the username is shown with the report unless it is Anonim. Contact data (name, phone,
email) stays in the reporter row the account points at, like any reporter's.

Hashing and checking a password (scrypt, tenths of a second) run on a worker thread,
never on the database's. Sign-in keeps a random token in an HttpOnly, SameSite=Lax
cookie; the table keeps only its SHA-256, so a copy of the database opens no session.
Five wrong passwords lock the account for fifteen minutes (and the per-address rate
limit applies to every attempt).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache

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


def check_new(username: str, password: str) -> str:
    """The normalised username of a new account; :class:`Problem` if refused."""
    username = username.strip().lower()
    if not domain.USERNAME.fullmatch(username):
        raise Problem(
            "Nama pengguna 3-32 huruf kecil, angka, titik, minus atau garis bawah.",
            "Username: 3-32 lower-case letters, digits, dots, dashes or underscores.",
        )
    problem = domain.password_problem(username, password)
    if problem:
        raise Problem(*problem)
    return username


def register(
    session: Session,
    username: str,
    password_hash: str,
    name: str | None,
    phone: str | None,
    email: str | None,
    language: str,
) -> Account:
    """A new account (its password hashed already, off the database thread) and its
    reporter row; :class:`Problem` if the username is taken."""
    if session.exec(select(Account).where(Account.username == username)).first():
        raise TAKEN
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
        password_hash=password_hash,
        reporter_ref=reporter.ref,
        created_at=now,
    )
    session.add(reporter)
    session.flush()
    session.add(account)
    session.flush()
    return account


TAKEN = Problem("Nama pengguna sudah dipakai.", "That username is taken.")
WRONG = Problem("Nama pengguna atau kata sandi salah.", "Wrong username or password.")
LOCKED = Problem(
    "Terlalu banyak percobaan: coba lagi dalam 15 menit.",
    "Too many attempts: try again in 15 minutes.",
)


def find(session: Session, username: str) -> Account | None:
    return session.exec(
        select(Account).where(Account.username == username.strip().lower()[:32])
    ).first()


def locked(account: Account) -> bool:
    return account.locked_until is not None and _aware(account.locked_until) > datetime.now(UTC)


@cache
def dummy_hash() -> str:
    """A hash to check an unknown username's password against: the same time as for a
    real account, so the answer's delay does not tell which usernames exist."""
    return domain.hash_password(secrets.token_urlsafe(12))


def record_failure(session: Session, account_id: str) -> None:
    """One more wrong password; the fifth locks the account for a while."""
    account = session.get(Account, account_id)
    if account is None:
        return
    account.failed_logins += 1
    if account.failed_logins >= MAX_FAILURES:
        account.failed_logins = 0
        account.locked_until = datetime.now(UTC) + LOCK
    session.add(account)


def open_session(session: Session, account_id: str, days: int) -> str:
    """A new session for an account whose password was checked; its cookie token."""
    account = session.get(Account, account_id)
    assert account is not None
    account.failed_logins = 0
    account.locked_until = None
    session.add(account)
    now = datetime.now(UTC)
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
