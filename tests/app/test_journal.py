"""The till's journal: tampering with the audit file is found and named, and the chain
holds across enrollment (a demo till that then enrolls verifies clean)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from app.domain.permissions import Role
from app.services import sales
from app.services.journal import check_journal, order_receipt_qr
from app.store.local import LocalStore
from app.store.models import Order
from sync.enroll import adopt_identity
from tests.app.test_store import cart_of
from tests.conftest import TEST_PASSPHRASE
from ui.cli import main as tillsync


def _sales(store: LocalStore, actors, n: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        sales.record_sale(store, actors[Role.CASHIER], cart_of(store, [f"SKU{100 + i:06d}"]), [])


def _raw(store: LocalStore, *sql: str) -> None:
    """An attacker with the file: a plain sqlite3 connection, the guard triggers dropped."""
    conn = sqlite3.connect(store.db.path)
    try:
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        for statement in sql:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


INSERT = ("INSERT INTO audit_log (id, device_id, seq, at, actor_id, action, entity_type, "
          "entity_id, changes, reason, prev_hash, hash) SELECT 'forged', 'elsewhere', 3, at, "
          "actor_id, action, entity_type, entity_id, changes, reason, prev_hash, "
          "'{h}' FROM audit_log WHERE seq = 4")


@pytest.mark.parametrize(("sql", "words"), [
    (["UPDATE audit_log SET changes = json_set(changes, '$.total.after', 1) WHERE seq = 3"],
     "entry 3: edited"),
    (["UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 1"], "entry 1: edited"),
    (["DELETE FROM audit_log WHERE seq = 3"], "entry 3: removed"),
    (["DELETE FROM audit_log WHERE seq = 5"], "entry 5: removed"),
    # a forged entry slipped in as seq 3 (the real ones after it renumbered)
    (["UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3",
      "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100", INSERT.format(h="f" * 64)],
     "entry 3: inserted"),
    (["UPDATE audit_log SET seq = 100 WHERE seq = 2", "UPDATE audit_log SET seq = 2 WHERE seq = 3",
      "UPDATE audit_log SET seq = 3 WHERE seq = 100"], "entry 2: reordered"),
])
def test_tampering_is_found_and_named(catalog_store: LocalStore, actors, sql: list[str],
                                      words: str) -> None:
    store = catalog_store
    _sales(store, actors, 5)
    assert check_journal(store).ok
    _raw(store, *sql)
    report = check_journal(store)
    assert not report.ok
    assert report.problem is not None and report.problem.startswith(words), report.problem


def test_cli_verify_exits_non_zero_naming_the_entry(catalog_store: LocalStore, actors, tmp_path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    store = catalog_store
    _sales(store, actors, 3)
    secret = tmp_path / "passphrase"
    secret.write_text(TEST_PASSPHRASE)
    verify = ["--data-dir", str(store.data_dir), "--key-passphrase-file", str(secret),
              "audit", "verify"]
    assert tillsync(verify) == 0
    assert "holds" in capsys.readouterr().out
    _raw(store, "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 2")
    assert tillsync(verify) == 1
    assert "entry 2: edited" in capsys.readouterr().out


def test_demo_then_enroll_verifies_clean(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    _sales(store, actors, 2)  # written under the demo's device id
    old_id = store.device_id
    adopt_identity(store, {"device_id": "0190aaaa-0000-7000-8000-000000000001",
                           "device_code": "QZ", "store_id": store.device().store_id,
                           "org_id": "org-1"}, "https://example.test", "Till 1")
    assert store.device_id != old_id
    _sales(store, actors, 2)  # and these under the enrolled one
    report = check_journal(store)
    assert report.problem is None and report.entries >= 4 and report.head_seq == report.entries


def test_receipt_code_comes_from_the_sale_entry(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    _sales(store, actors, 1)
    with store.db.read() as s:
        order = s.scalars(select(Order)).one()
    text = order_receipt_qr(store, order.id)
    assert text is not None and text.startswith(f"TS1:{order.reference}:")
    assert len(text.split(":")[2]) == 10
