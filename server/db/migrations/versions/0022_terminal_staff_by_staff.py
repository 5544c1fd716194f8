"""terminal_staff by staff member: the stores a person works at (their store scope)

The back office, /shifts, the analytics, the attention list and the quarantine keep a
manager to the stores whose tills they were seen working on (server/tenancy/scope.py):
each list asks terminal_staff for one staff member's tills. The primary key is
(terminal_id, staff_id), no use for a staff member alone: without this index the
question read every sighting of every till of every organization.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_terminal_staff_staff_id", "terminal_staff", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_terminal_staff_staff_id", table_name="terminal_staff")
