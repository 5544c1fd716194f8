"""The local store: durability settings, whole-or-nothing mutations, audit chain, PII at rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from app.domain.cart import Cart
from app.domain.ids import new_id
from app.domain.operations import OpType
from app.domain.payloads import StockAdjust
from app.domain.permissions import PermissionDenied, Role
from app.domain.tender import Method, Tender
from app.domain.totals import Discount
from app.services import catalog, customers, sales, shifts
from app.services.customers import CustomerDetails
from app.store.audit import verify_chain
from app.store.base import utcnow
from app.store.local import DB_FILE, LocalStore, open_store
from app.store.models import (
    AuditEntry,
    Customer,
    Device,
    Order,
    OrderLine,
    OutboxOperation,
    Payment,
    StockMovement,
)
from app.store.unit_of_work import IncompleteMutation, mutation
from tests.conftest import TEST_PASSPHRASE


def counts(store: LocalStore) -> dict[str, int]:
    with store.db.read() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Order, OrderLine, Payment, StockMovement, AuditEntry, OutboxOperation, Customer)}


def cart_of(store: LocalStore, skus: list[str], inclusive: bool = True) -> Cart:
    cart = Cart(tax_inclusive=inclusive)
    for sku in skus:
        (row,) = catalog.search(store, sku, limit=1)
        cart.add(catalog.line_for_product(store, row.id))
    return cart


@pytest.mark.parametrize("engine_name", ["writer", "reader"])
def test_pragmas_in_force(store: LocalStore, engine_name: str) -> None:
    engine = getattr(store.db, engine_name)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_writer_takes_the_lock_up_front(store: LocalStore) -> None:
    """BEGIN IMMEDIATE: a write transaction holds the RESERVED lock before its first write."""
    import sqlite3

    with store.db.write() as s:
        s.execute(select(Device.id)).all()
        other = sqlite3.connect(store.db.path, timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_sale_writes_everything_in_one_transaction(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    shifts.open_shift(store, actors[Role.CASHIER], 0)  # selling needs an open shift
    before = counts(store)
    cart = cart_of(store, ["SKU000010", "SKU000011", "SKU000012"])
    cart.set_quantity(1, 3000)
    total = cart.totals().total
    result = sales.record_sale(
        store, actors[Role.CASHIER], cart,
        [Tender(Method.CARD, total - 500), Tender(Method.CASH, 1000)],
    )
    assert result.paid == total and result.change == 500 and result.status == "completed"
    c = counts(store)
    assert c["orders"] == 1 and c["order_lines"] == 3 and c["payments"] == 2
    assert c["outbox"] - before["outbox"] == 1 and c["audit_log"] - before["audit_log"] == 1
    with store.db.read() as s:
        order = s.get(Order, result.order_id)
        assert order.reference == result.reference and order.reference.startswith("GO-00")
        assert sum(p.amount for p in order.payments) == order.paid == order.total
        moves = s.scalars(select(StockMovement).where(StockMovement.order_id == order.id)).all()
        assert sorted(m.qty_delta_milli for m in moves) == [-3000, -1000, -1000]
        (op,) = s.scalars(select(OutboxOperation).where(OutboxOperation.op_seq > 1)).all()
        assert (op.type, op.entity_id, op.op_seq, op.status) == ("order.create", order.id, 2, "pending")
        assert op.actor_id == actors[Role.CASHIER].staff_id and op.device_id == store.device_id
        assert len(op.payload["lines"]) == 3 and op.payload["total"] == total
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.seq > 1)).all()
        assert entry.entity_id == order.id and entry.actor_id == actors[Role.CASHIER].staff_id
        assert entry.changes["total"] == {"before": None, "after": total}
    assert sales.find_by_reference(store, result.reference.lower()) == result.order_id


def test_op_seq_dense_and_partial_payment(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    cashier = actors[Role.CASHIER]
    cart = cart_of(store, ["SKU000020"])
    total = cart.totals().total
    first = sales.record_sale(store, cashier, cart, [Tender(Method.CARD, 100)])
    assert first.status == "pending" and first.paid == 100
    second = sales.record_sale(store, cashier, cart_of(store, ["SKU000021"]), [])
    assert second.status == "pending" and second.paid == 0
    done = sales.record_payment(store, cashier, first.order_id, Tender(Method.CASH, 10_000))
    assert done.status == "completed" and done.paid == total and done.change == 10_000 - (total - 100)
    with pytest.raises(sales.SaleError):
        sales.record_payment(store, cashier, first.order_id, Tender(Method.CASH, 100))
    with store.db.read() as s:
        seqs = s.scalars(select(OutboxOperation.op_seq).order_by(OutboxOperation.op_seq)).all()
        types = s.scalars(select(OutboxOperation.type).order_by(OutboxOperation.op_seq)).all()
        assert s.get(Device, store.device_id).op_seq == 4
    assert seqs == [1, 2, 3, 4]  # the first sale opened the shift (the store's auto_open_shift)
    assert types == ["shift.open", "order.create", "order.create", "payment.record"]
    assert counts(store)["audit_log"] == 4
    with store.db.read() as s:
        assert verify_chain(s, store.device_id) == []


def test_refused_sales_leave_nothing(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    before = counts(store)
    cart = cart_of(store, ["SKU000030"])
    with pytest.raises(sales.SaleError):
        sales.record_sale(store, actors[Role.CASHIER], Cart(tax_inclusive=True), [])
    with pytest.raises(sales.SaleError):
        sales.record_sale(store, actors[Role.CASHIER], cart, [Tender(Method.CARD, 10**7)])
    with pytest.raises(PermissionDenied):
        sales.record_sale(store, actors[Role.STOCK], cart, [])
    assert counts(store) == before


def test_a_cashiers_order_discount_past_their_limit_needs_a_manager(catalog_store: LocalStore,
                                                                    actors) -> None:
    """A cashier's order limit is 0 % by default (app/domain/till_limits.py): any order
    discount of theirs needs a manager who approves it; a manager's own is within theirs."""
    store = catalog_store
    cart = cart_of(store, ["SKU000040", "SKU000041"])
    cart.set_order_discount(Discount(percent_ppm=100_000))
    with pytest.raises(sales.SaleError, match="manager's approval"):
        sales.record_sale(store, actors[Role.CASHIER], cart, [])
    assert counts(store)["orders"] == 0 and counts(store)["outbox"] == 0
    again = cart_of(store, ["SKU000040", "SKU000041"])
    again.set_order_discount(Discount(percent_ppm=100_000))
    approved = sales.record_sale(store, actors[Role.CASHIER], again, [],
                                 approver=actors[Role.MANAGER])
    result = sales.record_sale(store, actors[Role.MANAGER], cart, [])
    with store.db.read() as s:
        order = s.get(Order, result.order_id)
        assert order.order_discount_percent_ppm == 100_000 and order.discount > 0
        assert s.get(Order, approved.order_id).order_discount_percent_ppm == 100_000
    # a line discount is within a cashier's rights
    cart2 = cart_of(store, ["SKU000042"])
    cart2.set_line_discount(0, Discount(amount=5))
    sales.record_sale(store, actors[Role.CASHIER], cart2, [])


def _raw_insert_movement(m, store: LocalStore) -> None:
    pid = m.session.scalar(text("SELECT id FROM products LIMIT 1"))
    m.session.add(StockMovement(id="m-1", product_id=pid, kind="adjust", qty_delta_milli=1))
    m.session.flush()


def _adjust() -> StockAdjust:
    return StockAdjust(movement_id=new_id(), product_id=new_id(), kind="adjust",
                       qty_delta_milli=1, created_at=utcnow())


@pytest.mark.parametrize("missing", ["audit", "outbox", "both"])
def test_mutation_without_audit_or_outbox_rolls_back(catalog_store: LocalStore, actors, missing) -> None:
    store = catalog_store
    before = counts(store)
    with store.db.read() as s:
        dev_before = s.get(Device, store.device_id)
        seqs_before = (dev_before.op_seq, dev_before.audit_seq, dev_before.audit_head)
    with pytest.raises(IncompleteMutation), \
            mutation(store.db, store.device_id, actors[Role.STOCK], "stock.adjust") as m:
        _raw_insert_movement(m, store)
        if missing != "audit" and missing != "both":
            m.audit("stock", "m-1", {"qty": {"before": 0, "after": 1}})
        if missing != "outbox" and missing != "both":
            m.emit(OpType.STOCK_ADJUST, "m-1", _adjust())
    assert counts(store) == before
    with store.db.read() as s:
        assert s.get(StockMovement, "m-1") is None
        dev = s.get(Device, store.device_id)
        assert (dev.op_seq, dev.audit_seq, dev.audit_head) == seqs_before


def test_mutation_refuses_a_second_outbox_op(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    with pytest.raises(IncompleteMutation), \
            mutation(store.db, store.device_id, actors[Role.STOCK], "stock.adjust") as m:
        _raw_insert_movement(m, store)
        m.audit("stock", "m-1", {})
        m.emit(OpType.STOCK_ADJUST, "m-1", _adjust())
        m.emit(OpType.STOCK_ADJUST, "m-1", _adjust())
    assert counts(store)["outbox"] == 0


def test_complete_mutation_commits(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    with mutation(store.db, store.device_id, actors[Role.STOCK], "stock.adjust") as m:
        _raw_insert_movement(m, store)
        m.audit("stock", "m-1", {"qty": {"before": 0, "after": 1}}, reason="found one")
        m.emit(OpType.STOCK_ADJUST, "m-1", _adjust())
    c = counts(store)
    assert c["outbox"] == 1 and c["audit_log"] == 1


# ---------------------------------------------------------------- audit log


def _sales(store: LocalStore, actors, n: int) -> None:
    for i in range(n):
        sales.record_sale(store, actors[Role.CASHIER], cart_of(store, [f"SKU{100 + i:06d}"]), [])


def test_audit_log_refuses_update_and_delete(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    _sales(store, actors, 2)
    with pytest.raises(DatabaseError, match="append-only"), store.db.write() as s:
        s.execute(text("UPDATE audit_log SET reason = 'x'"))
    with pytest.raises(DatabaseError, match="append-only"), store.db.write() as s:
        s.execute(text("DELETE FROM audit_log"))
    assert counts(store)["audit_log"] == 3  # the shift the first sale opened, and the sales


def _tamper(store: LocalStore, sql: str) -> None:
    """What an attacker with the file would do: drop the guard triggers, then edit."""
    with store.db.write() as s:
        s.execute(text("DROP TRIGGER audit_log_no_update"))
        s.execute(text("DROP TRIGGER audit_log_no_delete"))
        s.execute(text(sql))


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE audit_log SET changes = json_set(changes, '$.total.after', 1) WHERE seq = 2", "edited"),
        ("UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 1", "edited"),
        ("UPDATE audit_log SET at = '2020-01-01 00:00:00.000000' WHERE seq = 3", "edited"),
        ("DELETE FROM audit_log WHERE seq = 2", "removed"),
        ("DELETE FROM audit_log WHERE seq = 3", "removed"),
        ("DELETE FROM audit_log", "removed"),
    ],
)
def test_tampering_is_detected(catalog_store: LocalStore, actors, sql: str, problem: str) -> None:
    store = catalog_store
    _sales(store, actors, 3)
    with store.db.read() as s:
        assert verify_chain(s, store.device_id) == []
    _tamper(store, sql)
    with store.db.read() as s:
        problems = verify_chain(s, store.device_id)
    assert problems, "tampering went unnoticed"
    assert any(problem in p.problem for p in problems), problems


# ---------------------------------------------------------------- customers


CUSTOMER = CustomerDetails(None, "Siobhan Quigley-Tester", "+353 86 555 0199", "siobhan.q@example.ie")


def _raw_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith(DB_FILE))


def test_personal_data_not_in_the_file_in_clear(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    sales.record_sale(store, actors[Role.CASHIER], cart_of(store, ["SKU000050"]), [], customer=CUSTOMER)
    found = customers.find_by_phone(store, "+353 (86) 555-0199")
    assert found is not None and found.name == CUSTOMER.name and found.email == CUSTOMER.email
    assert customers.find_by_phone(store, "+353865550199").id == found.id
    assert customers.find_by_phone(store, "+353 86 555 0198") is None
    with store.db.read() as s:
        (c,) = s.scalars(select(Customer)).all()
        assert c.phone_index and "0199" not in c.phone_index
        # the sync contract is unchanged: the outbox payload reads back in clear ...
        (op,) = s.scalars(select(OutboxOperation).where(OutboxOperation.type == "order.create")).all()
        assert op.payload["customer"] == {"id": c.id, "name": CUSTOMER.name,
                                          "phone": CUSTOMER.phone, "email": CUSTOMER.email}
        # ... while the stored JSON holds only a sealed blob
        stored = s.execute(text("SELECT json_extract(payload, '$.customer') FROM outbox "
                                "WHERE type = 'order.create'")).scalar()
        assert "sealed" in stored and "Siobhan" not in stored
    data_dir = store.data_dir
    raw = _raw_bytes(data_dir)  # main file and WAL, before a checkpoint
    store.close()
    raw += _raw_bytes(data_dir)
    for needle in ("Siobhan", "Quigley", "555 0199", "5550199", "siobhan.q@example.ie", "example.ie"):
        for enc in ("utf-8", "utf-16-le"):
            assert needle.encode(enc) not in raw, f"{needle!r} is in the store file in clear"


def test_repeat_customer_found_by_phone_not_duplicated(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    cashier = actors[Role.CASHIER]
    sales.record_sale(store, cashier, cart_of(store, ["SKU000051"]), [], customer=CUSTOMER)
    sales.record_sale(store, cashier, cart_of(store, ["SKU000052"]), [],
                      customer=CustomerDetails(None, None, "+353865550199", None))
    assert counts(store)["customers"] == 1


# ---------------------------------------------------------------- catalog and stock


def test_negative_stock_allowed_and_on_hand_from_ledger(catalog_store: LocalStore, actors) -> None:
    store = catalog_store
    (row,) = catalog.search(store, "SKU000060", limit=1)
    start = catalog.on_hand_milli(store, row.id)
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(store, row.id, qty_milli=start + 5000))
    sales.record_sale(store, actors[Role.CASHIER], cart, [])
    assert catalog.on_hand_milli(store, row.id) == -5000
    with store.db.read() as s:
        ledger = s.scalar(select(func.sum(StockMovement.qty_delta_milli))
                          .where(StockMovement.product_id == row.id))
    assert ledger == -5000


def test_weighed_scan(catalog_store: LocalStore) -> None:
    from app.domain.barcode import make_variable

    line = catalog.line_for_scan(catalog_store, make_variable("28", "00001", 532))
    assert line.name == "Loose Apples" and line.qty_milli == 532 and line.weighed
    assert line.unit_price == 299
    cart = Cart(tax_inclusive=True)
    cart.add(line)
    assert cart.totals().total == 159  # 2.99/kg x 0.532 kg


def test_price_embedded_scan(catalog_store: LocalStore) -> None:
    from app.domain.barcode import make_variable

    store = catalog_store
    (row,) = catalog.search(store, "SKU000070", limit=1)
    with store.db.write() as s:
        s.execute(text("INSERT INTO barcodes(code, product_id) VALUES ('2100042', :p)"), {"p": row.id})
    line = catalog.line_for_scan(store, make_variable("21", "00042", 1234))
    assert line.product_id == row.id and line.unit_price == 1234 and line.qty_milli == 1000
    # the same code as a UPC-A (12 digits, leading 2 = random weight) rings up the same way
    with store.db.write() as s:
        s.execute(text("INSERT INTO barcodes(code, product_id) VALUES ('0200042', :p)"), {"p": row.id})
    upc = make_variable("02", "00042", 250)
    assert upc.startswith("0")
    line = catalog.line_for_scan(store, upc[1:])
    assert line.product_id == row.id and line.unit_price == 250


def test_plain_scans(catalog_store: LocalStore) -> None:
    from app.domain.barcode import BarcodeError, with_check_digit

    store = catalog_store
    ean = with_check_digit("540000000100")
    line = catalog.line_for_scan(store, ean)
    assert line.sku == "SKU000100" and line.qty_milli == 1000 and not line.weighed
    assert line.barcode == ean
    with pytest.raises(catalog.UnknownBarcode) as exc:
        catalog.line_for_scan(store, with_check_digit("400000000001"))
    assert exc.value.code == with_check_digit("400000000001")
    with pytest.raises(BarcodeError):
        catalog.line_for_scan(store, ean[:-1] + str((int(ean[-1]) + 1) % 10))
    with pytest.raises(catalog.UnknownBarcode):
        catalog.line_for_scan(store, make_unknown_weight())
    # a UPC-A product (stored as EAN-13 with a leading 0) is found by its 12-digit scan
    with store.db.write() as s:
        s.execute(text("INSERT INTO barcodes(code, product_id) VALUES ('0036000291452', :p)"),
                  {"p": line.product_id})
    assert catalog.line_for_scan(store, "036000291452").product_id == line.product_id


def make_unknown_weight() -> str:
    from app.domain.barcode import make_variable

    return make_variable("29", "99999", 100)


def test_fts_search(catalog_store: LocalStore) -> None:
    store = catalog_store
    rows = catalog.search(store, "sourd")
    assert rows and all("sourdough" in r.name.lower() for r in rows)
    rows = catalog.search(store, "harb choc")
    assert rows and all("Harbour" in r.name and "Chocolate" in r.name for r in rows)
    (row,) = catalog.search(store, "SKU000123")
    assert row.sku == "SKU000123"
    assert catalog.search(store, "sku00012", limit=100)[0].sku.startswith("SKU00012")
    assert catalog.search(store, "   ") == []
    assert catalog.search(store, '"; DROP TABLE products; --') == []
    assert catalog.search(store, "zzzzqqq") == []
    assert len(catalog.search(store, "milk", limit=7)) == 7
    # renamed products are found by their new name (FTS kept in step by triggers)
    with store.db.write() as s:
        s.execute(text("UPDATE products SET name = 'Zebra Crackers' WHERE sku = 'SKU000123'"))
    assert [r.sku for r in catalog.search(store, "zebra")] == ["SKU000123"]


# ---------------------------------------------------------------- reopening


def test_reopen_keeps_device_and_data(tmp_path: Path, no_keyring, pin_hashes) -> None:
    from tests.conftest import add_test_staff

    data = tmp_path / "d"
    store = open_store(data, passphrase=TEST_PASSPHRASE)
    actors = add_test_staff(store, pin_hashes)
    from app.demo import seed_catalog

    seed_catalog(store, 50)
    res = sales.record_sale(store, actors[Role.CASHIER], cart_of(store, ["SKU000001"]), [], customer=CUSTOMER)
    device_id = store.device_id
    store.close()
    store = open_store(data, passphrase=TEST_PASSPHRASE)
    try:
        assert store.device_id == device_id
        assert sales.find_by_reference(store, res.reference) == res.order_id
        assert customers.find_by_phone(store, CUSTOMER.phone).name == CUSTOMER.name
        res2 = sales.record_sale(store, actors[Role.CASHIER], cart_of(store, ["SKU000002"]), [])
        assert res2.reference != res.reference
    finally:
        store.close()
