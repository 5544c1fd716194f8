"""the manager's dashboard (issue 15)

Reserved slot: filled in by the work on that issue; until then it changes nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 22:10:00
"""

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
