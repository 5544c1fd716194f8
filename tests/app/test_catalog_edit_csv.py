"""Catalog edits with price history, quick-add, and the all-or-nothing CSV import."""

import pytest
from sqlalchemy import func, select

from app.domain.barcode import with_check_digit
from app.domain.cart import Cart
from app.domain.tender import Method, Tender
from app.services import catalog, catalog_csv, catalog_edit, sales, staff
from app.store.models import OrderLine, OutboxOperation, Product
from tests.conftest import fresh_store, seed_demo


@pytest.fixture()
def store(tmp_path, migrated_store_file):
    s = fresh_store(tmp_path, migrated_store_file, passphrase="test-passphrase")
    seed_demo(s, 60)
    yield s
    s.close()


def _ops(store, type_):
    with store.db.read() as s:
        return s.scalars(select(OutboxOperation).where(OutboxOperation.type == type_)
                         .order_by(OutboxOperation.op_seq)).all()


def test_price_edit_keeps_history_and_old_sales_keep_their_price(store):
    cashier, clerk = staff.sign_in(store, "1003", "3333"), staff.sign_in(store, "1004", "4444")
    product = catalog.search(store, "Harbour")[0]
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(store, product.id))
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, 10_000)])
    edits = catalog_edit.update_product(store, clerk, product.id, {"price": product.price + 100, "name": "Renamed"})
    assert edits["price"] == {"base": product.price, "value": product.price + 100}
    assert [(h.old_price, h.new_price) for h in catalog_edit.price_history(store, product.id)][-1] == (
        product.price, product.price + 100)
    with store.db.read() as s:
        line = s.scalars(select(OrderLine).where(OrderLine.order_id == sale.order_id)).one()
        assert line.unit_price == product.price
    op = _ops(store, "product.update")[-1]
    assert op.payload["fields"]["name"]["base"] == product.name
    assert catalog.search(store, "Renamed")[0].id == product.id


def test_quick_add_makes_an_unknown_barcode_sellable(store):
    clerk = staff.sign_in(store, "1004", "4444")
    code = with_check_digit("400638133393")
    with pytest.raises(catalog.UnknownBarcode):
        catalog.line_for_scan(store, code)
    catalog_edit.quick_add(store, clerk, catalog_edit.NewProduct("NEW-1", "Fresh Basil", 199, 0, (code,)))
    assert catalog.line_for_scan(store, code).name == "Fresh Basil"
    with pytest.raises(catalog_edit.CatalogError, match="already belongs"):
        catalog_edit.quick_add(store, clerk, catalog_edit.NewProduct("NEW-2", "Dup", 1, 0, (code,)))


GOOD = with_check_digit("590123412345")
OTHER = with_check_digit("590123412346")


def test_malformed_csv_reports_every_bad_line_and_imports_nothing(store):
    owner = staff.sign_in(store, "1001", "111111")
    existing = catalog.search(store, "Harbour")[0]
    with store.db.read() as s:
        taken = s.get(Product, existing.id).barcodes[0].code
        before = s.scalar(select(func.count()).select_from(Product))
    text = "\n".join([
        "sku,name,price,tax_rate,barcodes",
        f"A1,Good Row,2.49,23,{GOOD}",
        "A2,Bad Price,two euro,23,",
        f"A3,Dup Barcode,1.00,23,{GOOD}",
        "A4,Bad Check,1.00,23,5901234123450",
        f"A5,Taken,1.00,23,{taken}",
        "A1,Again,1.00,23,",
    ])
    report = catalog_csv.import_csv(store, owner, text)
    assert not report.ok
    assert [(e.line, e.message.split()[0]) for e in report.errors] == [
        (3, "Price"), (4, "Barcode"), (5, "Barcode"), (6, "Barcode"), (7, "SKU")]
    assert "wrong check digit" in str(report.errors[2])
    with store.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Product)) == before


def test_missing_column_is_named(store):
    owner = staff.sign_in(store, "1001", "111111")
    report = catalog_csv.import_csv(store, owner, "sku,name,price\nX,Y,1.00\n")
    assert [str(e) for e in report.errors] == ["line 1: Missing column: tax_rate"]


def test_good_csv_creates_and_updates_as_synced_changes(store):
    owner = staff.sign_in(store, "1001", "111111")
    existing = catalog.search(store, "Harbour")[0]
    seen = []
    text = (f"sku,name,price,tax_rate,barcodes,category\n"
            f"B1,Oat Milk,1.99,0,{GOOD}|{OTHER},Dairy\n"
            f"{existing.sku},{existing.name},9.99,23,,\n")
    report = catalog_csv.import_csv(store, owner, text, progress=lambda d, t: seen.append((d, t)))
    assert (report.created, report.updated, report.errors) == (1, 1, [])
    assert seen[-1] == (2, 2)
    assert catalog.line_for_scan(store, OTHER).name == "Oat Milk"
    assert catalog.get(store, existing.id).price == 999
    assert _ops(store, "product.create")[-1].payload["sku"] == "B1"
    exported = catalog_csv.export_csv(store)
    assert f"B1,Oat Milk,1.99,0,{GOOD}|{OTHER},Dairy,0,yes,no" in exported


def test_csv_lines_pass_the_shared_product_rules(store):
    """The same rules as the catalog editor and the server, with the line named."""
    owner = staff.sign_in(store, "1001", "111111")
    existing = catalog.search(store, "Harbour")[0]
    with store.db.read() as s:
        taken = s.get(Product, existing.id).barcodes[0].code
        outbox_before = s.scalar(select(func.count()).select_from(OutboxOperation))
    twice = with_check_digit("590000000123")
    text = "\n".join([
        "sku,name,price,tax_rate,barcodes",
        f"B1,Twice,1.00,23,{twice}|{twice}",
        "B2,Negative,-1.00,23,",
        "B3,Too Taxed,1.00,150,",
        ",No Sku,1.00,23,",
        "B5,,1.00,23,",
        f"B6,Taken,1.00,23,{taken}",
        "B7,Fine,1.00,23,",
    ])
    report = catalog_csv.import_csv(store, owner, text)
    assert [str(e) for e in report.errors] == [
        f"line 2: Barcode {twice} is listed twice",
        "line 3: Price cannot be negative",
        "line 4: Tax rate must be between 0% and 100%",
        "line 5: SKU is required",
        "line 6: Name is required",
        f"line 7: Barcode {taken} already belongs to another product (SKU {existing.sku})",
    ]
    with store.db.read() as s:  # all or nothing: the good line is not imported either
        assert s.scalar(select(func.count()).select_from(OutboxOperation)) == outbox_before
        assert s.scalar(select(func.count()).select_from(Product).where(Product.sku == "B7")) == 0
