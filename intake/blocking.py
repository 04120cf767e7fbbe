"""The administrators' blocked-sender list: phone numbers and emails whose new reports
are refused on every channel (web, API, Open311, SMS), with the reason and who blocked
them. Listed masked; verification's own list blocks by the opaque reporter reference."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator
from sqlmodel import select

from intake import domain
from intake.models import BlockedSender
from services.auth import Role, Staff, require_staff
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1/blocked-senders", tags=["administration"])
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Administrator = Annotated[Staff, Depends(require_staff(Role.administrator))]


class BlockIn(BaseModel):
    """One phone number or one email, and why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    phone: str | None = Field(None, max_length=32)
    email: EmailStr | None = Field(None, max_length=254)
    reason: str = Field(min_length=3, max_length=500)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return domain.normalise_phone(value) if value else None

    @model_validator(mode="after")
    def _one(self) -> BlockIn:
        if (self.phone is None) == (self.email is None):
            raise ValueError("satu nomor atau satu email / one phone or one email")
        return self


def masked(row: BlockedSender) -> str:
    if row.kind == "phone":
        return domain.mask_phone(row.value)
    user, _, host = row.value.partition("@")
    return f"{user[:1]}***@{host}"


def view(row: BlockedSender) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "sender": masked(row),
        "reason": row.reason,
        "blocked_by": row.blocked_by,
        "blocked_at": row.blocked_at,
    }


@router.get("")
async def list_blocked(rt: Runtime, staff: Administrator) -> list[dict[str, Any]]:
    """The blocked senders, masked."""

    def work() -> list[dict[str, Any]]:
        with rt.database.session() as s:
            rows = s.exec(select(BlockedSender).order_by(BlockedSender.blocked_at)).all()  # type: ignore[arg-type]
            return [view(r) for r in rows]

    return await rt.database.read(work)


@router.post("", status_code=201)
async def block(body: BlockIn, rt: Runtime, staff: Administrator) -> dict[str, Any]:
    """Block a phone number or an email (409 if it already is)."""
    kind, value = ("phone", body.phone) if body.phone else ("email", str(body.email).lower())
    assert value is not None

    def work() -> dict[str, Any]:
        with rt.database.session() as s:
            if s.exec(select(BlockedSender).where(BlockedSender.value == value)).first():
                raise HTTPException(409, "sudah diblokir / already blocked")
            row = BlockedSender(
                id=uuid.uuid4().hex,
                kind=kind,
                value=value,
                reason=body.reason,
                blocked_by=staff.sub,
                blocked_at=datetime.now(UTC),
            )
            s.add(row)
            return view(row)

    return await rt.database.write(work)


@router.delete("/{block_id}", status_code=204)
async def unblock(block_id: str, rt: Runtime, staff: Administrator) -> None:
    """Lift a block."""

    def work() -> None:
        with rt.database.session() as s:
            row = s.get(BlockedSender, block_id)
            if row is None:
                raise HTTPException(404, "tidak ditemukan / not found")
            s.delete(row)

    await rt.database.write(work)
