"""Routing's tables: where each report was sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from services.db import UTCDateTime, add_kit_tables


class Base(SQLModel, registry=registry()):
    """Routing's own metadata."""


OUTBOX, INBOX = add_kit_tables(Base.metadata)


class Routing(Base, table=True):
    """The agency a report was routed to, and by which rule."""

    __tablename__ = "routings"

    report_id: str = Field(primary_key=True, max_length=36)
    agency_id: str = Field(max_length=64, index=True)
    agency_name: str = Field(max_length=200)
    regency_code: str = Field(max_length=5, index=True)
    category: str = Field(max_length=64)
    rule: str = Field(max_length=200)
    routed_at: datetime = Field(sa_type=UTCDateTime)
