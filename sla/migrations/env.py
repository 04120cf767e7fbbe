"""Alembic environment of the sla service (its own database, its own tables)."""

from sla.models import Base
from services.db import run_alembic_env

run_alembic_env(Base.metadata)
