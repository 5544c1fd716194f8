"""Alembic environment of the server database (run by run_migrations and the CLI)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from server.db.engine import make_engine
from server.db.models import Base

config = context.config
target_metadata = Base.metadata
MIGRATION_LOCK_KEY = 7_105_310_001  # pg_advisory_lock key: one migrator at a time


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    engine = make_engine(url)
    with engine.connect() as connection:
        is_pg = connection.dialect.name == "postgresql"
        if is_pg:
            connection.execute(text(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if is_pg:
                connection.execute(text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
