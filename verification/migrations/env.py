"""Alembic environment of the verification service (its own database, its own tables)."""

from verification.models import Base
from services.db import run_alembic_env

run_alembic_env(Base.metadata)
