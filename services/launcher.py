"""The local launcher: the broker, then every service as its own supervised process.

``Platform`` is what ``aduan run`` starts and what the end-to-end tests drive: it can
kill a service, start it again, restart the broker, and replay the outboxes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from services import auth, bus, sealing
from services.broker import EmbeddedBroker, free_port
from services.serve import SERVICES
from services.settings import BrokerProfile, KitSettings, ServiceSettings

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORTS = {
    "intake": 8080,
    "verification": 8081,
    "routing": 8082,
    "sla": 8083,
    "notifications": 8084,
}


@dataclass
class Instance:
    """One running (or stopped) service process."""

    service: str
    index: int
    port: int
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    # Supervision: when it was last started, and when it is due to start again.
    started: float = 0.0
    due: float | None = None

    @property
    def key(self) -> str:
        """``service`` or ``service#N`` for extra instances."""
        return self.service if self.index == 0 else f"{self.service}#{self.index}"

    @property
    def url(self) -> str:
        """Base URL of its HTTP API."""
        return f"http://127.0.0.1:{self.port}"


# The supervisor's restart policy: the first death after a healthy minute restarts at once;
# deaths in a row wait longer each time (a crash loop cannot spin), up to 30 s.
RESET_AFTER = 60.0
MAX_PAUSE = 30.0


def restart_pause(restarts: int) -> float:
    """Seconds to wait before the ``restarts``-th restart in a row (the first: none)."""
    return 0.0 if restarts <= 1 else min(MAX_PAUSE, 0.5 * 2.0 ** (restarts - 2))


class Platform:
    """The broker and the five services, on this machine."""

    def __init__(
        self,
        var_dir: Path | None = None,
        namespace: str | None = None,
        database_urls: dict[str, str] | None = None,
        ports: dict[str, int] | None = None,
        instances: dict[str, int] | None = None,
        extra_env: dict[str, str] | None = None,
        supervise: bool = False,
        bootstrap: str | None = None,
        profile: BrokerProfile | None = None,
    ) -> None:
        kit = KitSettings()
        self._profile = profile or kit.aduan_broker_profile
        self.var_dir = (var_dir or kit.aduan_var_dir).resolve()
        self.log_dir = self.var_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.namespace = namespace or kit.aduan_namespace
        self.database_urls = database_urls or {}
        self.extra_env = extra_env or {}
        self.supervise = supervise
        self.bootstrap = bootstrap or kit.kafka_bootstrap_servers
        self.broker: EmbeddedBroker | None = None
        self.instances: list[Instance] = []
        for name in SERVICES:
            for i in range((instances or {}).get(name, 1)):
                port = (ports or {}).get(name) if i == 0 else None
                self.instances.append(Instance(name, i, port or free_port()))
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        # Held while an instance is stopped and started on purpose (broker recovery), so
        # that the supervisor does not take that for a death.
        self._spawning = threading.RLock()
        self._recovering: threading.Thread | None = None
        self.started_at: datetime | None = None

    # -------------------------------------------------------------------- settings

    @property
    def profile(self) -> BrokerProfile:
        """Tansu workarounds: on with the embedded broker, else as configured."""
        if self._profile is not None:
            return self._profile
        return BrokerProfile.tansu if self.broker is not None else BrokerProfile.kafka

    def kit(self) -> KitSettings:
        """The kit settings every process gets."""
        return KitSettings(
            kafka_bootstrap_servers=self.bootstrap,
            aduan_broker_profile=self.profile,
            aduan_namespace=self.namespace,
            aduan_var_dir=self.var_dir,
        )

    def database_url(self, service: str) -> str:
        """The database URL a service uses on this platform."""
        if service in self.database_urls:
            return self.database_urls[service]
        settings = ServiceSettings(_env_prefix=f"{service.upper()}_")  # type: ignore[call-arg]
        return settings.resolved_database_url(service, self.kit())

    def auth_secret(self) -> str:
        """The key that signs staff tokens on this platform."""
        configured = self.extra_env.get("ADUAN_AUTH_SECRET") or os.environ.get("ADUAN_AUTH_SECRET")
        return configured or auth.load_or_create_secret(self.var_dir / "auth-secret")

    def text_keys(self) -> str:
        """The keys that seal report texts on this platform (services.sealing)."""
        configured = self.extra_env.get("ADUAN_TEXT_KEYS") or os.environ.get("ADUAN_TEXT_KEYS")
        if configured:
            return configured
        path = self.var_dir / "text-keys"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(sealing.new_key_spec())
        return path.read_text().strip()

    def _routing_db(self) -> Any:
        from services.db import Database, migrate

        url = self.database_url("routing")
        migrate(url, ROOT / "routing" / "migrations")
        return Database(url)

    def create_admin(self, email: str, name: str, base: str | None = None) -> str:
        """A national administrator, and their one-time link to set a password and the
        second factor (``aduan staff create-admin``)."""
        from routing import staff
        from routing.models import OUTBOX

        base = base or self.extra_env.get("ADUAN_STAFF_SIGNIN_URL") or self.url("routing")
        db = self._routing_db()
        try:
            with db.session() as session:
                account = staff.create_account(
                    session, email, name, auth.Role.administrator, None, "aduan staff create-admin"
                )
                outbox = bus.Outbox("routing", self.kit(), OUTBOX)
                return staff.issue_link(session, outbox, account, "invitation", "cli", base)
        finally:
            db.close()

    def staff_link(self, email: str, base: str | None = None) -> str:
        """A new one-time link for an existing account (``aduan staff link``): to set the
        password of an invited member of staff whose email did not arrive, or to reset
        one (which ends their sessions at once)."""
        from routing import staff
        from routing.models import OUTBOX

        base = base or self.extra_env.get("ADUAN_STAFF_SIGNIN_URL") or self.url("routing")
        db = self._routing_db()
        try:
            with db.session() as session:
                account = staff.by_email(session, email)
                if account is None or account.disabled_at is not None:
                    raise staff.Refused("link_invalid", 404)
                outbox = bus.Outbox("routing", self.kit(), OUTBOX)
                purpose = "reset" if account.password_hash or account.totp_secret else "invitation"
                if purpose == "reset":
                    account.password_hash = account.totp_secret = None
                    staff.cut_off(session, outbox, account, "cli", "password_reset")
                return staff.issue_link(session, outbox, account, purpose, "cli", base)
        finally:
            db.close()

    def administrators(self) -> int:
        """How many enabled administrator accounts routing has."""
        import sqlalchemy as sa

        db = self._routing_db()
        try:
            with db.engine.connect() as conn:
                return int(
                    conn.execute(
                        sa.text(
                            "SELECT count(*) FROM staff_accounts "
                            "WHERE role = 'administrator' AND disabled_at IS NULL"
                        )
                    ).scalar_one()
                )
        finally:
            db.close()

    def staff_token(self, role: auth.Role, sub: str, agency_id: str | None = None) -> str:
        """A signed token for a member of staff, valid on this platform's services."""
        return auth.issue(self.auth_secret(), sub, role, agency_id)

    def env_for(self, inst: Instance) -> dict[str, str]:
        """The environment of one service process."""
        env = dict(os.environ)
        env.update(self.extra_env)
        env["ADUAN_AUTH_SECRET"] = self.auth_secret()
        env.setdefault("ADUAN_STAFF_SIGNIN_URL", self.url("routing"))
        env.setdefault(
            "ADUAN_CONSOLE_ORIGINS", ",".join(self.url(s) for s in ("routing", "verification"))
        )
        env.setdefault("ROUTING_VERIFICATION_CONSOLE_URL", self.url("verification"))
        if inst.service in sealing.HOLDERS:  # the only services that read citizens' words
            env["ADUAN_TEXT_KEYS"] = self.text_keys()
        else:
            env.pop("ADUAN_TEXT_KEYS", None)
        prefix = inst.service.upper()
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap or "",
                "ADUAN_BROKER_PROFILE": self.profile.value,
                "ADUAN_NAMESPACE": self.namespace,
                "ADUAN_VAR_DIR": str(self.var_dir),
                f"{prefix}_HTTP_PORT": str(inst.port),
                f"{prefix}_INSTANCE": str(inst.index),
                f"{prefix}_DATABASE_URL": self.database_url(inst.service),
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
                ),
            }
        )
        if inst.service in ("routing", "verification"):  # they link the reporter's files
            env.setdefault(f"{prefix}_INTAKE_URL", self.url("intake"))
        if inst.service == "intake":  # the tracking page links the agency's files
            env.setdefault("INTAKE_ROUTING_URL", self.url("routing"))
        return env

    # -------------------------------------------------------------------- lifecycle

    def start(self, ready_timeout: float = 90.0) -> None:
        """Start the broker (unless one is given), create topics, start every service."""
        self.started_at = datetime.now(UTC)
        if self.bootstrap is None:
            self.broker = EmbeddedBroker(log_path=self.log_dir / "broker.log")
            self.broker.start()
            self.bootstrap = self.broker.bootstrap
        bus.ensure_topics(self.kit())
        for inst in self.instances:
            self._spawn(inst)
        self.wait_ready(ready_timeout)
        if self.supervise:
            self._supervisor = threading.Thread(target=self._watch, daemon=True)
            self._supervisor.start()

    def _spawn(self, inst: Instance) -> None:
        out = open(self.log_dir / f"{inst.key}.log", "ab")  # noqa: SIM115
        inst.proc = subprocess.Popen(
            [sys.executable, "-m", "services.serve", inst.service],
            env=self.env_for(inst),
            cwd=str(ROOT),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        inst.started, inst.due = time.monotonic(), None

    def health(self, inst: Instance) -> dict[str, object] | None:
        """The instance's /health answer, or None if it does not answer."""
        try:
            r = httpx.get(f"{inst.url}/health", timeout=2)
            return dict(r.json()) if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def wait_ready(self, timeout: float = 90.0, keys: list[str] | None = None) -> None:
        """Wait until the instances answer /health and their consumers own partitions."""
        deadline = time.monotonic() + timeout
        pending = [i for i in self.instances if keys is None or i.key in keys]
        while pending and time.monotonic() < deadline:
            for inst in list(pending):
                code = inst.proc.poll() if inst.proc is not None else None
                if code is not None and not (self.supervise and self._supervisor is not None):
                    raise RuntimeError(
                        f"{inst.key} exited with {code}; see {self.log_dir / (inst.key + '.log')}"
                    )
                h = self.health(inst)
                if h and h.get("status") == "ok" and h.get("consumer") != "joining":
                    pending.remove(inst)
            time.sleep(0.2)
        if pending:
            raise TimeoutError(f"not ready after {timeout}s: {[i.key for i in pending]}")

    def _wait_answering(self, inst: Instance, timeout: float) -> None:
        """Wait until an instance's HTTP API answers (its consumer may still be joining)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.health(inst) is None:
            if inst.proc is not None and inst.proc.poll() is not None:
                return  # it died; wait_ready (or the supervisor) deals with it
            time.sleep(0.1)

    def _watch(self) -> None:
        """Restart what died: every death noticed within 0.2 s, several at once, while the
        broker recovers too; the pause grows only for deaths in a row (restart_pause)."""
        while not self._stop.wait(0.2):
            broker = self.broker
            recovering = self._recovering is not None and self._recovering.is_alive()
            if (
                not recovering
                and broker is not None
                and broker.proc is not None
                and broker.proc.poll() is not None
            ):
                self._recovering = threading.Thread(target=self._recover_broker, daemon=True)
                self._recovering.start()
                continue
            # While the broker recovers, deaths are still tended: the recovery holds
            # _spawning only while it stops and starts the workers itself.
            now = time.monotonic()
            with self._spawning:
                for inst in self.instances:
                    self._tend(inst, now)

    def _tend(self, inst: Instance, now: float) -> None:
        if inst.proc is None:
            return
        if inst.proc.poll() is None:
            if inst.restarts and now - inst.started >= RESET_AFTER:
                inst.restarts = 0  # a healthy minute: the next death restarts at once
            return
        if inst.due is None:
            inst.restarts += 1
            pause = restart_pause(inst.restarts)
            inst.due = now + pause
            code = inst.proc.returncode
            print(f"{inst.key} exited ({code}); restarting in {pause:.1f}s", flush=True)
        if now >= inst.due:
            self._spawn(inst)

    def _recover_broker(self) -> None:
        """The embedded broker died with every message: start it again and recover."""
        assert self.broker is not None and self.started_at is not None
        print("the embedded broker stopped; restarting it and recovering", flush=True)
        try:
            self.broker.start()
            counts = self.recover_after_broker_loss(self.started_at)
            print(f"recovered; replayed {counts}", flush=True)
        except Exception as exc:
            print(f"recovery failed: {exc}; run `aduan replay`", flush=True)

    def recover_after_broker_loss(self, since: datetime) -> dict[str, int]:
        """After the broker lost its data: topics, fresh workers, then replay.

        Every worker is restarted so that no consumer keeps offsets remembered from the
        lost broker (faust drops messages below them); then every outbox event since
        ``since`` is published again, and the inboxes absorb what had arrived already.
        The workers are killed, not stopped: a graceful stop would commit the remembered
        offsets to the new broker, and a faust worker whose broker vanished can take many
        seconds to stop, while its HTTP API is down. What they committed is in their
        databases (crash-only, as when a worker notices the loss itself). Those that
        exited already start again at once; the others go one at a time, each answering
        HTTP again before the next goes: a citizen's page or a console is away for the
        ~2 s a process takes to start, not for six starting together.
        """
        bus.ensure_topics(self.kit())
        # _spawning is held only while a worker is killed and started, so that the
        # supervisor takes neither for a death and still tends the others meanwhile.
        with self._spawning:
            live = [i for i in self.instances if i.proc is not None and i.proc.poll() is None]
            for inst in self.instances:
                if inst not in live:
                    self._spawn(inst)
        for inst in live:
            with self._spawning:
                assert inst.proc is not None
                inst.proc.send_signal(signal.SIGKILL)
                inst.proc.wait()
                self._spawn(inst)
            self._wait_answering(inst, 60)
        self.wait_ready(120)
        return self.replay(since)

    def instance(self, key: str) -> Instance:
        """An instance by key (``routing`` or ``routing#1``)."""
        return next(i for i in self.instances if i.key == key)

    def url(self, key: str) -> str:
        """Base URL of an instance's HTTP API."""
        return self.instance(key).url

    def kill(self, key: str, sig: int = signal.SIGKILL) -> None:
        """Send a signal to an instance and wait for it to exit."""
        inst = self.instance(key)
        if inst.proc is not None and inst.proc.poll() is None:
            inst.proc.send_signal(sig)
            try:
                inst.proc.wait(40)
            except subprocess.TimeoutExpired:
                inst.proc.kill()
                inst.proc.wait()

    def start_instance(self, key: str, ready_timeout: float = 60.0) -> None:
        """Start a stopped instance again, on the same port and database."""
        inst = self.instance(key)
        self._spawn(inst)
        self.wait_ready(ready_timeout, keys=[key])

    def restart_broker(self) -> None:
        """Restart the embedded broker on the same port and create the topics again."""
        if self.broker is None:
            raise RuntimeError("only the embedded broker can be restarted")
        self.broker.restart()
        bus.ensure_topics(self.kit())

    def replay(self, since: datetime) -> dict[str, int]:
        """Re-publish every service's outbox events created since ``since``."""
        bus.ensure_topics(self.kit())
        return {
            name: bus.replay_outbox(self.database_url(name), self.kit(), since, name)
            for name in SERVICES
        }

    def stop(self) -> None:
        """SIGTERM every service, SIGKILL what is left after 30 s, then stop the broker."""
        self._stop.set()
        for inst in self.instances:
            if inst.proc is not None and inst.proc.poll() is None:
                inst.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for inst in self.instances:
            if inst.proc is None:
                continue
            try:
                inst.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(inst.proc.pid, signal.SIGKILL)
                inst.proc.wait()
        if self.broker is not None:
            self.broker.stop()

    def __enter__(self) -> Platform:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
