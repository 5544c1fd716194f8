"""The till's side of the approver proof, in a real local store: the key comes from the
typed PIN and the staff row's salt, privileged ops get a proof in the outbox as they are
written, ordinary ones none, and the key is never stored. Migration 0004 makes a synced
till load a snapshot (its staff rows then come with their salts)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text, update

from app.domain import approval_proof as ap
from app.domain.cart import Cart, CartLine
from app.domain.permissions import Action, Role
from app.services import approvals, catalog_edit, sales, staff
from app.store.database import Database, downgrade, upgrade
from app.store.local import LocalStore
from app.store.models import OutboxOperation, Product, Staff
from app.store.unit_of_work import Actor

CHEAP = ap.KdfCost(memory_kib=1024, time_cost=1)


def _give_salts(store: LocalStore) -> dict[str, str]:
    salts = {}
    with store.db.write() as s:
        for person in s.scalars(select(Staff)):
            person.approval_salt = salts[person.id] = ap.new_salt(CHEAP)
    return salts


def _ops(store: LocalStore, op_type: str) -> list[OutboxOperation]:
    with store.db.read() as s:
        rows = list(s.scalars(select(OutboxOperation).where(OutboxOperation.type == op_type)))
        s.expunge_all()
        return rows


def _fits(row: OutboxOperation, key: bytes) -> bool:
    assert row.approval_proof is not None
    message = ap.canonical_bytes(op_type=row.type, entity_id=row.entity_id,
                                 device_id=row.device_id, op_id=row.op_id,
                                 actor_id=row.actor_id, payload=row.payload)
    return ap.check_mac(key, message, row.approval_proof["mac"])


def _pending_sale(store: LocalStore, cashier: Actor) -> str:
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Tea", unit_price=250,
                      tax_rate_ppm=0, qty_milli=1000))
    return sales.record_sale(store, cashier, cart, []).order_id


def test_an_override_proves_the_deletion_and_keeps_no_key(
        store: LocalStore, actors: dict[Role, Actor]) -> None:
    salts = _give_salts(store)
    cashier = staff.sign_in(store, "1003", "3333")
    manager = staff.verify_override(store, "1002", "222222", Action.ORDER_DELETE)
    assert manager.approval_key == ap.derive_key("222222", salts[manager.staff_id])
    assert "approval_key" not in repr(manager)
    order_id = _pending_sale(store, cashier)
    approvals.delete_with_override(store, cashier, manager, order_id, "customer left")
    [row] = _ops(store, "order.delete")
    assert row.approval_proof["by"] == manager.staff_id and _fits(row, manager.approval_key)
    assert [r.approval_proof for r in _ops(store, "order.create")] == [None]
    assert [r.approval_proof for r in _ops(store, "approval.request")] == [None]
    for path in Path(store.data_dir).glob("tillsync.sqlite*"):
        data = path.read_bytes()
        assert manager.approval_key not in data and manager.approval_key.hex().encode() not in data


def test_a_price_change_is_proven_another_edit_is_not(
        catalog_store: LocalStore, actors: dict[Role, Actor]) -> None:
    store = catalog_store
    _give_salts(store)
    owner = staff.sign_in(store, "1001", "111111")
    with store.db.read() as s:
        product_id = s.scalars(select(Product.id).limit(1)).one()
    catalog_edit.update_product(store, owner, product_id, {"name": "Renamed tea"})
    catalog_edit.update_product(store, owner, product_id, {"price": 999})
    rows = sorted(_ops(store, "product.update"), key=lambda r: r.op_seq)
    assert rows[0].approval_proof is None
    assert _fits(rows[1], owner.approval_key)


def test_no_salt_yet_no_key_no_proof(store: LocalStore, actors: dict[Role, Actor]) -> None:
    manager = staff.sign_in(store, "1002", "222222")
    assert manager.approval_key is None
    cashier = actors[Role.CASHIER]
    approvals.delete_with_override(store, cashier, manager, _pending_sale(store, cashier), "x")
    assert [r.approval_proof for r in _ops(store, "order.delete")] == [None]
    with store.db.write() as s:  # a malformed salt is ignored the same way
        s.execute(update(Staff).values(approval_salt="not a salt"))
    assert staff.sign_in(store, "1002", "222222").approval_key is None


def test_migration_0004_makes_a_synced_till_load_a_snapshot(tmp_path: Path) -> None:
    db = Database(tmp_path / "m.sqlite", migrate=False)
    try:
        upgrade(db.writer, "0003")
        with db.writer.begin() as conn:
            conn.execute(text("INSERT INTO staff (id, name, code, role, pin_hash, active, "
                              "failed_pins, version) VALUES ('s', 'S', '1', 'cashier', '', 1, 0, 3)"))
            conn.execute(text("INSERT INTO sync_state (key, value) VALUES "
                              "('pull_cursor', '41'), ('last_sync', 'x'), ('other', 'kept')"))
        upgrade(db.writer)
        with db.writer.connect() as conn:
            keys = {r[0] for r in conn.execute(text("SELECT key FROM sync_state"))}
        assert "pull_cursor" not in keys and "last_sync" not in keys and "other" in keys
        downgrade(db.writer, "0003")
        upgrade(db.writer)
    finally:
        db.close()
