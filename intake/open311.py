"""Open311 GeoReport v2 on intake, for the civic apps that already speak it.

- ``GET  /open311/v2/discovery.(json|xml)``
- ``GET  /open311/v2/services.(json|xml)``: the categories are the services
- ``GET  /open311/v2/services/{service_code}.(json|xml)``: their attributes (the regency
  Aduan needs, the district, Anonim and Rahasia)
- ``POST /open311/v2/requests.(json|xml)``: form-encoded, with ``api_key``
- ``GET  /open311/v2/requests.(json|xml)`` and ``/requests/{id}.(json|xml)``
- ``GET  /open311/v2/tokens/{token}.(json|xml)``

The service request id is the tracking number. Statuses are ``open`` and ``closed``;
``status_notes`` says where the report is, in Indonesian. Confidential reports never
appear, nor does anything of who reported; a report's description is shown only once
verification accepted it. Errors are the spec's list of ``{code, description}`` in the
format asked for. API keys belong to partner apps: administrators issue them
(``POST /v1/partners``) and only their SHA-256 is kept.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from xml.etree.ElementTree import Element, SubElement, tostring

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, select

from intake import api, domain, handlers
from intake.models import PartnerKey, Report
from services import areas, lifecycle
from services.auth import Role, Staff, require_staff
from services.categories import CATEGORIES, NEEDS
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/open311/v2", tags=["open311"])
partners = APIRouter(prefix="/v1/partners", tags=["open311"])
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Administrator = Annotated[Staff, Depends(require_staff(Role.administrator))]

# Open311's open/closed, and the states whose text is public, from the kit's lifecycle.
CLOSED = lifecycle.CLOSED
PUBLIC_TEXT = lifecycle.PUBLIC
FORMATS = ("json", "xml")
ELEMENTS = {
    "what": "apa",
    "who": "siapa",
    "where": "di mana",
    "when": "kapan",
    "how": "bagaimana",
    "why": "mengapa",
}


def _split(name: str) -> tuple[str, str | None]:
    """``services.json`` -> (``services``, ``json``); no suffix means JSON."""
    stem, dot, fmt = name.rpartition(".")
    if dot:
        return stem, fmt if fmt in FORMATS else None
    return name, "json"


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    top = Element(root)
    for row in rows:
        node = SubElement(top, item)
        for key, value in row.items():
            child = SubElement(node, key)
            if isinstance(value, list):
                for entry in value:
                    sub = SubElement(child, "value" if key == "values" else key.rstrip("s"))
                    for k2, v2 in entry.items():
                        SubElement(sub, k2).text = _text(v2)
            else:
                child.text = _text(value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(top, encoding="utf-8")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def render(
    fmt: str | None, root: str, item: str, rows: list[dict[str, Any]], status: int = 200
) -> Response:
    """The spec's JSON list or XML document; empty optional fields are left out."""
    rows = [{k: v for k, v in row.items() if v not in (None, "")} for row in rows]
    if fmt == "xml":
        return Response(_xml(root, item, rows), status, media_type="text/xml; charset=utf-8")
    body = json.dumps(rows, ensure_ascii=False, default=_text)
    return Response(body, status, media_type="application/json; charset=utf-8")


def error(fmt: str | None, status: int, description: str) -> Response:
    return render(fmt, "errors", "error", [{"code": status, "description": description}], status)


# --- discovery and services --------------------------------------------------------------


@router.get("/discovery.{fmt}")
def discovery(fmt: str, request: Request) -> Response:
    """Where this endpoint is, and what it speaks."""
    if fmt not in FORMATS:
        return error("json", 404, "format must be json or xml")
    base = str(request.base_url).rstrip("/") + "/open311/v2/"
    row: dict[str, Any] = {
        "changeset": "2026-11-29T00:00:00Z",
        "contact": "Aduan, pengelola nasional: lihat /docs",
        "key_service": "API key dari administrator Aduan (POST /v1/partners)",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-29T00:00:00Z",
                "type": "production",
                # A list, as the specification's own JSON shows it.
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    if fmt == "json":
        body = json.dumps(row, ensure_ascii=False)
        return Response(body, media_type="application/json; charset=utf-8")
    top = Element("discovery")
    for key in ("changeset", "contact", "key_service"):
        SubElement(top, key).text = str(row[key])
    endpoints = SubElement(top, "endpoints")
    endpoint = SubElement(endpoints, "endpoint")
    for key, value in row["endpoints"][0].items():
        if key == "formats":
            formats = SubElement(endpoint, "formats")
            for f in value:
                SubElement(formats, "format").text = f
        else:
            SubElement(endpoint, key).text = str(value)
    xml = b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(top, encoding="utf-8")
    return Response(xml, media_type="text/xml; charset=utf-8")


def service_row(code: str) -> dict[str, Any]:
    needs = ", ".join(ELEMENTS[e] for e in NEEDS.get(code, ("what", "where")))
    return {
        "service_code": code,
        "service_name": CATEGORIES[code][0],
        "description": f"{CATEGORIES[code][1]}. Laporan perlu menyebut: {needs}.",
        "metadata": True,
        "type": "realtime",
        "keywords": code.replace("-", " "),
        "group": "pengaduan",
    }


@router.get("/{name}")
def services_or_requests(name: str, request: Request, rt: Runtime) -> Any:
    """``services.(json|xml)`` and ``requests.(json|xml)`` (GET)."""
    stem, fmt = _split(name)
    if fmt is None:
        return error("json", 404, "format must be json or xml")
    if stem == "services":
        rows = [service_row(code) for code in CATEGORIES]
        return render(fmt, "services", "service", rows)
    if stem == "requests":
        return _list_requests(fmt, request, rt)
    return error(fmt, 404, "not found")


ATTRIBUTES = [
    {
        "variable": True,
        "code": "regency_code",
        "datatype": "string",
        "required": True,
        "datatype_description": "Kode Kemendagri kabupaten/kota, mis. 32.73 (Kota Bandung)",
        "order": 1,
        "description": "Kabupaten/kota tempat kejadian",
    },
    {
        "variable": True,
        "code": "district_code",
        "datatype": "string",
        "required": False,
        "datatype_description": "Kode kecamatan, mis. 32.73.01",
        "order": 2,
        "description": "Kecamatan (opsional)",
    },
    {
        "variable": True,
        "code": "anonymous",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "Anonim: identitas disembunyikan dari instansi dan publik",
        "order": 3,
        "description": "Anonim",
        "values": [{"key": "true", "name": "Ya"}, {"key": "false", "name": "Tidak"}],
    },
    {
        "variable": True,
        "code": "confidential",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "Rahasia: hanya pelapor, instansi dan administrator",
        "order": 4,
        "description": "Rahasia",
        "values": [{"key": "true", "name": "Ya"}, {"key": "false", "name": "Tidak"}],
    },
]


@router.get("/services/{name}")
def service_definition(name: str) -> Response:
    """The attributes a request of this service takes."""
    code, fmt = _split(name)
    if fmt is None:
        return error("json", 404, "format must be json or xml")
    if code not in CATEGORIES:
        return error(fmt, 404, f"service_code not found: {code}")
    if fmt == "json":
        body = json.dumps({"service_code": code, "attributes": ATTRIBUTES}, ensure_ascii=False)
        return Response(body, media_type="application/json; charset=utf-8")
    top = Element("service_definition")
    SubElement(top, "service_code").text = code
    attributes = SubElement(top, "attributes")
    for attr in ATTRIBUTES:
        node = SubElement(attributes, "attribute")
        for key, value in attr.items():
            child = SubElement(node, key)
            if key == "values":
                for v in value:  # type: ignore[attr-defined]
                    val = SubElement(child, "value")
                    SubElement(val, "key").text = v["key"]
                    SubElement(val, "name").text = v["name"]
            else:
                child.text = _text(value)
    xml = b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(top, encoding="utf-8")
    return Response(xml, media_type="text/xml; charset=utf-8")


# --- requests --------------------------------------------------------------------------------


def request_row(report: Report, shown: handlers.Reading) -> dict[str, Any]:
    """A report as Open311 shows it: nothing of who reported (``shown``: the public's
    masking of its text, handlers.for_public)."""
    regency = areas.get(report.regency_code)
    public = report.status in PUBLIC_TEXT
    state = lifecycle.state(report.status)
    notes = f"{state.label('id')}. {state.next_step('id')}"
    return {
        "service_request_id": report.tracking_number,
        "status": state.open311,
        "status_notes": notes,
        "service_name": CATEGORIES.get(report.category, ("", ""))[0],
        "service_code": report.category,
        "description": shown.story if public else "",
        "agency_responsible": report.agency_name or "",
        "requested_datetime": report.submitted_at,
        "updated_datetime": report.updated_at,
        "expected_datetime": report.due_at,
        "address": regency.name if regency else report.regency_code,
        "address_id": report.district_code or report.regency_code,
        # The point the citizen marked, once the report is public; never an Anonim one's
        # (a point can be the reporter's own door).
        **(
            {"lat": report.latitude, "long": report.longitude}
            if public and not report.anonymous and report.latitude is not None
            else {}
        ),
    }


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


SPAN = timedelta(days=90)


def _list_requests(fmt: str, request: Request, rt: ServiceRuntime) -> Response:
    q = request.query_params
    ids = [i.strip() for i in (q.get("service_request_id") or "").split(",") if i.strip()]
    if len(ids) > 1000:
        return error(fmt, 400, "at most 1000 service_request_id")
    c = Report.__table__.c  # type: ignore[attr-defined]
    query = sa.select(Report).where(c.confidential.is_(False))
    if ids:  # "This overrides all other arguments."
        query = query.where(c.tracking_number.in_(ids))
    else:
        try:
            given_start, given_end = (
                _parse_time(q.get("start_date")),
                _parse_time(q.get("end_date")),
            )
        except ValueError:
            return error(fmt, 400, "start_date and end_date are w3 date-times")
        now = datetime.now(UTC)
        # One of them alone: the 90 days from (or up to) it; neither: the last 90 days.
        if given_start and given_end:
            start, end = given_start, given_end
        elif given_start:
            start, end = given_start, min(given_start + SPAN, now)
        else:
            end = given_end or now
            start = end - SPAN
        if end - start > SPAN:
            return error(fmt, 400, "at most 90 days between start_date and end_date")
        codes = [c.strip() for c in (q.get("service_code") or "").split(",") if c.strip()]
        statuses = [s.strip() for s in (q.get("status") or "").split(",") if s.strip()]
        if any(s not in ("open", "closed") for s in statuses):
            return error(fmt, 400, "status is open or closed")
        query = query.where(c.submitted_at >= start, c.submitted_at <= end)
        if codes:
            query = query.where(c.category.in_(codes))
        if set(statuses) == {"open"}:
            query = query.where(c.status.not_in(CLOSED))
        elif set(statuses) == {"closed"}:
            query = query.where(c.status.in_(CLOSED))
    query = query.order_by(c.submitted_at.desc()).limit(1000)

    def work() -> list[dict[str, Any]]:
        with rt.database.session() as s:
            return [request_row(r, handlers.for_public(s, r)) for r in s.scalars(query)]

    return render(fmt, "service_requests", "request", work())


@router.get("/request/{name}")
def one_request_singular(name: str, rt: Runtime, request: Request) -> Response:
    """The Swagger file's path for one request: the Request object itself in JSON (the
    specification's list in XML)."""
    answer = one_request(name, rt, request)
    if answer.status_code == 200 and answer.media_type and "json" in answer.media_type:
        [row] = json.loads(bytes(answer.body))
        return Response(
            json.dumps(row, ensure_ascii=False, default=_text),
            media_type="application/json; charset=utf-8",
        )
    return answer


@router.get("/requests/{name}")
def one_request(name: str, rt: Runtime, request: Request) -> Response:
    """One request by its id (the tracking number); a confidential one does not exist.
    Look-ups by number are rate-limited per address (429)."""
    tn, fmt = _split(name)
    if fmt is None:
        return error("json", 404, "format must be json or xml")
    try:
        api.limit_lookup(rt, request)
    except HTTPException as exc:
        limited = error(fmt, 429, str(exc.detail))
        limited.headers.update(exc.headers or {})
        return limited

    def work() -> dict[str, Any] | None:
        with rt.database.session() as s:
            report = handlers.find_report(s, tn) if tn.isdigit() and len(tn) == 7 else None
            if report is None or report.confidential:
                return None
            return request_row(report, handlers.for_public(s, report))

    row = work()
    if row is None:
        return error(fmt, 404, f"service_request_id not found: {tn}")
    return render(fmt, "service_requests", "request", [row])


@router.get("/tokens/{name}")
def token(name: str, rt: Runtime) -> Response:
    """The request id behind a token (Aduan answers POST with both at once)."""
    tok, fmt = _split(name)
    if fmt is None:
        return error("json", 404, "format must be json or xml")

    def work() -> Report | None:
        with rt.database.session() as s:
            return s.get(Report, tok) if len(tok) == 36 else None

    report = work()
    if report is None or report.confidential:
        return error(fmt, 404, f"token not found: {tok}")
    return render(
        fmt,
        "service_requests",
        "request",
        [{"service_request_id": report.tracking_number, "token": report.id}],
    )


def _key_ok(session: Session, api_key: str) -> bool:
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    found = session.exec(select(PartnerKey).where(PartnerKey.key_hash == digest)).first()
    return found is not None and found.revoked_at is None


@router.post("/{name}")
async def post_request(name: str, request: Request, rt: Runtime) -> Response:
    """Create a service request (form-encoded), as a partner app with its api_key."""
    stem, fmt = _split(name)
    if fmt is None:
        return error("json", 404, "format must be json or xml")
    if stem != "requests":
        return not_allowed(fmt, "GET")
    try:
        form = await request.form()
    except Exception:
        return error(fmt, 400, "the body must be application/x-www-form-urlencoded")
    # The Swagger file declares every field (api_key too) in the query; the specification's
    # text, in the form body. Both count; the body wins.
    values = {k: v for k, v in request.query_params.items()}
    values.update({k: str(v) for k, v in form.items() if isinstance(v, str)})
    api_key = values.get("api_key", "")
    if not api_key:
        return error(fmt, 403, "api_key required")

    def check() -> bool:
        with rt.database.session() as s:
            return _key_ok(s, api_key[:200])

    if not await rt.database.read(check):
        return error(fmt, 403, "invalid api_key")
    code = values.get("service_code", "")
    if code not in CATEGORIES:
        return error(fmt, 400, f"service_code not found: {code}")
    description = values.get("description", "").strip()
    if not description:
        return error(fmt, 400, "description required")
    regency = values.get("attribute[regency_code]", "").strip()
    district = values.get("attribute[district_code]", "").strip() or None
    if areas.get(regency) is None or regency.count(".") != 1:
        return error(fmt, 400, "attribute[regency_code] required: a Kemendagri regency code")
    if district and (not district.startswith(regency + ".") or areas.get(district) is None):
        return error(fmt, 400, "attribute[district_code] is not a district of regency_code")
    if len(description) > 20_000:
        return error(fmt, 400, "description longer than 20000 characters")
    title = values.get("attribute[title]", "").strip() or description.split(".")[0].strip()
    if len(title) > 120:
        title = title[:117] + "..."
    name_parts = [values.get("first_name", "").strip(), values.get("last_name", "").strip()]
    phone = values.get("phone", "").strip() or None
    email = values.get("email", "").strip() or None
    try:
        if phone:
            phone = domain.normalise_phone(phone)
        if email:
            from email_validator import validate_email

            email = validate_email(email, check_deliverability=False).normalized
    except (ValueError, ValidationError) as exc:
        return error(fmt, 400, f"phone or email not valid: {exc}"[:200])
    try:
        api.limit(rt, request, phone)
    except HTTPException as exc:
        response = error(fmt, 429, "too many requests; retry later")
        response.headers.update(exc.headers or {})
        return response
    try:
        lat = float(values["lat"]) if values.get("lat") else None
        long = float(values["long"]) if values.get("long") else None
    except ValueError:
        return error(fmt, 400, "lat and long must be decimal degrees")
    if (lat is None) != (long is None) or (
        lat is not None and long is not None and not (-90 <= lat <= 90 and -180 <= long <= 180)
    ):
        return error(fmt, 400, "lat and long must be given together, in WGS 84 degrees")
    address = values.get("address_string", "").strip()
    body = description + (f"\n\nLokasi: {address}" if address else "")
    cmd = handlers.NewReport(
        title=title[:200] or CATEGORIES[code][0],
        body=body[:20_000],
        category=code,
        regency_code=regency,
        anonymous=values.get("attribute[anonymous]", "").lower() == "true",
        confidential=values.get("attribute[confidential]", "").lower() == "true",
        channel="open311",
        language="id",
        name=" ".join(p for p in name_parts if p)[:120] or None,
        phone=phone,
        email=email,
        idempotency_key=None,
        district_code=district,
        latitude=lat,
        longitude=long,
    )

    def work() -> Report:
        with rt.database.session() as s:
            report, _, _ = handlers.submit_report(s, rt.outbox, cmd)
            return report

    try:
        report = await rt.database.write(work)
    except handlers.Blocked:
        return error(fmt, 403, "sender blocked by an administrator for abuse")
    rt.wake_relay()
    row = {
        "service_request_id": report.tracking_number,
        "token": report.id,
        "service_notice": "Simpan nomor pelacakan ini. Laporan akan diverifikasi dalam 3 hari "
        "kerja.",
        "account_id": "",
    }
    return render(fmt, "service_requests", "request", [row], 201)


# --- partner keys ----------------------------------------------------------------------------


class PartnerIn(BaseModel):
    name: str = Field(min_length=3, max_length=200)


@partners.post("", status_code=201)
async def create_partner(body: PartnerIn, rt: Runtime, staff: Administrator) -> dict[str, Any]:
    """An api_key for a partner app; shown once, only its hash is kept."""
    key = secrets.token_urlsafe(32)
    row = PartnerKey(
        id=uuid.uuid4().hex,
        name=body.name,
        key_hash=hashlib.sha256(key.encode()).hexdigest(),
        created_by=staff.sub,
        created_at=datetime.now(UTC),
    )

    def work() -> None:
        with rt.database.session() as s:
            s.add(row)

    await rt.database.write(work)
    return {"id": row.id, "name": row.name, "api_key": key}


@partners.delete("/{partner_id}", status_code=204)
async def revoke_partner(partner_id: str, rt: Runtime, staff: Administrator) -> None:
    def work() -> None:
        with rt.database.session() as s:
            row = s.get(PartnerKey, partner_id)
            if row is None:
                raise HTTPException(404, "no such partner")
            row.revoked_at = row.revoked_at or datetime.now(UTC)
            s.add(row)

    await rt.database.write(work)


def not_allowed(fmt: str | None, allow: str) -> Response:
    """405 in the Open311 error format, with the methods the path takes."""
    answer = error(fmt, 405, f"method not allowed; this path takes {allow}")
    answer.headers["Allow"] = allow
    return answer


@router.api_route(
    "/{path:path}", methods=["POST", "PUT", "DELETE", "PATCH"], include_in_schema=False
)
def other_methods(path: str) -> Response:
    """A method a path does not take: 405 as Open311 errors are, never FastAPI's own."""
    stem, fmt = _split(path.rsplit("/", 1)[-1])
    takes_post = "/" not in path and stem == "requests"
    return not_allowed(fmt or "json", "GET, POST" if takes_post else "GET")
