"""the trading day: cash movements, Z reports (issue 14)

Reserved slot: filled in by the work on that issue; until then it changes nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 22:10:00
"""

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
