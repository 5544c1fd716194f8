"""Data upgrades that need the terminal's data key, run at start right after it is loaded.

Alembic migrations (app/store/migrations) run before the key is in reach: the key is in
the OS keyring or the passphrase-wrapped key file, found under the device id read from
the database. A migration that must change data with the key therefore only leaves a
mark in ``sync_state``; :func:`after_key_loaded` does the work once ``open_store`` has
the key and checked it is this store's, and removes the mark in the same transaction.
Each step is idempotent, so a crash between the two halves only means it runs again.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

from app.store.crypto import PersonalDataCipher
from app.store.database import Database
from app.store.outbox_crypto import _AAD as PII_AAD
from app.store.outbox_crypto import PII_FIELDS, SEALED, seal_payload

RESEAL_MARK = "local.outbox_reseal"  # written by migration 0003
# Written once the audit log was searched for customers in clear (no migration: a store
# without it, new or old, is searched once at its next start).
AUDIT_SEALED_MARK = "local.audit_sealed"
AUDIT_TRIGGER = "audit_log_no_update"  # the append-only guard, lifted for the reseal only
log = logging.getLogger(__name__)


def after_key_loaded(db: Database, cipher: PersonalDataCipher) -> None:
    """Every upgrade step a migration left a mark for (or whose mark of done is missing),
    in order."""
    sealed = seal_clear_outbox(db, cipher)
    if sealed:
        log.info("sealed the customer data of %d outbox operations written in clear", sealed)
    sealed = seal_clear_audit(db, cipher)
    if sealed:
        log.info("sealed the customer data of %d audit entries written in clear", sealed)


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
    def due(cur: Any) -> bool:
        return cur.execute("SELECT 1 FROM sync_state WHERE key = ?",
                           (RESEAL_MARK,)).fetchone() is not None

    def rewrite(cur: Any) -> int:
        changed = _seal_rows(cur, cipher)
        cur.execute("DELETE FROM sync_state WHERE key = ?", (RESEAL_MARK,))
        return changed

    return _rewrite_scrubbed(db, due, rewrite, checkpoint_always=True)


def _rewrite_scrubbed(db: Database, due: Callable[[Any], bool], rewrite: Callable[[Any], int],
                      *, checkpoint_always: bool = False) -> int:
    """Run ``rewrite`` (which records its own mark) in one immediate transaction when
    ``due``, with ``secure_delete`` on so the space old clear text took is zeroed, then
    copy the write-ahead log into the file and truncate it (always, or when rows
    changed), so no page that still holds the old text is kept. Returns rows changed."""
    raw = db.writer.raw_connection()  # autocommit (BEGIN is ours): pragmas outside a transaction
    try:
        cur = raw.cursor()
        if not due(cur):
            return 0
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute("BEGIN IMMEDIATE")
        try:
            changed = rewrite(cur)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
        if changed or checkpoint_always:
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


def seal_clear_audit(db: Database, cipher: PersonalDataCipher) -> int:
    """Seal customers' personal fields still in clear in audit entries (order edits of
    the customer written before the audit log sealed them), once per store: while
    :data:`AUDIT_SEALED_MARK` is missing. Returns how many entries changed.

    The audit log is append-only (a trigger refuses updates) and hash-chained. The
    trigger is lifted and put back inside the one transaction. Each entry keeps its
    hash: the fields are sealed *exactly* (empty ones too), so the entry opened with
    the key is the one that was hashed, and :func:`app.store.audit.verify_chain` checks
    it that way. Same care for the old bytes as :func:`seal_clear_outbox`.
    """
    def due(cur: Any) -> bool:
        return cur.execute("SELECT 1 FROM sync_state WHERE key = ?",
                           (AUDIT_SEALED_MARK,)).fetchone() is None

    def rewrite(cur: Any) -> int:
        changed = _seal_audit_rows(cur, cipher)
        cur.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, '1')",
                    (AUDIT_SEALED_MARK,))
        return changed

    return _rewrite_scrubbed(db, due, rewrite)


def _seal_audit_rows(cur: Any, cipher: PersonalDataCipher) -> int:
    updates = []
    # Only entries that name a customer can hold one (LIKE: no JSON parse of the rest).
    for entry_id, text in cur.execute(
            "SELECT id, changes FROM audit_log WHERE changes LIKE '%\"customer\"%'").fetchall():
        changes = json.loads(text) if isinstance(text, str | bytes) else text
        sealed = _seal_exact(cipher, changes, False)
        if sealed != changes:
            updates.append((json.dumps(sealed), entry_id))
    if not updates:
        return 0
    trigger = cur.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                          (AUDIT_TRIGGER,)).fetchone()
    cur.execute(f"DROP TRIGGER IF EXISTS {AUDIT_TRIGGER}")
    cur.executemany("UPDATE audit_log SET changes = ? WHERE id = ?", updates)
    if trigger is not None:
        cur.execute(trigger[0])
    return len(updates)


def _seal_exact(cipher: PersonalDataCipher, node: Any, in_customer: bool) -> Any:
    """``seal_payload``'s sealing, keeping the empty (None) personal fields inside the
    seal too, so that opening gives back an equal dict (and the same hash)."""
    if isinstance(node, list):
        return [_seal_exact(cipher, item, in_customer) for item in node]
    if not isinstance(node, dict):
        return node
    if in_customer and any(node.get(k) is not None for k in PII_FIELDS):
        pii = {k: node[k] for k in PII_FIELDS if k in node}
        out = {k: v for k, v in node.items() if k not in PII_FIELDS}
        blob = cipher.encrypt(json.dumps(pii, sort_keys=True), field=PII_AAD)
        assert blob is not None  # the JSON text is never empty
        out[SEALED] = base64.b64encode(blob).decode()
        return out
    return {k: _seal_exact(cipher, v, in_customer or k == "customer") for k, v in node.items()}
