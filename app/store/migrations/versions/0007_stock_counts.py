"""exact stock counts (issue 18)

Reserved slot: filled in by the work on that issue; until then it changes nothing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 22:10:00
"""

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
