"""A message is sent once: notifications is killed with SIGKILL in the middle of an SMS
burst through the real Kannel (fakesmsc as the phone network); what the phones received
is counted. Only messages in flight at the kill may arrive twice, and each of those is
visible in its delivery's record as an ``uncertain`` attempt."""

from __future__ import annotations

import re
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.launcher import Platform
from tests.channels import KannelGateway
from tests.e2e.helpers import scalar, submit, wait_for

pytestmark = pytest.mark.e2e

REPORTS = 40
NOTICES = 3  # received, verified, routed: each by SMS to the reporter
CONCURRENCY = 8


def test_notifications_killed_mid_burst_sends_nothing_twice_but_what_was_in_flight(
    make_platform: Any, tmp_path: Path
) -> None:
    kannel = KannelGateway(tmp_path / "kannel").start()
    try:
        platform: Platform = make_platform(
            "sqlite",
            extra_env={
                **kannel.env(),
                "NOTIFICATIONS_LEASE_SECONDS": "5",
                "NOTIFICATIONS_CONCURRENCY": str(CONCURRENCY),
            },
        )
        # The notices pile up while notifications is down, so that it starts with a burst.
        platform.kill("notifications", signal.SIGKILL)
        phones = [f"+62813{7000000 + i:07d}" for i in range(REPORTS)]
        for phone in phones:
            submit(platform, reporter={"phone": "0" + phone[3:]})
        wait_for(
            lambda: scalar(platform, "routing", "SELECT count(*) FROM routings") >= REPORTS,
            120,
            "every report routed",
        )
        platform.start_instance("notifications")
        wait_for(lambda: len(kannel.received()) >= 15, 60, "the burst under way")
        platform.kill("notifications", signal.SIGKILL)  # mid-burst
        killed_at = len(kannel.received())
        platform.start_instance("notifications")

        def all_sent() -> bool:
            sent = scalar(
                platform, "notifications", "SELECT count(*) FROM deliveries WHERE status = 'sent'"
            )
            return sent == REPORTS * NOTICES

        wait_for(all_sent, 180, "every SMS delivery recorded as sent")
        wait_for(
            lambda: len({(m.to, m.text) for m in kannel.received()}) == REPORTS * NOTICES,
            60,
            "every SMS at its phone",
        )
        got = Counter((m.to, m.text) for m in kannel.received() if m.to in phones)
        twice = {key: n for key, n in got.items() if n > 1}
        uncertain = platform_uncertain(platform)
        print(
            f"\nsend once: {sum(got.values())} SMS received for {REPORTS * NOTICES} notices; "
            f"killed after {killed_at}; {len(twice)} arrived twice; {len(uncertain)} uncertain"
        )
        assert len(got) == REPORTS * NOTICES  # every notice arrived
        assert all(n == 2 for n in twice.values())  # at most twice, after one kill
        assert len(twice) <= len(uncertain) <= CONCURRENCY  # only what was in flight
        # Each message that arrived twice is one whose record says it is uncertain.
        for (_, text), _n in twice.items():
            tracking = re.search(r"#(\d{7})", text)
            assert tracking and tracking.group(1) in uncertain.values(), text
    finally:
        kannel.stop()


def platform_uncertain(platform: Platform) -> dict[str, str]:
    """Deliveries with an uncertain attempt: delivery id -> tracking number."""
    engine = sa.create_engine(platform.database_url("notifications"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT d.id, r.tracking_number FROM delivery_attempts a "
                    "JOIN deliveries d ON d.id = a.delivery_id "
                    "JOIN recipients r ON r.report_id = d.report_id "
                    "WHERE a.outcome = 'uncertain'"
                )
            )
            return {str(i): str(tn) for i, tn in rows}
    finally:
        engine.dispose()
