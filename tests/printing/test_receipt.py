"""The receipt document read from a committed order."""

from __future__ import annotations

from app.domain.money import format_money
from app.domain.tender import Method, Tender
from printing.receipt import build_receipt, qty_text, rate_text
from tests.printing.conftest import ring_up


def test_receipt_of_a_cash_sale(store, cash_sale):
    doc = build_receipt(store, cash_sale.order_id)
    assert doc.reference == cash_sale.reference and doc.kind == "receipt" and doc.title == ""
    assert doc.store.name == "Harbour Street Grocer"
    assert doc.store.address_lines == ("12 Harbour Street", "Kinsale, Co. Cork")
    assert doc.cashier == "Cass Cashier" and doc.customer_name == "Jane Murphy"
    assert doc.total == format_money(cash_sale.total)
    assert doc.had_cash and doc.balance_due is None
    (tender,) = doc.tenders
    assert (tender.method, tender.amount, tender.tendered, tender.change) == (
        "Cash", format_money(cash_sale.total), "€50.00", format_money(cash_sale.change))
    weighed = doc.lines[-1]
    assert (weighed.name, weighed.quantity, weighed.qty) == ("Loose Apples", "0.532 kg @ €2.99/kg",
                                                            "0.532 kg")
    assert [li.quantity for li in doc.lines[:3]] == ["1 x €1.19", "2 x €2.09", "1 x €6.69"]
    assert [li.single for li in doc.lines[:3]] == [True, False, True]
    assert doc.lines[0].discount.endswith("(10%)") and doc.discount is not None
    assert sum(1 for li in doc.lines if li.qty == "2") == 1


def test_tax_rows_split_net_and_tax_per_rate(store, cash_sale):
    doc = build_receipt(store, cash_sale.order_id)
    zero, standard = doc.taxes
    assert (zero.rate, zero.tax) == ("0%", "€0.00") and standard.rate == "23%"
    assert standard.tax != "€0.00" and doc.tax == standard.tax  # inclusive: tax is inside the price


def test_pending_sale_shows_the_balance_and_no_customer(store):
    sale = ring_up(store, [Tender(Method.CARD, 500)])
    doc = build_receipt(store, sale.order_id)
    assert doc.balance_due == format_money(sale.total - 500) and doc.customer_name is None
    assert not doc.had_cash


def test_copy_is_marked(store, cash_sale):
    doc = build_receipt(store, cash_sale.order_id, copy=True)
    assert doc.kind == "reprint" and doc.title == "COPY - REPRINT"


def test_rate_and_quantity_text():
    assert [rate_text(r) for r in (0, 90_000, 135_000, 230_000)] == ["0%", "9%", "13.5%", "23%"]
    assert [qty_text(q) for q in (1000, 3000, 532, 1250)] == ["1", "3", "0.532", "1.250"]
