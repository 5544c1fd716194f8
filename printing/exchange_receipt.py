"""The exchange receipt: returned lines, new lines and the net, on one slip.

Built from the committed refund of the returned items and the committed new order
(app/services/exchanges.py), as a ReceiptDocument of kind "exchange", so every
output of a receipt (ESC/POS, PDF, preview) prints it unchanged. The reference and
its barcode are the new order's; the footer names the order the items came from.
"""

from __future__ import annotations

from app.domain.money import div_round
from app.store.local import LocalStore
from app.store.models import Order, OrderLine
from app.store.models_aftersale import Refund
from printing.receipt import (
    METHOD_NAMES,
    ReceiptDocument,
    ReceiptError,
    ReceiptLine,
    TenderRow,
    _cashier,
    _Fmt,
    _header,
    _receipt_line,
    local_time,
    qty_text,
)

EXCHANGE_KIND = "exchange"
RETURNED = "Returned: "


def _signed(fmt: _Fmt, amount: int) -> str:
    return f"-{fmt(-amount)}" if amount < 0 else fmt(amount)


def build_exchange_receipt(store: LocalStore, refund_id: str, order_id: str) -> ReceiptDocument:
    """The one slip of an exchange: refund ``refund_id`` back, order ``order_id`` out."""
    settings = store.settings()
    with store.db.read() as s:
        refund, new = s.get(Refund, refund_id), s.get(Order, order_id)
        if refund is None or new is None:
            raise ReceiptError("This exchange is not in this store")
        old = s.get(Order, refund.order_id)
        fmt = _Fmt(new.currency, settings.locale)
        lines: list[ReceiptLine] = []
        returned_tax = 0
        for item in refund.lines:
            li = s.get(OrderLine, item.order_line_id)
            returned_tax += div_round(li.tax * item.qty_milli, li.qty_milli) if li.qty_milli else 0
            lines.append(ReceiptLine(RETURNED + li.name, f"{qty_text(item.qty_milli)} x {fmt(li.unit_price)}",
                                     qty_text(item.qty_milli), fmt(li.unit_price), f"-{fmt(item.amount)}",
                                     None, item.qty_milli == 1000))
        built = [_receipt_line(s, li, fmt) for li in new.lines]
        lines += [line for line, _ in built]
        line_off = sum(off for _, off in built)
        order_off = new.discount - line_off
        net = new.total - refund.amount
        method = METHOD_NAMES.get(refund.method, refund.method.title())
        tenders: tuple[TenderRow, ...] = ()
        if net > 0:
            pay = sum(p.tendered for p in new.payments) - refund.amount
            change = sum(p.change for p in new.payments)
            tenders = (TenderRow(method, fmt(net), fmt(pay) if change else None,
                                 fmt(change) if change else None),)
        elif net < 0:
            tenders = (TenderRow(f"Refund ({method})", f"-{fmt(-net)}", None, None),)
        footer = (f"Exchange for {old.reference}\nReturned {fmt(refund.amount)}, new items {fmt(new.total)}\n"
                  + ("Returned goods back in stock" if refund.restock else "Returned goods not restocked"))
        if settings.receipt_footer:
            footer += "\n" + settings.receipt_footer
        return ReceiptDocument(
            store=_header(settings), reference=new.reference, created_at=local_time(new.created_at),
            cashier=_cashier(s, new.created_by), lines=tuple(lines),
            order_discount=f"-{fmt(order_off)}" if order_off else None, taxes=(),
            tax_inclusive=new.tax_inclusive, subtotal=_signed(fmt, new.subtotal - refund.amount),
            discount=f"-{fmt(new.discount)}" if new.discount else None,
            tax=_signed(fmt, new.tax - min(returned_tax, refund.amount)), total=_signed(fmt, net),
            tenders=tenders, balance_due=None, customer_name=None, footer=footer, kind=EXCHANGE_KIND,
            had_cash=refund.method == "cash" and net != 0,
        )
