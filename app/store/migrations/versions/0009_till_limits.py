"""till limits by role (issue 14)

The store's till limits (app/domain/till_limits.py) as the server sends them with the
store's settings: a JSON column on ``store_settings``, None meaning the defaults.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 22:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('store_settings') as batch_op:
        batch_op.add_column(sa.Column('till_limits', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('store_settings') as batch_op:
        batch_op.drop_column('till_limits')
