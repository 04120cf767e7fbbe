"""A message is sent once: notifications is killed with SIGKILL in the middle of a burst
of SMS through the real Kannel (fakesmsc as the phone network) and of email through an
SMTP server (aiosmtpd); what the phones and the mailboxes received is counted. Only
messages in flight at the kill may arrive twice, and each of those is visible in its
delivery's record as an ``uncertain`` attempt."""

from __future__ import annotations

import re
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.launcher import Platform
from tests.channels import KannelGateway, SmtpSink
from tests.e2e.helpers import scalar, submit, wait_for

pytestmark = pytest.mark.e2e

REPORTS = 40  # half with a phone (notices by SMS), half with an email address only
NOTICES = 3  # received, verified, routed: each to the reporter
CONCURRENCY = 8  # per channel


def test_notifications_killed_mid_burst_sends_nothing_twice_but_what_was_in_flight(
    make_platform: Any, tmp_path: Path
) -> None:
    kannel = KannelGateway(tmp_path / "kannel").start()
    smtp = SmtpSink().start()
    try:
        platform: Platform = make_platform(
            "sqlite",
            extra_env={
                **kannel.env(),
                **smtp.env(),
                "NOTIFICATIONS_LEASE_SECONDS": "5",
                "NOTIFICATIONS_CONCURRENCY": str(CONCURRENCY),
            },
        )
        # The notices pile up while notifications is down, so that it starts with a burst.
        platform.kill("notifications", signal.SIGKILL)
        phones = [f"+62813{7000000 + i:07d}" for i in range(REPORTS // 2)]
        emails = [f"warga{i}@example.id" for i in range(REPORTS // 2)]
        for phone in phones:
            submit(platform, reporter={"phone": "0" + phone[3:]})
        for email in emails:
            submit(platform, reporter={"email": email})
        wait_for(
            lambda: scalar(platform, "routing", "SELECT count(*) FROM routings") >= REPORTS,
            120,
            "every report routed",
        )

        def sms() -> Counter[tuple[str, str]]:
            return Counter((m.to, m.text) for m in kannel.received() if m.to in phones)

        def mail() -> Counter[tuple[str, str]]:
            return Counter(
                (",".join(to), f"{m['Subject']}\n{m.get_body(('plain',)).get_content()}")  # type: ignore[union-attr]
                for to, m in smtp.received()
            )

        platform.start_instance("notifications")
        wait_for(lambda: sum(sms().values()) + sum(mail().values()) >= 20, 60, "the burst")
        platform.kill("notifications", signal.SIGKILL)  # mid-burst
        killed_at = (sum(sms().values()), sum(mail().values()))
        platform.start_instance("notifications")

        def all_sent() -> bool:
            sent = scalar(
                platform, "notifications", "SELECT count(*) FROM deliveries WHERE status = 'sent'"
            )
            return sent == REPORTS * NOTICES

        wait_for(all_sent, 180, "every delivery recorded as sent")
        each = REPORTS // 2 * NOTICES
        wait_for(lambda: len(sms()) == each, 60, "every SMS at its phone")
        wait_for(lambda: len(mail()) == each, 60, "every email in its mailbox")
        uncertain = platform_uncertain(platform)
        for channel, got in (("sms", sms()), ("email", mail())):
            twice = {key: n for key, n in got.items() if n > 1}
            doubtful = {d: tn for d, (ch, tn) in uncertain.items() if ch == channel}
            print(
                f"\nsend once, {channel}: {sum(got.values())} received for {each} notices; "
                f"killed after {killed_at}; {len(twice)} arrived twice; {len(doubtful)} uncertain"
            )
            assert len(got) == each  # every notice arrived
            assert all(n == 2 for n in twice.values()), channel  # at most twice, one kill
            assert len(twice) <= len(doubtful) <= CONCURRENCY, channel  # what was in flight
            # Each message that arrived twice is one whose record says it is uncertain.
            for (_, text), _n in twice.items():
                tracking = re.search(r"#(\d{7})", text)
                assert tracking and tracking.group(1) in doubtful.values(), text
    finally:
        smtp.stop()
        kannel.stop()


def platform_uncertain(platform: Platform) -> dict[str, tuple[str, str]]:
    """Deliveries with an uncertain attempt: delivery id -> (channel, tracking number)."""
    engine = sa.create_engine(platform.database_url("notifications"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT d.id, d.channel, r.tracking_number FROM delivery_attempts a "
                    "JOIN deliveries d ON d.id = a.delivery_id "
                    "JOIN recipients r ON r.report_id = d.report_id "
                    "WHERE a.outcome = 'uncertain'"
                )
            )
            return {str(i): (str(ch), str(tn)) for i, ch, tn in rows}
    finally:
        engine.dispose()
