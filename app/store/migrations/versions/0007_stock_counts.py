"""exact stock counts (issue 18)

``stock_counts``: each committed count once (a retried commit finds it and writes
nothing); ``stock_reviews``: reconciliation items the stock clerk accepted;
``store_settings.recount_share_ppm``: how large a count's move is listed for a recount;
an index on stock_movements (product_id, kind) for the list's counts and compensations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 22:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stock_counts',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('reference', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('actor_id', sa.String(length=36), nullable=False),
        sa.Column('committed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('products', sa.Integer(), nullable=False),
        sa.Column('moved', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_counts')),
    )
    op.create_table(
        'stock_reviews',
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('product_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('actor_id', sa.String(length=36), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_stock_reviews')),
    )
    with op.batch_alter_table('stock_reviews') as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_reviews_product_id'), ['product_id'], unique=False)
    with op.batch_alter_table('store_settings') as batch_op:
        batch_op.add_column(sa.Column('recount_share_ppm', sa.Integer(), nullable=False,
                                      server_default='250000'))
    with op.batch_alter_table('stock_movements') as batch_op:
        batch_op.create_index('ix_stock_movements_kind_product', ['kind', 'product_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stock_movements') as batch_op:
        batch_op.drop_index('ix_stock_movements_kind_product')
    with op.batch_alter_table('store_settings') as batch_op:
        batch_op.drop_column('recount_share_ppm')
    with op.batch_alter_table('stock_reviews') as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_reviews_product_id'))
    op.drop_table('stock_reviews')
    op.drop_table('stock_counts')
