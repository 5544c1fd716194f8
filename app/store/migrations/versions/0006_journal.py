"""the till's journal across enrollment (issue 18)

Reserved slot: filled in by the work on that issue; until then it changes nothing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 22:10:00
"""

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
