"""Alembic environment of the routing service (its own database, its own tables)."""

from routing.models import Base
from services.db import run_alembic_env

run_alembic_env(Base.metadata)
