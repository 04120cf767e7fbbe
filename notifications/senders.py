"""Delivery channels: SMS through Kannel's ``sendsms``, email through SMTP, webhooks
signed per Standard Webhooks. Each send returns an Outcome and never raises; a channel
that is not configured writes to the log with the address masked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from html import escape
from typing import Protocol

import httpcore
import httpx

from notifications import domain, webhooks
from notifications.settings import NotificationsSettings

log = logging.getLogger("notifications.sender")


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    ok: bool
    retryable: bool = True
    gone: bool = False  # the endpoint said it no longer wants anything (HTTP 410)
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    transport: str = ""
    parts: int = 1


@dataclass(frozen=True)
class Message:
    """One rendered message and where it goes (the address never leaves this object)."""

    delivery_id: str
    notification_id: str
    report_id: str
    template: str
    language: str
    text: str
    subject: str
    address: str
    link: str
    webhook_body: bytes = b""
    secrets: tuple[str, ...] = ()


class Sender(Protocol):
    """One channel."""

    async def send(self, message: Message) -> Outcome:
        """Try once."""

    async def close(self) -> None:
        """Release connections."""


class LogSender:
    """Writes the message to the log with the address masked (no channel configured)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, message: Message) -> Outcome:
        """Log instead of delivering."""
        if message.template.startswith("staff_"):  # a one-time link never goes to a log
            log.warning(
                "staff link for %s not sent: no %s channel is configured; an operator can "
                "print it with `aduan staff link --email ADDRESS`",
                domain.mask(message.address),
                self.channel,
            )
            return Outcome(ok=True, transport="log")
        log.info(
            "notification via %s (log) to %s: %s",
            self.channel,
            domain.mask(message.address) if message.address else "-",
            message.text,
            extra={"report_id": message.report_id},
        )
        return Outcome(ok=True, transport="log")

    async def close(self) -> None:
        """Nothing to close."""


class KannelSender:
    """SMS through Kannel's ``/cgi-bin/sendsms``: GSM-7 where the text allows, else
    UCS-2; Kannel splits long texts into concatenated parts (its ``max-messages``)."""

    def __init__(self, settings: NotificationsSettings) -> None:
        assert settings.kannel_sendsms_url
        self.url = settings.kannel_sendsms_url
        self.settings = settings
        self.client = httpx.AsyncClient(timeout=settings.send_timeout_seconds)

    async def send(self, message: Message) -> Outcome:
        """One sendsms call; Kannel answers 202 "Accepted for delivery" or "Queued"."""
        sms = domain.sms_text(message.text, self.settings.sms_max_parts)
        params = {
            "username": self.settings.kannel_username,
            "password": self.settings.kannel_password.get_secret_value(),
            "from": self.settings.sms_sender,
            "to": message.address,
            "text": sms.text,
            "charset": "UTF-8",
            "coding": "0" if sms.coding == "gsm7" else "2",
        }
        try:
            reply = await self.client.get(self.url, params=params)
        except httpx.HTTPError as exc:
            return Outcome(ok=False, error=f"kannel unreachable: {type(exc).__name__}")
        body = reply.text.strip()[:120]
        if reply.status_code in (200, 202) and ("Accepted" in body or "Queued" in body):
            return Outcome(
                ok=True, status_code=reply.status_code, transport="kannel", parts=sms.parts
            )
        # 4xx from sendsms means a request Kannel will never take (bad number, auth):
        # trying again cannot help. 5xx and 503 (queue full) may pass later.
        retryable = reply.status_code >= 500
        return Outcome(
            ok=False,
            retryable=retryable,
            status_code=reply.status_code,
            error=f"kannel {reply.status_code}: {body}",
            retry_after=domain.parse_retry_after(reply.headers.get("retry-after")),
        )

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()


class SmtpSender:
    """Email through SMTP, plain text and HTML, one connection per message (run on a
    worker thread with a timeout, so a hanging server holds only its own sends)."""

    def __init__(self, settings: NotificationsSettings) -> None:
        assert settings.smtp_host
        self.settings = settings

    def build(self, message: Message) -> EmailMessage:
        """The MIME message: text/plain with a text/html alternative."""
        mail = EmailMessage()
        name, addr = parseaddr(self.settings.email_from)
        mail["From"] = formataddr((name, addr))
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Message-ID"] = make_msgid(idstring=message.delivery_id, domain=addr.split("@")[-1])
        mail["X-Aduan-Delivery"] = message.delivery_id
        closing = "Lacak aduan Anda" if message.language != "en" else "Track your report"
        if message.template.startswith("staff_"):  # a staff member's one-time link
            closing = "Atur kata sandi" if message.language != "en" else "Set your password"
        plain = f"{message.text}\n\n{closing}: {message.link}\n"
        mail.set_content(plain)
        html = (
            f'<!doctype html><html lang="{escape(message.language)}"><body>'
            f"<p>{escape(message.text)}</p>"
            f'<p><a href="{escape(message.link, quote=True)}">{escape(closing)}</a></p>'
            "</body></html>"
        )
        mail.add_alternative(html, subtype="html")
        mail["Content-Language"] = message.language  # after the body: set_content clears it
        return mail

    def _send_blocking(self, mail: EmailMessage) -> None:
        s = self.settings
        timeout = s.send_timeout_seconds
        smtp: smtplib.SMTP
        if s.smtp_ssl:
            smtp = smtplib.SMTP_SSL(
                s.smtp_host or "",
                s.smtp_port,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=timeout)
        with smtp:
            if s.smtp_starttls and not s.smtp_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(mail)

    async def send(self, message: Message) -> Outcome:
        """Send one email."""
        mail = self.build(message)
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self._send_blocking, mail),
                timeout=self.settings.send_timeout_seconds * 2,
            )
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(500 <= c < 600 for c in codes)
            return Outcome(
                ok=False,
                retryable=not permanent,
                status_code=codes[0] if codes else None,
                error=f"recipient refused ({codes[0] if codes else '?'})",
            )
        except smtplib.SMTPResponseException as exc:
            return Outcome(
                ok=False,
                retryable=not (500 <= exc.smtp_code < 600),
                status_code=exc.smtp_code,
                error=f"smtp {exc.smtp_code}",
            )
        except (OSError, smtplib.SMTPException, TimeoutError) as exc:
            return Outcome(ok=False, error=f"smtp unreachable: {type(exc).__name__}")
        return Outcome(ok=True, transport="smtp")

    async def close(self) -> None:
        """Nothing pooled."""


class WebhookSender:
    """POSTs the notice's JSON, signed with every live secret of the endpoint, through a
    network backend that refuses internal addresses and follows no redirects."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self.pool = httpcore.AsyncConnectionPool(
            max_connections=settings.concurrency * 4,
            network_backend=webhooks.GuardedBackend(settings.allowed_networks()),
            retries=0,
        )

    async def send(self, message: Message) -> Outcome:
        """One signed POST; 2xx is delivered, 410 disables the endpoint."""
        body = message.webhook_body
        headers = {
            "content-type": "application/json",
            "user-agent": "Aduan-Webhooks/1",
            **webhooks.headers(message.secrets, message.notification_id, body),
        }
        timeout = self.settings.webhook_timeout_seconds
        extensions = {
            "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        }
        try:
            async with asyncio.timeout(timeout * 2):
                reply = await self.pool.request(
                    "POST",
                    message.address,
                    headers=list(headers.items()),
                    content=body,
                    extensions=extensions,
                )
        except webhooks.BlockedAddress as exc:
            return Outcome(ok=False, retryable=False, error=f"blocked: {exc}")
        except (httpcore.UnsupportedProtocol, ValueError) as exc:
            return Outcome(ok=False, retryable=False, error=f"bad url: {type(exc).__name__}")
        except (httpcore.TimeoutException, TimeoutError):
            return Outcome(ok=False, error="timeout")
        except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
            return Outcome(ok=False, error=f"unreachable: {type(exc).__name__}")
        status = reply.status
        header_map = {k.decode().lower(): v.decode("latin-1") for k, v in reply.headers}
        retry_after = domain.parse_retry_after(header_map.get("retry-after"))
        if 200 <= status < 300:
            return Outcome(ok=True, status_code=status, transport="webhook")
        if status == 410:
            return Outcome(
                ok=False, retryable=False, gone=True, status_code=status, error="410 gone"
            )
        # Redirects are not followed (a redirect could lead inside); other 4xx are the
        # receiver's complaint about this message, and 408/425/429 and 5xx may pass later.
        retryable = status >= 500 or status in (408, 425, 429)
        return Outcome(
            ok=False,
            retryable=retryable,
            status_code=status,
            error=f"HTTP {status}",
            retry_after=retry_after,
        )

    async def close(self) -> None:
        """Close pooled connections."""
        await self.pool.aclose()


def webhook_body(
    notification_id: str, template: str, occurred_at: str, data: dict[str, object]
) -> bytes:
    """The JSON a webhook receives: a CloudEvents structured envelope."""
    envelope = {
        "specversion": "1.0",
        "id": notification_id,
        "source": "/aduan/notifications",
        "type": f"id.aduan.webhook.{template}.v1",
        "subject": data.get("report_id"),
        "time": occurred_at,
        "datacontenttype": "application/json",
        "data": data,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def build_senders(settings: NotificationsSettings) -> dict[str, Sender]:
    """One sender per channel, real where configured."""
    return {
        "sms": KannelSender(settings) if settings.kannel_sendsms_url else LogSender("sms"),
        "email": SmtpSender(settings) if settings.smtp_host else LogSender("email"),
        "webhook": WebhookSender(settings),
    }
