"""the trading day: cash movements, Z reports (issue 14)

The Z report on the shift (its number, unique per till, the count by denomination, the
card batch total, the over/short's approver, the figures at the close) and the shift's
cash movements (paid in, paid out, drops, no-sales).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 22:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shifts') as batch_op:
        batch_op.add_column(sa.Column('z_number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('counted_by_denomination', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('card_batch_total', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_by', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('report', sa.JSON(), nullable=True))
        batch_op.create_index('ux_shifts_device_z', ['device_id', 'z_number'], unique=True)
    op.create_table(
        'cash_movements',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('shift_id', sa.String(length=36), nullable=False),
        sa.Column('device_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('actor_id', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'],
                                name=op.f('fk_cash_movements_shift_id_shifts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cash_movements')),
    )
    with op.batch_alter_table('cash_movements') as batch_op:
        batch_op.create_index(batch_op.f('ix_cash_movements_shift_id'), ['shift_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cash_movements') as batch_op:
        batch_op.drop_index(batch_op.f('ix_cash_movements_shift_id'))
    op.drop_table('cash_movements')
    with op.batch_alter_table('shifts') as batch_op:
        batch_op.drop_index('ux_shifts_device_z')
        for name in ('report', 'approved_by', 'card_batch_total', 'counted_by_denomination',
                     'z_number'):
            batch_op.drop_column(name)
