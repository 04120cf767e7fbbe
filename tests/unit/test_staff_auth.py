"""Staff sign-in's rules: TOTP windows and replays, lockout, passwords, token expiry and
renewal, revocation by session and by account, grants and where the sign-in page may
send people back. The end-to-end path is tests/e2e/test_staff_accounts.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlmodel import Session

from routing import staff
from routing.models import Base, StaffAccount
from services import auth, console, staffgate
from services.auth import InvalidToken, Role
from services.db import Database

SECRET = "s" * 48


@pytest.fixture(autouse=True)
def _clean_gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ADUAN_AUTH_SECRET", SECRET)
    staffgate.GATE.clear()
    yield
    staffgate.GATE.clear()


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    db = Database(f"sqlite:///{tmp_path}/routing.sqlite3")
    Base.metadata.create_all(db.engine)
    with Session(db.engine, expire_on_commit=False) as s:
        yield s
    db.close()


# --- TOTP ------------------------------------------------------------------------------


def test_a_code_is_good_in_its_step_and_one_either_side_and_once() -> None:
    key = pyotp.random_base32()
    totp = pyotp.TOTP(key)
    at = 1_800_000_015.0  # inside step 60,000,000
    step = int(at // 30)
    assert staff.totp_step(key, totp.at(at), None, at) == step
    assert staff.totp_step(key, totp.at(at - 30), None, at) == step - 1  # the clock drifted
    assert staff.totp_step(key, totp.at(at + 30), None, at) == step + 1
    assert staff.totp_step(key, totp.at(at - 60), None, at) is None  # two steps: too old
    assert staff.totp_step(key, totp.at(at + 60), None, at) is None
    # Used once: the same code, or an older step's, is refused.
    assert staff.totp_step(key, totp.at(at), step, at) is None
    assert staff.totp_step(key, totp.at(at - 30), step, at) is None
    assert staff.totp_step(key, totp.at(at + 30), step, at) == step + 1
    # Spaces are forgiven; anything else is not a code.
    code = totp.at(at)
    assert staff.totp_step(key, f"{code[:3]} {code[3:]}", None, at) == step
    for junk in ("", "12345", "1234567", "abcdef", "12345x"):
        assert staff.totp_step(key, junk, None, at) is None


# --- passwords and lockout -------------------------------------------------------------


def test_passwords_are_argon2id_and_checked_for_the_obvious() -> None:
    hashed = staff.hash_password("angkot hijau lewat dago")
    assert hashed.startswith("$argon2id$")
    assert staff.password_matches(hashed, "angkot hijau lewat dago")
    assert not staff.password_matches(hashed, "angkot hijau lewat dagu")
    assert not staff.password_matches(None, "anything at all")  # an invited account
    assert not staff.password_matches("not a hash", "x")
    assert staff.password_problem("pendek", "a@b.id") == "pw_short"
    assert staff.password_problem("siti.rahma-2026!", "siti.rahma@bdg.go.id") == "pw_personal"
    assert staff.password_problem("aaaaaaaaaaaaaaaa", "x@y.id") == "pw_simple"
    assert staff.password_problem("x" * 257, "x@y.id") == "pw_long"
    assert staff.password_problem("kopi tubruk di pagi hari", "x@y.id") is None


def _account(session: Session, role: Role = Role.coordinator) -> StaffAccount:
    account = staff.create_account(
        session, "Rina@Bandung.go.id", "Rina", role, "pemda-32.73", "test"
    )
    account.password_hash = staff.hash_password("angkot hijau lewat dago")
    return account


def test_five_wrong_attempts_lock_the_account_for_fifteen_minutes(session: Session) -> None:
    account = _account(session)
    assert account.id == "rina" and account.email == "rina@bandung.go.id"
    for _ in range(staff.MAX_FAILURES - 1):
        staff.failed(session, account, "10.0.0.1", "password")
        staff.may_try(account)  # not yet
    staff.failed(session, account, "10.0.0.1", "totp")
    with pytest.raises(staff.Refused) as refused:
        staff.may_try(account)
    assert refused.value.key == "locked" and refused.value.status == 423
    assert account.locked_until is not None
    assert account.locked_until - staff.now() > timedelta(minutes=14)
    # Fifteen minutes later it may try again; a success clears the count.
    account.locked_until = staff.now() - timedelta(seconds=1)
    staff.may_try(account)
    staff.failed(session, account, "10.0.0.1", "password")
    staff.open_session(session, account, "password", "10.0.0.1", "test")
    assert account.failures == 0
    # A disabled account reads as wrong credentials, whatever is typed.
    account.disabled_at = staff.now()
    with pytest.raises(staff.Refused) as refused:
        staff.may_try(account)
    assert refused.value.key == "bad_credentials"
    actions = [a.action for a in staff.recent_audit(session, [account.id], 100)]
    assert actions.count("sign_in_failed") == 6 and "locked" in actions


def test_a_coordinator_invites_only_officers_of_their_own_agencys_units(
    session: Session,
) -> None:
    from routing.models import Agency

    now = staff.now()
    for id_, kind, parent in (
        ("pemda-32.73", "pemda", None),
        ("kec-32.73.02", "kecamatan", "pemda-32.73"),
        ("pemda-35.78", "pemda", None),
        ("kec-35.78.01", "kecamatan", "pemda-35.78"),
    ):
        session.add(Agency(id=id_, kind=kind, name=id_, parent_id=parent, updated_at=now))
    session.flush()
    may = staff.may_invite
    coord, admin = Role.coordinator, Role.administrator
    assert may(session, coord, "pemda-32.73", Role.unit_officer, "kec-32.73.02") is None
    assert may(session, coord, "pemda-32.73", Role.unit_officer, "kec-35.78.01") == "not_yours"
    assert may(session, coord, "pemda-32.73", Role.coordinator, "pemda-32.73") == "not_yours"
    assert may(session, coord, "pemda-32.73", Role.verifier, "") == "not_yours"
    assert may(session, admin, None, Role.coordinator, "pemda-35.78") is None
    assert may(session, admin, None, Role.unit_officer, "pemda-35.78") == "agency_not_unit"
    assert may(session, admin, None, Role.coordinator, "kec-35.78.01") == "agency_is_unit"
    assert may(session, admin, None, Role.coordinator, "pemda-99.99") == "agency_unknown"
    assert may(session, admin, None, Role.monitor, "pemda-32.73") == "agency_not_needed"


# --- tokens ----------------------------------------------------------------------------


def _session(minutes_left: float = 60, started_ago: float = 1) -> auth.Session:
    now = datetime.now(UTC)
    return auth.Session(
        "sid-1", now - timedelta(minutes=started_ago), now + timedelta(minutes=minutes_left)
    )


def test_tokens_expire_and_a_console_renews_only_within_its_session() -> None:
    expired = auth.issue(SECRET, "rina", Role.coordinator, "pemda-32.73", timedelta(seconds=-1))
    with pytest.raises(InvalidToken):
        auth.verify(SECRET, expired)
    # A script's token is never renewed, and not used once expired.
    assert auth.renew(SECRET, expired, console.IDLE) is None
    fresh = auth.issue(SECRET, "rina", Role.coordinator, "pemda-32.73")
    assert auth.renew(SECRET, fresh, console.IDLE) == (auth.verify(SECRET, fresh), None)
    # A session's token well within its life is kept as it is...
    s = _session()
    token = auth.issue(SECRET, "rina", Role.coordinator, "pemda-32.73", auth.ACCESS_TTL, s)
    member, renewed = auth.renew(SECRET, token, console.IDLE)  # type: ignore[misc]
    assert member.sid == "sid-1" and renewed is None
    # ...renewed in its second half, and after it expired while the person was idle.
    for ttl in (timedelta(minutes=3), timedelta(minutes=-20)):
        old = auth.issue(SECRET, "rina", Role.coordinator, "pemda-32.73", ttl, s)
        checked = auth.renew(SECRET, old, console.IDLE)
        assert checked is not None and checked[1] is not None
        assert auth.verify(SECRET, checked[1]).sid == "sid-1"
    # Idle too long, or the session is over: a new sign-in.
    idle = auth.issue(SECRET, "rina", Role.coordinator, "pemda-32.73", timedelta(minutes=-31), s)
    assert auth.renew(SECRET, idle, console.IDLE) is None
    # A token lives only until its session's end, however long it was asked to.
    ending = _session(minutes_left=2)
    token = auth.issue(SECRET, "rina", Role.coordinator, "pemda-32.73", auth.ACCESS_TTL, ending)
    claims = auth.claims_of(SECRET, token, auth.AUDIENCE)
    assert float(claims["exp"]) <= ending.ends.timestamp()  # type: ignore[arg-type]
    assert float(claims["exp"]) > ending.ends.timestamp() - 2  # type: ignore[arg-type]


def test_a_revoked_session_or_a_disabled_account_is_refused_at_once() -> None:
    s = _session(started_ago=5)
    token = auth.issue(SECRET, "rina", Role.coordinator, "pemda-32.73", auth.ACCESS_TTL, s)
    other = auth.issue(
        SECRET,
        "rina",
        Role.coordinator,
        "pemda-32.73",
        auth.ACCESS_TTL,
        auth.Session("sid-2", s.started, s.ends),
    )
    script = auth.issue(SECRET, "rina", Role.coordinator, "pemda-32.73")
    now = datetime.now(UTC)
    staffgate.GATE.apply(
        {
            "account_id": "rina",
            "session_id": "sid-1",
            "not_before": now.isoformat(),
            "forget_after": s.ends.isoformat(),
        }
    )
    with pytest.raises(InvalidToken, match="revoked"):
        auth.verify(SECRET, token)
    assert auth.renew(SECRET, token, console.IDLE) is None
    assert auth.verify(SECRET, other).sid == "sid-2"  # the person's other session lives
    # Disabling the account: every session begun before, and script tokens issued before.
    staffgate.GATE.apply(
        {"account_id": "rina", "not_before": now.isoformat(), "forget_after": now.isoformat()}
    )
    for t in (other, script):
        with pytest.raises(InvalidToken, match="revoked"):
            auth.verify(SECRET, t)
    # A session begun after it (the account enabled again, signed in anew) works.
    later = auth.Session("sid-3", now + timedelta(seconds=1), now + timedelta(hours=1))
    fresh = auth.issue(SECRET, "rina", Role.coordinator, "pemda-32.73", auth.ACCESS_TTL, later)
    assert auth.verify(SECRET, fresh).sid == "sid-3"
    assert auth.verify(SECRET, auth.issue(SECRET, "budi", Role.unit_officer, "kec-32.73.02"))


def test_the_gate_skips_what_it_cannot_read_and_forgets_expired_sessions() -> None:
    reader = staffgate.Reader.__new__(staffgate.Reader)
    reader.gate = staffgate.GATE
    for raw in (b"", b"not json", b"[]", b'{"type": "id.aduan.staff.access_changed.v1"}'):
        reader._apply(raw)  # logged and skipped, never raised
    past = datetime.now(UTC) - timedelta(minutes=1)
    staffgate.GATE.apply(
        {
            "account_id": "a",
            "session_id": "old",
            "not_before": past.isoformat(),
            "forget_after": past.isoformat(),
        }
    )
    assert not staffgate.GATE.refuses("a", "old", past.timestamp())


def test_a_grant_names_its_session_and_the_sign_in_page_returns_only_to_consoles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = _session()
    member = auth.Staff("rina", Role.coordinator, "pemda-32.73", "sid-1")
    grant = auth.issue_grant(SECRET, member, s)
    got, session_, jti = auth.redeem_grant(SECRET, grant)
    assert got == member and session_.sid == "sid-1" and jti
    assert console.REDEEMED.first_time(jti) and not console.REDEEMED.first_time(jti)
    with pytest.raises(InvalidToken):  # a grant is not a token, nor a token a grant
        auth.verify(SECRET, grant)
    with pytest.raises(InvalidToken):
        auth.redeem_grant(SECRET, auth.issue(SECRET, "rina", Role.coordinator, "pemda-32.73"))
    monkeypatch.setenv("ADUAN_CONSOLE_ORIGINS", "https://konsol.aduan.go.id,http://127.0.0.1:8081")
    allowed = console.allowed_return
    assert allowed("https://konsol.aduan.go.id/console/session?next=/console/inbox")
    assert allowed("http://127.0.0.1:8081/console/session")
    assert not allowed("https://evil.example/console/session")
    assert not allowed("https://konsol.aduan.go.id.evil.example/console/session")
    assert not allowed("https://konsol.aduan.go.id/elsewhere")
    assert not allowed("javascript:alert(1)//konsol.aduan.go.id/console/session")
    ticket = auth.issue_signout(SECRET, member)
    assert auth.verify_signout(SECRET, ticket) == ("rina", "sid-1")


@pytest.mark.parametrize(
    ("agent", "shown"),
    [
        (
            "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome, Android",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge, Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            "Safari, iPhone",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox, Linux",
        ),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", ""),
    ],
)
def test_a_session_names_its_browser_and_system(agent: str, shown: str) -> None:
    from routing.signin import device

    assert device(agent) == shown


def test_only_failures_use_up_an_addresss_sign_in_tries() -> None:
    """A sign-in limit that counts failures: ``spent`` before each try takes nothing,
    ``hit`` on each failure takes one; another address has its own."""
    from services.ratelimit import Limited, Limiter

    failures = Limiter(10, 60.0, 10)
    for _ in range(100):  # successful tries: checked, never counted
        failures.spent("10.0.0.1", now=0.0)
    for _ in range(10):
        failures.spent("10.0.0.1", now=0.0)
        failures.hit("10.0.0.1", now=0.0)
    with pytest.raises(Limited) as refused:
        failures.spent("10.0.0.1", now=0.0)
    assert refused.value.retry_after == pytest.approx(6.0)
    failures.spent("10.0.0.2", now=0.0)
    failures.spent("10.0.0.1", now=6.0)  # one failure back after six seconds
    failures.hit("10.0.0.1", now=6.0)
    with pytest.raises(Limited):
        failures.spent("10.0.0.1", now=6.0)
