"""backups and restore (issue 16)

Reserved slot: filled in by the work on that issue; until then it changes nothing.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 22:10:00
"""

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
