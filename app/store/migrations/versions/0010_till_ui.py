"""the till as staff live it: parked sales, quick keys (issue 21)

Reserved slot: filled in by the work on that issue; until then it changes nothing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 22:10:00
"""

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
