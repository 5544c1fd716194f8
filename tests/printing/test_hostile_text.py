"""No stored text becomes a printer command: a drawer kick in a product name prints as text.

Each test stores hostile text the way it could have been stored before the text rules
(straight into the database, as an old till or a pulled change could have), sells and
prints, and reads what a real TCP socket standing in for the printer received.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from app.domain.tender import Method, Tender
from app.store.local import LocalStore
from app.store.models import Barcode, Product, Staff, StoreSettings
from printing.connections import PrinterConfig
from printing.escape import barcode_data, printable
from printing.escpos_output import render_receipt
from printing.labels import CODE128, Label, labels_for, render_labels_escpos
from printing.receipt import ReceiptDocument, StoreHeader, build_receipt
from printing.service import PrintService
from tests.printing.conftest import CODES, TcpPrinter, ring_up

HOSTILE = "Tea\x1bp0\x19\xfa"  # ESC p 0 25 250: pulse the drawer on pin 2
KICK = b"\x1bp"  # ESC p: the drawer kick command, whatever its arguments
DRAWER_KICK = b"\x1bp\x0022"  # ESC p 0 t1 t2: the one the renderer itself sends


def _make_hostile(store: LocalStore) -> str:
    """The first sale product, the store's header and footer and the cashier, hostile."""
    with store.db.write() as s:
        pid = s.scalars(select(Barcode.product_id).where(Barcode.code == CODES[0])).one()
        s.get_one(Product, pid).name = HOSTILE
        settings = s.scalars(select(StoreSettings)).one()
        settings.name, settings.address = "Shop\x1b@\x1bp1", "Main St\x1dV\x00\nCork\x9b2J"
        settings.receipt_footer = "Bye\x1bp0\x7f\nSee you\x1b!\x30"
        s.scalars(select(Staff).where(Staff.code == "1003")).one().name = "Cass\x1bp0\x05\x05"
    return pid


def _clean(doc: ReceiptDocument) -> ReceiptDocument:
    """The same receipt with every text escaped before it reaches the renderer."""
    store = StoreHeader(printable(doc.store.name), tuple(printable(x) for x in doc.store.address_lines),
                        doc.store.tax_id)
    lines = tuple(replace(li, name=printable(li.name)) for li in doc.lines)
    return replace(doc, store=store, lines=lines, cashier=printable(doc.cashier),
                   customer_name=printable(doc.customer_name or ""),
                   footer="\n".join(printable(x) for x in doc.footer.splitlines()))


def test_a_drawer_kick_in_stored_text_never_reaches_the_printer(store: LocalStore,
                                                                 tcp_printer: TcpPrinter) -> None:
    _make_hostile(store)
    sale = ring_up(store, [Tender(Method.CASH, 10_000)], customer="Jane\x1bp0\x1b\x1b")
    svc = PrintService(store)
    svc.save_printer(PrinterConfig("Front till", "network", "127.0.0.1", port=tcp_printer.port,
                                   open_drawer=True, default=True))
    svc.enqueue_receipt(sale.order_id, open_drawer=False)
    svc.enqueue_receipt(sale.order_id, open_drawer=True)
    svc.process_pending(timeout_s=3)
    plain, kicked = tcp_printer.wait_for(2)
    assert b"Tea?p0?" in plain and b"Cass?p0??" in plain and b"Jane?p0??" in plain
    assert KICK not in plain  # nothing from the texts became a drawer kick
    assert kicked.count(KICK) == 1 and kicked.endswith(DRAWER_KICK)  # only the renderer's own
    assert b"\x1dV\x00" not in plain and b"\x9b" not in plain and b"\x7f" not in plain
    # every byte that is not the texts' is what the renderer emits for escaped texts
    doc = build_receipt(store, sale.order_id)
    assert render_receipt(doc, 80) == render_receipt(_clean(doc), 80)
    assert plain == render_receipt(_clean(doc), 80)


def test_shelf_labels_print_a_hostile_name_and_sku_as_text(store: LocalStore,
                                                          tcp_printer: TcpPrinter) -> None:
    pid = _make_hostile(store)
    data = render_labels_escpos(labels_for(store, [pid]), 80)
    assert b"Tea?p0?" in data and KICK not in data
    hostile_sku = Label(pid, "T\x1bp0", HOSTILE, "\u20ac1.00\x1bp0", "T\x1bp0\x00", CODE128)
    data = render_labels_escpos([hostile_sku], 58)
    clean = Label(pid, "T?p0", printable(HOSTILE), "\u20ac1.00?p0", barcode_data("T\x1bp0\x00"), CODE128)
    assert KICK not in data and data == render_labels_escpos([clean], 58)
    svc = PrintService(store)
    svc.save_printer(PrinterConfig("Labels", "network", "127.0.0.1", port=tcp_printer.port, default=True))
    svc.enqueue_labels([pid])
    svc.process_pending(timeout_s=3)
    (sent,) = tcp_printer.wait_for(1)
    assert b"Tea?p0?" in sent and KICK not in sent


def test_printable_leaves_ordinary_text_alone() -> None:
    text = "Crème brûlée €2.49 — 2×"
    assert printable(text) is text
    assert printable("a\tb\x00c\x85d\ud800") == "a b?c?d?"
    assert barcode_data("GO-12AB\x1b\u00e9") == "GO-12AB??"
