"""The citizens' web pages: report, follow one's report and answer the agency, browse the
public reports and their statistics. Server-rendered (Jinja2, autoescaped), Indonesian
first with English one click away, usable without JavaScript except the area pickers,
which fetch the Kemendagri areas as the citizen chooses.

Every page goes through the same functions as the REST API: the same checks, limits and
events. Nothing on a public page says who reported; a confidential report is never
public and its own page needs the code given at submission.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from babel.dates import format_date
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import UploadFile

from intake import accounts, api, domain, files, forms, handlers, identity, places
from intake.models import (
    Account,
    AnswerStat,
    HistoryEntry,
    IdentityGrant,
    Report,
    ReportAttachment,
    Reporter,
    ReportStat,
)
from services import areas, i18n, lifecycle, localtime, uploads
from services.categories import CATEGORIES, NEEDS
from services.http import new_nonce, page_csp
from services.i18n import N_
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
LANG_COOKIE = "aduan_lang"
# The states in which the public may read a report (never a Rahasia one).
PUBLIC = tuple(code for code in lifecycle.STATES if code in lifecycle.PUBLIC)
RESPONSES = ("followup", "question", "acknowledgement", "resolved")
ANSWERS = (*RESPONSES, "forwarded", "transferred")
# What the public page shows of a report's history: its steps, never the reporter's own
# words or the notices sent to them.
PUBLIC_HISTORY = (
    *ANSWERS,
    "submitted",
    "verified",
    "pending",
    "routed",
    "returned",
    "reopened",
    "escalated",
    "closed",
)
ELEMENTS = {
    "what": ("apa", "what"),
    "who": ("siapa", "who"),
    "where": ("di mana", "where"),
    "when": ("kapan", "when"),
    "how": ("bagaimana", "how"),
    "why": ("mengapa", "why"),
}
# The reporter naming themselves in an Anonim story (verification checks it again).
SELF_NAMED = re.compile(
    r"\bnama saya\b|\bsaya bernama\b|(\+62[\s-]?|\b0)8(?:[\s-]?\d){8,11}\b|[\w.+-]+@[\w-]+\.[\w.]+",
    re.I,
)


def self_naming(body: str, name: str | None, phone: str | None) -> list[str]:
    """What in a story seems to name its own reporter: "nama saya ...", a phone number or
    an email, the reporter's own name (or a word of it of four letters or more), or the
    last digits of the phone they gave. The words found, as written, for the warning."""
    found = [m.group(0).strip() for m in SELF_NAMED.finditer(body)]
    parts = {w for w in re.findall(r"\w+", (name or "").lower()) if len(w) >= 4}
    found += [w for w in re.findall(r"\w+", body) if w.lower() in parts]
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= 8 and digits[-8:] in re.sub(r"\D", "", body):
        found.append(digits[-4:])
    return list(dict.fromkeys(found))[:10]


def names_self(body: str, name: str | None, phone: str | None) -> bool:
    """Whether a story seems to name its own reporter (see :func:`self_naming`)."""
    return bool(self_naming(body, name, phone))


_WORDS_EN: dict[str, str] = {
    "title": N_("web", "Aduan: public service complaints"),
    "language": N_("web", "Bahasa Indonesia"),
    "report": N_("web", "Report"),
    "track": N_("web", "Track a report"),
    "browse": N_("web", "Public reports"),
    "stats": N_("web", "Statistics"),
    "skip": N_("web", "Skip to content"),
    "menu": N_("web", "Main menu"),
    "verdict": N_("web", "Is the problem solved?"),
    "required_note": N_("web", "Fields marked with a star must be filled in."),
    "intro": N_(
        "web",
        "Complain about a public service. Your report is verified within 3 working days and "
        "sent to the agency in charge, which must respond within 5 working days.",
    ),
    "new_report": N_("web", "New report"),
    "report_title": N_("web", "Short title"),
    "story": N_("web", "Tell what happened"),
    "story_help": N_("web", "Say what happened, where, when, and who was involved if anyone."),
    "event_date": N_("web", "Date of the event"),
    "category": N_("web", "Category"),
    "needs": N_("web", "A report of this category must say"),
    "province": N_("web", "Province"),
    "regency": N_("web", "Regency/city"),
    "district": N_("web", "District (optional)"),
    "choose": N_("web", "Choose"),
    "privacy": N_("web", "Privacy"),
    "anonymous": N_("web", "Anonymous"),
    "anonymous_help": N_(
        "web",
        "Your identity is hidden from the agency and the public; only administrators can see "
        "it. Do not write your name or number in the story.",
    ),
    "confidential": N_("web", "Confidential"),
    "confidential_help": N_(
        "web",
        "The whole report is seen only by you, the agency concerned and administrators; never "
        "in the public list.",
    ),
    "contact": N_("web", "Contact (never shown)"),
    "name": N_("web", "Name"),
    "phone": N_("web", "Mobile number"),
    "email": N_("web", "Email"),
    "contact_help": N_("web", "To keep you informed. Agencies and the public never see it."),
    "send": N_("web", "Send the report"),
    "self_named": N_(
        "web",
        "Your story seems to contain your name, number or email although you chose Anonymous. "
        "Remove it first, or tick send anyway.",
    ),
    "send_anyway": N_("web", "Send anyway"),
    "self_named_words": N_("web", "Found in your story"),
    "files_kept": N_(
        "web",
        "These files are kept with the form; you do not need to choose them again",
    ),
    "err_title": N_("web", "Short title: write a title of at most 200 characters."),
    "err_body": N_("web", "Tell what happened: write the story, at most 20,000 characters."),
    "err_category": N_("web", "Category: choose one from the list."),
    "err_regency_code": N_("web", "Regency/city: choose the province, then the regency or city."),
    "err_district_code": N_(
        "web", "District: choose a district of the chosen regency or city, or leave it empty."
    ),
    "err_point": N_(
        "web",
        "Map point: give both latitude (-90 to 90) and longitude (-180 to 180), or leave both"
        " empty.",
    ),
    "err_phone": N_(
        "web", "Mobile number: write an Indonesian mobile number, like 0812 3456 7890."
    ),
    "err_email": N_("web", "Email: write an address like nama@contoh.id."),
    "err_name": N_("web", "Name: write at most 120 characters."),
    "err_report_type": N_("web", "Type of report: choose one of the three."),
    "show_areas": N_("web", "Show the regencies and districts of my choice"),
    "received": N_("web", "Report received"),
    "your_number": N_("web", "Your tracking number"),
    "your_code": N_("web", "Secret code (keep it: shown once)"),
    "your_link": N_("web", "Your report's link"),
    "code_help": N_(
        "web",
        "The tracking number alone cannot reply or open a confidential report: keep this code "
        "or the link.",
    ),
    "tracking_number": N_("web", "Tracking number"),
    "code": N_("web", "Secret code"),
    "open": N_("web", "Open"),
    "not_found": N_("web", "Report not found."),
    "status": N_("web", "Status"),
    "agency": N_("web", "Agency"),
    "due": N_("web", "Agency's response due"),
    "next_step": N_("web", "What happens next"),
    "by_when": N_("web", "By"),
    "live_note": N_("web", "This page follows the report: a change shows here by itself."),
    "live_changed": N_("web", "Updated: the report is now"),
    "live_reload": N_("web", "The report moved: reload the page to answer."),
    "offline_kept": N_("web", "Kept on this phone"),
    "offline_kept_help": N_(
        "web",
        "There is no connection now. Your report is kept on this phone and is sent by itself"
        " when the connection returns, the next time you open Aduan. You will then see its"
        " tracking number and secret code.",
    ),
    "offline_sent": N_("web", "Your report written offline was sent. Tracking number"),
    "offline_open": N_("web", "Open it"),
    "offline_noted": N_("web", "I have noted the number and code"),
    "offline_waiting": N_("web", "Reports kept on this phone, waiting for a connection"),
    "offline_fix": N_(
        "web",
        "A report kept on this phone could not be sent as it is: open the form to finish it",
    ),
    "copy": N_("web", "Copy the code"),
    "send_code": N_("web", "Have the code sent to me"),
    "send_code_help": N_("web", "Only to the contact you gave with this report, at most 3 times."),
    "code_via_sms": N_("web", "By SMS to"),
    "code_via_email": N_("web", "By email to"),
    "code_sending": N_("web", "The secret code is on its way to your contact."),
    "copied": N_("web", "Copied"),
    "code_groups": N_(
        "web",
        "The code has no look-alike characters (no 0 and O, no 1, I or L); capitals or not,"
        " with or without the dashes, it works.",
    ),
    "history": N_("web", "History"),
    "reply": N_("web", "Reply to the agency"),
    "solved": N_("web", "My problem is solved"),
    "not_solved": N_("web", "Not solved"),
    "no_verdict": N_("web", "Just replying"),
    "add_info": N_("web", "Add information"),
    "identity_ask": N_("web", "An agency asks to know who you are"),
    "identity_why": N_(
        "web",
        "For this report only, an administrator agreed to let this agency read your name and "
        "contact. Your report is Anonymous: nothing is opened unless you consent. The agency's "
        "reason:",
    ),
    "identity_yes": N_("web", "I consent: open my identity to this agency"),
    "identity_no": N_("web", "I decline: keep it hidden"),
    "text": N_("web", "Text"),
    "done": N_("web", "Sent. Thank you."),
    "error": N_("web", "Check the form"),
    "filter": N_("web", "Filter"),
    "search": N_("web", "Search"),
    "all": N_("web", "All"),
    "prev": N_("web", "Previous"),
    "next": N_("web", "Next"),
    "submitted": N_("web", "Submitted"),
    "region": N_("web", "Region"),
    "reporter": N_("web", "Reporter"),
    "anon_reporter": N_("web", "Anonymous"),
    "named_reporter": N_("web", "A citizen (identity not shown)"),
    "by_status": N_("web", "By status"),
    "by_province": N_("web", "By province"),
    "by_agency": N_("web", "By agency"),
    "on_time": N_("web", "Answered on time"),
    "total": N_("web", "Total"),
    "other_agencies": N_("web", "Other agencies"),
    "not_routed": N_("web", "Not with an agency (yet)"),
    "on_time_of": N_("web", "of"),
    "answers": N_("web", "first answers"),
    "last_year": N_(
        "web",
        "Reports of the 12 months shown (this one included); every table adds up to the total.",
    ),
    "per_month": N_("web", "Reports per month"),
    "on_time_by_agency": N_("web", "First answers on time, per agency"),
    "on_time_by_province": N_("web", "First answers on time, per province"),
    "no_answers": N_("web", "No agency has answered a report yet."),
    "chart_note": N_("web", "Each bar says its count; the table below it holds the same figures."),
    "empty": N_("web", "No reports yet."),
    "report_type": N_("web", "Type of report"),
    "report_type_help": N_(
        "web",
        "Complaint: a problem with a public service. Aspiration: a proposal or suggestion. "
        "Information request: asking an agency for public information.",
    ),
    "map_point": N_("web", "Map point (optional)"),
    "map_help": N_(
        "web",
        "Tap the place on the map, or type its latitude and longitude (e.g. -6.9147 and"
        " 107.6098), or use your device's location. The point fills the province, regency"
        " and district above: check them.",
    ),
    "map_label": N_("web", "Map: tap the place of the problem"),
    "map_found": N_("web", "The point is in {place}: the areas above are filled; check them."),
    "map_unknown": N_("web", "The area of this point is not known here: choose it above."),
    "map_view": N_("web", "Map"),
    "list_view": N_("web", "List"),
    "map_reports": N_("web", "Public reports with a map point"),
    "map_none": N_("web", "None of these reports has a map point."),
    "latitude": N_("web", "Latitude"),
    "longitude": N_("web", "Longitude"),
    "use_location": N_("web", "Use my location"),
    "attachments": N_("web", "Attachments (optional)"),
    "attachments_help": N_(
        "web",
        "Photos (JPEG, PNG, WebP), video (MP4, WebM) or PDF; at most {n} files of {mb} MB each."
        " Location data in photos is removed.",
    ),
    "your_files": N_("web", "Your attachments"),
    "account": N_("web", "Account"),
    "my_reports": N_("web", "My reports"),
    "sign_in": N_("web", "Sign in"),
    "sign_out": N_("web", "Sign out"),
    "sign_up": N_("web", "Create an account"),
    "username": N_("web", "Username"),
    "password": N_("web", "Password"),
    "password2": N_("web", "Repeat the password"),
    "password_help": N_("web", "At least 10 characters. Kept as a scrypt hash, never as written."),
    "account_help": N_(
        "web",
        "An account is optional. With one, your reports are listed on one page and open without"
        " their secret codes; the username is shown unless a report is Anonymous.",
    ),
    "signed_in_as": N_("web", "Signed in as"),
    "no_account": N_("web", "No account yet?"),
    "mismatch": N_("web", "The passwords differ."),
}
WORDS: dict[str, tuple[str, str]] = i18n.pairs("web", _WORDS_EN)


def language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "id"
    return wanted if wanted in ("id", "en") else "id"


def page(request: Request, template: str, http_status: int = 200, **values: Any) -> Response:
    lang = language(request)
    i = 0 if lang == "id" else 1

    def t(key: str) -> str:
        return WORDS[key][i]

    statuses = {k: v[1 + i] for k, v in domain.STATUSES.items()}
    history = {k: v[i] for k, v in domain.HISTORY_LABELS.items()}

    def when(at: datetime | None, region: str | None, short: bool = False) -> str:
        return localtime.format_local(at, region, lang, short)

    def detail(h: HistoryEntry, region: str, reading: handlers.Reading | None = None) -> str:
        text = reading.source(h) if reading is not None else h.detail
        return domain.history_detail(h.kind, text, region, lang)

    def next_step(code: str) -> str:
        return lifecycle.state(code).next_step(lang)

    csrf, new_cookie = forms.token(request)
    nonce = new_nonce()
    settings = files.settings_of(runtime_of(request))
    html = _env.get_template(template).render(
        live_seconds=settings.live_seconds,
        tiles=settings.map_tiles_url,
        tiles_credit=settings.map_tiles_attribution,
        csrf=csrf,
        nonce=nonce,
        when=when,
        detail=detail,
        next_step=next_step,
        replyable=lifecycle.REPLYABLE,
        can_add=lambda code: lifecycle.state(code).reporter_can_add,
        due_now=due_now,
        live_token=live_token,
        live_version=live_version,
        t=t,
        lang=lang,
        other_lang="en" if lang == "id" else "id",
        statuses=statuses,
        history_labels=history,
        categories={k: v[i] for k, v in CATEGORIES.items()},
        path=request.url.path,
        signed_in=bool(request.cookies.get(accounts.COOKIE)),
        **values,
    )
    response = HTMLResponse(html, status_code=http_status)
    forms.remember(request, response, new_cookie)
    response.headers["Content-Security-Policy"] = page_csp(nonce, tiles_origin(settings))
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.query_params.get("lang") in ("id", "en"):
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 86400,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def tiles_origin(settings: Any) -> str | None:
    """The tile server's origin, which the pages may load images from."""
    parts = urlsplit(settings.map_tiles_url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None


async def _forms_check(request: Request) -> None:
    """A browser's post must come from this site, with its form token (intake/forms.py)."""
    settings = runtime_of(request).definition.settings
    await forms.check(request, getattr(settings, "public_base_url", None))


@router.get("/")
def home(request: Request) -> Response:
    return page(request, "home.html")


_GEOCODERS: dict[str, places.Geocoder] = {}


@router.get("/v1/areas/at", tags=["reference"], include_in_schema=True)
async def areas_at(
    request: Request,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> dict[str, str]:
    """The province, regency or city and district a map point falls in, as far as the
    reverse geocoder knows (``{}`` where it does not: the citizen chooses); 503 while it
    does not answer."""
    rt = runtime_of(request)
    api.limit_lookup(rt, request)
    settings = files.settings_of(rt)
    if not settings.geocoder_url:
        return {}
    geocoder = _GEOCODERS.get(settings.geocoder_url)
    if geocoder is None:
        agent = f"Aduan/0.1 ({settings.public_base_url})"
        geocoder = _GEOCODERS.setdefault(
            settings.geocoder_url, places.Geocoder(settings.geocoder_url, agent)
        )
    try:
        return await geocoder.areas_at(lat, lon)
    except (httpx.HTTPError, ValueError) as exc:
        raise HTTPException(
            503, "peta wilayah tidak menjawab / the area lookup does not answer"
        ) from exc


@router.get("/v1/areas/{code}", tags=["reference"], include_in_schema=True)
def area_children(code: str) -> list[dict[str, str]]:
    """The regencies of a province, or the districts of a regency (``00`` lists provinces)."""
    if code == "00":
        return [{"code": a.code, "name": a.name} for a in areas.provinces().values()]
    if not re.fullmatch(r"\d{2}(\.\d{2})?", code):
        raise HTTPException(404, "kode wilayah tidak dikenal / unknown area code")
    return [{"code": a.code, "name": a.name} for a in areas.children(code)]


# The form's fields by what the API's checks call them.
_FIELD_OF = {"latitude": "point", "longitude": "point"}


def field_errors(exc: ValidationError, lang: str) -> list[tuple[str, str]]:
    """Each refused field once, as (the field's id, what to do), in the reader's language."""
    i = 0 if lang == "id" else 1
    found: dict[str, str] = {}
    for e in exc.errors():
        loc = [str(part) for part in e["loc"]]
        field = loc[-1] if loc else ("district_code" if "kecamatan" in e["msg"] else "point")
        field = _FIELD_OF.get(field, field)
        key = f"err_{field}"
        anchor = "latitude" if field == "point" else field
        found.setdefault(anchor, WORDS[key][i] if key in WORDS else field)
    return list(found.items())


def _form_page(
    request: Request,
    values: dict[str, Any],
    errors: list[tuple[str, str]],
    warn: bool = False,
    http_status: int = 200,
    account: Account | None = None,
    held: list[uploads.Stored] | None = None,
    triggers: list[str] | None = None,
) -> Response:
    settings = files.settings_of(runtime_of(request))
    lang = language(request)
    i = 0 if lang == "id" else 1
    needs = {
        code: ", ".join(ELEMENTS[e][i] for e in NEEDS.get(code, ("what", "where")))
        for code in CATEGORIES
    }
    return page(
        request,
        "lapor.html",
        http_status,
        values=values,
        errors=errors,
        invalid={field for field, _ in errors},
        warn=warn,
        triggers=triggers or [],
        held=held or [],
        held_seal=files.seal_held(request, held or []),
        needs=needs,
        provinces=list(areas.provinces().values()),
        regencies=areas.children(values["province"]) if values.get("province") else [],
        districts=areas.children(values["regency_code"]) if values.get("regency_code") else [],
        report_types={k: v[i] for k, v in domain.REPORT_TYPES.items()},
        files_help=WORDS["attachments_help"][i].format(
            n=settings.attachments_per_report, mb=settings.attachment_max_bytes // 1_000_000
        ),
        account=account,
    )


async def signed_in(request: Request) -> Account | None:
    """The citizen's account, when signed in."""
    if not request.cookies.get(accounts.COOKIE):
        return None
    rt = runtime_of(request)

    def work() -> Account | None:
        with rt.database.session() as session:
            return accounts.current(session, request)

    return await rt.database.read(work)


@router.get("/lapor")
async def report_form(request: Request) -> Response:
    return _form_page(request, {}, [], account=await signed_in(request))


@router.post("/lapor")
async def report_submit(request: Request) -> Response:
    await _forms_check(request)
    rt = runtime_of(request)
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    uploaded = [f for f in form.getlist("lampiran") if isinstance(f, UploadFile)]
    chosen_province, regency = values.get("province", ""), values.get("regency_code", "")
    if chosen_province and regency and not regency.startswith(chosen_province + "."):
        values["regency_code"] = values["district_code"] = ""  # the province was changed
    values["province"] = chosen_province or regency[:2]
    account = await signed_in(request)
    lang = language(request)
    held = files.unseal_held(rt, request, values.pop("held", ""))

    def refused(exc: uploads.UploadRefused) -> Response:
        """The form back with the file's refusal, the files already held kept."""
        problem = exc.en_text if lang == "en" else exc.id_text
        return _form_page(
            request, values, [("lampiran", problem)], http_status=422, account=account, held=held
        )

    try:
        chosen = await files.read_uploads(rt, uploaded, already=len(held))
    except uploads.UploadRefused as exc:
        return refused(exc)

    async def again(
        errors: list[tuple[str, str]], http_status: int, warn: list[str] | None = None
    ) -> Response:
        """The form back, with what to fix and every file kept."""
        kept = held + await files.hold(rt, chosen)
        return _form_page(
            request,
            values,
            errors,
            warn=bool(warn),
            http_status=http_status,
            account=account,
            held=kept,
            triggers=warn,
        )

    if values.get("step") == "areas":  # without JavaScript: the chosen area's lists
        return await again([], 200)
    anonymous = values.get("anonymous") == "1"
    own = (values.get("name", ""), values.get("phone", ""))
    if anonymous and account is not None and not any(own):
        reporter_ref = account.reporter_ref

        def who() -> tuple[str, str]:
            with rt.database.session() as session:
                r = session.get(Reporter, reporter_ref)
                return (r.name or "", r.phone or "") if r else ("", "")

        own = await rt.database.read(who)
    if anonymous and values.get("anyway") != "1":
        found = self_naming(values.get("body", ""), *own)
        if found:
            return await again([], 422, warn=found)
    body = values.get("body", "")
    if values.get("event_date"):
        body = f"{body}\n\nTanggal kejadian: {values['event_date']}"
    try:
        payload = api.ReportIn.model_validate(
            {
                "title": values.get("title", ""),
                "body": body,
                "report_type": values.get("report_type") or "complaint",
                "category": values.get("category", ""),
                "regency_code": values.get("regency_code", ""),
                "district_code": values.get("district_code") or None,
                "latitude": values.get("latitude") or None,
                "longitude": values.get("longitude") or None,
                "anonymous": anonymous,
                "confidential": values.get("confidential") == "1",
                "language": lang,
                "reporter": {
                    "name": values.get("name") or None,
                    "phone": values.get("phone") or None,
                    "email": values.get("email") or None,
                },
            }
        )
    except ValidationError as exc:
        return await again(field_errors(exc, lang), 422)
    api.limit(rt, request, payload.reporter.phone)
    try:
        stored = await files.save(rt, chosen)
    except uploads.UploadRefused as exc:
        return refused(exc)
    stored = files.take_held(rt, held) + stored
    extra: dict[str, Any] = {"files": tuple(stored)}
    if account is not None:
        extra.update(account_id=account.id, account_reporter_ref=account.reporter_ref)
    try:
        # A draft kept offline carries its own key: sent twice, it is stored once.
        draft = values.get("draft_key", "")
        key = f"web-draft:{draft}" if re.fullmatch(r"[0-9a-f-]{36}", draft) else None
        report, secret = await submit_web(rt, payload, extra, key)
    except handlers.Blocked as exc:
        files.store(rt).discard(stored)
        return _form_page(request, values, [("", exc.text(lang))], http_status=403, account=account)
    except BaseException:
        files.store(rt).discard(stored)
        raise
    base = str(request.base_url).rstrip("/")
    return page(
        request,
        "terima.html",
        201,
        report=report,
        secret=secret,
        attached=len(stored),
        ways=code_ways(payload.reporter.phone, str(payload.reporter.email or "") or None),
        link=f"{base}/lacak/{report.tracking_number}?kode={secret}",
    )


async def submit_web(
    rt: ServiceRuntime, body: api.ReportIn, extra: dict[str, Any], key: str | None = None
) -> tuple[Report, str]:
    cmd = api.command(body, "web", key, **extra)

    def work() -> tuple[Report, str]:
        with rt.database.session() as session:
            report, secret, _ = handlers.submit_report(session, rt.outbox, cmd)
            return report, secret or ""

    done = await rt.database.write(work)
    rt.wake_relay()
    return done


@router.get("/tersimpan")
def kept_offline(request: Request) -> Response:
    """What the service worker shows for a report sent without a connection: kept on
    the phone, sent when the connection returns (cached at install, in the reader's
    language then)."""
    return page(request, "tersimpan.html")


@router.get("/lacak")
def track_form(request: Request, nomor: str = "", kode: str = "") -> Response:
    if nomor.isdigit() and len(nomor) == 7:
        suffix = f"?kode={kode}" if kode else ""
        return RedirectResponse(f"/lacak/{nomor}{suffix}", status_code=303)
    return page(request, "lacak.html")


def _load(session: Session, tn: str) -> tuple[Report | None, list[HistoryEntry]]:
    report = handlers.find_report(session, tn) if tn.isdigit() and len(tn) == 7 else None
    return report, handlers.history_of(session, report.id) if report else []


def _proven(report: Report, code: str, account: Account | None = None) -> bool:
    """The reporter's proof: the secret code, or being signed in as the account that made
    the report."""
    return domain.proves(code, report.tracking_secret_hash) or accounts.owns(account, report)


@router.get("/lacak/{tn}")
async def tracking_page(request: Request, tn: str, kode: str = "", done: str = "") -> Response:
    rt = runtime_of(request)
    api.limit_lookup(rt, request)

    def work() -> tuple[
        Report | None,
        list[HistoryEntry],
        Account | None,
        list[Any],
        handlers.Reading | None,
        IdentityGrant | None,
        list[tuple[str, str]],
    ]:
        with rt.database.session() as session:
            report, history = _load(session, tn)
            account = accounts.current(session, request)
            attached = handlers.attachments_of(session, report.id) if report else []
            public = handlers.for_public(session, report) if report else None
            asked = identity.waiting(session, report.id) if report else None
            who = session.get(Reporter, report.reporter_ref) if report else None
            ways = code_ways(who.phone, who.email) if who else []
            return report, history, account, attached, public, asked, ways

    report, history, account, attached, public, asked, ways = await rt.database.read(work)
    if report is None or (report.confidential and not _proven(report, kode, account)):
        return page(request, "lacak.html", 404, missing=True)
    proven = _proven(report, kode, account)
    settings = rt.definition.settings
    agency_files = (
        handlers.agency_files(
            history,
            rt.kit.auth_secret_value(),
            settings.routing_url,  # type: ignore[attr-defined]
            report.id,
        )
        if proven
        else {}
    )
    return page(
        request,
        "laporan_saya.html",
        report=report,
        # An identity request is the reporter's business alone.
        history=history if proven else [h for h in history if not h.kind.startswith("identity_")],
        agency_files=agency_files,
        shown=handlers.for_reporter(report) if proven else public,
        proven=proven,
        kode=kode if domain.proves(kode, report.tracking_secret_hash) else "",
        attached=attached if proven else [],
        asked=asked if proven else None,
        # The code can be sent only by someone who holds it (not by the account alone).
        ways=ways if domain.proves(kode, report.tracking_secret_hash) else [],
        done=done,
        region=_region(report),
        report_type=domain.label(domain.REPORT_TYPES, report.report_type, language(request)),
    )


def code_ways(phone: str | None, email: str | None) -> list[tuple[str, str]]:
    """Where the reporter may have their code sent: their own phone and email, masked."""
    ways = []
    if phone:
        ways.append(("sms", domain.mask_phone(phone)))
    if email:
        ways.append(("email", domain.mask_email(email)))
    return ways


def due_now(report: Report) -> datetime | None:
    """By when the next step must happen, for the state the report is in: a verifier's
    check, the agency's response, or the reporter's own answer (None: no clock runs)."""
    if report.status in ("submitted", "returned"):
        return report.verification_due_at
    if report.status in ("routed", "reopened"):
        return report.due_at
    if report.status == "resolved":
        return report.reply_due_at
    return None


def live_token(tn: str, proven: bool) -> str:
    """What lets a page that was shown a report follow it (the status endpoint is not a
    way to look numbers up: the page itself was, and is rate-limited)."""
    mac = hmac.new(forms.key(), f"live:{tn}:{int(proven)}".encode(), hashlib.sha256)
    return f"{int(proven)}{mac.hexdigest()[:24]}"


def live_version(report: Report) -> str:
    """Changes whenever what the tracking page shows of the report's state changes."""
    parts = (
        report.status,
        report.updated_at,
        report.due_at,
        report.verification_due_at,
        report.reply_due_at,
        report.agency_name,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


@router.get("/lacak/{tn}/keadaan")
async def live_status(request: Request, tn: str, t: str = "") -> Response:
    """Where a report stands now, for its open tracking or confirmation page to follow
    (polled: docs/decisions/0015-live-status-by-polling.md). 404 without the page's token;
    304 when nothing changed since the version the page holds."""
    proven = t[:1] == "1"
    if not hmac.compare_digest(t, live_token(tn, proven)):
        raise HTTPException(404, "Laporan tidak ditemukan / report not found")
    rt = runtime_of(request)

    def work() -> Report | None:
        with rt.database.session() as session:
            return handlers.find_report(session, tn) if tn.isdigit() and len(tn) == 7 else None

    report = await rt.database.read(work)
    if report is None or (report.confidential and not proven):
        raise HTTPException(404, "Laporan tidak ditemukan / report not found")
    version = live_version(report)
    headers = {"ETag": f'"{version}"', "Cache-Control": "no-store"}
    if request.headers.get("if-none-match") == f'"{version}"':
        return Response(status_code=304, headers=headers)
    lang = language(request)
    due = due_now(report)
    return JSONResponse(
        {
            "version": version,
            "status": report.status,
            "label": lifecycle.label(report.status, lang),
            "next": lifecycle.state(report.status).next_step(lang),
            "due_at": due.isoformat() if due else None,
            "due_local": localtime.format_local(due, report.regency_code, lang) if due else None,
        },
        headers=headers,
    )


@router.get("/lacak/{tn}/lampiran/{attachment_id}")
async def own_file(request: Request, tn: str, attachment_id: str, kode: str = "") -> Response:
    """One of the reporter's files, with the code or the account."""
    rt = runtime_of(request)

    def work() -> ReportAttachment:
        with rt.database.session() as session:
            report, _ = _load(session, tn)
            found = session.get(ReportAttachment, attachment_id)
            if (
                report is None
                or found is None
                or found.report_id != report.id
                or not _proven(report, kode, accounts.current(session, request))
            ):
                raise HTTPException(404, files.NOT_FOUND)
            return found

    return files.download(rt, await rt.database.read(work))


async def _answer(request: Request, tn: str, kind: str) -> Response:
    rt = runtime_of(request)
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    uploaded = [f for f in form.getlist("lampiran") if isinstance(f, UploadFile)]
    kode = values.get("kode", "")
    api.limit(rt, request)

    def own() -> tuple[Report, int]:
        with rt.database.session() as session:
            report, _ = _load(session, tn)
            if report is None or not _proven(report, kode, accounts.current(session, request)):
                raise HTTPException(404, "Laporan tidak ditemukan / report not found")
            return report, handlers.attachment_count(session, report.id)

    _, already = await rt.database.read(own)
    stored: list[uploads.Stored] = []
    if kind == "info" and uploaded:
        try:
            stored = await files.save(rt, await files.read_uploads(rt, uploaded, already))
        except uploads.UploadRefused as exc:
            raise files.refused(exc, language(request)) from exc

    def work() -> None:
        with rt.database.session() as session:
            report, _ = _load(session, tn)
            assert report is not None
            text = values.get("text", "")
            if kind == "info":
                if (len(text) < 3 and not stored) or not lifecycle.state(
                    report.status
                ).reporter_can_add:
                    raise HTTPException(422, "text")
                handlers.add_information(
                    session,
                    rt.outbox,
                    report,
                    text[:5000],
                    tuple(stored),
                )
            else:
                verdict = {"yes": True, "no": False}.get(values.get("satisfied", ""))
                if report.status not in lifecycle.REPLYABLE or (verdict is None and len(text) < 3):
                    raise HTTPException(422, "reply")
                handlers.reply(session, rt.outbox, report, text[:5000], verdict)

    try:
        await rt.database.write(work)
    except BaseException:
        files.store(rt).discard(stored)
        raise
    rt.wake_relay()
    suffix = f"kode={kode}&" if kode else ""
    return RedirectResponse(f"/lacak/{tn}?{suffix}done=1", status_code=303)


@router.post("/lacak/{tn}/balas")
async def reply(request: Request, tn: str) -> Response:
    await _forms_check(request)
    return await _answer(request, tn, "reply")


@router.post("/lacak/{tn}/tambah")
async def add(request: Request, tn: str) -> Response:
    await _forms_check(request)
    return await _answer(request, tn, "info")


@router.post("/lacak/{tn}/kode")
async def send_code(request: Request, tn: str) -> Response:
    """Send the report's secret code to the reporter's own phone or email (up to
    ``handlers.CODE_SENDS`` times): with the code itself as the proof."""
    await _forms_check(request)
    rt = runtime_of(request)
    form = await request.form()
    kode = str(form.get("kode", ""))[:100]
    via = str(form.get("via", ""))
    api.limit(rt, request)

    def work() -> None:
        with rt.database.session() as session:
            report, _ = _load(session, tn)
            if report is None or not domain.proves(kode, report.tracking_secret_hash):
                raise HTTPException(404, "Laporan tidak ditemukan / report not found")
            who = session.get(Reporter, report.reporter_ref)
            if via not in dict(code_ways(who.phone, who.email) if who else []):
                raise HTTPException(422, "tidak ada kontak itu / no such contact")
            code = domain.group_secret(domain.normalise_secret(kode))
            try:
                handlers.send_code(session, rt.outbox, report, code, via)
            except handlers.TooMany as exc:
                raise HTTPException(
                    429, "Kode sudah dikirim 3 kali / the code was sent 3 times"
                ) from exc

    await rt.database.write(work)
    rt.wake_relay()
    return RedirectResponse(f"/lacak/{tn}?kode={kode}&done=code", status_code=303)


@router.post("/lacak/{tn}/identitas")
async def identity_consent(request: Request, tn: str) -> Response:
    """The reporter's answer to an approved request for their identity."""
    await _forms_check(request)
    rt = runtime_of(request)
    form = await request.form()
    kode = str(form.get("kode", ""))
    consent = {"ya": True, "tidak": False}.get(str(form.get("consent", "")))
    api.limit(rt, request)

    def work() -> None:
        with rt.database.session() as session:
            report, _ = _load(session, tn)
            if report is None or not _proven(report, kode, accounts.current(session, request)):
                raise HTTPException(404, "Laporan tidak ditemukan / report not found")
            if consent is None:
                raise HTTPException(422, "consent")
            try:
                identity.answer(session, rt.outbox, report, consent)
            except LookupError as exc:
                raise HTTPException(404, "tidak ada permintaan / nothing is asked") from exc

    await rt.database.write(work)
    rt.wake_relay()
    suffix = f"kode={kode}&" if kode else ""
    return RedirectResponse(f"/lacak/{tn}?{suffix}done=1", status_code=303)


def _region(report: Report) -> str:
    regency = areas.get(report.regency_code)
    province = areas.province_of(report.regency_code)
    parts = [regency.name if regency else report.regency_code]
    if province:
        parts.append(province.name)
    return ", ".join(parts)


def _words(q: str) -> list[str]:
    """A search's words (letters and digits only: nothing of the index's own syntax)."""
    return re.findall(r"\w+", q.lower())[:8]


def search(dialect: str, q: str, c: Any, newest: int | None = None) -> Any:
    """The reports whose public texts hold every word of ``q`` (each also as the start of
    a longer word), by the database's full-text index: PostgreSQL's tsvector, SQLite's
    FTS5 (migration e2f3a4b5c6d7). Only the public's texts are indexed: a covered or
    masked word never finds its report. None when ``q`` has no word. On SQLite,
    ``newest`` keeps to that many of the latest matches (the list widens it as needed)."""
    words = _words(q)
    if not words:
        return None
    if dialect == "postgresql":
        wanted = sa.func.to_tsquery("simple", " & ".join(f"{w}:*" for w in words))
        return sa.literal_column("reports.search_vector").op("@@")(wanted)
    return c.search_id.in_(sqlite_matches(words, newest))


def sqlite_matches(words: list[str], newest: int | None = None) -> Any:
    """The FTS5 rowids (``reports.search_id``) of the reports holding every word, only the
    ``newest`` of them when given (rowids come in the order reports arrived)."""
    match = " ".join(f'"{w}"*' for w in words)
    hits: Any = (
        sa.select(sa.literal_column("rowid"))
        .select_from(sa.text("reports_search"))
        .where(sa.text("reports_search MATCH :words").bindparams(words=match))
    )
    if newest is not None:
        hits = hits.order_by(sa.literal_column("rowid").desc()).limit(newest)
    return hits


def _public(c: Any) -> Any:
    return sa.and_(c.confidential.is_(False), c.status.in_(PUBLIC))


@router.get("/laporan")
async def browse(
    request: Request,
    q: str = "",
    wilayah: str = "",
    kategori: str = "",
    status: str = "",
    instansi: str = "",
    hal: int = 1,
    tampilan: str = "",
) -> Response:
    rt = runtime_of(request)
    c = Report.__table__.c  # type: ignore[attr-defined]
    query = sa.select(Report).where(_public(c))
    on_map = tampilan == "peta"
    if on_map:
        # The points the public may see (as Open311 shows them): never an Anonim report's.
        query = query.where(
            c.latitude.is_not(None), c.longitude.is_not(None), c.anonymous.is_(False)
        )
    if re.fullmatch(r"\d{2}(\.\d{2})?", wilayah):
        query = query.where(c.regency_code.startswith(wilayah))
    if kategori in CATEGORIES:
        query = query.where(c.category == kategori)
    if status in PUBLIC:
        query = query.where(c.status == status)
    if instansi.strip():
        query = query.where(
            sa.func.lower(c.agency_name).like(f"%{instansi.strip().lower()[:100]}%")
        )
    hal = max(1, min(hal, 1000))
    size = 500 if on_map else 20

    dialect = rt.database.engine.dialect.name

    def work() -> tuple[list[Report], dict[str, str]]:
        with rt.database.session() as session:

            def fetch(newest: int | None) -> list[Report]:
                found = search(dialect, q, c, newest)
                chosen = query if found is None else query.where(found)
                ordered = chosen.order_by(c.submitted_at.desc())
                return list(session.scalars(ordered.limit(size + 1).offset((hal - 1) * size)))

            # SQLite reads the newest matches first and widens the window only when the
            # filters leave too few (a word in most reports costs as little as a rare one).
            newest = 2000 if dialect == "sqlite" and _words(q) else None
            rows = fetch(newest)
            while newest is not None and len(rows) < size + 1:
                window = sqlite_matches(_words(q), newest).subquery()
                seen = session.scalar(sa.select(sa.func.count()).select_from(window)) or 0
                if seen < newest:
                    break  # every match was in the window
                newest = newest * 8 if newest < 2_000_000 else None
                rows = fetch(newest)
            return rows, {r.id: handlers.for_public(session, r).title for r in rows}

    rows, titles = await rt.database.read(work)
    lang = language(request)
    points = [
        {
            "tn": r.tracking_number,
            "lat": r.latitude,
            "lon": r.longitude,
            "title": titles.get(r.id, ""),
            "status": lifecycle.label(r.status, lang),
        }
        for r in rows[:size]
        if on_map
    ]
    return page(
        request,
        "daftar.html",
        on_map=on_map,
        points=json.dumps(points),
        rows=rows[:size],
        titles=titles,
        more=len(rows) > size,
        hal=hal,
        q=q,
        wilayah=wilayah,
        kategori=kategori,
        status=status,
        instansi=instansi,
        public_statuses=PUBLIC,
        provinces=list(areas.provinces().values()),
        region_of=_region,
    )


@router.get("/laporan/{tn}")
async def public_report(request: Request, tn: str) -> Response:
    rt = runtime_of(request)
    api.limit_lookup(rt, request)

    def work() -> tuple[Report | None, list[HistoryEntry], str | None, handlers.Reading | None]:
        with rt.database.session() as session:
            report, history = _load(session, tn)
            account = (
                session.get(Account, report.account_id)
                if report is not None and report.account_id and not report.anonymous
                else None
            )
            named = account.username if account else None
            shown = handlers.for_public(session, report) if report else None
            return report, history, named, shown

    report, history, username, shown_text = await rt.database.read(work)
    if report is None or report.confidential or report.status not in PUBLIC:
        return page(request, "lacak.html", 404, missing=True)
    shown = [h for h in history if h.kind in PUBLIC_HISTORY]
    lang = language(request)
    # The public reads the steps by the lifecycle's neutral names ("Re-opened: the reporter
    # says it is not solved"), not the words the tracking page says to the reporter.
    steps = {
        h.kind: lifecycle.STEPS[step].label(lang)
        for h in shown
        if (step := domain.step_of(h.kind)) is not None
    }
    return page(
        request,
        "laporan.html",
        report=report,
        history=shown,
        step_labels=steps,
        shown=shown_text,
        region=_region(report),
        username=username,
        report_type=domain.label(domain.REPORT_TYPES, report.report_type, language(request)),
    )


def _months(now: datetime) -> list[str]:
    """The 12 months that end with this one, oldest first, as ``YYYY-MM``."""
    year, month = now.year, now.month
    out = []
    for _ in range(12):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _share(on_time: int, answered: int) -> dict[str, Any]:
    """A share with what it rests on: never a percentage without its count."""
    pct = round(100 * on_time / answered) if answered else None
    return {"on_time": on_time, "answered": answered, "pct": pct}


class _StatisticsCache:
    """The statistics' sums, read again at most every ``INTAKE_STATISTICS_SECONDS``: a
    page past that age is served the sums it has while one read renews them (the page
    says what it counts, not the second it was counted)."""

    def __init__(self) -> None:
        self.kept: dict[int, tuple[float, str, dict[str, Any]]] = {}
        self.renewing: dict[int, asyncio.Task[None]] = {}

    async def get(self, rt: ServiceRuntime, first_month: str, work: Any) -> dict[str, Any]:
        key = id(rt)
        ttl = files.settings_of(rt).statistics_seconds
        kept = self.kept.get(key)
        now = time.monotonic()
        if kept is None or kept[1] != first_month or ttl == 0:
            data = await rt.database.read(work)
            self.kept[key] = (now, first_month, data)
            return data
        if now - kept[0] > ttl and key not in self.renewing:

            async def renew() -> None:
                try:
                    self.kept[key] = (time.monotonic(), first_month, await rt.database.read(work))
                except Exception:  # the kept sums stay; the next request tries again
                    logging.getLogger(__name__).exception("renewing the statistics failed")
                finally:
                    self.renewing.pop(key, None)

            self.renewing[key] = asyncio.create_task(renew())
        return kept[2]


_statistics_cache = _StatisticsCache()


@router.get("/statistik")
async def statistics(request: Request) -> Response:
    rt = runtime_of(request)
    months = _months(datetime.now(UTC))

    def work() -> dict[str, Any]:
        # Every figure counts the same reports (those of the 12 months shown, all of them:
        # counts point at no one), so that each table adds up to the total. The counts
        # are kept with the data (report_stats, answer_stats: triggers on reports), not
        # counted here.
        r = ReportStat.__table__.c  # type: ignore[attr-defined]
        a = AnswerStat.__table__.c  # type: ignore[attr-defined]
        first = months[0]

        def by(column: Any) -> list[Any]:
            total = sa.func.sum(r.n)
            return list(
                session.execute(
                    sa.select(column, total)
                    .where(r.month >= first)
                    .group_by(column)
                    .having(total > 0)
                    .order_by(total.desc())
                ).all()
            )

        with rt.database.session() as session:
            return {
                "status": dict(by(r.status)),
                "province": by(r.province),
                "agency": [(name or None, n) for name, n in by(r.agency_name)],
                "month": dict(by(r.month)),
                "answered": session.execute(
                    sa.select(
                        a.agency_name, a.province, sa.func.sum(a.on_time), sa.func.sum(a.answered)
                    )
                    .where(a.month >= first)
                    .group_by(a.agency_name, a.province)
                    .having(sa.func.sum(a.answered) > 0)
                ).all(),
            }

    data = await _statistics_cache.get(rt, months[0], work)

    provinces = areas.provinces()

    def province_name(code: str) -> str:
        return provinces[code].name if code in provinces else code

    # The on-time share of first answers: in all, per agency and per province.
    tally: dict[tuple[str, str], list[int]] = {}
    for agency, province, on_time, answered in data["answered"]:
        for key in (("all", ""), ("agency", agency or "-"), ("province", province)):
            row = tally.setdefault(key, [0, 0])
            row[0] += int(on_time)
            row[1] += int(answered)
    overall = _share(*tally.get(("all", ""), [0, 0]))

    def shares(kind: str, name: Any) -> list[tuple[str, dict[str, Any]]]:
        rows = [(name(k), _share(*v)) for (t, k), v in tally.items() if t == kind]
        return sorted(rows, key=lambda kv: (-kv[1]["answered"], kv[0]))[:15]

    lang = language(request)
    total = sum(data["status"].values())
    word = {k: WORDS[k][0 if lang == "id" else 1] for k in WORDS}
    # The 20 agencies with most reports, the rest together, and those with none yet.
    named = [(a, n) for a, n in data["agency"] if a is not None]
    by_agency = named[:20]
    if len(named) > 20:
        by_agency.append((word["other_agencies"], sum(n for _, n in named[20:])))
    unrouted = sum(n for a, n in data["agency"] if a is None)
    if unrouted:
        by_agency.append((word["not_routed"], unrouted))
    locale = "en" if lang == "en" else "id"
    per_month = [
        (
            format_date(date(int(m[:4]), int(m[5:]), 1), "MMM", locale=locale),
            format_date(date(int(m[:4]), int(m[5:]), 1), "MMMM y", locale=locale),
            data["month"].get(m, 0),
        )
        for m in months
    ]
    return page(
        request,
        "statistik.html",
        by_status=sorted(data["status"].items(), key=lambda kv: -kv[1]),
        by_province=sorted(
            ((province_name(p), n) for p, n in data["province"]),
            key=lambda kv: -kv[1],
        ),
        by_agency=by_agency,
        per_month=per_month,
        month_max=max([n for _, _, n in per_month] + [1]),
        on_time=f"{overall['pct']}%" if overall["pct"] is not None else "-",
        on_time_count=overall["on_time"],
        answered_count=overall["answered"],
        agency_shares=shares("agency", str),
        province_shares=shares("province", province_name),
        total=total,
    )


# --- citizens' accounts (optional) ------------------------------------------------------


def _with_session(request: Request, token: str, target: str) -> Response:
    rt = runtime_of(request)
    settings = files.settings_of(rt)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        accounts.COOKIE,
        token,
        max_age=settings.account_session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or settings.public_base_url.startswith("https://"),
    )
    return response


@router.get("/akun")
async def my_reports(request: Request) -> Response:
    rt = runtime_of(request)

    def work() -> tuple[Account | None, list[Report]]:
        with rt.database.session() as session:
            account = accounts.current(session, request)
            return account, accounts.reports_of(session, account) if account else []

    account, rows = await rt.database.read(work)
    if account is None:
        return RedirectResponse("/akun/masuk", status_code=303)
    return page(request, "akun.html", account=account, rows=rows, region_of=_region)


@router.get("/akun/masuk")
def sign_in_form(request: Request) -> Response:
    return page(request, "akun_masuk.html", values={}, problem=None)


@router.post("/akun/masuk")
async def sign_in(request: Request) -> Response:
    await _forms_check(request)
    rt = runtime_of(request)
    api.limit(rt, request)
    form = await request.form()
    values = {k: str(v)[:300] for k, v in form.items() if isinstance(v, str)}
    password = values.pop("password", "")
    days = files.settings_of(rt).account_session_days

    def find() -> Account | None:
        with rt.database.session() as session:
            return accounts.find(session, values.get("username", ""))

    account = await rt.database.read(find)
    problem = accounts.LOCKED if account is not None and accounts.locked(account) else None
    if problem is None:
        stored = account.password_hash if account is not None else accounts.dummy_hash()
        if not await asyncio.to_thread(domain.check_password, password, stored):
            problem = accounts.WRONG
            if account is not None:
                found = account.id

                def fail() -> None:
                    with rt.database.session() as session:
                        accounts.record_failure(session, found)

                await rt.database.write(fail)
    if problem is not None or account is None:
        text = (problem or accounts.WRONG).text(language(request))
        return page(request, "akun_masuk.html", 401, values=values, problem=text)
    account_id = account.id

    def work() -> str:
        with rt.database.session() as session:
            return accounts.open_session(session, account_id, days)

    return _with_session(request, await rt.database.write(work), "/akun")


@router.get("/akun/daftar")
def sign_up_form(request: Request) -> Response:
    return page(request, "akun_daftar.html", values={}, problem=None)


@router.post("/akun/daftar")
async def sign_up(request: Request) -> Response:
    await _forms_check(request)
    rt = runtime_of(request)
    api.limit(rt, request)
    form = await request.form()
    values = {k: str(v).strip()[:300] for k, v in form.items() if isinstance(v, str)}
    lang = language(request)
    password = str(form.get("password") or "")[:300]

    def fail(text: str) -> Response:
        shown = {k: v for k, v in values.items() if not k.startswith("password")}
        return page(request, "akun_daftar.html", 422, values=shown, problem=text)

    if password != str(form.get("password2") or "")[:300]:
        return fail(WORDS["mismatch"][0 if lang == "id" else 1])
    try:
        contact = api.ReporterIn.model_validate(
            {
                "name": values.get("name") or None,
                "phone": values.get("phone") or None,
                "email": values.get("email") or None,
            }
        )
    except ValidationError as exc:
        return fail(", ".join(sorted({str(e["loc"][-1]) for e in exc.errors()})))
    try:
        username = accounts.check_new(values.get("username", ""), password)
    except accounts.Problem as problem:
        return fail(problem.text(lang))
    hashed = await asyncio.to_thread(domain.hash_password, password)
    days = files.settings_of(rt).account_session_days

    def work() -> str:
        with rt.database.session() as session:
            account = accounts.register(
                session,
                username,
                hashed,
                contact.name,
                contact.phone,
                str(contact.email) if contact.email else None,
                lang,
            )
            return accounts.open_session(session, account.id, days)

    try:
        token = await rt.database.write(work)
    except accounts.Problem as problem:
        return fail(problem.text(lang))
    except sa.exc.IntegrityError:
        return fail(accounts.TAKEN.text(lang))
    return _with_session(request, token, "/akun")


@router.post("/akun/keluar")
async def sign_out(request: Request) -> Response:
    await _forms_check(request)
    rt = runtime_of(request)

    def work() -> None:
        with rt.database.session() as session:
            accounts.sign_out(session, request)
            session.commit()

    await rt.database.write(work)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(accounts.COOKIE)
    return response
