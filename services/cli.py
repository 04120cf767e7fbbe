"""The ``aduan`` command: run the platform, manage topics, replay outboxes, contracts.

aduan run                 broker + every service, supervised, until Ctrl-C
aduan topics              create the catalogue's topics on KAFKA_BOOTSTRAP_SERVERS
aduan replay --since T    re-publish every service's outbox events since T
aduan schemas [--check]   write (or check) the JSON Schemas of the event contracts
aduan asyncapi [--check]  write (or check) docs/asyncapi.yaml from the catalogue
aduan token --role ROLE --sub NAME [--agency ID]
                          issue a staff token for scripts and tests (ADUAN_AUTH_SECRET,
                          or the embedded one); people sign in at routing's /auth/login
aduan staff create-admin --email E --name N
                          make a national administrator and print their one-time link
                          to set a password and the second factor
aduan staff link --email E
                          print a new one-time link for a member of staff (an invitation
                          that did not arrive; or a reset, which ends their sessions)
aduan areas refresh --version X.Y.Z
                          replace the shipped administrative areas with a newer
                          release of idn-area-data (npm), after checking it
aduan region-acls [--check]
                          write (or check) deploy/kafka/region-acls.sh, the ACLs of
                          the per-province feed topics on a production cluster
aduan text-key [--id ID]  print a new key for ADUAN_TEXT_KEYS (put it first to rotate;
                          drop the old one once the topics' retention has passed)
aduan migration SERVICE -m MESSAGE
                          autogenerate a schema migration for a service's models
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services import auth, bus, schemas
from services.launcher import DEFAULT_PORTS, Platform
from services.serve import SERVICES
from services.settings import KitSettings


def _run(args: argparse.Namespace) -> int:
    platform = Platform(ports=DEFAULT_PORTS, supervise=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("Aduan: starting the broker and five services...", flush=True)
    try:
        platform.start(ready_timeout=args.ready_timeout)
    except Exception as exc:
        print(f"failed to start: {exc}\nlogs: {platform.log_dir}", file=sys.stderr)
        platform.stop()
        return 1
    print(f"broker   {platform.bootstrap}" + (" (embedded Tansu)" if platform.broker else ""))
    for inst in platform.instances:
        print(f"{inst.key:<14} {inst.url}   (docs {inst.url}/docs)")
    print(f"citizens' API: {platform.url('intake')}/v1/reports")
    site = platform.url("intake")
    print(f"\nCitizens' site (Aduan):  {site}/")
    print(f"  report {site}/lapor, follow {site}/lacak, public {site}/laporan, {site}/statistik")
    print(f"Verifiers' console:     {platform.url('verification')}/console")
    print(f"Agencies' console:      {platform.url('routing')}/console")
    print(f"Staff sign-in (every console): {platform.url('routing')}/auth/login")
    if platform.administrators() == 0:
        print(
            "No administrator yet. Make the first one, then open the one-time link it prints"
            " to set a password and the second factor (an authenticator app):\n"
            "  .venv/bin/aduan staff create-admin --email you@example.go.id --name 'Your Name'"
            "\nThen invite verifiers and agency staff from "
            f"{platform.url('routing')}/auth/staff (docs/staff.md). Invitations are emailed"
            " when NOTIFICATIONS_SMTP_HOST is set; without it, print a member's link with"
            "\n  .venv/bin/aduan staff link --email them@example.go.id\n"
        )
    print(f"logs: {platform.log_dir}\nCtrl-C stops everything.", flush=True)
    stop.wait()
    print("stopping...", flush=True)
    platform.stop()
    return 0


def _parse_since(text: str) -> datetime:
    if text.endswith(("m", "h", "d")) and text[:-1].isdigit():
        unit = {"m": "minutes", "h": "hours", "d": "days"}[text[-1]]
        return datetime.now(UTC) - timedelta(**{unit: int(text[:-1])})
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _replay(args: argparse.Namespace) -> int:
    platform = Platform()
    kit = platform.kit()
    bus.ensure_topics(kit)
    since = _parse_since(args.since)
    for name in args.service or SERVICES:
        n = bus.replay_outbox(platform.database_url(name), kit, since, name)
        print(f"{name}: re-published {n} events since {since.isoformat()}")
    return 0


def _token(args: argparse.Namespace) -> int:
    try:
        token = Platform().staff_token(auth.Role(args.role), args.sub, args.agency)
    except ValueError as exc:
        print(f"aduan token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def _staff(args: argparse.Namespace) -> int:
    from routing.staff import Refused

    try:
        base = (
            KitSettings().aduan_staff_signin_url or f"http://127.0.0.1:{DEFAULT_PORTS['routing']}"
        )
        if args.action == "link":
            link = Platform().staff_link(args.email, base)
            print(f"A one-time link for {args.email.strip().lower()} (3 days):\n{link}")
            return 0
        if not args.name:
            print("aduan staff create-admin: --name is required", file=sys.stderr)
            return 2
        link = Platform().create_admin(args.email, args.name, base)
    except Refused as exc:
        print(f"aduan staff: {exc.key}", file=sys.stderr)
        return 2
    print(
        f"Administrator {args.email.strip().lower()} created. Open this link once, within 3 "
        f"days, to set the password and the second factor:\n{link}"
    )
    return 0


def _migration(args: argparse.Namespace) -> int:
    import importlib
    import tempfile

    from alembic import command
    from alembic.config import Config

    from services.db import migrate

    definition = importlib.import_module(f"{args.service}.app").build()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/schema.sqlite3"
        migrate(url, definition.migrations)
        cfg = Config()
        cfg.set_main_option("script_location", str(definition.migrations))
        cfg.set_main_option("sqlalchemy.url", url)
        command.revision(cfg, message=args.message, autogenerate=True)
    return 0


def _areas(args: argparse.Namespace) -> int:
    from services import areas

    try:
        counts = areas.refresh(args.version)
    except Exception as exc:
        print(f"aduan areas refresh: {exc}", file=sys.stderr)
        return 1
    print(f"idn-area-data {args.version}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``aduan``."""
    parser = argparse.ArgumentParser(
        prog="aduan", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run the whole platform on this machine")
    run.add_argument("--ready-timeout", type=float, default=120.0)
    sub.add_parser("topics", help="create the catalogue's topics")
    rep = sub.add_parser("replay", help="re-publish outbox events since a time")
    rep.add_argument("--since", required=True, help="ISO time, or 30m / 6h / 2d ago")
    rep.add_argument("--service", action="append", choices=SERVICES)
    for name in ("schemas", "asyncapi"):
        p = sub.add_parser(name, help=f"write or check the {name}")
        p.add_argument("--check", action="store_true", help="fail if the files differ")
    tok = sub.add_parser("token", help="issue a staff token")
    tok.add_argument("--role", required=True, choices=[r.value for r in auth.Role])
    tok.add_argument("--sub", required=True, help="who the token is for")
    tok.add_argument("--agency", help="the agency of an agency officer")
    st = sub.add_parser("staff", help="staff accounts")
    st.add_argument("action", choices=["create-admin", "link"])
    st.add_argument("--email", required=True)
    st.add_argument("--name", help="create-admin: the administrator's name")
    tk = sub.add_parser("text-key", help="print a new key for ADUAN_TEXT_KEYS")
    tk.add_argument("--id", default="k1", help="the key's id (letters, digits, - and _)")
    mig = sub.add_parser("migration", help="autogenerate a migration for a service")
    mig.add_argument("service", choices=SERVICES)
    mig.add_argument("-m", "--message", required=True)
    acl = sub.add_parser("region-acls", help="write or check deploy/kafka/region-acls.sh")
    acl.add_argument("--check", action="store_true", help="fail if the file differs")
    acl.add_argument("--namespace", default="aduan")
    areas = sub.add_parser("areas", help="the administrative areas data")
    areas.add_argument("action", choices=["refresh"])
    areas.add_argument("--version", required=True, help="idn-area-data release, e.g. 4.0.1")
    args = parser.parse_args(argv)
    if args.cmd == "areas":
        return _areas(args)
    if args.cmd == "region-acls":
        return schemas.write_or_check(
            {Path("deploy/kafka/region-acls.sh"): schemas.region_acls(args.namespace)}, args.check
        )
    if args.cmd == "run":
        return _run(args)
    if args.cmd == "topics":
        print("\n".join(bus.ensure_topics(KitSettings())) or "all topics exist")
        return 0
    if args.cmd == "token":
        return _token(args)
    if args.cmd == "staff":
        return _staff(args)
    if args.cmd == "text-key":
        from services import sealing

        spec = sealing.new_key_spec(args.id)
        sealing.Keyring.parse(spec)  # the id is one the keyring reads
        print(spec)
        return 0
    if args.cmd == "migration":
        return _migration(args)
    if args.cmd == "replay":
        return _replay(args)
    if args.cmd == "schemas":
        return schemas.write_or_check(schemas.schema_files(), args.check)
    if args.cmd == "asyncapi":
        return schemas.write_or_check(
            {
                Path("docs/asyncapi.yaml"): schemas.asyncapi_yaml(),
                Path("docs/regions/asyncapi.yaml"): schemas.region_asyncapi_yaml(),
            },
            args.check,
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
