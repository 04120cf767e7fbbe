"""SMS to the short code 1708, through Kannel's ``sms-service``.

Kannel posts each incoming SMS to ``/v1/sms/kannel`` (see ``deploy/kannel/kannel.conf``)
and sends our answer back as the reply SMS. Kannel cannot sign a request, so the
endpoint wants the shared secret (``INTAKE_SMS_SECRET``) and a source address in
``INTAKE_SMS_ALLOWED_NETWORKS`` (loopback by default).

What a citizen can send (case, spacing and small typos do not matter):

- ``BANTUAN`` (or ``INFO``, ``HELP``, ``?``): how to use 1708;
- ``STATUS 1234567`` (``CEK``, ``LACAK``): where report #1234567 is, for its reporter's
  phone only;
- ``TAMBAH 1234567 <teks>``: add information to one's own report;
- ``SETUJU 1234567`` / ``TOLAK 1234567``: consent (or not) to the agency reading one's
  identity for an Anonim report, when an administrator approved its request (exact words
  only: no typo is taken for consent);
- anything else: a new report. Its regency is read from a place name in the text
  ("Kota Bandung", "Surabaya"); its category from what it talks about; verifiers correct
  both. Without a place the citizen is asked for one, and the next SMS completes the
  report (nothing sent is lost: the draft waits a day).

An SMS delivered twice (the same Kannel message id, or the same text from the same phone
within a minute) makes one report.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse
from sqlmodel import Session

from intake import domain, handlers, identity
from intake.models import SmsDraft
from intake.settings import IntakeSettings
from services import areas, lifecycle
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1/sms", tags=["sms"])
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]

COMMANDS = {
    "help": ("bantuan", "info", "help", "tolong", "?"),
    "status": ("status", "cek", "lacak", "posisi"),
    "add": ("tambah", "tambahan", "lengkapi"),
}
WORDS = {w: cmd for cmd, ws in COMMANDS.items() for w in ws}

TOPICS: tuple[tuple[str, str], ...] = (
    (r"pungli|pungutan|uang pelicin|sogok|suap|minta uang|dipalak", "pungli"),
    (r"listrik|pln|padam|token listrik|meteran", "listrik"),
    (r"pdam|air bersih|air mati|air keruh|pipa air", "air-bersih"),
    (r"polisi|polsek|polres|tilang|sim\b|skck", "kepolisian"),
    (r"ktp|kartu keluarga|\bkk\b|akta|dukcapil|kependudukan", "kependudukan"),
    (r"bansos|blt|pkh|bantuan sosial|sembako|kis\b", "bansos"),
    (r"puskesmas|rumah sakit|rsud|bpjs|dokter|obat|bidan", "kesehatan"),
    (r"sekolah|guru|murid|siswa|ppdb|kampus", "pendidikan"),
    (r"sampah|banjir|limbah|polusi|pencemaran|got|selokan", "lingkungan"),
    (r"angkot|bus|terminal|halte|ojek|parkir|lampu lalu lintas", "transportasi"),
    (r"jalan|jembatan|berlubang|lubang|aspal|trotoar|lampu jalan", "infrastruktur"),
)

HELP = (
    "Aduan 1708: kirim laporan Anda dalam satu SMS, sebutkan apa, di mana (kota/kabupaten) "
    "dan kapan. Cek: STATUS <nomor>. Tambah info: TAMBAH <nomor> <teks>."
)
ASK_PLACE = (
    "Laporan Anda kami simpan. Balas dengan nama kota/kabupaten tempat kejadian "
    "(contoh: Kota Bandung) agar dapat diproses."
)


@dataclass(frozen=True)
class Command:
    """What an SMS asks for."""

    kind: str  # help, status, add, consent, decline, report
    tracking_number: str | None = None
    text: str = ""


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", plain).strip()


def parse(text: str) -> Command:
    """The command in an SMS, tolerant of case, spacing and one-letter typos."""
    folded = _fold(text)
    if not folded:
        return Command("help")
    head, _, rest = folded.partition(" ")
    word = head.lower().rstrip(":.,#")
    consent = {"setuju": "consent", "tolak": "decline"}.get(word)
    if consent and (answered := re.fullmatch(r"#?(\d{7})[.!]?", rest.strip())):
        return Command(consent, answered.group(1))
    match = WORDS.get(word)
    if match is None and len(word) >= 4:
        close = difflib.get_close_matches(word, list(WORDS), n=1, cutoff=0.8)
        match = WORDS[close[0]] if close else None
    if match == "help" and (not rest or len(rest) < 4):
        return Command("help")
    number = re.match(r"#?(\d{7})\b\s*(.*)$", rest.strip())
    if match in ("status", "add") and number:
        return Command(match, number.group(1), number.group(2).strip())
    if match == "status" and not rest:
        return Command("help")
    return Command("report", text=re.sub(r"\s+", " ", text).strip())


@cache
def _place_index() -> list[tuple[re.Pattern[str], str, int]]:
    """Regency names as patterns: "Kota Bandung" first, then "Bandung" alone."""
    out: list[tuple[re.Pattern[str], str, int]] = []
    for code, area in areas.regencies().items():
        full = area.name.lower()
        short = re.sub(r"^(kota administrasi|kabupaten administrasi|kota|kabupaten)\s+", "", full)
        out.append((re.compile(rf"\b{re.escape(full)}\b"), code, 2))
        # A bare name means the city when there is one ("Bandung"), else the regency.
        out.append(
            (re.compile(rf"\b{re.escape(short)}\b"), code, 1 if full.startswith("kota") else 0)
        )
    return out


def find_regency(text: str) -> str | None:
    """The regency a text names, by its full name, else by a bare name (the city first)."""
    folded = _fold(text).lower()
    best: tuple[int, int, str] | None = None
    for pattern, code, weight in _place_index():
        m = pattern.search(folded)
        if m and (best is None or (weight, len(m.group(0))) > best[:2]):
            best = (weight, len(m.group(0)), code)
    return best[2] if best else None


def category_of(text: str) -> str:
    folded = _fold(text).lower()
    for pattern, category in TOPICS:
        if re.search(pattern, folded):
            return category
    return "pelayanan-publik"


def _allowed(request: Request, settings: IntakeSettings) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(n, strict=False) for n in settings.sms_allowed_networks
    )


@router.api_route("/kannel", methods=["GET", "POST"], response_class=PlainTextResponse)
async def kannel(request: Request, rt: Runtime) -> PlainTextResponse:
    """An SMS from Kannel's sms-service; the answer is the reply SMS (plain text)."""
    settings = rt.definition.settings
    assert isinstance(settings, IntakeSettings)
    secret = settings.sms_secret.get_secret_value() if settings.sms_secret else ""
    given = request.query_params.get("secret") or request.headers.get("x-aduan-sms-secret", "")
    if not secret or not hmac.compare_digest(given, secret) or not _allowed(request, settings):
        raise HTTPException(403, "forbidden")
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({k: str(v) for k, v in form.items() if isinstance(v, str)})
    sender, text = params.get("from", ""), params.get("text", "")[:1600]
    try:
        phone = domain.normalise_phone(sender)
    except ValueError:
        return PlainTextResponse("Nomor pengirim tidak dikenali.", 400)
    command = parse(text)
    msg_id = params.get("id") or ""
    # Kannel's message id when it sends one (%I), else the text within the same minute.
    minute = "" if msg_id else datetime.now(UTC).strftime("%Y%m%d%H%M")
    digest = hashlib.sha256(f"{phone}|{msg_id or text}|{minute}".encode()).hexdigest()
    key = "sms:" + digest[:40]

    def work() -> str:
        with rt.database.session() as session:
            return _answer(session, rt, phone, command, key)

    reply = await rt.database.write(work)
    rt.wake_relay()
    return PlainTextResponse(reply[:459])


def _answer(session: Session, rt: ServiceRuntime, phone: str, command: Command, key: str) -> str:
    if command.kind == "help":
        return HELP
    if command.kind in ("status", "add", "consent", "decline"):
        report = handlers.find_report(session, command.tracking_number or "")
        if report is None or not handlers.reported_by(session, report, phone):
            return f"Laporan #{command.tracking_number} tidak ditemukan untuk nomor ini."
        if command.kind in ("consent", "decline"):
            try:
                grant = identity.answer(session, rt.outbox, report, command.kind == "consent")
            except LookupError:
                return f"Tidak ada permintaan identitas untuk #{report.tracking_number}."
            if command.kind == "consent":
                return (
                    f"Terima kasih. Identitas Anda akan dibuka hanya untuk {grant.agency_name} "
                    f"dan hanya untuk laporan #{report.tracking_number}."
                )
            return f"Identitas Anda tetap dirahasiakan untuk laporan #{report.tracking_number}."
        if command.kind == "status":
            label = lifecycle.label(report.status, report.language)
            agency = f" ({report.agency_name})" if report.agency_name else ""
            return f"#{report.tracking_number}: {label}{agency}."
        if len(command.text) < 3:
            return f"Tulis: TAMBAH {report.tracking_number} <informasi tambahan>."
        handlers.add_information(session, rt.outbox, report, command.text)
        return f"Informasi untuk #{report.tracking_number} kami terima. Terima kasih."
    if handlers.blocked(session, phone, None):
        return handlers.Blocked.ID
    draft = session.get(SmsDraft, phone)
    now = datetime.now(UTC)
    text = command.text
    if draft is not None and draft.created_at > now - timedelta(days=1):
        text = f"{draft.text}\n{text}"
    regency = find_regency(text)
    if regency is None:
        draft = draft or SmsDraft(phone=phone, text="", created_at=now)
        draft.text, draft.created_at = text[-1600:], now
        session.add(draft)
        return ASK_PLACE
    if draft is not None:
        session.delete(draft)
    first = re.split(r"[.!?\n]", text, maxsplit=1)[0].strip()
    report, _, _ = handlers.submit_report(
        session,
        rt.outbox,
        handlers.NewReport(
            title=(first[:117] + "...") if len(first) > 120 else first or "Laporan SMS",
            body=text,
            category=category_of(text),
            regency_code=regency,
            anonymous=False,
            confidential=False,
            channel="sms",
            language="id",
            name=None,
            phone=phone,
            email=None,
            idempotency_key=key,
        ),
    )
    return (
        f"Laporan diterima, nomor #{report.tracking_number}. Cek: STATUS "
        f"{report.tracking_number}. Tambah info: TAMBAH {report.tracking_number} <teks>."
    )
