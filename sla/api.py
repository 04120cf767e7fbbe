"""SLA's HTTP API (read-only for now)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.runtime import ServiceRuntime, runtime_of
from sla import handlers
from sla.models import Deadline

router = APIRouter(prefix="/v1", tags=["sla"])


@router.get("/reports/{report_id}/deadlines", response_model=list[Deadline])
async def deadlines(
    report_id: str, rt: Annotated[ServiceRuntime, Depends(runtime_of)]
) -> list[Deadline]:
    """Every clock of a report, with its deadline."""

    def work() -> list[Deadline]:
        with rt.database.session() as session:
            return handlers.deadlines_of(session, report_id)

    return await rt.database.read(work)
