"""SMS to the short code 1708, through Kannel's ``sms-service``.

Kannel posts each incoming SMS to ``/v1/sms/kannel`` (see ``deploy/kannel/kannel.conf``)
and sends our answer back as the reply SMS. Kannel cannot sign a request, so the
endpoint wants the shared secret (``INTAKE_SMS_SECRET``) and a source address in
``INTAKE_SMS_ALLOWED_NETWORKS`` (loopback by default).

What a citizen can send (docs/intake.md has the whole table): ``BANTUAN``; ``CEK <no>``;
``INFO <no> <teks>`` (``TAMBAH``); ``BALAS <no> <teks>`` (``SELESAI`` / ``BELUM``);
``BATAL`` (the draft); ``STOP`` / ``BERHENTI`` and ``MULAI`` (notices by SMS);
``SETUJU <no>`` / ``TOLAK <no>`` (exact words only); anything else is a report, whose
regency is read from a place name and category from what it talks about. Without a place
the text waits as a draft (24 hours) for the next SMS.

The same text from the same phone within a minute makes one report. Every reply fits one
GSM-7 SMS.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import ipaddress
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import Counter
from sqlmodel import Session, select

from intake import domain, handlers, identity
from intake.models import HistoryEntry, Report, SmsDraft
from intake.settings import IntakeSettings
from services import areas, lifecycle
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1/sms", tags=["sms"])
log = logging.getLogger(__name__)
DROPPED = Counter(
    "aduan_sms_unanswered_total",
    "SMS taken without a report or command, by why (a sender that cannot be answered).",
    ["reason"],
)
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]

COMMANDS = {
    "help": ("bantuan", "help", "tolong"),
    "status": ("status", "cek", "lacak", "posisi"),
    # INFO with a number adds to that report; INFO alone asks for help.
    "add": ("tambah", "tambahan", "lengkapi", "info"),
    "reply": ("balas", "jawab", "tanggapan"),
    "cancel": ("batal", "batalkan", "hapus"),
    "stop": ("stop", "berhenti", "unreg"),
    "start": ("mulai", "start", "reg"),
}
WORDS = {w: cmd for cmd, ws in COMMANDS.items() for w in ws}
# Commands that stand alone: "Stop pungli di kelurahan ..." is a complaint, not STOP.
ALONE = frozenset({"cancel", "stop", "start"})
# What may follow a standalone command and still be it ("mulai lagi", "stop sms").
TAILS = frozenset({"", "lagi", "sms", "notifikasi", "pesan", "semua", "draf", "laporan"})
_HEAD = re.compile(r"^([a-z]+)[\s:#.,!-]*#?(\d{7})?\b[\s.,:;!-]*(.*)$", re.S)

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

# Every reply fits one GSM-7 SMS (160 septets) where it can, two at most: a citizen may pay
# per part (tests/unit/test_sms_segments.py checks each).
HELP = (
    "Aduan 1708: kirim keluhan: apa, di mana (kota/kab), kapan. CEK <no>: status. "
    "INFO <no> <teks>: tambah. BALAS <no> <teks>. BATAL. STOP/MULAI: notifikasi."
)
DRAFT_HOURS = 24


def ask_place(text: str) -> str:
    """What a draft keeps, for how long, and how to finish or cancel it."""
    excerpt = text.replace("\n", " ")
    excerpt = excerpt if len(excerpt) <= 28 else excerpt[:25].rstrip() + "..."
    return (
        f'Kami simpan "{excerpt}" {DRAFT_HOURS} jam. Balas nama kota/kabupaten '
        "(mis. Kota Bandung) agar diproses, atau BATAL untuk menghapus."
    )


REPLIES = {
    "not_found": "Laporan #{tn} tidak ditemukan untuk nomor ini.",
    "stopped": "Notifikasi SMS untuk nomor ini dihentikan. Kirim MULAI untuk menyalakannya lagi.",
    "started": "Notifikasi SMS untuk nomor ini dinyalakan lagi. Kirim STOP untuk menghentikannya.",
    "no_draft": "Tidak ada draf laporan untuk nomor ini.",
    "cancelled": "Draf laporan Anda dihapus. Kirim keluhan baru kapan saja.",
    "no_identity_request": "Tidak ada permintaan identitas untuk #{tn}.",
    "consented": "Terima kasih. Identitas Anda dibuka hanya untuk {agency} dan hanya untuk "
    "laporan #{tn}.",
    "declined": "Identitas Anda tetap dirahasiakan untuk laporan #{tn}.",
    "not_replyable": "#{tn} belum dijawab instansi; balasan belum bisa dikirim.",
    "reply_how": "Tulis: BALAS {tn} <tanggapan>, atau BALAS {tn} SELESAI / BELUM.",
    "replied_solved": "Terima kasih. #{tn} kami tutup sebagai selesai.",
    "replied_reopened": "#{tn} dibuka lagi dan kembali ke instansi.",
    "replied": "Balasan untuk #{tn} kami teruskan ke instansi.",
    "add_how": "Tulis: INFO {tn} <informasi tambahan>.",
    "finished": "#{tn} sudah selesai; informasi tidak dapat ditambah.",
    "added": "Informasi untuk #{tn} kami terima. Terima kasih.",
    "received": "Laporan diterima, nomor #{tn}. Cek: CEK {tn}. Tambah: INFO {tn} <teks>.",
    "blocked": handlers.Blocked.ID,
    "too_short": "Tulis keluhan Anda dalam satu SMS: apa yang terjadi, di mana (kota/kab), kapan.",
}
DRAFT_EXPIRED = "Draf sebelumnya sudah lewat 24 jam dan dihapus. "
NOT_ANSWERABLE = "Maaf, 1708 hanya melayani nomor seluler Indonesia (+62 / 08...)."


@dataclass(frozen=True)
class Command:
    """What an SMS asks for."""

    # help, status, add, reply, cancel, stop, start, consent, decline, report
    kind: str
    tracking_number: str | None = None
    text: str = ""


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", plain).strip()


def _command_word(word: str) -> str | None:
    """The command a word names, forgiving one slip in a word of four letters or more."""
    if word in WORDS:
        return WORDS[word]
    if len(word) >= 4:
        close = difflib.get_close_matches(word, list(WORDS), n=1, cutoff=0.8)
        if close:
            return WORDS[close[0]]
    return None


def parse(text: str) -> Command:
    """The command in an SMS, tolerant of case, spacing, a glued or marked number (``cek
    #1234567``, ``info1234567``) and one-letter typos; anything else is a report."""
    folded = _fold(text)
    if not folded:
        return Command("help")
    lowered = folded.lower()
    if set(lowered) <= {"?", " "}:
        return Command("help")
    word, _, rest = lowered.partition(" ")
    word = word.rstrip(":.,#!")
    consent = {"setuju": "consent", "tolak": "decline"}.get(word)
    if consent:  # exact words only: no typo is taken for consent
        answered = re.fullmatch(r"#?(\d{7})[.!]?", rest.strip())
        return Command(consent, answered.group(1)) if answered else _report(text)
    head = _HEAD.match(lowered)
    if head is None:
        return _report(text)
    name, number, tail = head.group(1), head.group(2), head.group(3).strip()
    kind = _command_word(name)
    if kind is None:
        return _report(text)
    if kind in ALONE:
        return Command(kind) if number is None and tail.rstrip(".!") in TAILS else _report(text)
    if number is not None and kind in ("status", "add", "reply"):
        # The text after the number, as the citizen wrote it (case kept).
        original = re.sub(r"\s+", " ", text).strip()
        at = original.find(number)
        said = original[at + 7 :].lstrip(" .,:;!-").strip() if at >= 0 else tail
        return Command(kind, number, "" if kind == "status" else said)
    if kind == "help" or (name == "info" and not tail) or (kind == "status" and not tail):
        return Command("help") if len(tail) < 4 else _report(text)
    return _report(text)


def _report(text: str) -> Command:
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
    if re.search(r"[A-Za-z]", sender) or not re.search(r"\d", sender):
        # An operator's or a service's name (TELKOMSEL): nobody can read a reply. Kannel
        # sends nothing for an empty answer (omit-empty).
        DROPPED.labels("unanswerable_sender").inc()
        log.info("SMS from an alphanumeric sender dropped: %s", sender[:11] or "-")
        return PlainTextResponse("")
    try:
        phone = domain.normalise_phone(sender)
    except ValueError:
        DROPPED.labels("foreign_number").inc()
        return PlainTextResponse(NOT_ANSWERABLE)
    command = parse(text)
    # The same text from the same phone within a minute is one message, whatever id
    # Kannel gave each copy: the key of this minute, or of the last one when a report
    # took it less than a minute ago.
    now = datetime.now(UTC)
    minute = int(now.timestamp() // 60)
    said = " ".join(text.split()).lower()

    def key_of(m: int) -> str:
        return "sms:" + hashlib.sha256(f"{phone}|{said}|{m}".encode()).hexdigest()[:40]

    def work() -> str:
        with rt.database.session() as session:
            key, earlier = key_of(minute), key_of(minute - 1)
            recent = session.exec(
                select(Report.id).where(
                    Report.idempotency_key == earlier,
                    Report.submitted_at > now - timedelta(minutes=1),  # type: ignore[operator]
                )
            ).first()
            return _answer(session, rt, phone, command, earlier if recent else key)

    reply = await rt.database.write(work)
    rt.wake_relay()
    return PlainTextResponse(reply[:459])


def _satisfied(text: str) -> bool | None:
    """BALAS <no> SELESAI: solved; BALAS <no> BELUM ...: not solved; else only a reply."""
    word = text.lower().split(" ", 1)[0].strip(".,!") if text else ""
    if word in ("selesai", "puas", "beres", "tuntas"):
        return True
    if word in ("belum", "tidak"):
        return False
    return None


def _repeated(session: Session, report: Report, kind: str, text: str) -> bool:
    """Whether the reporter sent these same words (an INFO or a BALAS) less than a minute
    ago: a phone or a gateway that sends an SMS twice adds it once."""
    since = datetime.now(UTC) - timedelta(minutes=1)
    said = " ".join(text.split()).lower()
    recent = session.exec(
        select(HistoryEntry.detail).where(
            HistoryEntry.report_id == report.id,
            HistoryEntry.kind == kind,
            HistoryEntry.occurred_at > since,  # type: ignore[operator]
        )
    ).all()
    return any(" ".join(d.split()).lower() == said for d in recent)


def _say(key: str, tn: str | None = "", agency: str = "") -> str:
    return REPLIES[key].format(tn=tn or "", agency=agency[:60])


def _answer(session: Session, rt: ServiceRuntime, phone: str, command: Command, key: str) -> str:
    if command.kind == "help":
        return HELP
    if command.kind in ("stop", "start"):
        handlers.set_sms_notices(session, rt.outbox, phone, command.kind == "start")
        return _say("started" if command.kind == "start" else "stopped")
    if command.kind == "cancel":
        draft = session.get(SmsDraft, phone)
        if draft is None:
            return _say("no_draft")
        session.delete(draft)
        return _say("cancelled")
    if command.kind in ("status", "add", "reply", "consent", "decline"):
        report = handlers.find_report(session, command.tracking_number or "")
        if report is None or not handlers.reported_by(session, report, phone):
            return _say("not_found", command.tracking_number)
        tn = report.tracking_number
        if command.kind in ("consent", "decline"):
            try:
                grant = identity.answer(session, rt.outbox, report, command.kind == "consent")
            except LookupError:
                return _say("no_identity_request", tn)
            return _say(
                "consented" if command.kind == "consent" else "declined", tn, grant.agency_name
            )
        if command.kind == "status":
            label = lifecycle.label(report.status, report.language)
            agency = f" ({report.agency_name[:80]})" if report.agency_name else ""
            return f"#{tn}: {label}{agency}."
        if command.kind == "reply":
            satisfied = _satisfied(command.text)
            if report.status not in lifecycle.REPLYABLE:
                return _say("not_replyable", tn)
            if len(command.text) < 3:
                return _say("reply_how", tn)
            said = {True: "replied_solved", False: "replied_reopened", None: "replied"}
            if not _repeated(session, report, "reply", command.text):
                handlers.reply(session, rt.outbox, report, command.text, satisfied)
            return _say(said[satisfied], tn)
        if len(command.text) < 3:
            return _say("add_how", tn)
        if not lifecycle.state(report.status).reporter_can_add:
            return _say("finished", tn)
        if not _repeated(session, report, "information_added", command.text):
            handlers.add_information(session, rt.outbox, report, command.text)
        return _say("added", tn)
    if handlers.blocked(session, phone, None):
        return _say("blocked")
    draft = session.get(SmsDraft, phone)
    now = datetime.now(UTC)
    text, expired = command.text, ""
    if draft is not None and draft.created_at <= now - timedelta(hours=DRAFT_HOURS):
        session.delete(draft)
        session.flush()
        draft, expired = None, DRAFT_EXPIRED
    if draft is not None:
        if draft.text.endswith(text) and draft.created_at > now - timedelta(minutes=1):
            return ask_place(draft.text)  # the same SMS again: kept once
        text = f"{draft.text}\n{text}"
    if draft is None and len(text.split()) <= 2:
        return expired + _say("too_short")  # "Kota Bandung" alone, "ok", "terima kasih"
    regency = find_regency(text)
    if regency is None:
        draft = draft or SmsDraft(phone=phone, text="", created_at=now)
        draft.text, draft.created_at = text[-1600:], now
        session.add(draft)
        return expired + ask_place(text)
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
    return expired + _say("received", report.tracking_number)
