"""Alembic environment for the terminal store; batch mode because SQLite alters tables by copy."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.store import models  # noqa: F401  (register tables)
from app.store.base import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
