"""analytics rollups and terminal sync lag (issue 15)

Reserved slot: filled in by the work on that issue; until then it changes nothing.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
