"""shifts: the till's trading shifts (issue 14: shift.open, shift.close)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'shifts',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('device_id', sa.String(length=36), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('opened_by', sa.String(length=36), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opening_float', sa.Integer(), nullable=False),
        sa.Column('float_counted', sa.JSON(), nullable=True),
        sa.Column('closed_by', sa.String(length=36), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('counted_cash', sa.Integer(), nullable=True),
        sa.Column('expected_cash', sa.Integer(), nullable=True),
        sa.Column('over_short', sa.Integer(), nullable=True),
        sa.Column('close_reason', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shifts')),
    )
    with op.batch_alter_table('shifts') as batch_op:
        batch_op.create_index(batch_op.f('ix_shifts_device_id'), ['device_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shifts') as batch_op:
        batch_op.drop_index(batch_op.f('ix_shifts_device_id'))
    op.drop_table('shifts')
