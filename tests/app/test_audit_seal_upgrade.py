"""Audit entries written in clear by a version that did not seal customer data in the
audit log (order edits of the customer, before 2026-11-23) are sealed on upgrade; the
hash chain still verifies and the order's history still shows the names.

The old entries are written the way that version wrote them: an order edit whose audit
changes carry the customer's name, phone and email as they were, through the one
mutation path. That version knew nothing of the upgrade's mark, so the mark is taken
away, as a store from before it would be.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.domain.cart import Cart
from app.domain.operations import OpType
from app.domain.payloads import EntityUpdate, FieldEdit
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services import catalog, sales
from app.services.customers import CustomerDetails
from app.services.order_detail import order_detail
from app.store.audit import verify_chain
from app.store.local import DB_FILE, LocalStore, open_store
from app.store.models import SyncState
from app.store.unit_of_work import Actor, mutation
from app.store.upgrades import AUDIT_SEALED_MARK
from tests.conftest import TEST_PASSPHRASE, add_test_staff

NAME, PHONE, EMAIL = "Brid Customer", "0869876543", "brid@example.org"
NEW_NAME = "Brid Customer-Walsh"


def _file_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.glob(DB_FILE + "*") if p.is_file())


def _old_style_edit(store: LocalStore, actor: Actor, order_id: str, customer_id: str) -> None:
    """order_edits.edit_order as it was before the audit log sealed customers."""
    before = {"id": customer_id, "name": NAME, "phone": PHONE, "email": EMAIL}
    after = {"id": customer_id, "name": NEW_NAME, "phone": PHONE, "email": None}
    fields = {"customer": FieldEdit(base=before, value=after)}
    with mutation(store.db, store.device_id, actor, "order.edit") as m:
        m.audit("order", order_id, {"customer": {"before": before, "after": after}},
                reason="name misspelt")
        m.emit(OpType.ORDER_UPDATE, order_id, EntityUpdate(fields=fields, reason="name misspelt"),
               base_version=0)


def _old_store(data_dir: Path, pin_hashes) -> str:
    store = open_store(data_dir, passphrase=TEST_PASSPHRASE)
    try:
        actor = add_test_staff(store, pin_hashes)[Role.MANAGER]
        from app.demo import seed_catalog

        seed_catalog(store, 20)
        cart = Cart(tax_inclusive=True)
        (row,) = catalog.search(store, "a", limit=1)
        cart.add(catalog.line_for_product(store, row.id))
        sale = sales.record_sale(store, actor, cart, [Tender(Method.CARD, cart.totals().total)],
                                 CustomerDetails(None, NAME, PHONE, EMAIL))
        detail = order_detail(store, sale.order_id)
        assert detail is not None and detail.customer is not None
        _old_style_edit(store, actor, sale.order_id, detail.customer.id)
        with store.db.write() as s:  # a store from before the upgrade step has no mark
            mark = s.get(SyncState, AUDIT_SEALED_MARK)
            if mark is not None:
                s.delete(mark)
        return sale.order_id
    finally:
        store.close()


def test_clear_audit_entries_are_sealed_on_upgrade(tmp_path: Path, no_keyring, pin_hashes) -> None:
    data_dir = tmp_path / "data"
    order_id = _old_store(data_dir, pin_hashes)
    before = _file_bytes(data_dir)
    assert NAME.encode() in before and PHONE.encode() in before  # the old entries, in clear

    store = open_store(data_dir, passphrase=TEST_PASSPHRASE)
    try:
        after = _file_bytes(data_dir)
        assert NAME.encode() not in after and PHONE.encode() not in after
        assert EMAIL.encode() not in after and NEW_NAME.encode() not in after
        with store.db.read() as s:
            assert verify_chain(s, store.device_id) == []  # the chain still holds
            assert s.get(SyncState, AUDIT_SEALED_MARK) is not None
        detail = order_detail(store, order_id)
        assert detail is not None
        edit = next(e for e in detail.audit if "customer" in e.changes)
        assert edit.changes["customer"]["before"]["name"] == NAME  # opened for the screen
        assert edit.changes["customer"]["after"] == {"id": edit.changes["customer"]["after"]["id"],
                                                     "name": NEW_NAME, "phone": PHONE, "email": None}
    finally:
        store.close()
    store = open_store(data_dir, passphrase=TEST_PASSPHRASE)  # idempotent: nothing more to do
    try:
        with store.db.read() as s:
            assert verify_chain(s, store.device_id) == []
    finally:
        store.close()
    conn = sqlite3.connect(data_dir / DB_FILE)  # a resealed entry edited later is still caught
    with conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET reason = 'nothing to see' WHERE reason = 'name misspelt'")
    conn.close()
    store = open_store(data_dir, passphrase=TEST_PASSPHRASE)
    try:
        with store.db.read() as s:
            assert [p.problem for p in verify_chain(s, store.device_id)] == [
                "edited: its content does not match its hash"]
    finally:
        store.close()


def test_a_new_store_is_marked_at_once(store: LocalStore) -> None:
    with store.db.read() as s:
        assert s.get(SyncState, AUDIT_SEALED_MARK) is not None
