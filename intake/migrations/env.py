"""Alembic environment of the intake service (its own database, its own tables)."""

from intake.models import Base
from services.db import run_alembic_env

run_alembic_env(Base.metadata)
