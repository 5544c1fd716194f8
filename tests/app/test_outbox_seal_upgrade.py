"""Outbox rows written in clear by a version that did not seal customer data are sealed
on upgrade (migration 0003 marks the store, app/store/upgrades.py seals with the key).

The old store is built the way an older version left it: migrations up to 0002 only,
then outbox rows whose customers sit in the payload in clear, written with plain SQL.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from app.store.database import HEAD_REVISION, Database, current_revision, upgrade
from app.store.local import DB_FILE, open_store
from app.store.outbox_crypto import SEALED
from app.store.upgrades import RESEAL_MARK
from sync.push import load_batch
from tests.conftest import TEST_PASSPHRASE

DEVICE = "00000000-0000-7000-8000-0000000000d1"
ACTOR = "00000000-0000-7000-8000-000000000001"
NAME, PHONE, EMAIL = "Ann Customer", "0871234567", "ann@example.org"

CREATE = {  # order.create as the sales service wrote it before sealing
    "id": "00000000-0000-7000-8000-0000000000a1", "reference": "GO-00A001",
    "currency": "EUR", "lines": [], "payments": [],
    "customer": {"id": "00000000-0000-7000-8000-0000000000c1", "name": NAME,
                 "phone": PHONE, "email": EMAIL},
}
EDIT = {  # order.update of the customer: base and new value, both personal
    "fields": {"customer": {"base": {"name": NAME, "phone": PHONE},
                            "value": {"name": "Ann Customer-Byrne", "phone": PHONE}}},
}
PLAIN = {"product_id": "00000000-0000-7000-8000-0000000000b1", "delta": -2}


def _old_store(data_dir: Path) -> list[tuple[str, str, dict]]:
    """A store at revision 0002 with three outbox rows in clear (two pending, one done)."""
    data_dir.mkdir(parents=True)
    db = Database(data_dir / DB_FILE, migrate=False)
    upgrade(db.writer, "0002")
    db.close()
    rows = [("00000000-0000-7000-8000-0000000000e1", "order.create", CREATE, "pending"),
            ("00000000-0000-7000-8000-0000000000e2", "order.update", EDIT, "done"),
            ("00000000-0000-7000-8000-0000000000e3", "stock.adjust", PLAIN, "pending")]
    conn = sqlite3.connect(data_dir / DB_FILE)
    with conn:
        conn.execute("INSERT INTO store_settings (id, name, address, tax_id, currency, locale,"
                     " tax_inclusive, receipt_footer, version) VALUES (?, 'Old shop', '', '',"
                     " 'EUR', 'en_IE', 1, '', 0)", ("00000000-0000-7000-8000-0000000000f1",))
        conn.execute("INSERT INTO device (id, code, name, store_id, order_counter, op_seq,"
                     " audit_seq, audit_head) VALUES (?, '07', 'Till', ?, 1, 3, 0, ?)",
                     (DEVICE, "00000000-0000-7000-8000-0000000000f1", "0" * 64))
        for seq, (op_id, op_type, payload, status) in enumerate(rows, start=1):
            conn.execute(
                "INSERT INTO outbox (op_id, op_seq, type, entity_id, actor_id, device_id,"
                " created_at, base_version, format_version, payload, status, attempts,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, '2026-11-01 09:00:00.000000', 0, 1, ?,"
                " ?, 0, '2026-11-01 09:00:00.000000')",
                (op_id, seq, op_type, CREATE["id"], ACTOR, DEVICE, json.dumps(payload), status))
    conn.close()
    return [(op_id, op_type, payload) for op_id, op_type, payload, _ in rows]


def _file_bytes(data_dir: Path) -> bytes:
    """The database file and whatever its write-ahead log still holds."""
    return b"".join(p.read_bytes() for p in data_dir.glob(DB_FILE + "*") if p.is_file())


def test_old_clear_rows_are_sealed_on_upgrade_and_push_the_same(tmp_path: Path,
                                                                 no_keyring: None) -> None:
    data_dir = tmp_path / "data"
    rows = _old_store(data_dir)
    before = _file_bytes(data_dir)
    assert NAME.encode() in before and PHONE.encode() in before  # the old shape, in clear

    store = open_store(data_dir, passphrase=TEST_PASSPHRASE)
    try:
        assert current_revision(store.db.writer) == HEAD_REVISION
        pushed = {op.op_id: op.payload for op in load_batch(store)}
        # the pending ops push exactly the payload the old version queued
        assert pushed == {rows[0][0]: CREATE, rows[2][0]: PLAIN}
        with store.db.read() as s:
            raw = {r[0]: json.loads(r[1]) for r in s.connection().exec_driver_sql(
                "SELECT op_id, payload FROM outbox")}
            mark = s.connection().exec_driver_sql(
                "SELECT value FROM sync_state WHERE key = ?", (RESEAL_MARK,)).scalar()
        assert SEALED in raw[rows[0][0]]["customer"]
        assert SEALED in raw[rows[1][0]]["fields"]["customer"]["base"]  # done rows too
        assert raw[rows[2][0]] == PLAIN  # nothing personal: left as it was
        assert mark is None  # done once
    finally:
        store.close()
    after = _file_bytes(data_dir)
    for secret in (NAME, PHONE, EMAIL, "Ann Customer-Byrne"):
        assert secret.encode() not in after, f"{secret!r} still in the file"


def test_the_step_runs_once_and_leaves_sealed_rows_alone(tmp_path: Path, no_keyring: None) -> None:
    data_dir = tmp_path / "data"
    _old_store(data_dir)
    open_store(data_dir, passphrase=TEST_PASSPHRASE).close()
    sealed_once = {r[0]: r[1] for r in sqlite3.connect(data_dir / DB_FILE).execute(
        "SELECT op_id, payload FROM outbox")}
    store = open_store(data_dir, passphrase=TEST_PASSPHRASE)  # no mark: nothing rewritten
    try:
        with store.db.read() as s:
            again = dict(s.connection().exec_driver_sql("SELECT op_id, payload FROM outbox").all())
        assert again == sealed_once
    finally:
        store.close()


def test_a_store_made_at_head_has_no_mark_left(tmp_path: Path, no_keyring: None) -> None:
    store = open_store(tmp_path / "data", passphrase=TEST_PASSPHRASE)
    try:
        with store.db.read() as s:
            assert s.connection().exec_driver_sql(
                "SELECT count(*) FROM sync_state WHERE key = ?", (RESEAL_MARK,)).scalar() == 0
    finally:
        store.close()
