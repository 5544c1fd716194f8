"""Data upgrades that need the terminal's data key, run at start right after it is loaded.

Alembic migrations (app/store/migrations) run before the key is in reach: the key is in
the OS keyring or the passphrase-wrapped key file, found under the device id read from
the database. A migration that must change data with the key therefore only leaves a
mark in ``sync_state``; :func:`after_key_loaded` does the work once ``open_store`` has
the key and checked it is this store's, and removes the mark in the same transaction.
Each step is idempotent, so a crash between the two halves only means it runs again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app.store.crypto import PersonalDataCipher
from app.store.database import Database
from app.store.outbox_crypto import seal_payload

RESEAL_MARK = "local.outbox_reseal"  # written by migration 0003
log = logging.getLogger(__name__)


def after_key_loaded(db: Database, cipher: PersonalDataCipher) -> None:
    """Every upgrade step a migration left a mark for, in order."""
    sealed = seal_clear_outbox(db, cipher)
    if sealed:
        log.info("sealed the customer data of %d outbox operations written in clear", sealed)


def seal_clear_outbox(db: Database, cipher: PersonalDataCipher) -> int:
    """Seal the personal fields still in clear in every outbox row (pending, done or
    refused alike: each keeps its payload for the record), while migration 0003's mark
    is there; returns how many rows changed.

    The payload each operation pushes is unchanged: the ORM and ``sync.push.load_batch``
    open sealed fields again. The rewrite runs with ``secure_delete`` on, so the space
    the clear text took is zeroed rather than left in the file's free space, and the
    write-ahead log is then copied into the file and truncated, so no page that still
    holds the old text is kept.
    """
    raw = db.writer.raw_connection()  # autocommit (BEGIN is ours): pragmas outside a transaction
    try:
        cur = raw.cursor()
        if cur.execute("SELECT 1 FROM sync_state WHERE key = ?", (RESEAL_MARK,)).fetchone() is None:
            return 0
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute("BEGIN IMMEDIATE")
        try:
            changed = _seal_rows(cur, cipher)
            cur.execute("DELETE FROM sync_state WHERE key = ?", (RESEAL_MARK,))
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cur.execute("PRAGMA secure_delete=OFF")
        return changed
    finally:
        raw.close()


def _seal_rows(cur: Any, cipher: PersonalDataCipher) -> int:
    changed = 0
    for op_id, op_type, text in cur.execute("SELECT op_id, type, payload FROM outbox").fetchall():
        payload = json.loads(text) if isinstance(text, str | bytes) else text
        sealed = seal_payload(cipher, payload, op_type)
        if sealed != payload:
            cur.execute("UPDATE outbox SET payload = ? WHERE op_id = ?", (json.dumps(sealed), op_id))
            changed += 1
    return changed
