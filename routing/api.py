"""Routing's HTTP API (read-only for now)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from routing import domain, handlers
from routing.models import Routing
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1", tags=["routing"])


@router.get("/routings/{report_id}", response_model=Routing)
async def routing(report_id: str, rt: Annotated[ServiceRuntime, Depends(runtime_of)]) -> Routing:
    """Where a report was routed."""

    def work() -> Routing | None:
        with rt.database.session() as session:
            return handlers.get_routing(session, report_id)

    found = await rt.database.read(work)
    if found is None:
        raise HTTPException(404, "belum didisposisikan / not routed yet")
    return found


@router.get("/routing/preview")
def preview(category: str, regency_code: str) -> dict[str, str]:
    """Dry run: where a report of this category and place would go."""
    agency, rule = domain.choose(category, regency_code)
    return {"agency_id": agency.id, "agency_name": agency.name, "rule": rule}
