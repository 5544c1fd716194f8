"""the till as staff live it: parked sales, quick keys (issue 21)

A parked sale is the cart kept on disk while the cashier serves someone else; it is
local to the till and never syncs (app/store/models_till_ui.py says why).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 22:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'parked_sales',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('device_id', sa.String(length=36), nullable=False),
        sa.Column('parked_by', sa.String(length=36), nullable=False),
        sa.Column('parked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('label', sa.String(length=80), nullable=True),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('line_count', sa.Integer(), nullable=False),
        sa.Column('cart', sa.JSON(), nullable=False),
        sa.Column('customer_enc', sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_parked_sales')),
    )
    with op.batch_alter_table('parked_sales') as batch_op:
        batch_op.create_index(batch_op.f('ix_parked_sales_device_id'), ['device_id'], unique=False)
    op.create_table(
        'quick_keys',
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('product_id', sa.String(length=36), nullable=True),
        sa.Column('category_id', sa.String(length=36), nullable=True),
        sa.Column('label', sa.String(length=40), nullable=True),
        sa.Column('updated_by', sa.String(length=36), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('position', name=op.f('pk_quick_keys')),
    )


def downgrade() -> None:
    op.drop_table('quick_keys')
    with op.batch_alter_table('parked_sales') as batch_op:
        batch_op.drop_index(batch_op.f('ix_parked_sales_device_id'))
    op.drop_table('parked_sales')
