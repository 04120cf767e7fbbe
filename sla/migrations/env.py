"""Alembic environment of the sla service (its own database, its own tables)."""

from services.db import run_alembic_env
from sla.models import Base

run_alembic_env(Base.metadata)
