"""Alembic environment of the notifications service (its own database, its own tables)."""

from notifications.models import Base
from services.db import run_alembic_env

run_alembic_env(Base.metadata)
