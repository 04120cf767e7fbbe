"""Notifications' pure parts: templates, SMS encoding, retry timing, the outbound address
filter, and Standard Webhooks signatures."""

from __future__ import annotations

import asyncio
import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications import domain, webhooks

VALUES = {
    "tracking_number": "1234567",
    "agency_name": "Pemerintah Kota Bandung",
    "reason": "Aduan kosong.",
    "message": "Di mana lokasi kejadiannya?",
    "ombudsman_url": "https://ombudsman.go.id/pengaduan",
    "title": "Jalan berlubang",
    "category": "infrastruktur",
    "category_name": "Infrastruktur dan jalan",
    "regency_code": "32.73",
    "region": "Kota Bandung",
    "due_at": "Jumat, 4 Desember 2026 23.59 WIB",
    "missing": "what where",
    "code": "7KQM-2H4X-PW9C-M3TB-ZX8D",
}


@pytest.mark.parametrize("template", sorted(domain.TEMPLATES))
def test_every_template_renders_fully_in_both_languages(template: str) -> None:
    id_text = domain.render(template, "id", **VALUES)
    en_text = domain.render(template, "en", **VALUES)
    assert "$" not in id_text and "$" not in en_text
    assert id_text != en_text
    assert template in domain.SUBJECTS


@pytest.mark.parametrize("template", sorted(domain.REPORTER_TEMPLATES))
def test_reporter_messages_fit_two_sms_in_gsm7(template: str) -> None:
    for language in ("id", "en"):
        sms = domain.sms_text(domain.render(template, language, **VALUES), max_parts=3)
        assert sms.coding == "gsm7" and sms.parts <= 2, (template, language, sms)
        assert not sms.text.endswith("...")


def test_sms_limits_single_and_concatenated() -> None:
    assert domain.sms_text("a" * 160, 3).parts == 1
    assert domain.sms_text("a" * 161, 3).parts == 2
    assert domain.sms_text("a" * 306, 3).parts == 2
    assert domain.sms_text("a" * 307, 3).parts == 3
    # Extension characters take two septets each.
    euro = domain.sms_text("€" * 80, 3)
    assert euro.coding == "gsm7" and euro.units == 160 and euro.parts == 1
    assert domain.sms_text("€" * 81, 3).parts == 2


def test_typography_stays_gsm7_and_other_scripts_go_ucs2() -> None:
    sms = domain.sms_text("Dinas \u201cPU\u201d \u2013 jalan\u2026 \u2018rusak\u2019", 3)
    assert sms.coding == "gsm7" and sms.text == "Dinas \"PU\" - jalan... 'rusak'"
    assert domain.sms_text("Kantor Kecamatan Citeureup çõ", 3).text.endswith("co")
    javanese = domain.sms_text("ꦲꦢꦸꦮꦤ꧀ " + "a" * 60, 3)
    assert javanese.coding == "ucs2" and javanese.parts == 1
    assert domain.sms_text("ꦲ" + "a" * 70, 3).parts == 2
    assert domain.sms_text("😀" * 35, 3).units == 70


def test_too_long_is_cut_to_the_limit_with_an_ellipsis() -> None:
    sms = domain.sms_text("kata " * 200, 2)
    assert sms.parts == 2 and sms.text.endswith("...") and sms.units <= 306
    one = domain.sms_text("ꦲ" * 200, 1)
    assert one.coding == "ucs2" and one.parts == 1 and one.units <= 70


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000), st.integers(min_value=1, max_value=6))
def test_any_text_fits_its_part_limit(text: str, max_parts: int) -> None:
    sms = domain.sms_text(text, max_parts)
    assert sms.parts <= max_parts
    assert sms.coding == ("gsm7" if domain.gsm_septets(sms.text) is not None else "ucs2")


def test_backoff_grows_with_jitter_within_the_cap_and_honours_retry_after() -> None:
    rng = random.Random(7)
    delays = [domain.backoff(n, 5, 3600, rng=rng) for n in range(1, 15)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(3600, 5 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered
    assert domain.backoff(1, 5, 3600, retry_after=120, rng=rng) >= 120


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert domain.parse_retry_after("30") == 30
    assert domain.parse_retry_after(format_datetime(now + timedelta(seconds=90)), now) == 90
    assert domain.parse_retry_after("soon") is None
    assert domain.parse_retry_after(None) is None
    assert domain.parse_retry_after("99999999") == 86_400


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "fc00::1",
        "fe80::1",
    ],
)
def test_internal_addresses_are_refused(ip: str) -> None:
    assert not domain.address_allowed(ip)


def test_public_addresses_pass_and_the_allow_list_opens_a_network() -> None:
    import ipaddress

    assert domain.address_allowed("8.8.8.8")
    assert domain.address_allowed("2001:4860:4860::8888")
    assert domain.address_allowed("127.0.0.1", (ipaddress.ip_network("127.0.0.0/8"),))
    assert not domain.address_allowed("10.0.0.1", (ipaddress.ip_network("127.0.0.0/8"),))


def test_standard_webhooks_reference_signature() -> None:
    # The example of the Standard Webhooks specification.
    sig = webhooks.sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_verify_checks_signature_timestamp_and_rotation() -> None:
    old, new = webhooks.new_secret(), webhooks.new_secret()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", new)
    body = b'{"id":"x"}'
    now = 1_800_000_000
    h = webhooks.headers([new, old], "msg_1", body, timestamp=now)
    assert len(h["webhook-signature"].split()) == 2
    webhooks.verify(old, h, body, now=now)  # a receiver still on the old secret
    webhooks.verify(new, h, body, now=now + 299)
    with pytest.raises(webhooks.WebhookVerificationError, match="tolerance"):
        webhooks.verify(new, h, body, now=now + 301)
    with pytest.raises(webhooks.WebhookVerificationError, match="signature"):
        webhooks.verify(new, h, body + b" ", now=now)
    with pytest.raises(webhooks.WebhookVerificationError, match="signature"):
        webhooks.verify(webhooks.new_secret(), h, body, now=now)
    with pytest.raises(webhooks.WebhookVerificationError, match="missing"):
        webhooks.verify(new, {"webhook-id": "msg_1"}, body, now=now)


def test_masking_hides_the_address() -> None:
    assert domain.mask("+6281234567890") == "+628123456XXXX"
    assert domain.mask("siti@example.id") == "***@example.id"


def test_starts_and_answers_that_come_together_share_one_run() -> None:
    from notifications.dispatcher import Coalesced

    runs: list[list[int]] = []

    async def run(items: list[int]) -> None:
        runs.append(items)
        await asyncio.sleep(0.01)
        if 13 in items:
            raise ValueError("unlucky")

    async def main() -> list[object]:
        together = Coalesced(run)

        async def one(i: int) -> object:
            try:
                await together.submit(i)
                return i
            except ValueError as exc:
                return str(exc)

        first = await asyncio.gather(*(one(i) for i in range(5)))
        second = await asyncio.gather(one(12), one(13), one(14))
        third = await one(20)  # the failed run did not wedge it
        return [*first, *second, third]

    # A failed run fails its own submitters only.
    assert asyncio.run(main()) == [0, 1, 2, 3, 4, 12, "unlucky", "unlucky", 20]
    # The first submitter's run went alone; all that came meanwhile went in the next.
    assert runs == [[0], [1, 2, 3, 4], [12], [13, 14], [20]]
