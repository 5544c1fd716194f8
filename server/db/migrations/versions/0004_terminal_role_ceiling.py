"""a terminal's role ceiling (terminals.max_role, enrollment_codes.max_role)

A terminal is a device, not a person: the most senior role that may work on it is set
when its enrollment code is made (default manager) and the server refuses pushed ops
whose actor or approver is above it (docs/security.md).

Terminals and codes that exist before this revision keep ``owner``, so nobody who works
on an enrolled till today is locked out by the upgrade; an admin lowers a till's
ceiling by enrolling it again with a code of a lower ceiling.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("terminals", "enrollment_codes")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("max_role", sa.String(length=20), nullable=False,
                                       server_default="owner"))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("max_role")
