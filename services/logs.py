"""Structured JSON logs that carry the report id and never a name, phone or email.

Handlers put the report id in a context variable; every line logged while it is set
carries it. A redaction filter masks anything shaped like an email address or a phone
number, as a last line of defence: code must not log personal data in the first place.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

report_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "report_id", default=None
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(\+?62|0)8\d{7,12}(?!\d)")


def redact(text: str) -> str:
    """Mask email addresses and Indonesian mobile numbers in ``text``."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, service, logger, message, report_id."""

    def __init__(self, service: str, instance: str) -> None:
        super().__init__()
        self.service = service
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "instance": self.instance,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        report_id = getattr(record, "report_id", None) or report_id_var.get()
        if report_id:
            entry["report_id"] = report_id
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """Plain-text logs, for a developer's terminal, with the same redaction."""

    def format(self, record: logging.LogRecord) -> str:
        report_id = getattr(record, "report_id", None) or report_id_var.get()
        prefix = f"[{report_id}] " if report_id else ""
        return redact(prefix + super().format(record))


def configure(service: str, instance: str, level: str = "INFO", as_json: bool = True) -> None:
    """Send every logger's output to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter(service, instance))
    else:
        handler.setFormatter(
            RedactingFormatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # faust and aiokafka are chatty at INFO about every rebalance step.
    for noisy in ("aiokafka", "faust", "mode", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
