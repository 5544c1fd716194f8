"""The refund receipt: what went back to the customer, as a ReceiptDocument of kind "refund".

Built from one committed refund (app/store/models_aftersale.py ``Refund``), so a
partial refund prints only the refunded lines and quantities, the amount and the
method it went back by, whatever else happened to the order. Every output of a
receipt (ESC/POS, PDF, preview) prints it unchanged, titled "*** REFUND ***".
"""

from __future__ import annotations

from sqlalchemy import select

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
    local_time,
    qty_text,
)

REFUND_KIND = "refund"


def latest_refund_id(store: LocalStore, order_id: str) -> str | None:
    with store.db.read() as s:
        return s.scalar(select(Refund.id).where(Refund.order_id == order_id)
                        .order_by(Refund.created_at.desc(), Refund.id.desc()).limit(1))


def build_refund_receipt(store: LocalStore, refund_id: str) -> ReceiptDocument:
    """The receipt of refund ``refund_id``: refunded lines, amount, method, reason; the
    cashier who did it and the manager who approved it; under the total, why it is less
    than the lines when the refund was capped at what had been paid."""
    settings = store.settings()
    with store.db.read() as s:
        refund = s.get(Refund, refund_id)
        if refund is None:
            raise ReceiptError(f"Refund {refund_id} is not in this store")
        order = s.get(Order, refund.order_id)
        fmt = _Fmt(order.currency, settings.locale)
        lines, tax = [], 0
        for item in refund.lines:
            li = s.get(OrderLine, item.order_line_id)
            tax += div_round(li.tax * item.qty_milli, li.qty_milli) if li.qty_milli else 0
            lines.append(ReceiptLine(li.name, f"{qty_text(item.qty_milli)} x {fmt(li.unit_price)}",
                                     qty_text(item.qty_milli), fmt(li.unit_price), f"-{fmt(item.amount)}",
                                     None, False))
        goods = sum(item.amount for item in refund.lines)
        notes = ((f"Refund limited to what was paid: {fmt(refund.amount)}",)
                 if refund.amount < goods else ())
        method = METHOD_NAMES.get(refund.method, refund.method.title())
        footer = f"Reason: {refund.reason}\n" + ("Goods returned to stock" if refund.restock else "Not restocked")
        if settings.receipt_footer:
            footer += "\n" + settings.receipt_footer
        # who did it (asked for it at the till), and the manager who allowed it by PIN
        approver = _cashier(s, refund.approved_by)
        cashier = _cashier(s, refund.requested_by) if refund.requested_by else approver
        return ReceiptDocument(
            store=_header(settings), reference=order.reference, created_at=local_time(refund.created_at),
            cashier=cashier, approved_by=approver if approver != cashier else None,
            notes=notes, lines=tuple(lines), order_discount=None, taxes=(),
            tax_inclusive=order.tax_inclusive, subtotal=f"-{fmt(refund.amount)}", discount=None,
            tax=f"-{fmt(min(tax, refund.amount))}", total=f"-{fmt(refund.amount)}",
            tenders=(TenderRow(f"Refund ({method})", f"-{fmt(refund.amount)}", None, None),),
            balance_due=None, customer_name=None, footer=footer, kind=REFUND_KIND,
            had_cash=refund.method == "cash",
        )
