"""approval proof: the staff row's approval_salt and the outbox op's approval_proof

A privileged op (a deletion, a refund, an approval decision, a conflict resolution, a
price change) carries its approver's proof, made when the op is written to the outbox
from the PIN the approver typed (app/domain/approval_proof.py; docs/security.md). The
outbox keeps the proof (never the key) until the push; the staff row keeps the salt the
server sends with it (``approval_salt``).

Staff rows pulled before this version have no salt, and the feed will not send them
again until they change: a store that has pulled before forgets its pull cursor, so the
next sync loads a snapshot (as after HTTP 410; re-applying is harmless, the outbox is
not touched) and every staff row arrives with its salt.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.add_column(sa.Column('approval_salt', sa.String(length=120), nullable=True))
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('approval_proof', sa.JSON(), nullable=True))
    # sync.state.CURSOR and LAST_SYNC: a store that pulled before loads a snapshot next
    op.execute("DELETE FROM sync_state WHERE key IN ('pull_cursor', 'last_sync') "
               "AND EXISTS (SELECT 1 FROM staff)")


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('approval_proof')
    with op.batch_alter_table('staff') as batch:
        batch.drop_column('approval_salt')
