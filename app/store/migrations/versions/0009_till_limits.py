"""till limits by role (issue 14)

Reserved slot: filled in by the work on that issue; until then it changes nothing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 22:10:00
"""

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
