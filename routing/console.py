"""The agencies' console, and the administrators' directory pages.

Officers: an inbox ordered by time left on the 5-working-day first-response clock, one
page per report (the story, where it is, every step, the reporter's replies) with forms
to post a follow-up with files, ask the reporter, forward to a unit or kecamatan, return
it as not theirs, and mark the work done. Administrators also get the directory (search,
connect a regional government, which releases its pending reports), the rules with a dry
run, and the pending reports per region.

On the kit's console frame (services/console.py); every action goes through the API's
functions, so it is checked and logged the same way.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from routing import api, directory, handlers, identity
from routing.models import Agency, ReportCopy
from services import areas, i18n, lifecycle, localtime
from services.auth import AGENCY_ROLES, DISPOSERS, Role, Staff
from services.categories import CATEGORIES
from services.console import Console, language
from services.i18n import N_
from services.runtime import runtime_of

_WORDS_EN: dict[str, str] = {
    "inbox": N_("agency_console", "Inbox"),
    "box_open": N_("agency_console", "To handle"),
    "box_resolved": N_("agency_console", "Awaiting the reporter"),
    "box_closed": N_("agency_console", "Finished"),
    "box_pending": N_("agency_console", "Waiting for the region"),
    "empty": N_("agency_console", "No reports."),
    "tracking": N_("agency_console", "Tracking no."),
    "report": N_("agency_console", "Report"),
    "category": N_("agency_console", "Category"),
    "region": N_("agency_console", "Region"),
    "district": N_("agency_console", "District"),
    "status": N_("agency_console", "Status"),
    "time_left": N_("agency_console", "Time left for the first response"),
    "days": N_("agency_console", "days"),
    "hours": N_("agency_console", "hours"),
    "overdue": N_("agency_console", "overdue"),
    "answered": N_("agency_console", "answered"),
    "unknown": N_("agency_console", "-"),
    "story": N_("agency_console", "The report"),
    "report_type": N_("agency_console", "Type"),
    "complaint": N_("agency_console", "Complaint"),
    "aspiration": N_("agency_console", "Aspiration"),
    "information_request": N_("agency_console", "Information request"),
    "reporter_files": N_("agency_console", "The reporter's files"),
    "map_point": N_("agency_console", "Map point"),
    "added": N_("agency_console", "Added by the reporter"),
    "reporter": N_("agency_console", "Reporter"),
    "identity_hidden": N_("agency_console", "Identity not released"),
    "identity": N_("agency_console", "The reporter's identity"),
    "identity_ask": N_("agency_console", "Ask for the reporter's identity"),
    "identity_reason": N_(
        "agency_console",
        "Why your agency needs it, for this report only (an administrator decides; an "
        "Anonymous reporter must also consent and reads your reason)",
    ),
    "identity_open": N_("agency_console", "Read the name and contact (this report only)"),
    "identity_requests": N_("agency_console", "Identity requests"),
    "no_requests": N_("agency_console", "No request waits."),
    "approve": N_("agency_console", "Approve"),
    "refuse": N_("agency_console", "Refuse"),
    "asked_by": N_("agency_console", "Asked by"),
    "req_requested": N_("agency_console", "waiting for an administrator"),
    "req_awaiting_consent": N_("agency_console", "waiting for the reporter's consent"),
    "req_released": N_("agency_console", "released to the agency"),
    "req_refused": N_("agency_console", "refused by an administrator"),
    "req_declined": N_("agency_console", "declined by the reporter"),
    "req_decided": N_("agency_console", "decided already"),
    "anonymous_reporter": N_("agency_console", "Anonymous"),
    "in_charge": N_("agency_console", "In charge"),
    "unit": N_("agency_console", "Work unit"),
    "subunit": N_("agency_console", "Sub-unit"),
    "history": N_("agency_console", "Handling history"),
    "followup": N_("agency_console", "Follow-up"),
    "question": N_("agency_console", "Question to the reporter"),
    "kind": N_("agency_console", "Kind"),
    "text": N_("agency_console", "Text"),
    "files": N_("agency_console", "Attachments (photos, PDF, video; up to 5 files, 10 MB each)"),
    "post": N_("agency_console", "Post"),
    "forward": N_("agency_console", "Forward to a unit"),
    "to": N_("agency_console", "To"),
    "reason": N_("agency_console", "Reason"),
    "return": N_("agency_console", "Return (not ours)"),
    "resolve": N_("agency_console", "Mark as done"),
    "summary": N_("agency_console", "What was done"),
    "done": N_("agency_console", "Saved"),
    "invalid": N_("agency_console", "Invalid input"),
    "refused": N_("agency_console", "Not possible"),
    "anon_flag": N_("agency_console", "Anonymous"),
    "conf_flag": N_("agency_console", "Confidential"),
    "satisfied_yes": N_("agency_console", "Reporter: solved"),
    "satisfied_no": N_("agency_console", "Reporter: not solved (re-opened)"),
    "directory": N_("agency_console", "Agency directory"),
    "rules": N_("agency_console", "Routing rules"),
    "pending": N_("agency_console", "Pending reports by region"),
    "search": N_("agency_console", "Search"),
    "connected": N_("agency_console", "Connected"),
    "not_connected": N_("agency_console", "Not connected"),
    "connect": N_("agency_console", "Connect (release pending reports)"),
    "disconnect": N_("agency_console", "Disconnect"),
    "released": N_("agency_console", "reports released"),
    "children": N_("agency_console", "Units and sub-units"),
    "name": N_("agency_console", "Name"),
    "save": N_("agency_console", "Save"),
    "target": N_("agency_console", "Target"),
    "prefix": N_("agency_console", "Region prefix"),
    "priority": N_("agency_console", "Priority"),
    "note": N_("agency_console", "Note"),
    "add_rule": N_("agency_console", "Add a rule"),
    "retire": N_("agency_console", "Retire"),
    "dry_run": N_("agency_console", "Dry run (where a report would go)"),
    "try": N_("agency_console", "Try"),
    "would_go": N_("agency_console", "Would go to"),
    "would_wait": N_("agency_console", "Would wait for the region to connect"),
    "count": N_("agency_console", "Count"),
    "to_district": N_("agency_console", "to the district"),
    "kind_label": N_("agency_console", "Kind"),
    "all": N_("agency_console", "All"),
    "reroute": N_("agency_console", "Re-route to another agency"),
    "agency_id": N_("agency_console", "Agency id"),
    "add_unit": N_("agency_console", "Add a unit or sub-unit"),
    "code": N_("agency_console", "Code (lower case, digits, hyphens)"),
}
WORDS: dict[str, tuple[str, str]] = i18n.pairs("agency_console", _WORDS_EN)

# A report's states, as every page names them (services.lifecycle).
STATUS: dict[str, tuple[str, str]] = {
    code: (state.id, state.en) for code, state in lifecycle.STATES.items()
}
_LOG_EN: dict[str, str] = {
    "routed": N_("agency_log", "Routed"),
    "pending": N_("agency_log", "Held: region not connected"),
    "forwarded": N_("agency_log", "Forwarded"),
    "rerouted": N_("agency_log", "Re-routed"),
    "returned": N_("agency_log", "Returned"),
    "followup": N_("agency_log", "Follow-up"),
    "question": N_("agency_log", "Question to the reporter"),
    "acknowledgement": N_("agency_log", "Acknowledged by the region's system"),
    "resolved": N_("agency_log", "Resolved"),
    "reply": N_("agency_log", "Reporter's reply"),
    "reopened": N_("agency_log", "Re-opened: not solved"),
    "closed": N_("agency_log", "Closed"),
    "escalated": N_("agency_log", "Escalated to the Ombudsman"),
    "identity_requested": N_("agency_log", "Identity requested"),
    "identity_refused": N_("agency_log", "Identity request refused"),
    "identity_consent_requested": N_("agency_log", "Approved: the reporter is asked to consent"),
    "identity_declined": N_("agency_log", "The reporter declined"),
    "identity_released": N_("agency_log", "Identity released to the agency"),
}
LOG: dict[str, tuple[str, str]] = i18n.pairs("agency_log", _LOG_EN)

console = Console(
    "/console",
    ("Konsol instansi", "Agencies' console"),
    (*AGENCY_ROLES, Role.administrator, Role.monitor),
    Path(__file__).parent / "templates",
    WORDS,
    name="routing",
)
router = console.router()


def _left(
    due: datetime | None, answered: bool, lang: str, region: str | None = None
) -> tuple[str, str]:
    """The first response's time left, in working days, the deadline in the region's zone."""
    i = 0 if lang == "id" else 1
    if answered:
        return WORDS["answered"][i], ""
    if due is None:
        return WORDS["unknown"][i], ""
    return localtime.time_left(due, region, lang)


def _actor(actor: str, lang: str) -> str:
    """Who acted, as an officer reads it (a member of staff keeps their name)."""
    words = {"system": ("sistem", "system"), "reporter": ("pelapor", "reporter")}
    pair = words.get(actor)
    return (pair[1] if lang == "en" else pair[0]) if pair else actor


def _named(table: dict[str, tuple[str, str]], lang: str) -> dict[str, str]:
    i = 0 if lang == "id" else 1
    return {k: v[i] for k, v in table.items()}


def _render(request: Request, template: str, **values: Any) -> Response:
    lang = language(request)
    return console.render(
        request,
        template,
        status_names=_named(STATUS, lang),
        open_states=handlers.OPEN,
        when=lambda at, region: localtime.format_local(at, region, lang, short=True),
        log_names=_named(LOG, lang),
        categories={k: v[0 if lang == "id" else 1] for k, v in CATEGORIES.items()},
        is_admin=_is_admin(request),
        **values,
    )


def _is_admin(request: Request) -> bool:
    member = console.staff(request)
    return member is not None and member.role is Role.administrator


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/console/inbox", status_code=303)


@router.get("/inbox")
async def inbox_page(request: Request, box: str = "open", done: str = "") -> Response:
    staff = console.staff(request)
    if staff is None:
        return console.login_redirect(request)
    if box not in api.BOXES:
        box = "open"
    rt = runtime_of(request)
    rows = await api._read(
        rt, lambda s: [api.routing_view(r) for r in api.inbox(s, staff, box, 200, 0)]
    )
    lang = language(request)
    for r in rows:
        r["left"], r["left_class"] = _left(
            r["first_response_due"], r["first_response_at"] is not None, lang, r["regency_code"]
        )
    return _render(request, "inbox.html", rows=rows, box=box, done=done)


@router.get("/reports/{report_id}")
async def report_page(request: Request, report_id: str, error: str = "") -> Response:
    staff = console.staff(request)
    if staff is None:
        return console.login_redirect(request)
    rt = runtime_of(request)
    lang = language(request)

    def work(s: Session) -> dict[str, Any]:
        routing = api.load_visible(s, report_id, staff)
        detail = api.report_detail(s, routing, rt.settings.intake_url, staff)  # type: ignore[attr-defined]
        # Names, never codes: who a step went to, and where the report is.
        for e in detail["log"]:
            target = s.get(Agency, e["target_id"]) if e["target_id"] else None
            e["target_name"] = target.name if target else e["target_id"]
            e["actor_name"] = _actor(e["actor"], lang)
            if e["kind"] in ("routed", "pending"):
                e["text"] = ""  # the rule that chose the agency is the administrators' matter
        area = areas.get(routing.regency_code)
        detail["region"] = area.name if area else routing.regency_code
        parent = routing.agency_id
        detail["targets"] = [
            {"id": a.id, "name": a.name, "kind": a.kind}
            for a in api.search_agencies(s, None, None, None, None, parent, 1000, 0)
            if a.active and a.kind in ("unit", "kecamatan")
        ]
        if routing.regency_code and not routing.regency_code.startswith("31."):
            return detail
        # DKI's kecamatan hang under its administrative cities.
        city = directory.pemda_id(routing.regency_code)
        detail["targets"] += [
            {"id": a.id, "name": a.name, "kind": a.kind}
            for a in api.search_agencies(s, None, "kecamatan", None, None, city, 1000, 0)
        ]
        return detail

    detail = await api._read(rt, work)
    detail["left"], detail["left_class"] = _left(
        detail["first_response_due"],
        detail["first_response_at"] is not None,
        language(request),
        detail["regency_code"],
    )
    return _render(
        request,
        "report.html",
        r=detail,
        error=error,
        staff_agency=staff.agency_id,
        may_act=staff.role is not Role.monitor,
        may_dispose=staff.role in DISPOSERS,
    )


async def _act(request: Request, report_id: str, action: str) -> Response:
    form = await request.form()
    staff: Staff = console.check_form(request, str(form.get("csrf", "")))
    rt = runtime_of(request)
    values = {k: v for k, v in form.multi_items() if k != "csrf" and isinstance(v, str)}
    back = f"/console/reports/{report_id}"
    if staff.role is Role.monitor:
        raise HTTPException(403, "Pemantau hanya membaca. Monitors read only.")
    if action in ("forward", "return", "identity") and staff.role not in DISPOSERS:
        raise HTTPException(403, "Hanya koordinator instansi. Agency coordinators only.")
    try:
        if action == "forward":
            await api.do_forward(rt, report_id, staff, api.ForwardIn.model_validate(values))
        elif action == "return":
            await api.do_return(rt, report_id, staff, api.ReasonIn.model_validate(values))
            return RedirectResponse("/console/inbox?done=returned", status_code=303)
        elif action == "resolve":
            await api.do_resolve(rt, report_id, staff, api.ResolveIn.model_validate(values))
        elif action == "identity":
            await identity.do_request(
                rt, report_id, staff, identity.RequestIn.model_validate(values)
            )
        elif action == "reroute":
            if staff.role is not Role.administrator:
                raise HTTPException(403, "hanya administrator / administrators only")
            await api.do_reroute(rt, report_id, staff, api.RerouteIn.model_validate(values))
        else:
            files = [
                (f.filename, await f.read())
                for f in form.getlist("files")
                if isinstance(f, UploadFile) and f.filename
            ]
            await api.do_followup(
                rt,
                report_id,
                staff,
                values.get("text", ""),
                values.get("kind", "followup"),
                files,
                values.get("key") or None,
            )
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors())
        return RedirectResponse(f"{back}?error=invalid:{quote(fields)}", status_code=303)
    except HTTPException as exc:
        if exc.status_code in (409, 422):
            return RedirectResponse(f"{back}?error=refused:{quote(str(exc.detail))}", 303)
        raise
    return RedirectResponse(f"{back}?error=", status_code=303)


def _form_route(action: str) -> None:
    async def post(request: Request, report_id: str) -> Response:
        return await _act(request, report_id, action)

    router.add_api_route(f"/reports/{{report_id}}/{action}", post, methods=["POST"])


for _action in ("followup", "forward", "return", "resolve", "reroute", "identity"):
    _form_route(_action)


@router.get("/identity")
async def identity_page(request: Request, done: str = "") -> Response:
    """Administrators: the agencies' requests for a reporter's identity, to decide."""
    staff = _admin(request)
    if staff is None:
        return console.login_redirect(request)
    rt = runtime_of(request)
    rows = await identity.list_requests(rt, staff, "requested", 200)

    def copies(session: Session) -> dict[str, ReportCopy]:
        ids = [r["report_id"] for r in rows]
        found = session.exec(select(ReportCopy).where(ReportCopy.report_id.in_(ids)))  # type: ignore[attr-defined]
        return {c.report_id: c for c in found}

    known_copies = await api._read(rt, copies)
    for row in rows:
        copy = known_copies.get(row["report_id"])
        row["tracking_number"] = copy.tracking_number if copy else row["report_id"][:8]
        row["anonymous"] = bool(copy and copy.anonymous)
    known = ("awaiting_consent", "released", "refused", "decided")
    return _render(request, "identity.html", rows=rows, done=done if done in known else "")


@router.post("/identity/{request_id}")
async def identity_decide(request: Request, request_id: str) -> Response:
    form = await request.form()
    staff = console.check_form(request, str(form.get("csrf", "")))
    if staff.role is not Role.administrator:
        raise HTTPException(403, "hanya administrator / administrators only")
    body = identity.DecisionIn(
        approve=form.get("approve") == "1", note=str(form.get("note", ""))[:500]
    )
    try:
        done = await identity.do_decide(runtime_of(request), request_id, staff, body)
    except HTTPException as exc:
        if exc.status_code != 409:
            raise
        return RedirectResponse("/console/identity?done=decided", status_code=303)
    return RedirectResponse(f"/console/identity?done={done['status']}", status_code=303)


@router.get("/reports/{report_id}/attachments/{attachment_id}")
async def attachment_page(request: Request, report_id: str, attachment_id: str) -> Response:
    staff = console.staff(request)
    if staff is None:
        return console.login_redirect(request)
    return await api.attachment(report_id, attachment_id, runtime_of(request), staff)


# --- administrators ----------------------------------------------------------------------


def _admin(request: Request) -> Staff | None:
    staff = console.staff(request)
    if staff is not None and staff.role is not Role.administrator:
        raise HTTPException(403, "hanya administrator / administrators only")
    return staff


@router.get("/directory")
async def directory_page(
    request: Request, q: str = "", kind: str = "", region: str = "", connected: str = ""
) -> Response:
    if _admin(request) is None:
        return console.login_redirect(request)
    rt = runtime_of(request)
    want = {"1": True, "0": False}.get(connected)
    rows = await api._read(
        rt,
        lambda s: [
            api.agency_view(a)
            for a in api.search_agencies(
                s, q[:100] or None, kind[:16] or None, region[:13] or None, want, None, 200, 0
            )
        ],
    )
    return _render(
        request,
        "directory.html",
        rows=rows,
        q=q,
        kind=kind,
        region=region,
        connected=connected,
        kinds=api.KINDS,
    )


@router.get("/agencies/{agency_id}")
async def agency_page(
    request: Request, agency_id: str, released: str = "", error: str = ""
) -> Response:
    if _admin(request) is None:
        return console.login_redirect(request)
    rt = runtime_of(request)
    found = await api.agency(agency_id, rt, console.staff(request))  # type: ignore[arg-type]
    return _render(request, "agency.html", a=found, released=released, error=error)


@router.post("/agencies/{agency_id}")
async def agency_post(request: Request, agency_id: str) -> Response:
    form = await request.form()
    staff = console.check_form(request, str(form.get("csrf", "")))
    if staff.role is not Role.administrator:
        raise HTTPException(403, "hanya administrator / administrators only")
    values: dict[str, Any] = {}
    if form.get("name"):
        values["name"] = str(form["name"])
    if form.get("connected") in ("1", "0"):
        values["connected"] = form.get("connected") == "1"
    if "categories" in form:
        values["categories"] = [str(c) for c in form.getlist("categories")]
    try:
        body = api.AgencyPatch.model_validate(values)
    except ValidationError:
        return RedirectResponse(f"/console/agencies/{agency_id}", status_code=303)
    done = await api.do_patch_agency(runtime_of(request), agency_id, staff, body)
    return RedirectResponse(
        f"/console/agencies/{agency_id}?released={done['released']}", status_code=303
    )


@router.post("/agencies/{agency_id}/units")
async def add_unit(request: Request, agency_id: str) -> Response:
    """Add a work unit or sub-unit under an agency (its id is the parent's plus a code)."""
    form = await request.form()
    staff = console.check_form(request, str(form.get("csrf", "")))
    if staff.role is not Role.administrator:
        raise HTTPException(403, "hanya administrator / administrators only")
    back = f"/console/agencies/{agency_id}"
    try:
        body = api.AgencyIn.model_validate(
            {
                "id": f"{agency_id}-{form.get('code', '')}",
                "kind": form.get("kind", "unit"),
                "name": form.get("name", ""),
                "parent_id": agency_id,
                "categories": [str(c) for c in form.getlist("categories") if c],
            }
        )
        await api.do_create_agency(runtime_of(request), staff, body)
    except (ValidationError, HTTPException):
        return RedirectResponse(f"{back}?error=invalid", status_code=303)
    return RedirectResponse(back, status_code=303)


@router.get("/rules")
async def rules_page(
    request: Request, category: str = "", regency_code: str = "", district_code: str = ""
) -> Response:
    staff = _admin(request)
    if staff is None:
        return console.login_redirect(request)
    rt = runtime_of(request)
    rules = await api.get_rules(rt, staff)
    trial = None
    if category in CATEGORIES and re.fullmatch(r"\d{2}\.\d{2}", regency_code):
        district = district_code if re.fullmatch(r"\d{2}\.\d{2}\.\d{2}", district_code) else None
        trial = await api._read(rt, lambda s: api.dry_run(s, category, regency_code, district))
    return _render(
        request,
        "rules.html",
        rules=rules,
        trial=trial,
        category=category,
        regency_code=regency_code,
        district_code=district_code,
    )


@router.post("/rules")
async def rules_post(request: Request) -> Response:
    form = await request.form()
    staff = console.check_form(request, str(form.get("csrf", "")))
    if staff.role is not Role.administrator:
        raise HTTPException(403, "hanya administrator / administrators only")
    rt = runtime_of(request)
    if form.get("retire"):
        await api.do_delete_rule(rt, int(str(form["retire"])))
        return RedirectResponse("/console/rules", status_code=303)
    values = {k: v for k, v in form.items() if k != "csrf" and isinstance(v, str) and v != ""}
    values["to_district"] = "to_district" in values  # type: ignore[assignment]
    try:
        await api.do_add_rule(rt, staff, api.RuleIn.model_validate(values))
    except (ValidationError, HTTPException):
        return RedirectResponse("/console/rules?error=invalid", status_code=303)
    return RedirectResponse("/console/rules", status_code=303)


@router.get("/pending")
async def pending_page(request: Request) -> Response:
    if _admin(request) is None:
        return console.login_redirect(request)
    rows = await api._read(runtime_of(request), api.pending_regions)
    return _render(request, "pending.html", rows=rows)
