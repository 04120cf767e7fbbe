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

from services import areas, i18n, localtime
from services.auth import Role, Staff
from services.categories import CATEGORIES
from services.console import Console, language
from services.i18n import N_, one_language
from services.runtime import runtime_of
from verification import api, handlers
from verification.models import Case

_WORDS_EN: dict[str, str] = {
    "queue": N_("verifier_console", "Verification queue"),
    "awaiting": N_("verifier_console", "Awaiting the citizen"),
    "empty_queue": N_("verifier_console", "No report is waiting."),
    "tracking": N_("verifier_console", "Tracking no."),
    "report": N_("verifier_console", "Report"),
    "category": N_("verifier_console", "Category"),
    "region": N_("verifier_console", "Region"),
    "time_left": N_("verifier_console", "Time left"),
    "why_here": N_("verifier_console", "Why it is here"),
    "days": N_("verifier_console", "days"),
    "hours": N_("verifier_console", "hours"),
    "overdue": N_("verifier_console", "overdue"),
    "unknown": N_("verifier_console", "not known yet"),
    "findings": N_("verifier_console", "What the automatic checks found"),
    "no_findings": N_("verifier_console", "Nothing found."),
    "duplicate_of": N_("verifier_console", "Possible duplicate of"),
    "missing": N_("verifier_console", "Missing"),
    "story": N_("verifier_console", "The report"),
    "reporter_files": N_("verifier_console", "The reporter's files"),
    "history": N_("verifier_console", "Audit log"),
    "verify": N_("verifier_console", "Verify"),
    "reject": N_("verifier_console", "Reject"),
    "ask": N_("verifier_console", "Ask for information"),
    "defer": N_("verifier_console", "Defer"),
    "reason": N_("verifier_console", "Reason (the citizen reads it)"),
    "message": N_("verifier_console", "Message to the citizen"),
    "new_title": N_("verifier_console", "Corrected title"),
    "new_category": N_("verifier_console", "Corrected category"),
    "new_region": N_("verifier_console", "Regency code (e.g. 32.73)"),
    "protect": N_("verifier_console", "Protect the reporter"),
    "anonymous": N_("verifier_console", "Anonymous (identity hidden)"),
    "confidential": N_("verifier_console", "Confidential (never public)"),
    "redact": N_("verifier_console", "Cover before it goes on"),
    "redact_words": N_(
        "verifier_console",
        "Words to cover, one per line: covered wherever they occur in the title, the story "
        "and what the reporter added. Agencies, regions and the public read the covered "
        "version; the reporter and administrators the original.",
    ),
    "cover_selection": N_("verifier_console", "Cover the selected text"),
    "withhold": N_("verifier_console", "Withhold from agencies and the public"),
    "withheld_flag": N_("verifier_console", "withheld"),
    "action_redacted": N_("verifier_console", "Redacted"),
    "reason_code": N_("verifier_console", "Kind of rejection"),
    "out_of_scope": N_("verifier_console", "Not our authority (legal case)"),
    "duplicate": N_("verifier_console", "Duplicate"),
    "abuse": N_("verifier_console", "Archived: spam or abuse"),
    "incomplete": N_("verifier_console", "Incomplete"),
    "defer_days": N_("verifier_console", "Defer for how many days"),
    "done": N_("verifier_console", "Saved"),
    "keys": N_("verifier_console", "Keys: v verify, t reject, i ask, d defer, q queue."),
    "back": N_("verifier_console", "Back to the queue"),
    "state": N_("verifier_console", "State"),
    "anon_flag": N_("verifier_console", "Anonymous"),
    "conf_flag": N_("verifier_console", "Confidential"),
    "invalid": N_("verifier_console", "Invalid input"),
    "decided_already": N_("verifier_console", "This report is decided already."),
    "who": N_("verifier_console", "Who"),
    "what": N_("verifier_console", "What"),
    "when": N_("verifier_console", "When"),
    "where": N_("verifier_console", "Where"),
    "how": N_("verifier_console", "How"),
    "why": N_("verifier_console", "Why"),
    "state_new": N_("verifier_console", "Just received"),
    "state_queued": N_("verifier_console", "Waiting for a verifier"),
    "state_awaiting_info": N_("verifier_console", "Waiting for the reporter"),
    "state_decided": N_("verifier_console", "Decided"),
    "outcome_verified": N_("verifier_console", "verified"),
    "outcome_information_requested": N_("verifier_console", "information requested"),
    "outcome_rejected": N_("verifier_console", "not accepted"),
    "check_completeness": N_("verifier_console", "Completeness (5W1H)"),
    "check_out_of_scope": N_("verifier_console", "Out of scope"),
    "check_abuse": N_("verifier_console", "Abuse"),
    "check_privacy": N_("verifier_console", "The reporter's privacy"),
    "check_duplicate": N_("verifier_console", "Duplicate"),
    "action_received": N_("verifier_console", "Received"),
    "action_queued": N_("verifier_console", "Queued for a verifier"),
    "action_verified": N_("verifier_console", "Verified"),
    "action_rejected": N_("verifier_console", "Rejected"),
    "action_information_requested": N_("verifier_console", "Information requested"),
    "action_information_added": N_("verifier_console", "The reporter added information"),
    "action_deferred": N_("verifier_console", "Deferred"),
    "action_corrected": N_("verifier_console", "Corrected"),
    "action_returned": N_("verifier_console", "Returned by the agency"),
    "action_blocked": N_("verifier_console", "Sender blocked"),
    "role_system": N_("verifier_console", "system"),
    "role_citizen": N_("verifier_console", "reporter"),
    "role_agency": N_("verifier_console", "agency"),
    "role_verifier": N_("verifier_console", "verifier"),
    "role_administrator": N_("verifier_console", "administrator"),
}
WORDS: dict[str, tuple[str, str]] = i18n.pairs("verifier_console", _WORDS_EN)


def _named(prefix: str, code: str | None, lang: str) -> str:
    """A code's label from WORDS (the code itself when none is written yet)."""
    if not code:
        return ""
    pair = WORDS.get(f"{prefix}_{code.split(':')[0]}")
    if pair is None:
        return code
    label = pair[1] if lang == "en" else pair[0]
    if prefix == "outcome" and ":" in code:  # rejected:duplicate
        reason = WORDS.get(code.split(":", 1)[1])
        label += f" ({reason[1] if lang == 'en' else reason[0]})" if reason else ""
    return label


def _views(case: dict[str, Any], lang: str) -> dict[str, Any]:
    """What a verifier reads of a case: names for codes, one language, local times."""
    region = areas.get(case["regency_code"])
    name = CATEGORIES.get(case["category"])
    case["state_label"] = _named("state", case["state"], lang)
    case["outcome_label"] = _named("outcome", case.get("outcome"), lang)
    case["category_name"] = (name[1] if lang == "en" else name[0]) if name else case["category"]
    case["region_name"] = region.name if region else case["regency_code"]
    case["queue_reason"] = one_language(case.get("queue_reason") or "", lang)
    for f in case.get("findings", []):
        f["check_name"] = _named("check", f["check"], lang)
        f["detail"] = one_language(f["detail"], lang)
    case["left"], case["left_class"] = localtime.time_left(
        case["due_at"], case["regency_code"], lang
    )
    if not case["due_at"]:
        case["left"] = WORDS["unknown"][1 if lang == "en" else 0]
    return case


console = Console(
    "/console",
    ("Konsol verifikator", "Verifiers' console"),
    (Role.verifier, Role.administrator),
    Path(__file__).parent / "templates",
    WORDS,
    name="verification",
)
router = console.router()


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

    cases = [_views(c, language(request)) for c in await rt.database.read(work)]
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

    lang = language(request)
    found = _views(await rt.database.read(work), lang)
    found["audit"] = [
        {
            "at": localtime.format_local(a.at, found["regency_code"], lang, short=True),
            "actor": a.actor,
            "role": _named("role", a.role, lang),
            "action": _named("action", a.action, lang),
            "detail": one_language(a.detail, lang),
        }
        for a in found["audit"]
    ]
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
                    "redact": [
                        line.strip()
                        for line in str(form.get("redact", "")).splitlines()
                        if line.strip()
                    ],
                    "withhold": [str(v) for v in form.getlist("withhold")],
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
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
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
