"""The server's own database: typed models, engine set-up and Alembic migrations."""
