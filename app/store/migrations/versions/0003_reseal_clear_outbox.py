"""reseal clear outbox: mark the store so outbox rows still in clear get sealed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 17:00:00

Versions before customer data was sealed (and before 431d2d7 sealed it at every depth
of a payload: edits, conflict resolutions) wrote outbox payloads with the customer's
name, phone and email in clear. This revision must seal them, but a migration cannot:
the sealing key is not in the database. It lives in the OS keyring (or the passphrase-
wrapped ``data-key.enc``), is found under this device's id, which is itself read from
the database, and is loaded by ``app.store.local.open_store`` only after
``Database`` has applied the migrations (a wrong or missing key must be refused in
words before anything is written with it). Alembic runs with no key in reach.

So the work is split, and neither half can be lost:

* this migration writes a mark (``sync_state['local.outbox_reseal']``) in the same
  transaction that moves the store to 0003;
* ``app.store.upgrades.after_key_loaded`` runs right after the key is loaded and
  checked, on every start: while the mark is there it seals every outbox row's
  personal fields still in clear, then removes the mark, in one transaction. A crash
  in between leaves the mark, and the next start does it again (sealing is idempotent).

A store with an empty outbox (a new one) gets no mark: it has nothing to seal.
"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

MARK = "local.outbox_reseal"  # app.store.upgrades.RESEAL_MARK


def upgrade() -> None:
    # Only a store with outbox rows can hold clear ones; a new store gets no mark.
    op.execute(f"INSERT OR REPLACE INTO sync_state (key, value) SELECT '{MARK}', '0003' "
               "WHERE EXISTS (SELECT 1 FROM outbox)")


def downgrade() -> None:
    # Rows stay sealed: 0002-era versions that seal customer data open them (the outbox
    # sealing format is unchanged); a version older still must not run on this store.
    op.execute(f"DELETE FROM sync_state WHERE key = '{MARK}'")
