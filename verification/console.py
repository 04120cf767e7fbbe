"""The verifiers' console: the queue by time left on the 3-working-day clock, one page
per report with the checks' findings and the duplicate found, and one-key actions.

Server-rendered pages on the kit's console frame (services/console.py): sign-in with a
staff token, CSRF-protected forms, Indonesian first with English. Every action goes
through the same functions as the REST API, so it is audited the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from services.auth import Role, Staff
from services.categories import CATEGORIES
from services.console import Console, language
from services.runtime import runtime_of
from verification import api, handlers
from verification.models import Case

WORDS: dict[str, tuple[str, str]] = {
    "queue": ("Antrean verifikasi", "Verification queue"),
    "awaiting": ("Menunggu jawaban warga", "Awaiting the citizen"),
    "empty_queue": ("Tidak ada laporan yang menunggu.", "No report is waiting."),
    "tracking": ("No. pelacakan", "Tracking no."),
    "report": ("Laporan", "Report"),
    "category": ("Kategori", "Category"),
    "region": ("Wilayah", "Region"),
    "time_left": ("Sisa waktu", "Time left"),
    "why_here": ("Mengapa di sini", "Why it is here"),
    "days": ("hari", "days"),
    "hours": ("jam", "hours"),
    "overdue": ("lewat batas", "overdue"),
    "unknown": ("belum diketahui", "not known yet"),
    "findings": ("Temuan pemeriksaan otomatis", "What the automatic checks found"),
    "no_findings": ("Tidak ada temuan.", "Nothing found."),
    "duplicate_of": ("Kemungkinan duplikat dari", "Possible duplicate of"),
    "missing": ("Yang kurang", "Missing"),
    "story": ("Isi laporan", "The report"),
    "reporter_files": ("Lampiran pelapor", "The reporter's files"),
    "history": ("Jejak audit", "Audit log"),
    "verify": ("Verifikasi", "Verify"),
    "reject": ("Tolak", "Reject"),
    "ask": ("Minta informasi", "Ask for information"),
    "defer": ("Tunda", "Defer"),
    "reason": ("Alasan (dibaca pelapor)", "Reason (the citizen reads it)"),
    "message": ("Pesan untuk pelapor", "Message to the citizen"),
    "new_title": ("Judul yang dikoreksi", "Corrected title"),
    "new_category": ("Kategori yang dikoreksi", "Corrected category"),
    "new_region": ("Kode wilayah (mis. 32.73)", "Regency code (e.g. 32.73)"),
    "protect": ("Lindungi pelapor", "Protect the reporter"),
    "anonymous": ("Anonim (identitas disembunyikan)", "Anonymous (identity hidden)"),
    "confidential": ("Rahasia (tidak tampil publik)", "Confidential (never public)"),
    "reason_code": ("Jenis penolakan", "Kind of rejection"),
    "out_of_scope": ("Bukan wewenang (perkara hukum)", "Not our authority (legal case)"),
    "duplicate": ("Duplikat", "Duplicate"),
    "abuse": ("Diarsipkan: spam atau penyalahgunaan", "Archived: spam or abuse"),
    "incomplete": ("Tidak lengkap", "Incomplete"),
    "defer_days": ("Ditunda berapa hari", "Defer for how many days"),
    "done": ("Tersimpan", "Saved"),
    "keys": (
        "Tombol cepat: v verifikasi, t tolak, i minta informasi, d tunda, q antrean.",
        "Keys: v verify, t reject, i ask, d defer, q queue.",
    ),
    "back": ("Kembali ke antrean", "Back to the queue"),
    "state": ("Status", "State"),
    "anon_flag": ("Anonim", "Anonymous"),
    "conf_flag": ("Rahasia", "Confidential"),
    "invalid": ("Isian tidak valid", "Invalid input"),
    "decided_already": ("Laporan ini sudah diputuskan.", "This report is decided already."),
    "who": ("Siapa", "Who"),
    "what": ("Apa", "What"),
    "when": ("Kapan", "When"),
    "where": ("Di mana", "Where"),
    "how": ("Bagaimana", "How"),
    "why": ("Mengapa", "Why"),
}

console = Console(
    "/console",
    ("Konsol verifikator", "Verifiers' console"),
    (Role.verifier, Role.administrator),
    Path(__file__).parent / "templates",
    WORDS,
)
router = console.router()


def _left(seconds: float | None, lang: str) -> tuple[str, str]:
    """Time left as words, and a CSS class (late, soon or none)."""
    i = 0 if lang == "id" else 1
    if seconds is None:
        return WORDS["unknown"][i], ""
    if seconds < 0:
        return WORDS["overdue"][i], "late"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} {WORDS['hours'][i]}", "soon"
    return f"{seconds / 86400:.1f} {WORDS['days'][i]}", ""


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/console/queue", status_code=303)


@router.get("/queue")
async def queue_page(request: Request, state: str = "queued", done: str = "") -> Response:
    if state not in ("queued", "awaiting_info"):
        state = "queued"
    if console.staff(request) is None:
        return console.login_redirect(request)
    rt = runtime_of(request)

    def work() -> list[dict[str, Any]]:
        with rt.database.session() as session:
            return [
                api.case_view(c, due, api.intake_url(rt))
                for c, due in handlers.queue(session, state, 200, 0)
            ]

    cases = await rt.database.read(work)
    for c in cases:
        c["left"], c["left_class"] = _left(c["time_left_seconds"], language(request))
    return console.render(request, "queue.html", cases=cases, state=state, done=done)


@router.get("/cases/{report_id}")
async def case_page(request: Request, report_id: str, error: str = "") -> Response:
    if console.staff(request) is None:
        return console.login_redirect(request)
    rt = runtime_of(request)

    def work() -> dict[str, Any]:
        with rt.database.session() as session:
            case, due = api.load_case(session, report_id)
            log = handlers.audit_log(session, report_id)
            duplicate = None
            if case.duplicate_of:
                earlier = session.get(Case, case.duplicate_of)
                if earlier is not None:
                    duplicate = {
                        "report_id": earlier.report_id,
                        "tn": earlier.tracking_number,
                        "title": earlier.title,
                    }
            view = api.case_view(case, due, api.intake_url(rt))
            return {**view, "audit": log, "duplicate": duplicate}

    found = await rt.database.read(work)
    found["left"], found["left_class"] = _left(found["time_left_seconds"], language(request))
    return console.render(
        request,
        "case.html",
        case=found,
        categories=CATEGORIES,
        error=error,
        now=datetime.now(UTC),
    )


async def _act(request: Request, report_id: str, action: str) -> Response:
    form = await request.form()
    staff: Staff = console.check_form(request, str(form.get("csrf", "")))
    rt = runtime_of(request)
    values = {k: v for k, v in form.multi_items() if k != "csrf" and v != ""}
    try:
        if action == "verify":
            body = api.VerifyIn.model_validate(
                {
                    **{
                        k: values[k]
                        for k in ("reason", "title", "category", "regency_code")
                        if k in values
                    },
                    "anonymous": True if values.get("anonymous") else None,
                    "confidential": True if values.get("confidential") else None,
                }
            )
            done = await api.do_verify(rt, report_id, staff, body)
        elif action == "reject":
            done = await api.do_reject(rt, report_id, staff, api.RejectIn.model_validate(values))
        elif action == "ask":
            ask = {"message": values.get("message", ""), "missing": form.getlist("missing")}
            body_i = api.RequestInformationIn.model_validate(ask)
            done = await api.do_request_information(rt, report_id, staff, body_i)
        else:
            done = await api.do_defer(rt, report_id, staff, api.DeferIn.model_validate(values))
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors())
        return RedirectResponse(
            f"/console/cases/{report_id}?error=invalid:{fields}", status_code=303
        )
    except HTTPException as exc:
        if exc.status_code == 409:
            return RedirectResponse(
                f"/console/cases/{report_id}?error=decided_already", status_code=303
            )
        raise
    return RedirectResponse(f"/console/queue?done={done['tracking_number']}", status_code=303)


def _form_route(action: str) -> None:
    async def post(request: Request, report_id: str) -> Response:
        return await _act(request, report_id, action)

    router.add_api_route(f"/cases/{{report_id}}/{action}", post, methods=["POST"])


for _action in ("verify", "reject", "ask", "defer"):
    _form_route(_action)
