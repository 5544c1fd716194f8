"""Alembic environment for the terminal store; batch mode because SQLite alters tables by copy."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.store import models, models_aftersale  # noqa: F401  (register tables)
from app.store.base import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))



def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001
    """The FTS5 search table and its shadow tables are made by hand, not from models."""
    return not (type_ == "table" and name and name.startswith("products_fts"))


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
