"""Verification's HTTP API (read-only for now)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from services.runtime import ServiceRuntime, runtime_of
from verification import handlers
from verification.models import Decision

router = APIRouter(prefix="/v1", tags=["decisions"])


@router.get("/decisions/{report_id}", response_model=Decision)
async def decision(report_id: str, rt: Annotated[ServiceRuntime, Depends(runtime_of)]) -> Decision:
    """The decision taken about a report."""

    def work() -> Decision | None:
        with rt.database.session() as session:
            return handlers.get_decision(session, report_id)

    found = await rt.database.read(work)
    if found is None:
        raise HTTPException(404, "belum ada keputusan / no decision yet")
    return found
