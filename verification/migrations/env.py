"""Alembic environment of the verification service (its own database, its own tables)."""

from services.db import run_alembic_env
from verification.models import Base

run_alembic_env(Base.metadata)
